package io.trelliskv.cluster;

import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.repair.AntiEntropyTransport;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** Anti-entropy messages over {@link PeerCalls}, addressed by node id. */
final class PeerAntiEntropyTransport implements AntiEntropyTransport {

    private final PeerCalls peers;
    private final Duration timeout;

    PeerAntiEntropyTransport(PeerCalls peers, Duration timeout) {
        this.peers = peers;
        this.timeout = timeout;
    }

    @Override
    public CompletableFuture<byte[]> call(long nodeId, Message message, byte[] payload) {
        PeerMessageType type = switch (message) {
            case TREE -> PeerMessageType.ANTI_ENTROPY_TREE;
            case KEYS -> PeerMessageType.ANTI_ENTROPY_KEYS;
            case READ -> PeerMessageType.REPLICA_READ;
            case WRITE -> PeerMessageType.REPLICA_WRITE;
        };
        return peers.call(nodeId, type, payload, timeout);
    }
}
