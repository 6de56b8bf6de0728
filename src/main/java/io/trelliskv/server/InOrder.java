package io.trelliskv.server;

import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Starts the commands of one stream in the order they arrive: the keyed commands of one client
 * connection on the node it is connected to, or the commands one peer forwards for one of its client
 * connections on the node that coordinates them ({@link ForwardedStreams}).
 *
 * <p>Most commands run their handler at once, on the thread that received them, so arrival order is
 * handler order by itself. A command that must first read its keys from the other replicas (INCR,
 * DEL, a GET at QUORUM) runs its handler only when that read completes, on whatever thread completes
 * it. Every later command of the stream then waits for that handler to have run before it starts —
 * not just its reply: {@code DEL k} then {@code SET k v} leaves {@code k = v}, and a GET after an INCR
 * sees the increment, as on a single Redis. Commands of different streams never wait for each other.
 *
 * <p>Thread-safety: {@link #submit} may be called from any thread; calls are ordered by the monitor,
 * and a command that waits is started on the thread that completed the one before it.
 */
final class InOrder {

    /** What {@link #submit} answers once the stream is {@linkplain #retireIfIdle() retired}. */
    static final CompletableFuture<Void> RETIRED = new CompletableFuture<>();

    /** Completes once the handler of the stream's latest waiting command has run; null when none waits. */
    private CompletableFuture<Void> waiting;
    /** Set once the stream was dropped from its registry; nothing more is started through it. */
    private boolean retired;

    /**
     * Starts a command now, if no earlier command of the stream is still waiting to run its handler, or
     * else right after the last one that is.
     *
     * @param start starts the command and returns a future that completes once its handler has run (or
     *              is known not to run); done if it ran at once. Must not throw.
     * @return a future that completes once the stream has nothing waiting up to this command (done if
     *         the command ran at once), or {@link #RETIRED}, having started nothing
     */
    synchronized CompletableFuture<Void> submit(Supplier<CompletableFuture<Void>> start) {
        if (retired) {
            return RETIRED;
        }
        CompletableFuture<Void> before = waiting;
        if (before == null || before.isDone()) {
            CompletableFuture<Void> ran = start.get();
            waiting = ran.isDone() ? null : ran;
            return ran;
        }
        CompletableFuture<Void> ran = new CompletableFuture<>();
        waiting = ran;
        before.whenComplete((v, failure) -> start.get().whenComplete((v2, failure2) -> ran.complete(null)));
        return ran;
    }

    /** True if no command of the stream is waiting to run its handler. */
    synchronized boolean idle() {
        return waiting == null || waiting.isDone();
    }

    /** Retires the stream if nothing waits: later {@link #submit}s start nothing. */
    synchronized boolean retireIfIdle() {
        if (idle()) {
            retired = true;
        }
        return retired;
    }
}
