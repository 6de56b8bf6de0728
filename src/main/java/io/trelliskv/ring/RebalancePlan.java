package io.trelliskv.ring;

import java.util.ArrayList;
import java.util.List;

/**
 * Who streams which range to whom when the ring changes: the decisions of a bootstrap, a decommission
 * and a removal, as a pure function of the two rings, the replication factor and the node that acts.
 *
 * <h2>What moves</h2>
 * The arcs are {@link RangeMoves#between}'s: every arc whose replica set on the ring after the change
 * has nodes that were not replicas before. Each such (arc, gained replica) pair is one
 * {@link Assignment}: the arc, the <em>target</em> that must come to hold it, and the <em>sources</em>
 * that hold it now, in the order to try them. The target always receives; who opens the stream depends
 * on the kind of change, and {@link #peers} turns an assignment into the peers the local node streams
 * with.
 *
 * <h2>Join: pull, displaced replica first</h2>
 * A joining node pulls each arc it gains. Its sources are the arc's replicas before the join, with the
 * replica it displaces (the one that is a replica before and not after) first, then the others in
 * preference order. The displaced replica holds every write acknowledged with it, while the node that
 * stays a replica may have missed some that the displaced one took, so copying the displaced replica
 * keeps the number of copies of every acknowledged write (Cassandra's "consistent range movement",
 * CASSANDRA-2434). The others are fallbacks for when it is down. On a ring with fewer nodes than N
 * nobody is displaced, and the sources are the old replicas in preference order.
 *
 * <h2>Decommission: push, from the leaving node</h2>
 * A leaving node is a replica of every arc its departure moves, and still serves them, so it pushes
 * each arc to every target itself: one assignment per target, with the leaving node as the only
 * source. Arcs it is not a replica of are another node's concurrent join, which pulls them for itself.
 *
 * <h2>Removal: pull, from the survivors</h2>
 * A removed node (dead, or gone without a decommission) cannot stream, so each node that gained an arc
 * pulls it from the arc's old replicas other than the removed node, in preference order. An arc whose
 * only old replica was the removed node (N = 1) has no source left and no assignment: its data is gone.
 *
 * <h2>Rejoin: pull, from the replicas that held the arc</h2>
 * A node that restarted with its tokens but without its data (the engine is in memory) is on the
 * future ring as JOINING and off the read ring. The read ring then hands its arcs to stand-ins (the
 * next nodes clockwise), which take the writes made meanwhile but never held the older data, so the
 * join's sources would be wrong: the restarted node pulls each arc it replicates on the future ring
 * from the arc's other future-ring replicas that are on the read ring (NORMAL or LEAVING: they held
 * the arc before and were not themselves recovering), in preference order. The writes made meanwhile
 * reach it directly, as a pending replica. An arc none of whose other replicas is on the read ring
 * (every copy restarted empty, or is itself rejoining) has no source: it is listed in
 * {@link #unsourced()}, and the node must not call itself a holder of it until an operator decides.
 *
 * <h2>Purity</h2>
 * No clock, membership or network here: every node computes the same plan from the same rings, the
 * tables in the tests pin each decision, and the rebalance simulation runs these decisions rather than
 * a copy of them. Liveness is the stream's business: it tries the sources in order, skipping dead ones.
 */
public final class RebalancePlan {

    /** The ring change a plan carries out, and which way its streams go. */
    public enum Kind {
        /** The local node joins and pulls the arcs it gains. */
        JOIN(false),
        /** The local node leaves and pushes its arcs to the nodes that gain them. */
        DECOMMISSION(true),
        /** Another node was removed; the local node pulls the arcs it gains from the survivors. */
        REMOVAL(false),
        /** The local node restarted empty and pulls back every arc it replicates from replicas that hold it. */
        REJOIN(false);

        private final boolean pushes;

        Kind(boolean pushes) {
            this.pushes = pushes;
        }

        /** Whether the local node is the source and sends, rather than the target that receives. */
        public boolean pushes() {
            return pushes;
        }
    }

    /**
     * One arc to copy to one node.
     *
     * @param range   the arc, {@code (start, end]}, one of {@link RangeMoves#between}'s
     * @param target  the node that receives it: a replica after the change that was not one before
     * @param sources nodes that hold it now, in the order to try them; never empty, never the target
     */
    public record Assignment(TokenRange range, long target, List<Long> sources) {
        public Assignment {
            sources = List.copyOf(sources);
        }
    }

    private final Kind kind;
    /** The node that carries the plan out: the target of every assignment, or with a push the source. */
    private final long local;
    /** In ring order, and for one arc in the order of its targets on the ring after the change. */
    private final List<Assignment> assignments;
    /** Arcs the local node must pull that no node holding them can give (a rejoin's only); in ring order. */
    private final List<TokenRange> unsourced;

    private RebalancePlan(Kind kind, long local, List<Assignment> assignments) {
        this(kind, local, assignments, List.of());
    }

    private RebalancePlan(Kind kind, long local, List<Assignment> assignments, List<TokenRange> unsourced) {
        this.kind = kind;
        this.local = local;
        this.assignments = List.copyOf(assignments);
        this.unsourced = List.copyOf(unsourced);
    }

    /**
     * What {@code joining} pulls going from {@code before} (the read ring) to {@code after} (the ring
     * with it): every arc it gains, from the replica it displaces first. Empty if {@code before} is
     * empty: nobody has data yet.
     */
    public static RebalancePlan join(TokenRing before, TokenRing after, int n, long joining) {
        List<Assignment> out = new ArrayList<>();
        for (RangeMoves.Move m : RangeMoves.receivedBy(RangeMoves.between(before, after, n), joining)) {
            List<Long> sources = displacedFirst(without(m.sources(), joining, joining),
                    after.replicas(m.range().end(), n));
            out.add(new Assignment(m.range(), joining, sources));
        }
        return new RebalancePlan(Kind.JOIN, joining, out);
    }

    /**
     * What {@code local}, restarted without its data, pulls to hold again every arc it replicates on
     * {@code future} (the ring with it, JOINING): from each arc's other replicas on {@code future} that
     * are on {@code read} (so held it before and are not recovering), in preference order. Arcs with no
     * such replica are {@link #unsourced()}.
     */
    public static RebalancePlan rejoin(TokenRing read, TokenRing future, int n, long local) {
        List<Long> tokens = new ArrayList<>();
        for (long node : future.nodes()) {
            tokens.addAll(future.tokensOf(node));
        }
        tokens = tokens.stream().sorted().distinct().toList();
        List<Assignment> out = new ArrayList<>();
        List<TokenRange> unsourced = new ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) {
            long end = tokens.get(i);
            TokenRange arc = tokens.size() == 1 ? TokenRange.fullRing(end)
                    : new TokenRange(tokens.get(Math.floorMod(i - 1, tokens.size())), end);
            List<Long> replicas = future.replicas(end, n);
            if (!replicas.contains(local)) {
                continue;
            }
            List<Long> sources = new ArrayList<>();
            for (long r : replicas) {
                if (r != local && read.nodes().contains(r)) {
                    sources.add(r);
                }
            }
            if (sources.isEmpty()) {
                unsourced.add(arc);
            } else {
                out.add(new Assignment(arc, local, sources));
            }
        }
        return new RebalancePlan(Kind.REJOIN, local, out, unsourced);
    }

    /**
     * What {@code leaving} pushes going from {@code before} (the read ring, with it) to {@code after}
     * (the ring without it): each arc it replicates, to every node that gains the arc.
     */
    public static RebalancePlan decommission(TokenRing before, TokenRing after, int n, long leaving) {
        List<Assignment> out = new ArrayList<>();
        for (RangeMoves.Move m : RangeMoves.between(before, after, n)) {
            if (!m.sources().contains(leaving)) {
                continue; // another node's join: it pulls for itself
            }
            for (long target : m.targets()) {
                if (target != leaving) {
                    out.add(new Assignment(m.range(), target, List.of(leaving)));
                }
            }
        }
        return new RebalancePlan(Kind.DECOMMISSION, leaving, out);
    }

    /**
     * What {@code local} pulls after {@code removed} left the ring without handing over, going from
     * {@code before} (the read ring with it) to {@code after} (without it): every arc {@code local}
     * gains that a surviving old replica holds, from those replicas in preference order.
     */
    public static RebalancePlan removal(TokenRing before, TokenRing after, int n, long local, long removed) {
        List<Assignment> out = new ArrayList<>();
        for (RangeMoves.Move m : RangeMoves.receivedBy(RangeMoves.between(before, after, n), local)) {
            List<Long> sources = without(m.sources(), removed, local);
            if (!sources.isEmpty()) {
                out.add(new Assignment(m.range(), local, sources));
            }
        }
        return new RebalancePlan(Kind.REMOVAL, local, out);
    }

    public Kind kind() {
        return kind;
    }

    /** The node that carries the plan out. */
    public long local() {
        return local;
    }

    public List<Assignment> assignments() {
        return assignments;
    }

    public boolean isEmpty() {
        return assignments.isEmpty();
    }

    /**
     * Arcs the local node must hold that no node can give it: for a rejoin, those whose every other
     * replica is off the read ring (restarted empty, or rejoining too); empty for the other kinds.
     */
    public List<TokenRange> unsourced() {
        return unsourced;
    }

    /**
     * The peers the local node streams {@code a} with, in the order to try them: its sources when the
     * local node pulls, its target when it pushes.
     */
    public List<Long> peers(Assignment a) {
        return kind.pushes() ? List.of(a.target()) : a.sources();
    }

    /**
     * {@code sources} with the replicas that are not in {@code futureReplicas} (the displaced ones)
     * first, each group in its order in {@code sources}.
     */
    private static List<Long> displacedFirst(List<Long> sources, List<Long> futureReplicas) {
        List<Long> out = new ArrayList<>(sources.size());
        for (long s : sources) {
            if (!futureReplicas.contains(s)) {
                out.add(s);
            }
        }
        for (long s : sources) {
            if (futureReplicas.contains(s)) {
                out.add(s);
            }
        }
        return out;
    }

    private static List<Long> without(List<Long> nodes, long a, long b) {
        List<Long> out = new ArrayList<>(nodes.size());
        for (long n : nodes) {
            if (n != a && n != b) {
                out.add(n);
            }
        }
        return out;
    }
}
