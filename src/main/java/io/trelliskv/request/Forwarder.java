package io.trelliskv.request;

import java.util.concurrent.CompletableFuture;

/**
 * Sends a command to another node, which runs it locally there ({@code Dispatcher.executeForwarded})
 * and never forwards it again: a request makes at most one hop, even while the ring changes.
 */
public interface Forwarder {

    /**
     * Completes with the owner's reply (raw RESP encoded for the request's protocol, and the versions
     * the command wrote), or exceptionally (timeout, unreachable). The forwarder owns the timeout: the
     * future always completes. Completion may happen on any thread.
     */
    CompletableFuture<ForwardCodec.Reply> forward(long nodeId, ForwardCodec.Request request);
}
