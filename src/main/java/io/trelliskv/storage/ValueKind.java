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
 * A counter ({@code INCR} and its family) is an encoded {@link CounterState}, and its entry's version is
 * its <em>epoch</em>: the version of the last-writer-wins state it counts from (a missing key, a plain
 * integer, a SET or DEL; see {@code command.StringCommands}). Increments keep that version, so:
 * <ul>
 *   <li>two live counters of the same version count from the same state and are joined (each node's
 *       increments at their maximum): an increment is counted once, whatever path and order brings it;</li>
 *   <li>at equal versions a live counter beats anything else (the plain value or tombstone it was made
 *       from, an expired value): a counter made from state {@code v} is newer than {@code v};</li>
 *   <li>otherwise the newer version wins, so a SET or DEL newer than a counter's epoch replaces it, and
 *       increments of the older epoch that the SET or DEL had not seen are dropped.</li>
 * </ul>
 * A value that has expired is not joined: it no longer exists, and the newer version decides.
 *
 * <p>The codes are part of the on-disk and wire formats: ONLY APPEND.
 */
public final class ValueKind {

    /** A string; last writer wins. */
    public static final byte PLAIN = 0;
    /** Siblings with their causal history ({@link CausalCodec#encode(DvvSet)}). */
    public static final byte VERSIONED = 1;
    /** A convergent counter ({@link CausalCodec#encode(CounterState)}); its version is its epoch. */
    public static final byte COUNTER = 2;

    /** The largest code: a code fits in two bits. */
    public static final byte MAX = COUNTER;

    private ValueKind() {
    }

    /** True for the kinds whose values are joined rather than replaced. */
    public static boolean joins(byte kind) {
        return kind == VERSIONED || kind == COUNTER;
    }

    /** True for the kinds joined only with values of the same version (a counter's epoch), not with any. */
    public static boolean joinsWithinVersion(byte kind) {
        return kind == COUNTER;
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

    /** The name TYPE and errors use: string, versioned, counter. */
    public static String name(byte kind) {
        return switch (kind) {
            case PLAIN -> "string";
            case VERSIONED -> "versioned";
            case COUNTER -> "counter";
            default -> "kind " + kind;
        };
    }
}
