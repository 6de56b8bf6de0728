package io.trelliskv.storage;

import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.PnCounter;

/**
 * What an entry's value bytes are, and how two replicas' values of one key are joined. A plain value is
 * a string, and of two the newer version wins (last writer wins). A versioned value ({@code VSET}) is
 * an encoded {@link DvvSet} of siblings and a counter an encoded {@link PnCounter}: two of the same kind
 * are joined, whatever their versions, so concurrent writes are all kept (as siblings, or as counted
 * increments) instead of one winning. Between kinds, and against tombstones, the newer version wins.
 *
 * <p>The codes are part of the on-disk and wire formats: ONLY APPEND.
 */
public final class ValueKind {

    /** A string; last writer wins. */
    public static final byte PLAIN = 0;
    /** Siblings with their causal history ({@link CausalCodec#encode(DvvSet)}). */
    public static final byte VERSIONED = 1;
    /** A convergent counter ({@link CausalCodec#encode(PnCounter)}). */
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
            case COUNTER -> CausalCodec.encode(CausalCodec.decodeCounter(a).merge(CausalCodec.decodeCounter(b)));
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
