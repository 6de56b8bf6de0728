package io.trelliskv.request;

import io.trelliskv.version.Version;

/**
 * The versions of the keys one client connection wrote recently, by key token: the exact part of a
 * {@link Session}'s read-your-writes floors. A direct-mapped table: each key has one slot, chosen by its
 * token, and a key recorded into a slot another key holds takes it, pushing the other key out to
 * {@link PushedOut} with its version. So a recently written key stays exact unless a later key took its
 * slot: with random keys one written {@code k} writes ago is still held with probability
 * {@code (1 - 1/slots)^k}. Nothing is lost by a push-out, only precision: the session keeps the version
 * in a coarser, conservative floor.
 *
 * <h2>Why direct-mapped</h2>
 * A session records every acknowledged write of its connection, so this is on the path of every write,
 * and with random keys almost every write is of a key not held. A table kept in order of last write
 * (probing for the key, then for the oldest key to push out, shifting slots back to delete it, and
 * appending to a ring of writes in order) cost several cache misses per write. Here a write reads and
 * writes one slot — token, hlc and node side by side in {@link #table}, 24 bytes, so one cache line
 * for most slots and two for those that straddle a line — and makes no object: no probing, no
 * deletion, no order to keep.
 *
 * <h2>Growth</h2>
 * The table starts at {@value #INITIAL_SLOTS} slots, and while below {@code maxSlots} a key whose slot
 * is taken doubles it rather than push the other key out: on doubling a key in slot {@code i} moves to
 * {@code i} or {@code i + old slots} (one more bit of its token decides), so no two keys meet that did
 * not already share a slot. So a connection that writes few keys keeps them all in a small table: two
 * of {@code n} keys share one of {@code s} slots with probability about {@code n * n / 2s}, so ten keys
 * typically hold 128 slots (3 KiB), while a connection that writes fifty or more soon holds the most.
 *
 * <p>An empty slot holds version {@link Version#ZERO}, which sorts below every real version, so any
 * write recorded into it takes it.
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
    /** Longs per slot: token, hlc, node id. */
    private static final int SLOT = 3;
    private static final int HLC = 1;
    private static final int NODE = 2;

    private final int maxSlots;
    private final PushedOut pushedOut;

    /** {@link #slots} slots of {@value #SLOT} longs: token, then the version (hlc, node id); ZERO when empty. */
    private long[] table;
    /** Slots in the table, a power of two: grows by doubling up to {@link #maxSlots}. */
    private int slots;

    /** @param maxSlots the most slots, a power of two; @param pushedOut told of each key pushed out */
    RecentWrites(int maxSlots, PushedOut pushedOut) {
        if (maxSlots < 1 || Integer.bitCount(maxSlots) != 1) {
            throw new IllegalArgumentException("maxSlots: " + maxSlots + " (expected: a power of two)");
        }
        this.maxSlots = maxSlots;
        this.pushedOut = pushedOut;
        slots = Math.min(INITIAL_SLOTS, maxSlots);
        table = new long[SLOT * slots];
    }

    /** Slots in the table now: what it holds in memory, {@value #SLOT} longs each. */
    int slots() {
        return slots;
    }

    /**
     * Records a write of the key with {@code token}: kept if newer than the version held for it, an older
     * one is ignored. Another key in its slot is pushed out, once the table is at its most slots.
     */
    void record(long token, long hlc, long nodeId) {
        int at = SLOT * home(token, slots);
        while (table[at] != token && !empty(table, at)) {
            if (slots == maxSlots) {
                pushedOut.accept(table[at], table[at + HLC], table[at + NODE]);
                table[at + HLC] = 0;
                table[at + NODE] = 0;
                break;
            }
            grow();
            at = SLOT * home(token, slots);
        }
        if (Version.compare(hlc, nodeId, table[at + HLC], table[at + NODE]) > 0) {
            table[at] = token;
            table[at + HLC] = hlc;
            table[at + NODE] = nodeId;
        }
    }

    /** Reads the token held in the slot of {@code token}: brings the slot into the cache before a {@link #record}. */
    long touch(long token) {
        return table[SLOT * home(token, slots)];
    }

    /** The slot holding {@code token}, or -1: for {@link #hlc} and {@link #nodeId}. */
    int indexOf(long token) {
        int slot = home(token, slots);
        int at = SLOT * slot;
        return table[at] == token && !empty(table, at) ? slot : -1;
    }

    long hlc(int slot) {
        return table[SLOT * slot + HLC];
    }

    long nodeId(int slot) {
        return table[SLOT * slot + NODE];
    }

    /** Doubles the table: each key moves to its slot under one more bit of its token, where no other key is. */
    private void grow() {
        long[] old = table;
        slots *= 2;
        table = new long[SLOT * slots];
        for (int at = 0; at < old.length; at += SLOT) {
            if (!empty(old, at)) {
                System.arraycopy(old, at, table, SLOT * home(old[at], slots), SLOT);
            }
        }
    }

    private static boolean empty(long[] table, int at) {
        return table[at + HLC] == 0 && table[at + NODE] == 0;
    }

    /** Tokens are already hashes of the keys: their bits are spread. */
    private static int home(long token, int slots) {
        return (int) (token ^ (token >>> 32)) & (slots - 1);
    }
}
