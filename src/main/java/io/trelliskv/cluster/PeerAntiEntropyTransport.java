package io.trelliskv.cluster;

import io.trelliskv.net.PeerClient;
import io.trelliskv.net.PeerMessageType;
import io.trelliskv.replication.AntiEntropyTransport;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** Anti-entropy messages over the pooled peer connections, addressed by node id through the member view. */
final class PeerAntiEntropyTransport implements AntiEntropyTransport {

    private final PeerClient peers;
    private final ClusterState state;
    private final Duration timeout;

    PeerAntiEntropyTransport(PeerClient peers, ClusterState state, Duration timeout) {
        this.peers = peers;
        this.state = state;
        this.timeout = timeout;
    }

    @Override
    public CompletableFuture<byte[]> call(long nodeId, Message message, byte[] payload) {
        InetSocketAddress to = state.addressOf(nodeId);
        if (to == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("unknown node " + Long.toHexString(nodeId)));
        }
        PeerMessageType type = switch (message) {
            case TREE -> PeerMessageType.ANTI_ENTROPY_TREE;
            case KEYS -> PeerMessageType.ANTI_ENTROPY_KEYS;
            case READ -> PeerMessageType.REPLICA_READ;
            case WRITE -> PeerMessageType.REPLICA_WRITE;
        };
        return peers.call(to, type, payload, timeout);
    }
}
