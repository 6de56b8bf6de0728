package io.trelliskv.storage;

import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.CounterState;

/**
 * What an entry's value bytes are, and how two replicas' values of one key are joined. A plain value is
 * a string, and of two the newer version wins (last writer wins). A versioned value ({@code VSET}) is
 * an encoded {@link DvvSet} of siblings: two are joined, whatever their versions, so concurrent writes
 * are all kept as siblings instead of one winning.
 *
 * <h2>Counters</h2>
 * A counter ({@code INCR} and its family) is an encoded {@link CounterState}: the state it counts from
 * (its epoch: the version of a missing key, a plain integer, a SET or a DEL; and its base) and the
 * increments counted since. Every increment is an ordinary local write with a new version, so versions
 * still tell replicas, read repair, anti-entropy and WATCH that something changed; but which of two
 * entries wins is decided by their <em>rank</em>, not their version: a live counter ranks at its epoch,
 * just above the state of that version; anything else (a plain value, a tombstone, an expired counter)
 * ranks at its version. So:
 * <ul>
 *   <li>two live counters of one epoch are joined (each node's increments at their maximum): an
 *       increment is counted once, whatever path and order brings it;</li>
 *   <li>a counter beats the state it was made from, and the counters of older epochs;</li>
 *   <li>a SET or DEL newer than a counter's epoch beats it, even when an increment concurrent with the
 *       reset, which had not seen it, was stamped later: such increments are dropped.</li>
 * </ul>
 * The rank order ({@link Precedence}) is total, so replicas converge whatever the order entries reach
 * them in, and a coordinator's read follows it too. Where it disagrees with the version order (a join
 * that equals neither side; a counter that wins with the older version), the engine stores the winner
 * under a new version, so that replicas comparing versions find the difference. The one case it cannot
 * restamp is a SET or DEL that beats a later-stamped concurrent increment: it keeps its own, older,
 * version (see {@code MemoryEngine.merge}); reads ask above a counter's epoch and anti-entropy sends a
 * counter's key both ways, so the reset still reaches every replica.
 *
 * <p>The codes are part of the on-disk and wire formats: ONLY APPEND.
 */
public final class ValueKind {

    /** A string; last writer wins. */
    public static final byte PLAIN = 0;
    /** Siblings with their causal history ({@link CausalCodec#encode(DvvSet)}). */
    public static final byte VERSIONED = 1;
    /** A convergent counter ({@link CausalCodec#encode(CounterState)}); ranked by its epoch. */
    public static final byte COUNTER = 2;

    /** The largest code: a code fits in two bits. */
    public static final byte MAX = COUNTER;

    private ValueKind() {
    }

    /** True for the kinds whose values are joined rather than replaced. */
    public static boolean joins(byte kind) {
        return kind == VERSIONED || kind == COUNTER;
    }

    /**
     * The join of two values of kind {@code kind} (one that {@link #joins}); commutative, associative and
     * idempotent, so replicas that see the same values in any order hold the same bytes.
     *
     * @throws IllegalArgumentException if either value does not decode as the kind
     */
    public static byte[] join(byte kind, byte[] a, byte[] b) {
        return switch (kind) {
            case VERSIONED -> CausalCodec.encode(CausalCodec.decodeDvv(a).sync(CausalCodec.decodeDvv(b)));
            case COUNTER -> CausalCodec.encode(CausalCodec.decodeCounterState(a).merge(CausalCodec.decodeCounterState(b)));
            default -> throw new IllegalArgumentException("values of kind " + kind + " are not joined");
        };
    }

    /**
     * The expiry of {@code joined}, the join of {@code a} and {@code b} (live values of one kind that joins),
     * which is stored under the newer of their versions. The expiry follows the values it holds:
     * <ul>
     *   <li>a versioned value with no siblings left (the causal history a {@code VDEL} keeps, which expires
     *       after the tombstone grace) contributes no expiry to siblings it did not see: when the join holds
     *       values, its expiry is that of the newer side that holds values (0, none, if that write set
     *       none), so a concurrent sibling joined into a deleted key's history lives as its own write said,
     *       instead of disappearing with the history;</li>
     *   <li>otherwise (both sides hold values, or the join holds none, or a counter) the newer side's.</li>
     * </ul>
     * Where siblings were written with different TTLs the key still has one expiry, the newest write's
     * that holds values, so replicas that joined them in different orders can hold different expiries.
     *
     * @throws IllegalArgumentException if a value does not decode as the kind
     */
    public static long joinedExpiry(Entry a, Entry b, byte[] joined) {
        Entry newer = b.newerThan(a) ? b : a;
        Entry older = newer == a ? b : a;
        if (newer.kind() != VERSIONED || !holdsValues(joined) || holdsValues(newer.value())) {
            return newer.expireAt();
        }
        return holdsValues(older.value()) ? older.expireAt() : newer.expireAt();
    }

    private static boolean holdsValues(byte[] versioned) {
        return !CausalCodec.decodeDvv(versioned).hasNoValues();
    }

    /** The kind's name in errors and in SCAN's and TYPE's {@code versioned}: string, versioned, counter. */
    public static String name(byte kind) {
        return switch (kind) {
            case PLAIN -> "string";
            case VERSIONED -> "versioned";
            case COUNTER -> "counter";
            default -> "kind " + kind;
        };
    }
}
