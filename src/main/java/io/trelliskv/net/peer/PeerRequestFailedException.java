package io.trelliskv.net.peer;

import java.net.InetSocketAddress;

/** A peer received a request and answered it with an {@link PeerMessageType#ERROR_REPLY}. */
public final class PeerRequestFailedException extends RuntimeException {

    private final InetSocketAddress peer;

    public PeerRequestFailedException(InetSocketAddress peer, PeerMessageType type, String message) {
        super("peer " + PeerClient.describe(peer) + " failed " + type + ": " + message);
        this.peer = peer;
    }

    public InetSocketAddress peer() {
        return peer;
    }
}
