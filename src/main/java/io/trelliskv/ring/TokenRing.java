package io.trelliskv.ring;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The consistent-hash ring: which nodes own which tokens, and so which nodes hold a key.
 *
 * <h2>Token space</h2>
 * A key's token is the signed 64-bit Murmur3 value of its bytes ({@code Key.token()}). The ring orders
 * tokens as signed longs and wraps from {@link Long#MAX_VALUE} to {@link Long#MIN_VALUE}; "clockwise"
 * means increasing token, with that wrap. Each node places a few tokens (virtual nodes, {@code --vnodes})
 * on the ring; the tokens of all nodes are distinct. A ring token {@code t} owns the arc
 * {@code (p, t]} from the previous ring token {@code p}, so a key belongs to the first ring token at or
 * after its own token, wrapping to the smallest ring token past the largest. See {@link TokenRange}.
 *
 * <h2>Replica sets</h2>
 * A key's replicas are the first {@code n} distinct nodes met walking clockwise from its token (the
 * Dynamo preference list): the owner of the first ring token at or after the key's token is the primary,
 * and further tokens are skipped while they belong to nodes already chosen. {@code n} is capped at the
 * number of nodes. All keys in one arc between adjacent ring tokens share one replica set, so the arc is
 * the unit of streaming and of Merkle-tree comparison ({@link #replicaRanges}).
 *
 * <h2>Layout and cost</h2>
 * Two parallel arrays sorted by token: {@code tokens} and {@code owners}. A lookup is one binary search
 * (O(log T) for T ring tokens) plus, for a replica set, a clockwise walk that stops after {@code n}
 * distinct owners, a handful of steps when nodes' tokens are interleaved, as the allocator makes them.
 * Ownership figures walk the whole ring and are for operators and tests, not for the request path.
 *
 * <h2>Ownership is not liveness</h2>
 * The ring changes only when a node joins ({@link #withNode}), leaves or is removed
 * ({@link #withoutNode}). It has no notion of a node being up or down: a node that is unreachable
 * still owns its ranges, and the replication layer stores hints for it instead of re-homing its data.
 *
 * <h2>Versions</h2>
 * Rings are immutable values. Each carries a {@code version} (an epoch) that every change increments,
 * so nodes exchanging rings can tell the newer one; two rings with the same version and different
 * contents are a bug in whoever made them, not something the ring can resolve.
 */
public final class TokenRing {

    private static final TokenRing EMPTY = new TokenRing(0, new long[0], new long[0], Collections.emptySortedMap());

    /** Epoch of this ring, >= 0; {@link #withNode} and {@link #withoutNode} return version + 1. */
    private final long version;
    /** All ring tokens, distinct, ascending as signed longs. */
    private final long[] tokens;
    /** {@code owners[i]} is the node owning {@code tokens[i]}, and so the arc {@code (tokens[i-1], tokens[i]]}. */
    private final long[] owners;
    /** Node id to its tokens, both ascending; unmodifiable; every node has at least one token. */
    private final SortedMap<Long, List<Long>> tokensByNode;
    /**
     * Where {@link #indexOf} starts looking: the token space cut into 2^k equal slices (in signed order, k
     * = 64 - {@link #sliceShift}), four to eight per token up to {@link #MAX_SLICE_BITS}, and for each the index of the first token at or
     * after the slice's start ({@code tokens.length} if none). A lookup reads one slot and steps over the
     * token or so in its slice, where a binary search took a mispredicted branch per halving, for every
     * keyed command (routing, availability, replication).
     */
    private final int[] firstInSlice;
    /** 64 - log2 of the number of slices: a token's slice is its offset from Long.MIN_VALUE shifted by this. */
    private final int sliceShift;

    private TokenRing(long version, long[] tokens, long[] owners, SortedMap<Long, List<Long>> tokensByNode) {
        this.version = version;
        this.tokens = tokens;
        this.owners = owners;
        this.tokensByNode = tokensByNode;
        int bits = Math.min(MAX_SLICE_BITS, Math.max(1, 66 - Long.numberOfLeadingZeros(Math.max(1, tokens.length))));
        this.sliceShift = 64 - bits;
        this.firstInSlice = new int[1 << bits];
        int i = 0;
        for (int slice = 0; slice < firstInSlice.length; slice++) {
            long start = ((long) slice << sliceShift) ^ Long.MIN_VALUE;
            while (i < tokens.length && tokens[i] < start) {
                i++;
            }
            firstInSlice[slice] = i;
        }
    }

    /**
     * Most slices {@link #indexOf} cuts the token space into: 2^16, 256 KiB of indexes, reached at 8,192 tokens
     * (below, 4 to 8 slices per token).
     */
    private static final int MAX_SLICE_BITS = 16;

    /** The ring with no nodes, version 0. */
    public static TokenRing empty() {
        return EMPTY;
    }

    /**
     * A ring of the given nodes and tokens at the given version, as received from a peer or built by hand.
     * Every node needs at least one token, and no token may belong to two nodes.
     */
    public static TokenRing of(long version, Map<Long, ? extends Collection<Long>> tokensByNode) {
        if (version < 0) {
            throw new IllegalArgumentException("version: " + version + " (expected: >= 0)");
        }
        TreeMap<Long, Long> ownerByToken = new TreeMap<>();
        TreeMap<Long, List<Long>> byNode = new TreeMap<>();
        for (Map.Entry<Long, ? extends Collection<Long>> e : tokensByNode.entrySet()) {
            long node = e.getKey();
            Collection<Long> nodeTokens = e.getValue();
            if (nodeTokens.isEmpty()) {
                throw new IllegalArgumentException("node " + node + " has no tokens (expected: at least 1)");
            }
            for (long token : nodeTokens) {
                Long previous = ownerByToken.put(token, node);
                if (previous != null && previous == node) {
                    throw new IllegalArgumentException("token " + token + " is listed twice for node " + node);
                }
                if (previous != null) {
                    throw new IllegalArgumentException("token " + token + " is claimed by nodes " + previous
                            + " and " + node + " (expected: each token owned by one node)");
                }
            }
            List<Long> sorted = new ArrayList<>(nodeTokens);
            Collections.sort(sorted);
            byNode.put(node, List.copyOf(sorted));
        }
        long[] tokens = new long[ownerByToken.size()];
        long[] owners = new long[tokens.length];
        int i = 0;
        for (Map.Entry<Long, Long> e : ownerByToken.entrySet()) {
            tokens[i] = e.getKey();
            owners[i] = e.getValue();
            i++;
        }
        return new TokenRing(version, tokens, owners, Collections.unmodifiableSortedMap(byNode));
    }

    public long version() {
        return version;
    }

    public boolean isEmpty() {
        return tokens.length == 0;
    }

    /** Node ids on the ring, ascending. */
    public Set<Long> nodes() {
        return tokensByNode.keySet();
    }

    /** Total number of tokens of all nodes. */
    public int tokenCount() {
        return tokens.length;
    }

    /** The tokens of {@code nodeId}, ascending; empty if the node is not on the ring. */
    public List<Long> tokensOf(long nodeId) {
        return tokensByNode.getOrDefault(nodeId, List.of());
    }

    /** The node owning {@code token}: the owner of the first ring token at or after it, wrapping. */
    public long primaryOwner(long token) {
        if (isEmpty()) {
            throw new IllegalStateException("the ring is empty: no node owns token " + token);
        }
        return owners[indexOf(token)];
    }

    /**
     * The first {@code min(n, nodes)} distinct nodes clockwise from {@code token}, the primary first;
     * empty for an empty ring.
     */
    public List<Long> replicas(long token, int n) {
        requireReplicationFactor(n);
        if (isEmpty()) {
            return List.of();
        }
        return lists(n).byArc[indexOf(token)];
    }

    /**
     * {@link #replicas}, less {@code node} where it is one of them: the replicas a node that holds the key
     * itself writes to. Cached like {@link #replicas} for the node last asked about, so a coordinator's
     * every write finds its list without making one.
     */
    public List<Long> replicasExcept(long token, int n, long node) {
        requireReplicationFactor(n);
        if (isEmpty()) {
            return List.of();
        }
        ReplicaLists lists = lists(n);
        Others others = lists.others;
        if (others == null || others.node != node) {
            @SuppressWarnings("unchecked")
            List<Long>[] byArc = new List[lists.byArc.length];
            Map<List<Long>, List<Long>> distinct = new HashMap<>(); // shared, as the full lists are
            for (int i = 0; i < byArc.length; i++) {
                List<Long> all = lists.byArc[i];
                List<Long> rest = new ArrayList<>(all.size());
                for (int r = 0; r < all.size(); r++) {
                    if (all.get(r) != node) {
                        rest.add(all.get(r)); // the same boxed ids
                    }
                }
                byArc[i] = rest.size() == all.size() ? all : distinct.computeIfAbsent(rest, List::copyOf);
            }
            others = new Others(node, byArc);
            lists.others = others; // racing threads build equal lists
        }
        return others.byArc[indexOf(token)];
    }

    /** The replica lists of every arc for factor {@code n}, built once per ring and factor. */
    private ReplicaLists lists(int n) {
        ReplicaLists lists = replicaLists;
        if (lists == null || lists.n != n) {
            // Every keyed command asks, several times (routing, availability, read, write): the lists of
            // each arc are computed once per ring and factor, not per call. Racing threads build equal lists.
            @SuppressWarnings("unchecked")
            List<Long>[] byArc = new List[tokens.length];
            Map<Long, Long> ids = new HashMap<>();
            for (long node : tokensByNode.keySet()) {
                ids.put(node, node);
            }
            // Arcs with the same replicas in the same order share one list (at most six for three nodes at
            // N = 3, however many tokens): fewer lines to read per keyed command, and a caller comparing two
            // keys' replicas finds the same list wherever the arcs repeat.
            Map<List<Long>, List<Long>> distinct = new HashMap<>();
            for (int i = 0; i < byArc.length; i++) {
                byArc[i] = distinct.computeIfAbsent(replicasAt(i, n, ids), list -> list);
            }
            lists = new ReplicaLists(n, byArc);
            replicaLists = lists;
        }
        return lists;
    }

    /** The replica list of every arc for one replication factor, and those lists less one node. */
    private static final class ReplicaLists {
        final int n;
        final List<Long>[] byArc;
        /** {@link #replicasExcept}'s lists, for the node last asked about; null until asked. */
        volatile Others others;

        ReplicaLists(int n, List<Long>[] byArc) {
            this.n = n;
            this.byArc = byArc;
        }
    }

    /** Every arc's replica list less {@code node}. */
    private record Others(long node, List<Long>[] byArc) {
    }

    /** {@link #replicas}' lists for the factor last asked for; null until then. */
    private volatile ReplicaLists replicaLists;

    /**
     * Each node's fraction of the token space as primary owner, by node id ascending; the values sum to
     * 1.0 (up to rounding) on a non-empty ring.
     */
    public Map<Long, Double> ownership() {
        return replicaOwnership(1);
    }

    /**
     * Each node's share of the replicated data with {@code n} replicas per key: the sum of the sizes of
     * the ranges the node is a replica of, divided by {@code min(n, nodes)} so the values sum to 1.0 and
     * compare directly with {@link #ownership()}. A node holding all data at n = 3 on three nodes shows
     * 1/3. By node id ascending.
     */
    public Map<Long, Double> replicaOwnership(int n) {
        requireReplicationFactor(n);
        TreeMap<Long, Double> shares = new TreeMap<>();
        for (long node : nodes()) {
            shares.put(node, 0.0);
        }
        int replicasPerRange = Math.min(n, tokensByNode.size());
        for (int i = 0; i < tokens.length; i++) {
            double share = rangeAt(i).size() / replicasPerRange;
            for (long node : replicasAt(i, n)) {
                shares.merge(node, share, Double::sum);
            }
        }
        return Collections.unmodifiableMap(shares);
    }

    /**
     * The ranges {@code nodeId} holds a replica of with {@code n} replicas per key, in ring order starting
     * after the smallest token: one range per arc between adjacent ring tokens, so each range has a
     * single replica set (adjacent ranges are not merged). {@code n = 1} gives the node's primary ranges,
     * one per token. Empty if the node is not on the ring.
     */
    public List<TokenRange> replicaRanges(long nodeId, int n) {
        requireReplicationFactor(n);
        if (!tokensByNode.containsKey(nodeId)) {
            return List.of();
        }
        List<TokenRange> ranges = new ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            if (replicasAt(i, n).contains(nodeId)) {
                ranges.add(rangeAt(i));
            }
        }
        return Collections.unmodifiableList(ranges);
    }

    /** This ring plus {@code nodeId} with {@code nodeTokens}, at version + 1; no other token moves. */
    public TokenRing withNode(long nodeId, Collection<Long> nodeTokens) {
        if (tokensByNode.containsKey(nodeId)) {
            throw new IllegalArgumentException("node " + nodeId + " is already on the ring (version " + version + ")");
        }
        TreeMap<Long, Collection<Long>> next = new TreeMap<>(tokensByNode);
        next.put(nodeId, nodeTokens);
        return of(version + 1, next);
    }

    /**
     * This ring without {@code nodeId}, at version + 1. The node's ranges fall to the owners of the next
     * tokens clockwise; no other token moves.
     */
    public TokenRing withoutNode(long nodeId) {
        if (!tokensByNode.containsKey(nodeId)) {
            throw new IllegalArgumentException("node " + nodeId + " is not on the ring (version " + version + ")");
        }
        TreeMap<Long, Collection<Long>> next = new TreeMap<>(tokensByNode);
        next.remove(nodeId);
        return of(version + 1, next);
    }

    /**
     * A per-node summary for operators, one line per node by id ascending after a header line:
     * <pre>
     * ring version 3: 3 nodes, 48 tokens, 3 replicas
     * node                  tokens  primary  replica
     * 1                         16   33.33%   33.33%
     * </pre>
     * {@code primary} is {@link #ownership()}, {@code replica} is {@link #replicaOwnership} with
     * {@code n} replicas per key. Lines end in {@code \n} on every platform. The format is stable:
     * {@code trellis-cli ring} prints it.
     */
    public String describe(int n) {
        Map<Long, Double> primary = ownership();
        Map<Long, Double> replica = replicaOwnership(n);
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "ring version %d: %d nodes, %d tokens, %d replicas\n",
                version, tokensByNode.size(), tokens.length, n));
        out.append(String.format(Locale.ROOT, "%-16s %7s %8s %8s\n", "node", "tokens", "primary", "replica"));
        for (Map.Entry<Long, List<Long>> e : tokensByNode.entrySet()) {
            long node = e.getKey();
            out.append(String.format(Locale.ROOT, "%016x %7d %7.2f%% %7.2f%%\n",
                    node, e.getValue().size(), primary.get(node) * 100, replica.get(node) * 100));
        }
        return out.toString();
    }

    /** Every ring token with its owner, {@code "<token> <node id in hex>"} per line, in ring order. */
    public String describeTokens() {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < tokens.length; i++) {
            out.append(tokens[i]).append(' ').append(String.format(Locale.ROOT, "%016x", owners[i])).append('\n');
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return "TokenRing{version=" + version + ", nodes=" + tokensByNode.size() + ", tokens=" + tokens.length + "}";
    }

    /** Ring token at {@code index}, {@code 0 <= index < tokenCount()}, ascending. */
    long tokenAt(int index) {
        return tokens[index];
    }

    /** Owner of the ring token at {@code index}. */
    long ownerAt(int index) {
        return owners[index];
    }

    /** The arc owned by the ring token at {@code index}: from the previous ring token, exclusive. */
    TokenRange rangeAt(int index) {
        int previous = index == 0 ? tokens.length - 1 : index - 1;
        return new TokenRange(tokens[previous], tokens[index]);
    }

    /** Index of the first ring token at or after {@code token}, wrapping to 0; the ring is not empty. */
    int indexOf(long token) {
        int i = firstInSlice[(int) ((token ^ Long.MIN_VALUE) >>> sliceShift)];
        while (i < tokens.length && tokens[i] < token) {
            i++;
        }
        return i == tokens.length ? 0 : i;
    }

    /** Distinct owners clockwise from ring index {@code index}, at most {@code n}; the ring is not empty. */
    private List<Long> replicasAt(int index, int n) {
        return replicasAt(index, n, null);
    }

    /**
     * The replicas of the arc at {@code index}: an immutable list over one array, holding the ring's one boxed
     * id per node ({@code ids}; null: boxed afresh). Every keyed command reads the list of a random arc, so the
     * fewer cache lines it takes the better: the list's own, and ids that every list shares and the cache keeps.
     */
    private List<Long> replicasAt(int index, int n, Map<Long, Long> ids) {
        int wanted = Math.min(n, tokensByNode.size());
        List<Long> replicas = new ArrayList<>(wanted);
        // Every node owns a token, so the walk meets `wanted` distinct owners within one lap.
        for (int i = index; replicas.size() < wanted; i = i + 1 == tokens.length ? 0 : i + 1) {
            long owner = owners[i];
            if (!replicas.contains(owner)) {
                replicas.add(ids == null ? owner : ids.get(owner));
            }
        }
        return List.copyOf(replicas);
    }

    private static void requireReplicationFactor(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("replicas: " + n + " (expected: >= 1)");
        }
    }
}
