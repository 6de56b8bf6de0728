package io.trelliskv.ring;

import java.util.Locale;
import java.util.Map;

/**
 * Summary of an ownership map ({@link TokenRing#ownership()}): the smallest, largest and mean share of
 * a node, and the balance figure the allocator is judged by, max/mean (1.0 is perfect balance).
 *
 * @param min  smallest node share, a fraction of the ring
 * @param max  largest node share
 * @param mean mean node share, 1 / nodes when the shares sum to 1
 */
public record OwnershipStats(double min, double max, double mean) {

    /** The statistics of {@code shares}, node id to fraction of the ring; not empty. */
    public static OwnershipStats of(Map<Long, Double> shares) {
        if (shares.isEmpty()) {
            throw new IllegalArgumentException("shares: empty (expected: at least one node)");
        }
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        for (double share : shares.values()) {
            min = Math.min(min, share);
            max = Math.max(max, share);
            sum += share;
        }
        return new OwnershipStats(min, max, sum / shares.size());
    }

    /** Largest share over mean share: how much more than its fair share the most loaded node holds. */
    public double maxOverMean() {
        return max / mean;
    }

    /** Smallest share over mean share. */
    public double minOverMean() {
        return min / mean;
    }

    /** {@code "min 9.80% max 10.41% mean 10.00% max/mean 1.041"}. */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "min %.2f%% max %.2f%% mean %.2f%% max/mean %.3f",
                min * 100, max * 100, mean * 100, maxOverMean());
    }
}
