package io.trelliskv.request;

import java.util.ArrayList;
import java.util.List;
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
 * <h2>Layout</h2>
 * A command that waits for a read phase is recorded on each of its keys, so a record costs no object of
 * its own: an open-addressing table with linear probing over the keys' tokens, at most half full, holding
 * per key the latest write whose handler has not run and the reads after it (one future, or a list of
 * them when several wait on one key). Commands that ran are dropped when their key is next looked at; a
 * key with none left is <em>settled</em> and removed then, and settled keys are swept out, in place, when
 * the table is half full (it doubles only if more than a quarter still waits then). So nothing is
 * allocated per command beyond a list when reads pile up on one key, and no callback is needed to forget
 * a command once it ran.
 *
 * <p>Thread-safety: {@link #submit} may be called from any thread; calls are ordered by the monitor,
 * and a command that waits is started on the thread that completed the last one it waited for.
 */
final class InOrder {

    /** What {@link #submit} answers once the stream is {@linkplain #retireIfIdle() retired}. */
    static final CompletableFuture<Void> RETIRED = new CompletableFuture<>();

    private static final int INITIAL_SLOTS = 16;

    /** Per slot: the key's token. Guarded by this, as everything below. */
    private long[] tokens = new long[INITIAL_SLOTS];
    /** Per slot: whether it holds a key. */
    private boolean[] used = new boolean[INITIAL_SLOTS];
    /** Per slot: the latest write on the key whose handler may not have run yet, or null. */
    private Object[] writes = new Object[INITIAL_SLOTS];
    /** Per slot: the reads after that write whose handlers may not have run: a future, a list of them, or null. */
    private Object[] reads = new Object[INITIAL_SLOTS];
    /** Slots in use, settled or not; at most half the table. */
    private int size;
    /** Set once the stream was dropped from its registry; nothing more is started through it. */
    private boolean retired;

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
     * Whether a write on these keys would start at once ({@link #submit}): no earlier command of the stream on
     * them waits to run its handler. A write that then runs at once, and never waits itself, needs no
     * {@code submit}: nothing later has to wait for it.
     */
    synchronized boolean clearToWrite(long[] tokens) {
        return !retired && earlier(tokens, true) == null;
    }

    /**
     * Starts a read on these keys now, if no earlier command of the stream holds it back ({@link #submit}), later
     * commands on them waiting for {@code ran}: how a read that joins a {@link ReadRun} is submitted, the run
     * having started already.
     *
     * @return false, having started nothing, if the read must wait (or the stream is retired)
     */
    synchronized boolean startReadIfClear(long[] tokens, CompletableFuture<Void> ran) {
        if (retired || earlier(tokens, false) != null) {
            return false;
        }
        holdBackLater(tokens, false, ran);
        return true;
    }

    /**
     * What a command on these keys must wait for: null if nothing. Most commands find one command or
     * none to wait for, which costs no list.
     */
    private CompletableFuture<Void> earlier(long[] tokens, boolean write) {
        if (size == 0) {
            return null;
        }
        if (tokens.length == 1 && !write) { // a one-key read, the common case: it follows one write at most
            int slot = indexOf(tokens[0]);
            if (slot < 0) {
                return null;
            }
            if (settled(slot)) {
                removeSlot(slot);
                return null;
            }
            @SuppressWarnings("unchecked")
            CompletableFuture<Void> w = (CompletableFuture<Void>) writes[slot];
            return w; // not done, or settled() would have dropped it; null if only reads wait
        }
        Pending found = new Pending();
        for (long token : tokens) {
            int slot = indexOf(token);
            if (slot < 0) {
                continue;
            }
            if (settled(slot)) {
                removeSlot(slot);
                continue;
            }
            found.add(writes[slot]);
            if (write) {
                found.addAll(reads[slot]);
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

        @SuppressWarnings("unchecked")
        void add(Object waiting) {
            CompletableFuture<Void> f = (CompletableFuture<Void>) waiting;
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

        /** Adds a key's reads: a future, a list of them, or null. */
        void addAll(Object reads) {
            if (reads instanceof List<?> list) {
                for (Object read : list) {
                    add(read);
                }
            } else {
                add(reads);
            }
        }

        /** A future that completes once every one found has: null if none. */
        CompletableFuture<Void> all() {
            return more == null ? first : CompletableFuture.allOf(more.toArray(new CompletableFuture<?>[0]));
        }
    }

    /** Makes later commands on these keys wait for {@code ran} as they must, until it completes. */
    private void holdBackLater(long[] tokens, boolean write, CompletableFuture<Void> ran) {
        for (long token : tokens) {
            int slot = indexOf(token);
            if (slot < 0) {
                if (2 * (size + 1) > used.length) {
                    sweep();
                    if (4 * (size + 1) > used.length) {
                        resize(2 * used.length);
                    }
                }
                slot = insert(token);
            } else {
                settled(slot); // drops what ran
            }
            if (write) {
                writes[slot] = ran; // it follows every earlier command on the key, so later ones need only follow it
                reads[slot] = null;
            } else {
                reads[slot] = withRead(reads[slot], ran);
            }
        }
    }

    /** Whether no command on the slot's key waits to run its handler; drops those that ran. */
    private boolean settled(int slot) {
        if (writes[slot] instanceof CompletableFuture<?> w && w.isDone()) {
            writes[slot] = null;
        }
        reads[slot] = waitingReads(reads[slot]);
        return writes[slot] == null && reads[slot] == null;
    }

    /** Of a key's reads (a future, a list of them, or null), those whose handlers have not run. */
    private static Object waitingReads(Object reads) {
        if (reads instanceof CompletableFuture<?> f) {
            return f.isDone() ? null : f;
        }
        if (reads == null) {
            return null;
        }
        @SuppressWarnings("unchecked")
        List<CompletableFuture<?>> list = (List<CompletableFuture<?>>) reads;
        int kept = 0; // in place: removeIf would make a bit set each time
        for (int i = 0, n = list.size(); i < n; i++) {
            CompletableFuture<?> read = list.get(i);
            if (!read.isDone()) {
                list.set(kept++, read);
            }
        }
        for (int i = list.size() - 1; i >= kept; i--) {
            list.remove(i);
        }
        return kept == 0 ? null : kept == 1 ? list.get(0) : list;
    }

    /** A key's reads with one more. */
    private static Object withRead(Object reads, CompletableFuture<Void> read) {
        if (reads == null || reads == read) { // the same read again: a run's commands on one key
            return read;
        }
        if (reads instanceof CompletableFuture<?> f) {
            List<CompletableFuture<?>> list = new ArrayList<>(4);
            list.add(f);
            list.add(read);
            return list;
        }
        @SuppressWarnings("unchecked")
        List<CompletableFuture<?>> list = (List<CompletableFuture<?>>) reads;
        if (list.get(list.size() - 1) != read) {
            list.add(read);
        }
        return list;
    }

    /** True if no command of the stream is waiting to run its handler. */
    synchronized boolean idle() {
        sweep();
        return size == 0;
    }

    /** Retires the stream if nothing waits: later {@link #submit}s start nothing. */
    synchronized boolean retireIfIdle() {
        if (idle()) {
            retired = true;
        }
        return retired;
    }

    private int indexOf(long token) {
        int mask = used.length - 1;
        for (int i = home(token, mask); used[i]; i = (i + 1) & mask) {
            if (tokens[i] == token) {
                return i;
            }
        }
        return -1;
    }

    /** Takes an empty slot for {@code token}, waiting for nothing yet. */
    private int insert(long token) {
        int mask = used.length - 1;
        int i = home(token, mask);
        while (used[i]) {
            i = (i + 1) & mask;
        }
        tokens[i] = token;
        used[i] = true;
        size++;
        return i;
    }

    /** Empties a slot, shifting back the slots after it that probed past it (linear probing's deletion). */
    private void removeSlot(int hole) {
        int mask = used.length - 1;
        for (int j = (hole + 1) & mask; used[j]; j = (j + 1) & mask) {
            int home = home(tokens[j], mask);
            // j's entry may fill the hole unless its home lies cyclically in (hole, j].
            boolean stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
            if (!stays) {
                tokens[hole] = tokens[j];
                writes[hole] = writes[j];
                reads[hole] = reads[j];
                hole = j;
            }
        }
        used[hole] = false;
        writes[hole] = null;
        reads[hole] = null;
        size--;
    }

    /**
     * Drops the settled keys, in place. Deleting shifts later slots back into the slot just emptied,
     * which is then looked at again; a slot shifted back into one already passed is kept until the next
     * lookup or sweep, which is safe.
     */
    private void sweep() {
        for (int i = 0; i < used.length; i++) {
            while (used[i] && settled(i)) {
                removeSlot(i);
            }
        }
    }

    /** Rebuilds the table with {@code capacity} slots (a power of two), keeping the keys not settled. */
    private void resize(int capacity) {
        long[] oldTokens = tokens;
        boolean[] oldUsed = used;
        Object[] oldWrites = writes;
        Object[] oldReads = reads;
        tokens = new long[capacity];
        used = new boolean[capacity];
        writes = new Object[capacity];
        reads = new Object[capacity];
        size = 0;
        for (int i = 0; i < oldUsed.length; i++) {
            if (oldUsed[i]) {
                int slot = insert(oldTokens[i]);
                writes[slot] = oldWrites[i];
                reads[slot] = oldReads[i];
            }
        }
    }

    /** Tokens are already hashes of the keys: their bits are spread. */
    private static int home(long token, int mask) {
        return (int) (token ^ (token >>> 32)) & mask;
    }
}
