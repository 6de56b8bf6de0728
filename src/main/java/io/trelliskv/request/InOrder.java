package io.trelliskv.request;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Starts the commands of one stream in the order they arrive, key by key: the keyed commands of one
 * client connection on the node it is connected to, or the commands one peer forwards for one of its
 * client connections on the node that coordinates them ({@link ForwardedStreams}).
 *
 * <p>Most commands run their handler at once, on the thread that received them, so arrival order is
 * handler order by itself. A command that must first read its keys from the other replicas (INCR,
 * DEL, a GET at QUORUM) runs its handler only when that read completes, on whatever thread completes
 * it. Every later command of the stream that conflicts with it — on one of its keys, and not both
 * reads — then waits for that handler to have run before it starts, not just its reply:
 * {@code DEL k} then {@code SET k v} leaves {@code k = v}, a GET after an INCR sees the increment, and
 * a SET after a waiting GET does not change what the GET returns, as on a single Redis. Commands that
 * do not conflict do not wait: nothing one does can change what the other reads or writes, so a
 * pipeline of QUORUM GETs still reads its replicas in parallel. Commands of different streams never
 * wait for each other.
 *
 * <p>Keys are told apart by their ring tokens (64-bit hashes); two keys with one token only make one
 * command wait for the other, which is safe.
 *
 * <p>Thread-safety: {@link #submit} may be called from any thread; calls are ordered by the monitor,
 * and a command that waits is started on the thread that completed the last one it waited for.
 */
final class InOrder {

    /** What {@link #submit} answers once the stream is {@linkplain #retireIfIdle() retired}. */
    static final CompletableFuture<Void> RETIRED = new CompletableFuture<>();

    /**
     * Per key token, the stream's commands on that key whose handlers have not run yet: the latest
     * write, and the reads that came after it. Entries go once their handlers ran. Guarded by this.
     */
    private final Map<Long, Waiting> waiting = new HashMap<>();
    /** Set once the stream was dropped from its registry; nothing more is started through it. */
    private boolean retired;

    /** The commands waiting on one key. */
    private static final class Waiting {
        CompletableFuture<Void> write;
        final List<CompletableFuture<Void>> reads = new ArrayList<>(1);

        boolean settled() {
            int kept = 0; // drops the reads that ran, in place (removeIf would make a bit set each time)
            for (int i = 0, n = reads.size(); i < n; i++) {
                CompletableFuture<Void> read = reads.get(i);
                if (!read.isDone()) {
                    reads.set(kept++, read);
                }
            }
            for (int i = reads.size() - 1; i >= kept; i--) {
                reads.remove(i);
            }
            if (write != null && write.isDone()) {
                write = null;
            }
            return write == null && reads.isEmpty();
        }
    }

    /**
     * Starts a command now, if no earlier command of the stream that it must follow is still waiting to
     * run its handler, or else right after the last such ones have. A write follows every earlier
     * command on its keys; a read follows the earlier writes on its keys (reads of one key need not
     * wait for each other: neither changes what the other sees).
     *
     * @param tokens the ring tokens of the command's keys
     * @param write  whether the command may write its keys
     * @param start  starts the command and returns a future that completes once its handler has run
     *               (or is known not to run); done if it ran at once. Must not throw.
     * @return a future that completes once this command's handler has run (done if it ran at once), or
     *         {@link #RETIRED}, having started nothing
     */
    synchronized CompletableFuture<Void> submit(long[] tokens, boolean write,
                                                Supplier<CompletableFuture<Void>> start) {
        if (retired) {
            return RETIRED;
        }
        CompletableFuture<Void> before = earlier(tokens, write);
        if (before == null) {
            CompletableFuture<Void> ran = start.get();
            if (!ran.isDone()) {
                holdBackLater(tokens, write, ran);
            }
            return ran;
        }
        CompletableFuture<Void> ran = new CompletableFuture<>();
        holdBackLater(tokens, write, ran);
        before.whenComplete((v, failure) -> start.get().whenComplete((v2, failure2) -> ran.complete(null)));
        return ran;
    }

    /**
     * What a command on these keys must wait for: null if nothing. Most commands find one command or
     * none to wait for, which costs no list.
     */
    private CompletableFuture<Void> earlier(long[] tokens, boolean write) {
        if (waiting.isEmpty()) {
            return null;
        }
        Pending found = new Pending();
        for (long token : tokens) {
            Waiting w = waiting.get(token);
            if (w == null) {
                continue;
            }
            found.add(w.write);
            if (write) {
                for (CompletableFuture<Void> read : w.reads) {
                    found.add(read);
                }
            }
        }
        return found.all();
    }

    /** The distinct commands not yet run that one command must wait for. */
    private static final class Pending {
        /** The first found; null if none. */
        private CompletableFuture<Void> first;
        /** All found, once there are two or more; null before. */
        private List<CompletableFuture<Void>> more;

        void add(CompletableFuture<Void> f) {
            if (f == null || f.isDone() || f == first || (more != null && more.contains(f))) {
                return;
            }
            if (first == null) {
                first = f;
                return;
            }
            if (more == null) {
                more = new ArrayList<>(4);
                more.add(first);
            }
            more.add(f);
        }

        /** A future that completes once every one found has: null if none. */
        CompletableFuture<Void> all() {
            return more == null ? first : CompletableFuture.allOf(more.toArray(new CompletableFuture<?>[0]));
        }
    }

    /** Makes later commands on these keys wait for {@code ran} as they must, and forgets it once complete. */
    private void holdBackLater(long[] tokens, boolean write, CompletableFuture<Void> ran) {
        for (long token : tokens) {
            Waiting w = waiting.computeIfAbsent(token, t -> new Waiting());
            if (write) {
                w.write = ran; // it follows every earlier command on the key, so later ones need only follow it
                w.reads.clear();
            } else {
                w.reads.add(ran);
            }
        }
        ran.whenComplete((v, failure) -> forget(tokens));
    }

    private synchronized void forget(long[] tokens) {
        for (long token : tokens) {
            Waiting w = waiting.get(token);
            if (w != null && w.settled()) {
                waiting.remove(token);
            }
        }
    }

    /** True if no command of the stream is waiting to run its handler. */
    synchronized boolean idle() {
        waiting.values().removeIf(Waiting::settled);
        return waiting.isEmpty();
    }

    /** Retires the stream if nothing waits: later {@link #submit}s start nothing. */
    synchronized boolean retireIfIdle() {
        if (idle()) {
            retired = true;
        }
        return retired;
    }
}
