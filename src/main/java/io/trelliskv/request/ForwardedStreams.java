package io.trelliskv.request;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The order of the commands other nodes forward here, per client connection of theirs.
 *
 * <p>A forwarding node sends the commands of one client connection over one peer connection, in the
 * order the client sent them, and names the client connection in each (its stream id). They arrive
 * here in that order, on that peer connection's event loop; this class starts them in that order too
 * ({@link InOrder}), so a command that waits for a read of the other replicas holds back the later
 * commands of the same client connection on the same keys, and only those.
 *
 * <p>Only streams with a command waiting are remembered: an entry is made when a command has to wait
 * and dropped (retired) when the stream has nothing waiting any more, so the map holds at most one
 * entry per waiting command however many client connections come and go. A command that finds its
 * stream's entry retired a moment ago starts as on a fresh stream, which is right: nothing waits.
 */
final class ForwardedStreams {

    /** A client connection of a forwarding node. */
    private record Stream(long node, long connection) {
    }

    private final ConcurrentHashMap<Stream, InOrder> waiting = new ConcurrentHashMap<>();

    /**
     * Starts a forwarded command of the given stream in its order. The commands of one stream are
     * submitted from one thread at a time (they arrive on one peer connection).
     *
     * @param tokens, write, start as for {@link InOrder#submit}
     */
    void submit(long fromNode, long stream, long[] tokens, boolean write, Supplier<CompletableFuture<Void>> start) {
        Stream key = new Stream(fromNode, stream);
        InOrder order = waiting.get(key);
        if (order != null) {
            CompletableFuture<Void> settled = order.submit(tokens, write, start);
            if (settled != InOrder.RETIRED) {
                settled.whenComplete((v, failure) -> release(key));
                return;
            }
        }
        InOrder fresh = new InOrder();
        CompletableFuture<Void> settled = fresh.submit(tokens, write, start);
        if (!settled.isDone()) {
            waiting.put(key, fresh);
            settled.whenComplete((v, failure) -> release(key));
        }
    }

    private void release(Stream key) {
        waiting.computeIfPresent(key, (k, order) -> order.retireIfIdle() ? null : order);
    }

    /** Streams with a command waiting. */
    int size() {
        return waiting.size();
    }
}
