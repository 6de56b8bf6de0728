package io.trelliskv.server;

import java.util.concurrent.CompletableFuture;

/**
 * Sends a command to another node, which runs it locally there ({@code Dispatcher.executeForwarded})
 * and never forwards it again: a request makes at most one hop, even while the ring changes.
 */
public interface Forwarder {

    /**
     * Completes with the raw RESP reply encoded for {@code protocol} (2 or 3), or exceptionally
     * (timeout, unreachable). The forwarder owns the timeout: the future always completes.
     * Completion may happen on any thread.
     *
     * @param args the command name followed by its arguments; not modified
     */
    CompletableFuture<byte[]> forward(long nodeId, int protocol, byte[][] args);
}
