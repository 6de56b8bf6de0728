package io.trelliskv.ring;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;

/**
 * Which data a ring change moves: for every arc whose replica set differs between two rings, the
 * nodes that held it before and the nodes that must receive it. The unit of streaming for bootstrap,
 * decommission and removal.
 *
 * <p>The arcs are those between consecutive tokens of <em>both</em> rings, so each has one replica set
 * in each ring (the replicas of its end token). Adding a node only splits arcs and removing one only
 * merges them, so with one node joining or leaving, an arc here is a piece of one range of each ring.
 * Arcs are not merged back together: there are at most as many as tokens in the two rings together.
 */
public final class RangeMoves {

    /**
     * One arc to stream.
     *
     * @param range   the arc, {@code (start, end]}
     * @param sources its replicas in the ring before the change, in preference order
     * @param targets its replicas after the change that were not replicas before
     */
    public record Move(TokenRange range, List<Long> sources, List<Long> targets) {
        public Move {
            sources = List.copyOf(sources);
            targets = List.copyOf(targets);
        }
    }

    private RangeMoves() {
    }

    /**
     * The arcs that gain replicas going from {@code before} to {@code after} with {@code n} replicas per
     * key, in ring order. Empty if either ring is empty (nobody has data, or nobody will hold it).
     */
    public static List<Move> between(TokenRing before, TokenRing after, int n) {
        if (before.isEmpty() || after.isEmpty()) {
            return List.of();
        }
        TreeSet<Long> boundaries = new TreeSet<>();
        for (int i = 0; i < before.tokenCount(); i++) {
            boundaries.add(before.tokenAt(i));
        }
        for (int i = 0; i < after.tokenCount(); i++) {
            boundaries.add(after.tokenAt(i));
        }
        List<Long> tokens = new ArrayList<>(boundaries);
        List<Move> moves = new ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) {
            long end = tokens.get(i);
            long start = tokens.get(i == 0 ? tokens.size() - 1 : i - 1);
            List<Long> from = before.replicas(end, n);
            List<Long> to = after.replicas(end, n);
            List<Long> gained = new ArrayList<>();
            for (long node : to) {
                if (!from.contains(node)) {
                    gained.add(node);
                }
            }
            if (!gained.isEmpty()) {
                moves.add(new Move(new TokenRange(start, end), from, gained));
            }
        }
        return Collections.unmodifiableList(moves);
    }

    /** The moves {@code node} receives: those that list it among their targets. */
    public static List<Move> receivedBy(List<Move> moves, long node) {
        return moves.stream().filter(m -> m.targets().contains(node)).toList();
    }

    /** The fraction of the ring, weighted by replicas, that the moves copy: the data a change streams. */
    public static double fractionMoved(List<Move> moves) {
        double sum = 0;
        for (Move m : moves) {
            sum += m.range().size() * m.targets().size();
        }
        return sum;
    }
}
