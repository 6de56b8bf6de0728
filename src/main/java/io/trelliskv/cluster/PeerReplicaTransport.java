package io.trelliskv.cluster;

import io.trelliskv.common.Key;
import io.trelliskv.net.PeerClient;
import io.trelliskv.net.PeerMessageType;
import io.trelliskv.replication.ReadReply;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.replication.ReplicaTransport;
import io.trelliskv.storage.Entry;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Replica messages over the pooled peer connections, addressed by node id through the member view. */
final class PeerReplicaTransport implements ReplicaTransport {

    private final PeerClient peers;
    private final ClusterState state;
    private final Duration timeout;

    PeerReplicaTransport(PeerClient peers, ClusterState state, Duration timeout) {
        this.peers = peers;
        this.state = state;
        this.timeout = timeout;
    }

    @Override
    public CompletableFuture<Void> write(long nodeId, List<Entry> entries) {
        InetSocketAddress to = state.addressOf(nodeId);
        if (to == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("unknown node " + Long.toHexString(nodeId)));
        }
        return peers.call(to, PeerMessageType.REPLICA_WRITE, ReplicaCodec.encodeWrite(entries), timeout)
                .thenAccept(ReplicaCodec::checkWriteReply);
    }

    @Override
    public CompletableFuture<List<ReadReply>> read(long nodeId, List<Key> keys, Entry[] known) {
        InetSocketAddress to = state.addressOf(nodeId);
        if (to == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("unknown node " + Long.toHexString(nodeId)));
        }
        return peers.call(to, PeerMessageType.REPLICA_READ, ReplicaCodec.encodeRead(keys, known), timeout)
                .thenApply(ReplicaCodec::decodeReadReply);
    }
}
