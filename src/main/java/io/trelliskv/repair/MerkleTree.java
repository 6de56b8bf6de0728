package io.trelliskv.repair;

import io.trelliskv.common.Murmur3;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.ValueKind;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Merkle tree over the (key, version) pairs a replica holds in one token range, for anti-entropy.
 *
 * <h2>Leaves</h2>
 * The range {@code (start, end]} is cut into {@code 2^depth} leaves of equal token width (the last may be
 * shorter, and at small widths trailing leaves may be empty), so two replicas that agree on the range
 * and the depth agree on which leaf every key falls in, whatever each holds. A leaf's hash is the sum,
 * modulo 2^64, of {@link #entryHash} over its entries: addition is commutative, so a tree is built in
 * one pass over the engine's entries in whatever order the engine visits them, and equal data makes
 * equal trees. Sum rather than xor so that two entries with the same hash do not cancel out.
 *
 * <h2>What is hashed</h2>
 * Per entry: the key's token (a 64-bit Murmur3 of the key), the version (hybrid logical clock and node
 * id) and a dead flag (tombstone, or a value past its expiry, which every replica turns into a tombstone
 * with the same version). Not a plain value: a version names exactly one write, so equal versions mean
 * equal values. A live value of a kind that joins (versioned siblings, a counter: {@link ValueKind#joins}) is
 * different: two replicas that joined different values may keep the same version, so its hash also covers
 * the value ({@link #valueDigest}); what must converge is the value, and a tree of plain values hashes as
 * before. Tombstones past their purge time are left out, since each replica drops them on its own
 * schedule; so are expired values' bytes, which never cross the network again.
 *
 * <h2>Inner nodes</h2>
 * The root hashes its children recursively ({@link #root}); replicas compare roots first, and when
 * they differ exchange the leaf hashes (8 bytes per leaf) rather than walking down level by level,
 * which would cost one round trip per level for a saving of at most half the bytes.
 */
public final class MerkleTree {

    /** Deepest tree a node builds or answers for: 2^20 leaves, 8 MiB of hashes. */
    public static final int MAX_DEPTH = 20;

    private final long start;
    private final long end;
    private final int depth;
    /** Token width of every leaf but possibly the last: ceil(range width / leaves), unsigned, never 0. */
    private final long leafWidth;
    private final long[] leaves;

    /** An empty tree (every leaf hash 0) over {@code range} with {@code 2^depth} leaves. */
    public MerkleTree(TokenRange range, int depth) {
        if (depth < 0 || depth > MAX_DEPTH) {
            throw new IllegalArgumentException("depth: " + depth + " (expected: 0 to " + MAX_DEPTH + ")");
        }
        this.start = range.start();
        this.end = range.end();
        this.depth = depth;
        this.leaves = new long[1 << depth];
        this.leafWidth = leafWidth(end - start, leaves.length);
    }

    /**
     * {@code ceil(width / leaves)} for an unsigned token count {@code width}, 0 standing for 2^64 (the
     * whole ring).
     */
    static long leafWidth(long width, int leaves) {
        if (width == 0) {
            return leaves == 1 ? 0 : 1L << (64 - Integer.numberOfTrailingZeros(leaves));
        }
        return Long.divideUnsigned(width - 1, leaves) + 1;
    }

    /** The hash of one entry as the tree sees it; see the class comment. */
    static long entryHash(long token, long hlc, long nodeId, boolean dead) {
        long h = mix(token ^ 0x9E3779B97F4A7C15L);
        h = mix(h ^ hlc);
        h = mix(h ^ nodeId);
        return dead ? mix(h ^ 0xD6E8FEB86659FD93L) : h;
    }

    /**
     * The digest of a live value of a kind that joins, never 0; 0 for a plain value, a tombstone or an
     * expired value, whose version says everything.
     */
    public static long valueDigest(Entry e, long nowMillis) {
        if (e.isTombstone() || e.isExpired(nowMillis) || !ValueKind.joins(e.kind())) {
            return 0;
        }
        long d = Murmur3.hash64(e.value(), 0, e.value().length) ^ e.kind();
        return d == 0 ? 1 : d;
    }

    /** Whether a tree built at {@code nowMillis} leaves {@code e} out: a tombstone past its purge time. */
    static boolean purged(Entry e, long nowMillis) {
        return e.isTombstone() && e.isExpired(nowMillis);
    }

    /** Adds an entry whose token lies in the range; the caller filters {@link #purged} entries. */
    public void add(Entry e, long nowMillis) {
        long token = e.key().token();
        long h = entryHash(token, e.hlc(), e.nodeId(), e.isTombstone() || e.isExpired(nowMillis));
        long digest = valueDigest(e, nowMillis);
        leaves[leafOf(token)] += digest == 0 ? h : mix(h ^ digest);
    }

    /** The leaf holding {@code token}, which must lie in the range. */
    public int leafOf(long token) {
        long offset = token - start - 1; // unsigned, 0 .. width - 1
        return leafWidth == 0 ? 0 : (int) Long.divideUnsigned(offset, leafWidth);
    }

    /** The token range of leaf {@code i}, or null if it lies past the range's end (an always-empty leaf). */
    public TokenRange leafRange(int i) {
        if (leafWidth == 0) {
            return new TokenRange(start, end);
        }
        long width = end - start; // unsigned; 0 = 2^64
        long from = (long) i * leafWidth; // < 2^64: i < 2^depth and leafWidth <= ceil(2^64 / 2^depth)
        if (i > 0 && width != 0 && Long.compareUnsigned(from, width) >= 0) {
            return null;
        }
        long to = from + leafWidth;
        boolean last = i == leaves.length - 1 || Long.compareUnsigned(to, from) < 0 // past 2^64
                || (width != 0 && Long.compareUnsigned(to, width) >= 0);
        return new TokenRange(start + from, last ? end : start + to);
    }

    public TokenRange range() {
        return new TokenRange(start, end);
    }

    public int depth() {
        return depth;
    }

    /** The leaf hashes, in token order; shared, do not modify. */
    public long[] leaves() {
        return leaves;
    }

    /** The root: each inner node hashes its two children, up to the top. */
    public long root() {
        long[] level = leaves.clone();
        for (int n = level.length; n > 1; n /= 2) {
            for (int i = 0; i < n / 2; i++) {
                level[i] = mix(level[2 * i] * 31 + mix(level[2 * i + 1] ^ 0x632BE59BD9B4E019L));
            }
        }
        return mix(level[0] ^ depth);
    }

    /** The indexes of the leaves whose hashes differ from {@code other}'s, ascending. */
    public int[] differingLeaves(long[] other) {
        if (other.length != leaves.length) {
            throw new IllegalArgumentException("leaf hashes: " + other.length + " (expected: " + leaves.length + ")");
        }
        int[] out = new int[leaves.length];
        int n = 0;
        for (int i = 0; i < leaves.length; i++) {
            if (leaves[i] != other[i]) {
                out[n++] = i;
            }
        }
        return Arrays.copyOf(out, n);
    }

    /**
     * Runs of adjacent differing leaves as token ranges, each of at most {@code maxLeaves} leaves, so
     * that the keys of one run are few enough to compare in memory.
     */
    public List<TokenRange> runs(int[] differing, int maxLeaves) {
        List<TokenRange> runs = new ArrayList<>();
        int i = 0;
        while (i < differing.length) {
            int first = differing[i];
            int last = first;
            while (i + 1 < differing.length && differing[i + 1] == last + 1 && last - first + 1 < maxLeaves) {
                last = differing[++i];
            }
            i++;
            TokenRange a = leafRange(first);
            TokenRange b = leafRange(last);
            if (a != null && b != null) {
                runs.add(new TokenRange(a.start(), b.end()));
            }
        }
        return runs;
    }

    /** The depth for about {@code keys} keys: about 8 keys per leaf, between the given bounds. */
    public static int depthFor(long keys, int minDepth, int maxDepth) {
        long leavesWanted = Math.max(1, keys / 8);
        int depth = 64 - Long.numberOfLeadingZeros(leavesWanted - 1); // ceil(log2)
        return Math.max(minDepth, Math.min(maxDepth, depth));
    }

    /** Murmur3's 64-bit finalizer. */
    static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        h ^= h >>> 33;
        return h;
    }
}
