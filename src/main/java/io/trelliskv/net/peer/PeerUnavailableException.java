package io.trelliskv.net.peer;

import java.net.InetSocketAddress;

/**
 * A request could not reach a peer or lost its connection before the answer: the peer is down, backing
 * off after failed connects, of another cluster, or the client is closed. The message names the peer.
 */
public final class PeerUnavailableException extends RuntimeException {

    private final InetSocketAddress peer;
    private final boolean mayHaveArrived;

    /** A request that never left this node: the peer cannot have acted on it. */
    public PeerUnavailableException(InetSocketAddress peer, String reason, Throwable cause) {
        this(peer, reason, cause, false);
    }

    /**
     * @param mayHaveArrived true if the request was sent before the connection failed, so the peer may
     *                       have acted on it; false if it never left this node
     */
    public PeerUnavailableException(InetSocketAddress peer, String reason, Throwable cause, boolean mayHaveArrived) {
        super("peer " + PeerClient.describe(peer) + " unavailable: " + explain(reason, cause), cause);
        this.peer = peer;
        this.mayHaveArrived = mayHaveArrived;
    }

    /** The reason as given, or the cause's own words when the network layer gave none. */
    private static String explain(String reason, Throwable cause) {
        if (reason != null && !reason.isBlank()) {
            return reason;
        }
        return cause != null ? cause.toString() : "no reason given";
    }

    /** True if the peer may have received and acted on the request; false if it cannot have. */
    public boolean mayHaveArrived() {
        return mayHaveArrived;
    }

    /** The peer that could not be reached. */
    public InetSocketAddress peer() {
        return peer;
    }
}
