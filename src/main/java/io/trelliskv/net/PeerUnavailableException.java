package io.trelliskv.net;

import java.net.InetSocketAddress;

/**
 * A request could not reach a peer or lost its connection before the answer: the peer is down, backing
 * off after failed connects, of another cluster, or the client is closed. The message names the peer.
 */
public final class PeerUnavailableException extends RuntimeException {

    private final InetSocketAddress peer;

    public PeerUnavailableException(InetSocketAddress peer, String reason, Throwable cause) {
        super("peer " + PeerClient.describe(peer) + " unavailable: " + reason, cause);
        this.peer = peer;
    }

    /** The peer that could not be reached. */
    public InetSocketAddress peer() {
        return peer;
    }
}
