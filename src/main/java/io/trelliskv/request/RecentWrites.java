package io.trelliskv.request;

import io.trelliskv.version.Version;

import java.util.Arrays;

/**
 * The versions of the keys one client connection wrote most recently, by key token: the exact part of a
 * {@link Session}'s read-your-writes floors. At most {@code limit} keys; recording one more pushes out the
 * key whose last recorded write is the oldest, and hands it to {@link PushedOut}.
 *
 * <h2>Why primitive arrays</h2>
 * A session records every acknowledged write of its connection, so this is on the path of every write.
 * A map of boxed tokens to {@code Version}s made three objects per write that lived for the next
 * {@code limit} writes of the connection: long enough to reach the old generation, where each one later
 * had to be collected. Here a write costs no object at all.
 *
 * <h2>Layout</h2>
 * An open-addressing table with linear probing ({@link #tokens}, {@link #hlcs}, {@link #nodes},
 * {@link #stamps}; a slot is empty when its stamp is 0), at most half full, deleted from by shifting the
 * following slots back; and the order of writes, oldest first, in a ring of (token, stamp) pairs. Every
 * recorded write gets a new stamp and appends to the ring; a ring pair whose stamp is no longer its key's
 * is stale (the key was written again since) and is skipped. Both grow by doubling from a small start, up
 * to twice {@code limit}, so a connection that writes a few keys holds a few slots.
 *
 * <p>Not thread-safe: the session guards it.
 */
final class RecentWrites {

    /** Where a key goes when it is pushed out: its token and the version of its last recorded write. */
    @FunctionalInterface
    interface PushedOut {
        void accept(long token, long hlc, long nodeId);
    }

    private static final int INITIAL_SLOTS = 16;

    private final int limit;
    private final PushedOut pushedOut;

    /** Table slots: token, version, and the stamp of its last write (0: empty). */
    private long[] tokens;
    private long[] hlcs;
    private long[] nodes;
    private long[] stamps;
    /** Slots in use; at most half the table, and at most {@link #limit}. */
    private int size;

    /** The ring of writes in order: token and stamp, {@link #count} of them from {@link #head}. */
    private long[] orderTokens;
    private long[] orderStamps;
    private int head;
    private int count;

    /** The next write's stamp; never 0. */
    private long nextStamp = 1;

    /** @param limit the most keys kept (at least 1); @param pushedOut told of each key pushed out */
    RecentWrites(int limit, PushedOut pushedOut) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit: " + limit + " (expected: >= 1)");
        }
        this.limit = limit;
        this.pushedOut = pushedOut;
        int slots = Math.min(INITIAL_SLOTS, tableSlotsFor(limit));
        tokens = new long[slots];
        hlcs = new long[slots];
        nodes = new long[slots];
        stamps = new long[slots];
        orderTokens = new long[slots];
        orderStamps = new long[slots];
    }

    /** Keys held now. */
    int size() {
        return size;
    }

    /**
     * Records a write of the key with {@code token}: kept if newer than the version held for it, and then
     * the key's most recent write; an older version is ignored. May push out the oldest key.
     */
    void record(long token, long hlc, long nodeId) {
        int slot = indexOf(token);
        if (slot >= 0) {
            if (Version.compare(hlc, nodeId, hlcs[slot], nodes[slot]) <= 0) {
                return;
            }
            hlcs[slot] = hlc;
            nodes[slot] = nodeId;
            stamps[slot] = nextStamp;
            append(token, nextStamp++);
            return;
        }
        if (size == limit) {
            pushOutOldest();
        }
        if (2 * (size + 1) > tokens.length) {
            resizeTable(2 * tokens.length);
        }
        long stamp = nextStamp++;
        insert(token, hlc, nodeId, stamp);
        append(token, stamp);
    }

    /** The slot holding {@code token}, or -1: for {@link #hlc} and {@link #nodeId}. */
    int indexOf(long token) {
        int mask = tokens.length - 1;
        for (int i = home(token, mask); stamps[i] != 0; i = (i + 1) & mask) {
            if (tokens[i] == token) {
                return i;
            }
        }
        return -1;
    }

    long hlc(int slot) {
        return hlcs[slot];
    }

    long nodeId(int slot) {
        return nodes[slot];
    }

    private void pushOutOldest() {
        while (count > 0) { // some pair is live: size == limit >= 1
            long token = orderTokens[head];
            long stamp = orderStamps[head];
            head = (head + 1) & (orderTokens.length - 1);
            count--;
            int slot = indexOf(token);
            if (slot >= 0 && stamps[slot] == stamp) {
                long hlc = hlcs[slot];
                long node = nodes[slot];
                removeSlot(slot);
                pushedOut.accept(token, hlc, node);
                return;
            }
        }
    }

    private void append(long token, long stamp) {
        if (count == orderTokens.length) {
            compactOrder();
        }
        int i = (head + count) & (orderTokens.length - 1);
        orderTokens[i] = token;
        orderStamps[i] = stamp;
        count++;
    }

    /**
     * Makes room in a full ring: drops its stale pairs and, if the live ones (at most {@link #size}) still
     * fill more than half of it, doubles it (so it stays under four times {@link #limit}).
     */
    private void compactOrder() {
        int capacity = orderTokens.length;
        long[] newTokens = new long[capacity];
        long[] newStamps = new long[capacity];
        int live = 0;
        for (int n = 0; n < count; n++) {
            int i = (head + n) & (capacity - 1);
            int slot = indexOf(orderTokens[i]);
            if (slot >= 0 && stamps[slot] == orderStamps[i]) {
                newTokens[live] = orderTokens[i];
                newStamps[live] = orderStamps[i];
                live++;
            }
        }
        if (2 * live > capacity) {
            newTokens = Arrays.copyOf(newTokens, 2 * capacity);
            newStamps = Arrays.copyOf(newStamps, 2 * capacity);
        }
        orderTokens = newTokens;
        orderStamps = newStamps;
        head = 0;
        count = live;
    }

    private void insert(long token, long hlc, long nodeId, long stamp) {
        int mask = tokens.length - 1;
        int i = home(token, mask);
        while (stamps[i] != 0) {
            i = (i + 1) & mask;
        }
        tokens[i] = token;
        hlcs[i] = hlc;
        nodes[i] = nodeId;
        stamps[i] = stamp;
        size++;
    }

    /** Empties a slot, shifting back the slots after it that probed past it (linear probing's deletion). */
    private void removeSlot(int hole) {
        int mask = tokens.length - 1;
        for (int j = (hole + 1) & mask; stamps[j] != 0; j = (j + 1) & mask) {
            int home = home(tokens[j], mask);
            // j's entry may fill the hole unless its home lies cyclically in (hole, j].
            boolean stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
            if (!stays) {
                tokens[hole] = tokens[j];
                hlcs[hole] = hlcs[j];
                nodes[hole] = nodes[j];
                stamps[hole] = stamps[j];
                hole = j;
            }
        }
        stamps[hole] = 0;
        size--;
    }

    private void resizeTable(int slots) {
        long[] oldTokens = tokens;
        long[] oldHlcs = hlcs;
        long[] oldNodes = nodes;
        long[] oldStamps = stamps;
        tokens = new long[slots];
        hlcs = new long[slots];
        nodes = new long[slots];
        stamps = new long[slots];
        size = 0;
        for (int i = 0; i < oldTokens.length; i++) {
            if (oldStamps[i] != 0) {
                insert(oldTokens[i], oldHlcs[i], oldNodes[i], oldStamps[i]);
            }
        }
    }

    /** Table slots for {@code limit} keys at most half full: the power of two at or above twice it. */
    private static int tableSlotsFor(int limit) {
        return Integer.highestOneBit(Math.max(1, 2 * limit - 1)) << 1;
    }

    /** Tokens are already hashes of the keys: their bits are spread. */
    private static int home(long token, int mask) {
        return (int) (token ^ (token >>> 32)) & mask;
    }
}
