package io.trelliskv.version;

import java.util.Arrays;

/**
 * A convergent counter (a PN-counter, Shapiro et al., "A comprehensive study of Convergent and
 * Commutative Replicated Data Types", 2011; what Riak's counters and active-active Redis counters are):
 * for each node that coordinated increments, the sum of its positive and of its negative ones. A node
 * only ever raises its own two sums, so replicas merge by taking each sum's maximum, and an increment is
 * counted once however many times, and in whatever order, its state reaches a replica. The value is the
 * sum of all positive parts minus the sum of all negative ones.
 *
 * <p>Immutable. Entries sorted by node id (unsigned), with no all-zero entries, so equal counters have
 * equal arrays.
 */
public final class PnCounter {

    /** The counter nobody incremented: value 0. */
    public static final PnCounter ZERO = new PnCounter(new long[0], new long[0], new long[0]);

    /** Node ids, ascending unsigned. */
    private final long[] nodes;
    /** Sum of the positive increments {@code nodes[i]} coordinated; >= 0, only grows. */
    private final long[] up;
    /** Sum of the magnitudes of the negative increments {@code nodes[i]} coordinated; >= 0, only grows. */
    private final long[] down;

    private PnCounter(long[] nodes, long[] up, long[] down) {
        this.nodes = nodes;
        this.up = up;
        this.down = down;
    }

    /** A counter from its parts (for decoding); node ids strictly ascending (unsigned), parts >= 0. */
    public static PnCounter of(long[] nodes, long[] up, long[] down) {
        if (nodes.length != up.length || nodes.length != down.length) {
            throw new IllegalArgumentException("parts of different lengths: " + nodes.length + ", " + up.length + ", " + down.length);
        }
        for (int i = 0; i < nodes.length; i++) {
            if (up[i] < 0 || down[i] < 0) {
                throw new IllegalArgumentException("negative part at entry " + i);
            }
            if (i > 0 && Long.compareUnsigned(nodes[i - 1], nodes[i]) >= 0) {
                throw new IllegalArgumentException("entries out of order at entry " + i);
            }
        }
        return new PnCounter(nodes.clone(), up.clone(), down.clone());
    }

    /**
     * The counter's value.
     *
     * @throws ArithmeticException if it does not fit in a signed 64-bit integer
     */
    public long value() {
        long v = 0;
        for (int i = 0; i < nodes.length; i++) {
            v = Math.addExact(v, up[i]);
            v = Math.subtractExact(v, down[i]);
        }
        return v;
    }

    /**
     * This counter with {@code delta} added by {@code node}, the coordinator of the increment.
     *
     * @throws ArithmeticException if a part or the value would overflow (Redis's "increment or decrement
     *                             would overflow"); the counter is then unchanged
     */
    public PnCounter add(long node, long delta) {
        int i = indexOf(node);
        long[] n = nodes;
        long[] u = up;
        long[] d = down;
        if (i < 0) {
            int at = -i - 1;
            n = insert(nodes, at, node);
            u = insert(up, at, 0);
            d = insert(down, at, 0);
            i = at;
        } else {
            u = up.clone();
            d = down.clone();
        }
        if (delta >= 0) {
            u[i] = Math.addExact(u[i], delta);
        } else {
            // A part holds at most Long.MAX_VALUE, so a decrement by exactly 2^63 is refused as an overflow.
            d[i] = Math.addExact(d[i], Math.negateExact(delta));
        }
        PnCounter next = new PnCounter(n, u, d);
        next.value();
        return next;
    }

    /** The join of two replicas' counters: each node's parts at their maximum. */
    public PnCounter merge(PnCounter other) {
        long[] n = new long[nodes.length + other.nodes.length];
        long[] u = new long[n.length];
        long[] d = new long[n.length];
        int i = 0;
        int j = 0;
        int k = 0;
        while (i < nodes.length || j < other.nodes.length) {
            int c = i == nodes.length ? 1 : j == other.nodes.length ? -1 : Long.compareUnsigned(nodes[i], other.nodes[j]);
            if (c < 0) {
                n[k] = nodes[i];
                u[k] = up[i];
                d[k++] = down[i++];
            } else if (c > 0) {
                n[k] = other.nodes[j];
                u[k] = other.up[j];
                d[k++] = other.down[j++];
            } else {
                n[k] = nodes[i];
                u[k] = Math.max(up[i], other.up[j]);
                d[k++] = Math.max(down[i++], other.down[j++]);
            }
        }
        return new PnCounter(Arrays.copyOf(n, k), Arrays.copyOf(u, k), Arrays.copyOf(d, k));
    }

    /** True if every part of this counter is at least the other's: it has seen every increment the other has. */
    public boolean descends(PnCounter other) {
        return merge(other).equals(this);
    }

    public int size() {
        return nodes.length;
    }

    public long node(int i) {
        return nodes[i];
    }

    public long up(int i) {
        return up[i];
    }

    public long down(int i) {
        return down[i];
    }

    private int indexOf(long node) {
        return VersionVector.indexOfUnsigned(nodes, node);
    }

    private static long[] insert(long[] a, int at, long v) {
        long[] r = new long[a.length + 1];
        System.arraycopy(a, 0, r, 0, at);
        r[at] = v;
        System.arraycopy(a, at, r, at + 1, a.length - at);
        return r;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PnCounter c && Arrays.equals(nodes, c.nodes) && Arrays.equals(up, c.up) && Arrays.equals(down, c.down);
    }

    @Override
    public int hashCode() {
        return (31 * Arrays.hashCode(nodes) + Arrays.hashCode(up)) * 31 + Arrays.hashCode(down);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("PnCounter{");
        for (int i = 0; i < nodes.length; i++) {
            b.append(i == 0 ? "" : ", ").append(Long.toHexString(nodes[i])).append("=+").append(up[i]).append("-").append(down[i]);
        }
        return b.append('}').toString();
    }
}
