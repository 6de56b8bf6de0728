package io.trelliskv.ring;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Chooses the tokens of a node joining the ring so that ownership stays balanced after every join,
 * with few virtual nodes per node, both as primary owner and as one of {@code n} replicas.
 *
 * <h2>Why not random tokens</h2>
 * Cassandra's original scheme gives each node {@code num_tokens} random tokens. Ownership then varies
 * like the gaps between random points: at 256 tokens per node the most loaded node owns about 1.1 to
 * 1.2 times the mean, and at 16 tokens per node 1.6 to 1.8 times (10 to 100 nodes; the test prints
 * both), worse as the cluster grows. Many
 * tokens buy balance at a cost elsewhere: every token is a range to stream on join and leave and a range
 * to compare with Merkle trees in anti-entropy. Cassandra 4.0 therefore moved to 16 tokens per node with
 * a replication-aware allocator ({@code allocate_tokens_for_local_replication_factor}); this class
 * follows the same idea with a simpler greedy.
 *
 * <h2>What is balanced</h2>
 * A node's fair share is proportional to its token count, so a node given twice the vnodes takes about
 * twice the data (a little less: the greedy stops short of an outsized newcomer's fair share). With
 * {@code V} tokens on the ring and {@code v} joining, a node with {@code w} tokens should own
 * {@code w·c} of the ring as primary, {@code c = 1 / (V + v)}, and {@code w·c·r} counting replicas,
 * {@code r = min(n, nodes)}. The allocator minimises, one token at a time, the sum over nodes of two
 * costs ({@link #excessCost}): the node's squared excess over its fair share divided by its token count,
 * once for primary ownership and once for replica ownership (scaled by {@code 1/r²} so that both count
 * alike). The joining node's fair share grows with the tokens it has placed so far.
 *
 * <p>Balancing primary ownership alone is not enough. A greedy that only carves the new node's pieces
 * out of the most loaded nodes' largest ranges keeps primary max/mean near {@code 1 + 1/v}, but leaves
 * replica ownership at n = 3 up to 1.3 times the mean on the way to 100 nodes: a node's replica share
 * is the sum of its ranges and of the ranges just before them, and that greedy makes range sizes very
 * uneven. Tokens never move once placed, so a ring built while the cluster runs with one replica must
 * already suit the replication factor it will have: construct the allocator with the cluster's target
 * {@code n}. (With {@code n = 1} both costs are the primary one.)
 *
 * <h2>Algorithm</h2>
 * The first node of an empty ring gets {@code v} evenly spaced tokens, rotated by an offset drawn from
 * the seed. A later node places its {@code v} tokens one at a time. For each range {@code (p, t]} of the
 * current ring that is not its own, it considers a new token at the midpoint and, if the owner keeps at
 * least {@code c/2}, one at {@code p + c} (a piece of exactly the per-token fair share; never leaving the
 * owner a sliver keeps range sizes even). It scores what each candidate would change and takes the
 * cheapest, the first in ring order on a tie. A token inside {@code (p, t]} changes little, so scoring
 * takes a few steps:
 * <ul>
 *   <li>primary: the new node gains {@code (p, p + a]}, the owner of {@code t} loses it;
 *   <li>replicas: for the piece {@code (p, p + a]} and for each range counter-clockwise before it whose
 *       replica walk reaches {@code t} before finding {@code r} distinct nodes, the new node joins the
 *       replica set (unless it is already in it) and the last member of the set drops out. While the
 *       ring has fewer than {@code n} nodes every set simply gains the new node.
 * </ul>
 * Nothing but the first rotation is random, so the tokens are a function of the seed, the ring and the
 * request. Cost: O(v · T · s) for T ring tokens and replica walks of s steps, a few milliseconds for the
 * 100th node of a 16-vnode ring.
 *
 * <h2>Guarantees and measurements</h2>
 * A join moves data only to the joining node: new tokens split existing ranges and the old owners keep
 * the rest, so a key's primary either stays or becomes the new node, and a replica set either stays or
 * gains the new node in place of one member. Balance is measured, not proved. {@code TokenAllocationTest}
 * grows rings one node at a time and asserts max/mean of at most 1.10 at 10 nodes; over 16 different
 * node-id orders with 16 tokens per node and n = 3 the worst max/mean (primary, replica) was 1.06, 1.02
 * at 10 nodes, 1.08, 1.04 at 100 nodes, and 1.10, 1.07 at any size from 10 to 100. The smallest rings are
 * the hardest to balance for n = 3 (up to about 1.11 at 4 nodes).
 *
 * <p>Removing a node moves none of the other tokens; its ranges fall to the next owners clockwise,
 * which with interleaved tokens are several different nodes. Later joins take the most from the most
 * loaded, so they repair the imbalance a removal leaves.
 */
public final class TokenAllocator {

    /**
     * Default tokens per node. With this allocator 16 keeps max/mean ownership within about 1.10, primary
     * and at n = 3, from 10 to 100 nodes (8 gives 1.13; 32 gives 1.09 at twice the ranges), where random
     * tokens would need 256 and more; and streaming and Merkle trees handle 16 ranges per node, not 256.
     */
    public static final int DEFAULT_VNODES = 16;
    /** Upper bound of {@code --vnodes}: Cassandra's old default, beyond any useful value here. */
    public static final int MAX_VNODES = 256;

    /** Replicas per key the balance is computed for, >= 1: the cluster's target replication factor. */
    private final int replicas;
    /** Seeds the rotation of the first node's evenly spaced tokens. */
    private final long seed;

    public TokenAllocator(int replicas, long seed) {
        if (replicas < 1) {
            throw new IllegalArgumentException("replicas: " + replicas + " (expected: >= 1)");
        }
        this.replicas = replicas;
        this.seed = seed;
    }

    /** {@code ring} plus {@code nodeId} with {@code vnodes} tokens from {@link #allocate}, at version + 1. */
    public TokenRing join(TokenRing ring, long nodeId, int vnodes) {
        return ring.withNode(nodeId, allocate(ring, nodeId, vnodes));
    }

    /** The {@code vnodes} tokens for {@code nodeId}, which is not on {@code ring} yet; ascending. */
    public List<Long> allocate(TokenRing ring, long nodeId, int vnodes) {
        if (vnodes < 1 || vnodes > MAX_VNODES) {
            throw new IllegalArgumentException("vnodes: " + vnodes + " (expected: 1 to " + MAX_VNODES + ")");
        }
        if (ring.nodes().contains(nodeId)) {
            throw new IllegalArgumentException("node " + nodeId + " is already on the ring (version "
                    + ring.version() + ")");
        }
        long[] tokens;
        if (ring.isEmpty()) {
            tokens = evenlySpaced(new SplittableRandom(seed).nextLong(), vnodes);
        } else {
            Placement placement = new Placement(ring, vnodes, replicas);
            tokens = new long[vnodes];
            for (int i = 0; i < vnodes; i++) {
                tokens[i] = placement.placeNext();
            }
        }
        Arrays.sort(tokens);
        return Arrays.stream(tokens).boxed().toList();
    }

    /** {@code count} tokens {@code floor((2^64 - 1) / count)} apart, the first at {@code offset}. */
    static long[] evenlySpaced(long offset, int count) {
        long step = Long.divideUnsigned(-1L, count);
        long[] tokens = new long[count];
        for (int i = 0; i < count; i++) {
            tokens[i] = offset + i * step;
        }
        return tokens;
    }

    /**
     * The per-token fair share {@code 1 / (existing + joining)} of the ring as an unsigned token count,
     * {@code floor((2^64 - 1) / (existing + joining))}.
     */
    static long pieceWidth(int existingTokens, int joiningTokens) {
        return Long.divideUnsigned(-1L, (long) existingTokens + joiningTokens);
    }

    /**
     * How much a change of {@code delta} in a node's share worsens the balance, when the node's share
     * exceeds its fair share by {@code excess} (negative if below) and it has {@code tokens} tokens:
     * {@code ((excess + delta)² - excess²) / tokens}, which is {@code tokens} times the change of the
     * squared excess per token, as if each token carried an equal part. Negative means the change helps.
     */
    static double excessCost(double excess, double delta, int tokens) {
        double after = excess + delta;
        return (after * after - excess * excess) / tokens;
    }

    /**
     * The working state of one join: the ring with the tokens placed so far, as arrays over dense node
     * indexes (existing nodes {@code 0..k-1} in id order, the joining node {@code k}), and, refreshed
     * before each placement, every node's primary and replica share and every range's replica set summary.
     */
    private static final class Placement {

        /** Tokens, ascending, in {@code [0, size)}; capacity for all of the joining node's tokens. */
        private final long[] tokens;
        /** Dense owner index of each token. */
        private final int[] owners;
        private int size;
        /** Dense index of the joining node. */
        private final int joiner;
        /** Distinct nodes per replica set once the joiner is on the ring: min(n, nodes + 1). */
        private final int wanted;
        /** Tokens per node; while a token is being placed the joiner's count includes it. */
        private final int[] tokenCounts;
        /** Fair primary share per token, 1 / (V + v); the replica fair share is this times wanted. */
        private final double share;
        /** The same share in tokens, the candidate piece. */
        private final long piece;
        /** Scales replica costs to primary ones: 1 / wanted². */
        private final double replicaWeight;
        /** Primary share per node, a fraction of the ring. */
        private final double[] primary;
        /** Replica share per node: the sum of the sizes of the ranges it replicates (not divided by n). */
        private final double[] replica;
        /** Per range index: the last member of its replica set, or -1 if the set is not full yet. */
        private int[] lastReplica;
        /** Per range index: whether the joiner is in its replica set. */
        private boolean[] joinerIsReplica;
        /** Replica share changes of the candidate being scored, by node; zero outside {@code touched}. */
        private final double[] replicaDelta;
        private final int[] touched;
        private int touchedCount;

        Placement(TokenRing ring, int vnodes, int n) {
            int nodeCount = ring.nodes().size();
            long[] nodeIds = ring.nodes().stream().mapToLong(Long::longValue).toArray();
            size = ring.tokenCount();
            tokens = new long[size + vnodes];
            owners = new int[size + vnodes];
            tokenCounts = new int[nodeCount + 1];
            for (int i = 0; i < size; i++) {
                tokens[i] = ring.tokenAt(i);
                // ring.nodes() is ascending, so the dense index is a binary search away.
                owners[i] = Arrays.binarySearch(nodeIds, ring.ownerAt(i));
                tokenCounts[owners[i]]++;
            }
            joiner = nodeCount;
            wanted = Math.min(n, nodeCount + 1);
            share = 1.0 / (size + vnodes);
            piece = pieceWidth(size, vnodes);
            replicaWeight = 1.0 / ((double) wanted * wanted);
            primary = new double[nodeCount + 1];
            replica = new double[nodeCount + 1];
            replicaDelta = new double[nodeCount + 1];
            touched = new int[nodeCount + 1];
        }

        /** Chooses, inserts and returns a token for the joiner. */
        long placeNext() {
            tokenCounts[joiner]++;
            survey();
            int bestRange = -1;
            long bestAmount = 0;
            double bestCost = Double.POSITIVE_INFINITY;
            for (int i = 0; i < size; i++) {
                long width = width(i);
                if (owners[i] == joiner || (width != 0 && Long.compareUnsigned(width, 2) < 0)) {
                    continue;
                }
                collectWindow(i);
                double windowCost = touchedCost();
                long half = width == 0 ? Long.MIN_VALUE : width >>> 1;
                // The piece only where the owner keeps at least half a piece: no slivers.
                boolean pieceFits = width == 0 || Long.compareUnsigned(piece + (piece >>> 1), width) <= 0;
                for (long amount : pieceFits ? new long[] {piece, half} : new long[] {half}) {
                    double cost = windowCost + splitCost(i, amount);
                    if (cost < bestCost) {
                        bestCost = cost;
                        bestRange = i;
                        bestAmount = amount;
                    }
                }
                clearTouched();
            }
            long token = tokens[bestRange == 0 ? size - 1 : bestRange - 1] + bestAmount;
            int insertion = -Arrays.binarySearch(tokens, 0, size, token) - 1;
            System.arraycopy(tokens, insertion, tokens, insertion + 1, size - insertion);
            System.arraycopy(owners, insertion, owners, insertion + 1, size - insertion);
            tokens[insertion] = token;
            owners[insertion] = joiner;
            size++;
            return token;
        }

        /**
         * Recomputes every node's primary and replica share from the current tokens, and for every range
         * the last member of its replica set and whether the joiner is in it.
         */
        private void survey() {
            Arrays.fill(primary, 0);
            Arrays.fill(replica, 0);
            lastReplica = new int[size];
            joinerIsReplica = new boolean[size];
            int present = tokenCounts[joiner] > 1 ? joiner + 1 : joiner;
            int full = Math.min(wanted, present);
            int[] members = new int[full];
            for (int i = 0; i < size; i++) {
                double rangeSize = TokenRange.fractionOfRing(width(i));
                primary[owners[i]] += rangeSize;
                int found = 0;
                for (int j = i; found < full; j = j + 1 == size ? 0 : j + 1) {
                    int owner = owners[j];
                    if (!contains(members, found, owner)) {
                        members[found++] = owner;
                        replica[owner] += rangeSize;
                    }
                }
                lastReplica[i] = full == wanted ? members[full - 1] : -1;
                joinerIsReplica[i] = contains(members, full, joiner);
            }
        }

        /**
         * Fills {@code replicaDelta} with the replica changes a new joiner token inside range {@code i}
         * causes in the ranges before it: walking counter-clockwise, each range whose replica walk would
         * reach the new token before completing gains the joiner in place of its last member.
         */
        private void collectWindow(int i) {
            int[] seen = new int[wanted];
            int seenCount = 0;
            int j = i;
            for (int step = 1; step < size; step++) {
                j = j == 0 ? size - 1 : j - 1;
                int owner = owners[j];
                if (owner == joiner) {
                    return;
                }
                if (!contains(seen, seenCount, owner)) {
                    seen[seenCount++] = owner;
                }
                if (seenCount >= wanted) {
                    return;
                }
                if (!joinerIsReplica[j]) {
                    double rangeSize = TokenRange.fractionOfRing(width(j));
                    addReplicaDelta(joiner, rangeSize);
                    if (lastReplica[j] >= 0) {
                        addReplicaDelta(lastReplica[j], -rangeSize);
                    }
                }
            }
        }

        /** Cost of the window changes in {@code replicaDelta}, leaving the joiner's part to the split. */
        private double touchedCost() {
            double cost = 0;
            for (int t = 0; t < touchedCount; t++) {
                int node = touched[t];
                if (node != joiner) {
                    cost += replicaWeight * excessCost(replicaExcess(node), replicaDelta[node], tokenCounts[node]);
                }
            }
            return cost;
        }

        /**
         * Cost of giving the joiner {@code (p, p + amount]} of range {@code i}: the primary change for the
         * joiner and the range's owner, the replica change for the member the piece's set displaces, and
         * the joiner's whole replica gain, window included.
         */
        private double splitCost(int i, long amount) {
            double pieceSize = TokenRange.fractionOfRing(amount);
            int donor = owners[i];
            double cost = excessCost(primaryExcess(joiner), pieceSize, tokenCounts[joiner])
                    + excessCost(primaryExcess(donor), -pieceSize, tokenCounts[donor]);
            double joinerGain = replicaDelta[joiner];
            if (!joinerIsReplica[i]) {
                // A set that is not full takes the joiner in without displacing anyone, for the whole
                // range: the walk from the range's upper part laps the ring and meets the new token too.
                joinerGain += lastReplica[i] >= 0 ? pieceSize : TokenRange.fractionOfRing(width(i));
                int displaced = lastReplica[i];
                if (displaced >= 0) {
                    // The window may have charged the displaced node already; add the difference.
                    double excess = replicaExcess(displaced);
                    double before = replicaDelta[displaced];
                    cost += replicaWeight * (excessCost(excess, before - pieceSize, tokenCounts[displaced])
                            - excessCost(excess, before, tokenCounts[displaced]));
                }
            }
            return cost + replicaWeight * excessCost(replicaExcess(joiner), joinerGain, tokenCounts[joiner]);
        }

        private double primaryExcess(int node) {
            return primary[node] - tokenCounts[node] * share;
        }

        private double replicaExcess(int node) {
            return replica[node] - tokenCounts[node] * share * wanted;
        }

        /** Unsigned width of range {@code i}; 0 for the whole ring of a lone token. */
        private long width(int i) {
            return tokens[i] - tokens[i == 0 ? size - 1 : i - 1];
        }

        private void addReplicaDelta(int node, double delta) {
            if (!contains(touched, touchedCount, node)) {
                touched[touchedCount++] = node;
            }
            replicaDelta[node] += delta;
        }

        private void clearTouched() {
            for (int t = 0; t < touchedCount; t++) {
                replicaDelta[touched[t]] = 0;
            }
            touchedCount = 0;
        }

        private static boolean contains(int[] values, int count, int value) {
            for (int i = 0; i < count; i++) {
                if (values[i] == value) {
                    return true;
                }
            }
            return false;
        }
    }
}
