package io.trelliskv.ring;

/**
 * A half-open arc of the token ring, {@code (start, end]}: every token after {@code start} up to and
 * including {@code end}, walking clockwise (increasing signed value, wrapping from
 * {@link Long#MAX_VALUE} to {@link Long#MIN_VALUE}).
 *
 * <p>Three shapes, all handled by {@link #contains} and {@link #size}:
 * <ul>
 *   <li>{@code start < end}: the plain interval;
 *   <li>{@code start > end}: the arc wraps, holding {@code (start, MAX]} and {@code [MIN, end]};
 *   <li>{@code start == end}: the whole ring. This is the range of the only token of a one-token ring,
 *       so an empty arc cannot be expressed, and is never needed.
 * </ul>
 * The ring hands out ranges in this form because every range is the arc between two adjacent ring
 * tokens, owned by the node of its end token; streaming and Merkle trees later work range by range.
 */
public record TokenRange(long start, long end) {

    /** 2^64, the number of tokens on the ring, as a double. */
    private static final double RING_SIZE = 0x1p64;

    /** The whole ring, starting and ending at {@code token}. */
    public static TokenRange fullRing(long token) {
        return new TokenRange(token, token);
    }

    public boolean isFullRing() {
        return start == end;
    }

    /** Whether {@code token} lies in {@code (start, end]}, wrapping past {@link Long#MAX_VALUE}. */
    public boolean contains(long token) {
        return contains(start, end, token);
    }

    /** The fraction of the ring this range covers, in {@code (0, 1]}. */
    public double size() {
        return sizeOf(start, end);
    }

    /**
     * Whether {@code token} lies in the clockwise arc {@code (start, end]}. The arc's width is
     * {@code end - start} modulo 2^64 and the token's clockwise distance from {@code start} is
     * {@code token - start} modulo 2^64, so the test is one unsigned comparison for every shape;
     * {@code start == end} is the whole ring.
     */
    public static boolean contains(long start, long end, long token) {
        if (start == end) {
            return true;
        }
        long distance = token - start;
        return distance != 0 && Long.compareUnsigned(distance, end - start) <= 0;
    }

    /**
     * The fraction of the ring covered by {@code (start, end]}: {@code ((end - start) mod 2^64) / 2^64},
     * with {@code start == end} the whole ring (1.0).
     */
    public static double sizeOf(long start, long end) {
        return fractionOfRing(end - start);
    }

    /**
     * {@code width / 2^64}, reading {@code width} as an unsigned token count and 0 as 2^64 (the difference
     * of equal tokens, the whole ring): the fraction of the ring a range of that width covers.
     */
    public static double fractionOfRing(long width) {
        if (width == 0) {
            return 1.0;
        }
        double unsigned = width > 0 ? width : (width >>> 1) * 2.0 + (width & 1);
        return unsigned / RING_SIZE;
    }

    /** {@code (start, end]}; the full ring reads {@code (t, t]}. */
    @Override
    public String toString() {
        return "(" + start + ", " + end + "]";
    }
}
