package io.trelliskv.request;

import io.trelliskv.storage.Entry;

import java.util.List;
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
     *
     * @param ahead this node's copies of keys whose floors the request carries, or null: written to the owner as
     *              a replica write on the request's stream just before it, so the owner holds the connection's
     *              own writes when the command starts there even if it cannot reach this node to read them
     *              (its failure changes nothing: the command's read still asks the replicas)
     */
    CompletableFuture<ForwardCodec.Reply> forward(long nodeId, ForwardCodec.Request request, List<Entry> ahead);
}
