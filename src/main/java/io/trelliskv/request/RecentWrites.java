package io.trelliskv.request;

import io.trelliskv.version.Version;

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
 * An open-addressing table with linear probing ({@link #table}: token, hlc, node and stamp of a slot side
 * by side, so a probe reads one cache line rather than one per array; a slot is empty when its stamp is
 * 0), at most half full, deleted from by shifting the following slots back; and the order of writes,
 * oldest first, in a ring of (token, stamp) pairs ({@link #order}). Every recorded write gets a new stamp
 * and appends to the ring; a ring pair whose stamp is no longer its key's is stale (the key was written
 * again since) and is skipped. Both grow by doubling from a small start, up to twice {@code limit}, so a
 * connection that writes a few keys holds a few slots; a full ring drops its stale pairs in place.
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
    /** Longs per table slot: token, hlc, node id, stamp. */
    private static final int SLOT = 4;
    private static final int HLC = 1;
    private static final int NODE = 2;
    private static final int STAMP = 3;

    private final int limit;
    private final PushedOut pushedOut;

    /** Table slots, {@value #SLOT} longs each: token, version (hlc, node), the stamp of its last write (0: empty). */
    private long[] table;
    /** Slots in the table: {@code table.length / SLOT}, a power of two. */
    private int slots;
    /** Slots in use; at most half the table, and at most {@link #limit}. */
    private int size;

    /** The ring of writes in order: token at [2i], stamp at [2i + 1]; {@link #count} pairs from {@link #head}. */
    private long[] order;
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
        slots = Math.min(INITIAL_SLOTS, tableSlotsFor(limit));
        table = new long[SLOT * slots];
        order = new long[2 * slots];
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
            int at = SLOT * slot;
            if (Version.compare(hlc, nodeId, table[at + HLC], table[at + NODE]) <= 0) {
                return;
            }
            table[at + HLC] = hlc;
            table[at + NODE] = nodeId;
            table[at + STAMP] = nextStamp;
            append(token, nextStamp++);
            return;
        }
        if (size == limit) {
            pushOutOldest();
        }
        if (2 * (size + 1) > slots) {
            resizeTable(2 * slots);
        }
        long stamp = nextStamp++;
        insert(token, hlc, nodeId, stamp);
        append(token, stamp);
    }

    /** The slot holding {@code token}, or -1: for {@link #hlc} and {@link #nodeId}. */
    int indexOf(long token) {
        int mask = slots - 1;
        for (int i = home(token, mask); table[SLOT * i + STAMP] != 0; i = (i + 1) & mask) {
            if (table[SLOT * i] == token) {
                return i;
            }
        }
        return -1;
    }

    long hlc(int slot) {
        return table[SLOT * slot + HLC];
    }

    long nodeId(int slot) {
        return table[SLOT * slot + NODE];
    }

    private long stamp(int slot) {
        return table[SLOT * slot + STAMP];
    }

    private void pushOutOldest() {
        int mask = order.length / 2 - 1;
        while (count > 0) { // some pair is live: size == limit >= 1
            long token = order[2 * head];
            long stamp = order[2 * head + 1];
            head = (head + 1) & mask;
            count--;
            int slot = indexOf(token);
            if (slot >= 0 && stamp(slot) == stamp) {
                long hlc = hlc(slot);
                long node = nodeId(slot);
                removeSlot(slot);
                pushedOut.accept(token, hlc, node);
                return;
            }
        }
    }

    private void append(long token, long stamp) {
        if (count == order.length / 2) {
            compactOrder();
        }
        int i = (head + count) & (order.length / 2 - 1);
        order[2 * i] = token;
        order[2 * i + 1] = stamp;
        count++;
    }

    /**
     * Makes room in a full ring: drops its stale pairs, in place, and, if the live ones (at most
     * {@link #size}) still fill more than half of it, doubles it (so it stays under four times
     * {@link #limit}).
     */
    private void compactOrder() {
        int capacity = order.length / 2;
        int mask = capacity - 1;
        int live = 0;
        for (int n = 0; n < count; n++) { // live pairs move back over stale ones: the writer trails the reader
            int from = (head + n) & mask;
            int slot = indexOf(order[2 * from]);
            if (slot >= 0 && stamp(slot) == order[2 * from + 1]) {
                int to = (head + live) & mask;
                order[2 * to] = order[2 * from];
                order[2 * to + 1] = order[2 * from + 1];
                live++;
            }
        }
        count = live;
        if (2 * live > capacity) {
            long[] grown = new long[4 * capacity];
            for (int n = 0; n < live; n++) {
                int from = (head + n) & mask;
                grown[2 * n] = order[2 * from];
                grown[2 * n + 1] = order[2 * from + 1];
            }
            order = grown;
            head = 0;
        }
    }

    private void insert(long token, long hlc, long nodeId, long stamp) {
        int mask = slots - 1;
        int i = home(token, mask);
        while (table[SLOT * i + STAMP] != 0) {
            i = (i + 1) & mask;
        }
        int at = SLOT * i;
        table[at] = token;
        table[at + HLC] = hlc;
        table[at + NODE] = nodeId;
        table[at + STAMP] = stamp;
        size++;
    }

    /** Empties a slot, shifting back the slots after it that probed past it (linear probing's deletion). */
    private void removeSlot(int hole) {
        int mask = slots - 1;
        for (int j = (hole + 1) & mask; table[SLOT * j + STAMP] != 0; j = (j + 1) & mask) {
            int home = home(table[SLOT * j], mask);
            // j's entry may fill the hole unless its home lies cyclically in (hole, j].
            boolean stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
            if (!stays) {
                System.arraycopy(table, SLOT * j, table, SLOT * hole, SLOT);
                hole = j;
            }
        }
        table[SLOT * hole + STAMP] = 0;
        size--;
    }

    private void resizeTable(int newSlots) {
        long[] old = table;
        table = new long[SLOT * newSlots];
        slots = newSlots;
        size = 0;
        for (int at = 0; at < old.length; at += SLOT) {
            if (old[at + STAMP] != 0) {
                insert(old[at], old[at + HLC], old[at + NODE], old[at + STAMP]);
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
