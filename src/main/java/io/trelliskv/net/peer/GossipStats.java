package io.trelliskv.net.peer;

/**
 * Figures of a {@link GossipTransport} for INFO.
 *
 * @param packetsSent      datagrams handed to the socket
 * @param packetsReceived  datagrams received and handed to membership
 * @param oversizeDropped  datagrams not sent, or not delivered, for being over the size limit
 * @param sendFailures     datagrams the socket could not send (unresolvable host, network error)
 */
public record GossipStats(long packetsSent, long packetsReceived, long oversizeDropped, long sendFailures) {
}
