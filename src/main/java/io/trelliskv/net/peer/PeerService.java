package io.trelliskv.net.peer;

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
}
