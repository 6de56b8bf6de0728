package io.trelliskv.net.peer;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * What a node does with the requests its peers send on the shared port. Implemented by the server
 * layer, so that {@code net} knows nothing of commands or membership.
 */
public interface PeerService {

    /**
     * Handles one request frame. Called on the connection's event loop: must not block (hand slow or
     * membership work to its own thread and complete the future there). The future's value is sent back
     * as a {@link PeerMessageType#REPLY}; if it fails, or yields null, as an
     * {@link PeerMessageType#ERROR_REPLY} carrying the message.
     *
     * @param type    a request type ({@link PeerMessageType#isRequest()})
     * @param from    the hello of the calling peer: its cluster, listening address and node id
     * @param payload the request body
     */
    CompletableFuture<byte[]> handle(PeerMessageType type, PeerHello from, byte[] payload);

    /**
     * Handles one request frame that may carry the sender's deadline: a service that honours deadlines
     * does not start a request whose deadline has passed. By default the deadline is ignored.
     *
     * @param deadlineMillis epoch ms of the sender's wall clock after which it no longer waits for the
     *                       answer, or {@link PeerFrame#NO_DEADLINE} (older peers, and requests that are
     *                       not a client's: hints, repair, streaming)
     */
    default CompletableFuture<byte[]> handle(PeerMessageType type, PeerHello from, byte[] payload,
                                             long deadlineMillis) {
        return handle(type, from, payload);
    }

    /**
     * Whether requests of {@code type} are read by {@link #handleInPlace} before it returns, so that their
     * payload need not be copied out of the connection's buffer. By default none are.
     */
    default boolean readsInPlace(PeerMessageType type) {
        return false;
    }

    /**
     * Handles one request frame of a type this service {@link #readsInPlace reads in place}, as
     * {@link #handle(PeerMessageType, PeerHello, byte[], long)} does, its payload a view of the connection's
     * buffer that is valid only until this method returns: everything the answer needs is read from it
     * before. By default a copy is handed to {@link #handle(PeerMessageType, PeerHello, byte[], long)}.
     *
     * @param payload the request body, from its position to its limit, big-endian
     */
    default CompletableFuture<byte[]> handleInPlace(PeerMessageType type, PeerHello from, ByteBuffer payload,
                                                    long deadlineMillis) {
        byte[] copy = new byte[payload.remaining()];
        payload.get(copy);
        return handle(type, from, copy, deadlineMillis);
    }
}
