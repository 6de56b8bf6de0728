package io.trelliskv.cluster;

import io.trelliskv.common.Key;
import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.replication.ReadReply;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.replication.ReplicaTransport;
import io.trelliskv.storage.Entry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Replica messages over {@link PeerCalls}, addressed by node id. */
final class PeerReplicaTransport implements ReplicaTransport {

    private final PeerCalls peers;
    private final Duration timeout;

    PeerReplicaTransport(PeerCalls peers, Duration timeout) {
        this.peers = peers;
        this.timeout = timeout;
    }

    @Override
    public CompletableFuture<Void> write(long nodeId, List<Entry> entries) {
        return send(nodeId, ReplicaCodec.encodeWrite(entries));
    }

    @Override
    public List<CompletableFuture<Void>> write(List<Long> nodeIds, List<Entry> entries) {
        byte[] payload = ReplicaCodec.encodeWrite(entries); // once for every replica
        List<CompletableFuture<Void>> acks = new ArrayList<>(nodeIds.size());
        for (long nodeId : nodeIds) {
            CompletableFuture<Void> ack;
            try {
                ack = send(nodeId, payload);
            } catch (RuntimeException e) {
                ack = CompletableFuture.failedFuture(e);
            }
            acks.add(ack);
        }
        return acks;
    }

    private CompletableFuture<Void> send(long nodeId, byte[] payload) {
        return peers.call(nodeId, PeerMessageType.REPLICA_WRITE, payload, timeout)
                .thenAccept(ReplicaCodec::checkWriteReply);
    }

    @Override
    public CompletableFuture<List<ReadReply>> read(long nodeId, List<Key> keys, Entry[] known) {
        return peers.call(nodeId, PeerMessageType.REPLICA_READ, ReplicaCodec.encodeRead(keys, known), timeout)
                .thenApply(ReplicaCodec::decodeReadReply);
    }
}
