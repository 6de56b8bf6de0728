package io.trelliskv.version;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * A version vector: for each node that coordinated writes of a key, how many of them a state has seen.
 * It is the causal context of a versioned key (what {@code VGET} hands a client and {@code VSET} takes
 * back): a write whose context is {@code V} supersedes exactly the writes whose dots {@code V} covers.
 *
 * <p>Immutable. Entries are kept sorted by node id (unsigned, as {@link Version} orders node ids), with
 * no zero counters, so two equal vectors have equal arrays and one encoding.
 *
 * <h2>Encoding</h2>
 * The opaque context a client holds: a format byte ({@link #FORMAT}), the entry count as a varint, then
 * per entry the node id (8 bytes, big-endian) and the counter as a varint. The empty string is the empty
 * vector (a client that saw nothing). Decoding names what is wrong with a damaged context.
 */
public final class VersionVector {

    /** The empty vector: has seen no write. */
    public static final VersionVector EMPTY = new VersionVector(new long[0], new long[0]);

    /** First byte of an encoded non-empty vector. Append-only: a new layout takes a new value. */
    static final byte FORMAT = 1;

    /** Most entries a decoded context may hold: one per node that ever coordinated a write of the key. */
    static final int MAX_ENTRIES = 1 << 16;

    /** Node ids, ascending unsigned. */
    private final long[] nodes;
    /** {@code counters[i]} is the number of writes coordinated by {@code nodes[i]} that this vector covers; > 0. */
    private final long[] counters;

    private VersionVector(long[] nodes, long[] counters) {
        this.nodes = nodes;
        this.counters = counters;
    }

    /** A vector from (node, counter) pairs in any order; zero counters are dropped, duplicates take the maximum. */
    public static VersionVector of(long... nodeCounterPairs) {
        if (nodeCounterPairs.length % 2 != 0) {
            throw new IllegalArgumentException("pairs of node and counter expected, got " + nodeCounterPairs.length + " numbers");
        }
        VersionVector v = EMPTY;
        for (int i = 0; i < nodeCounterPairs.length; i += 2) {
            v = v.with(nodeCounterPairs[i], nodeCounterPairs[i + 1]);
        }
        return v;
    }

    /** Number of nodes with a non-zero counter. */
    public int size() {
        return nodes.length;
    }

    public boolean isEmpty() {
        return nodes.length == 0;
    }

    public long node(int i) {
        return nodes[i];
    }

    public long counter(int i) {
        return counters[i];
    }

    /** How many writes coordinated by {@code node} this vector covers; 0 if none. */
    public long counterOf(long node) {
        int i = indexOf(node);
        return i >= 0 ? counters[i] : 0;
    }

    /** True if the write with dot ({@code node}, {@code counter}) is covered: seen by this context. */
    public boolean covers(long node, long counter) {
        return counterOf(node) >= counter;
    }

    /** This vector with {@code node}'s counter raised to at least {@code counter}. */
    public VersionVector with(long node, long counter) {
        if (counter < 0) {
            throw new IllegalArgumentException("counter: " + counter + " (expected: >= 0)");
        }
        int i = indexOf(node);
        if (i >= 0) {
            if (counters[i] >= counter) {
                return this;
            }
            long[] c = counters.clone();
            c[i] = counter;
            return new VersionVector(nodes, c);
        }
        if (counter == 0) {
            return this;
        }
        int at = -i - 1;
        long[] n = new long[nodes.length + 1];
        long[] c = new long[nodes.length + 1];
        System.arraycopy(nodes, 0, n, 0, at);
        System.arraycopy(counters, 0, c, 0, at);
        n[at] = node;
        c[at] = counter;
        System.arraycopy(nodes, at, n, at + 1, nodes.length - at);
        System.arraycopy(counters, at, c, at + 1, nodes.length - at);
        return new VersionVector(n, c);
    }

    /** The least vector that covers both: the pointwise maximum. */
    public VersionVector merge(VersionVector other) {
        VersionVector v = this;
        for (int i = 0; i < other.nodes.length; i++) {
            v = v.with(other.nodes[i], other.counters[i]);
        }
        return v;
    }

    /** True if this vector covers everything {@code other} covers. */
    public boolean descends(VersionVector other) {
        for (int i = 0; i < other.nodes.length; i++) {
            if (counterOf(other.nodes[i]) < other.counters[i]) {
                return false;
            }
        }
        return true;
    }

    private int indexOf(long node) {
        return indexOfUnsigned(nodes, node);
    }

    /**
     * Binary search of {@code sorted} (ascending as unsigned numbers, as node ids are ordered) for {@code key}:
     * its index, or {@code -(insertion point) - 1}, as {@link java.util.Arrays#binarySearch(long[], long)}.
     */
    static int indexOfUnsigned(long[] sorted, long key) {
        int lo = 0;
        int hi = sorted.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Long.compareUnsigned(sorted[mid], key);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -(lo + 1);
    }

    // ---- encoding ----

    /** The opaque context bytes; empty for the empty vector. */
    public byte[] encode() {
        if (nodes.length == 0) {
            return new byte[0];
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(2 + nodes.length * 11);
        out.write(FORMAT);
        writeVarint(out, nodes.length);
        for (int i = 0; i < nodes.length; i++) {
            for (int shift = 56; shift >= 0; shift -= 8) {
                out.write((int) (nodes[i] >>> shift));
            }
            writeVarint(out, counters[i]);
        }
        return out.toByteArray();
    }

    /**
     * Decodes a context made by {@link #encode()}.
     *
     * @throws IllegalArgumentException naming what is wrong, for bytes that no vector encodes to
     */
    public static VersionVector decode(byte[] bytes) {
        if (bytes.length == 0) {
            return EMPTY;
        }
        int[] pos = {0};
        if (bytes[pos[0]++] != FORMAT) {
            throw new IllegalArgumentException("unknown context format " + (bytes[0] & 0xff));
        }
        long count = readVarint(bytes, pos);
        if (count < 1 || count > MAX_ENTRIES) {
            throw new IllegalArgumentException("context entry count " + count + " (expected: 1 to " + MAX_ENTRIES + ")");
        }
        long[] n = new long[(int) count];
        long[] c = new long[(int) count];
        for (int i = 0; i < count; i++) {
            if (bytes.length - pos[0] < 8) {
                throw new IllegalArgumentException("context truncated at byte " + pos[0]);
            }
            long node = 0;
            for (int k = 0; k < 8; k++) {
                node = (node << 8) | (bytes[pos[0]++] & 0xff);
            }
            n[i] = node;
            c[i] = readVarint(bytes, pos);
            if (c[i] < 1) {
                throw new IllegalArgumentException("context counter " + c[i] + " at entry " + i + " (expected: >= 1)");
            }
            if (i > 0 && Long.compareUnsigned(n[i - 1], node) >= 0) {
                throw new IllegalArgumentException("context entries out of order at entry " + i);
            }
        }
        if (pos[0] != bytes.length) {
            throw new IllegalArgumentException((bytes.length - pos[0]) + " bytes after the context's last entry");
        }
        return new VersionVector(n, c);
    }

    private static void writeVarint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static long readVarint(byte[] bytes, int[] pos) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos[0] >= bytes.length) {
                throw new IllegalArgumentException("context truncated at byte " + pos[0]);
            }
            byte b = bytes[pos[0]++];
            v |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return v;
            }
        }
        throw new IllegalArgumentException("context number longer than 10 bytes at byte " + pos[0]);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VersionVector v && Arrays.equals(nodes, v.nodes) && Arrays.equals(counters, v.counters);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(nodes) + Arrays.hashCode(counters);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < nodes.length; i++) {
            b.append(i == 0 ? "" : ", ").append(Long.toHexString(nodes[i])).append('=').append(counters[i]);
        }
        return b.append('}').toString();
    }
}
