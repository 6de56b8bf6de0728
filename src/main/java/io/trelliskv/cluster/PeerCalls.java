package io.trelliskv.cluster;

import io.trelliskv.net.peer.PeerClient;
import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.net.peer.PeerPayload;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Requests to other nodes, addressed by node id: the one way the cluster's parts (replication,
 * anti-entropy, streams, forwards, flushes) reach peers. {@link PeerClientCalls} resolves the id through
 * the member view and sends over the pooled peer connections; a simulation hands the bytes to the target
 * node's {@link ClusterMember#handle} over an in-memory network.
 */
public interface PeerCalls {

    /** Sends one request; the future fails with the reason if the peer is unknown, unreachable or late. */
    default CompletableFuture<byte[]> call(long nodeId, PeerMessageType type, byte[] payload, Duration timeout) {
        return call(nodeId, type, payload, timeout, PeerClient.NO_STREAM);
    }

    /**
     * Sends one request as part of an ordered {@code stream}: the requests of one stream leave on one
     * connection in the order made ({@link PeerClient#NO_STREAM}: any connection).
     */
    CompletableFuture<byte[]> call(long nodeId, PeerMessageType type, byte[] payload, Duration timeout, long stream);

    /**
     * Sends one request of a client's (a forwarded command, a coordinator's write) that the peer must not
     * start after {@code deadlineMillis} ({@code replication.Deadline}); by default without the deadline.
     *
     * @param deadlineMillis epoch ms of this node's clock, now plus {@code timeout}
     */
    default CompletableFuture<byte[]> call(long nodeId, PeerMessageType type, byte[] payload, Duration timeout,
                                           long stream, long deadlineMillis) {
        return call(nodeId, type, payload, timeout, stream);
    }

    /**
     * Sends one request with a deadline, as {@link #call(long, PeerMessageType, byte[], Duration, long, long)}
     * does, whose body is written where the frame is encoded ({@link PeerPayload}); by default encoded to
     * bytes here, at once.
     */
    default CompletableFuture<byte[]> call(long nodeId, PeerMessageType type, PeerPayload payload, Duration timeout,
                                           long stream, long deadlineMillis) {
        return call(nodeId, type, payload.toBytes(), timeout, stream, deadlineMillis);
    }
}
