package io.trelliskv.cluster;

import io.trelliskv.net.peer.PeerClient;
import io.trelliskv.net.peer.PeerFrame;
import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.net.peer.PeerPayload;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** {@link PeerCalls} over the pooled peer connections, addressed through the member view. */
final class PeerClientCalls implements PeerCalls {

    private final PeerClient client;
    private final ClusterState state;

    PeerClientCalls(PeerClient client, ClusterState state) {
        this.client = client;
        this.state = state;
    }

    @Override
    public CompletableFuture<byte[]> call(long nodeId, PeerMessageType type, byte[] payload, Duration timeout,
                                          long stream) {
        return call(nodeId, type, payload, timeout, stream, PeerFrame.NO_DEADLINE);
    }

    @Override
    public CompletableFuture<byte[]> call(long nodeId, PeerMessageType type, byte[] payload, Duration timeout,
                                          long stream, long deadlineMillis) {
        InetSocketAddress to = state.addressOf(nodeId);
        if (to == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("unknown node " + Long.toHexString(nodeId)));
        }
        return client.call(to, type, payload, timeout, stream, deadlineMillis);
    }

    @Override
    public CompletableFuture<byte[]> call(long nodeId, PeerMessageType type, PeerPayload payload, Duration timeout,
                                          long stream, long deadlineMillis) {
        InetSocketAddress to = state.addressOf(nodeId);
        if (to == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("unknown node " + Long.toHexString(nodeId)));
        }
        return client.call(to, type, payload, timeout, stream, deadlineMillis);
    }
}
