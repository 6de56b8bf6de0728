package io.trelliskv.cluster;

import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.repair.StreamCodec;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.Entry;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Stream batches over {@link PeerCalls}: {@code STREAM_RANGE} to pull, {@code REPLICA_WRITE} to push. */
final class PeerStreamTransport implements StreamTransport {

    /** How long one stream batch may take on the wire. */
    private static final long BATCH_TIMEOUT_MILLIS = 30_000;

    private final PeerCalls peers;

    PeerStreamTransport(PeerCalls peers) {
        this.peers = peers;
    }

    @Override
    public StreamCodec.Batch pull(long peer, TokenRange range, long cursor, int maxBytes) throws Exception {
        return StreamCodec.decodeReply(await(peers.call(peer, PeerMessageType.STREAM_RANGE,
                StreamCodec.encodeRequest(range, cursor, maxBytes), Duration.ofMillis(BATCH_TIMEOUT_MILLIS))));
    }

    @Override
    public void push(long peer, List<Entry> entries) throws Exception {
        ReplicaCodec.checkWriteReply(await(peers.call(peer, PeerMessageType.REPLICA_WRITE,
                ReplicaCodec.encodeWrite(entries), Duration.ofMillis(BATCH_TIMEOUT_MILLIS))));
    }

    private static byte[] await(java.util.concurrent.CompletableFuture<byte[]> reply) throws Exception {
        return reply.get(BATCH_TIMEOUT_MILLIS + 1_000, TimeUnit.MILLISECONDS);
    }
}
