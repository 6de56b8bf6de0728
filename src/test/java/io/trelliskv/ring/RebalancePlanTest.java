package io.trelliskv.ring;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Who streams which range to whom, for a join, a decommission and a removal, on hand-built rings. */
class RebalancePlanTest {

    /** 2^60, a sixteenth of the ring. */
    private static final long U = 1L << 60;

    /** Node 1 at -4U. */
    private static final TokenRing ONE = TokenRing.of(1, Map.of(1L, List.of(-4 * U)));
    /** Node 1 at -4U, node 2 at 0. */
    private static final TokenRing TWO = ONE.withNode(2, List.of(0L));
    /**
     * Nodes 1 at -4U, 2 at 0, 3 at 4U. With N = 3: (4U, -4U] on 1 2 3, (-4U, 0] on 2 3 1, (0, 4U] on 3 1 2.
     */
    private static final TokenRing THREE = TWO.withNode(3, List.of(4 * U));
    /**
     * THREE and node 4 at 2U. With N = 3: (4U, -4U] on 1 2 4, (-4U, 0] on 2 4 3, (0, 2U] on 4 3 1,
     * (2U, 4U] on 3 1 2.
     */
    private static final TokenRing FOUR = THREE.withNode(4, List.of(2 * U));
    /** FOUR without node 2: 1 at -4U, 4 at 2U, 3 at 4U. With N = 3: (4U, -4U] on 1 4 3, (-4U, 2U] on 4 3 1. */
    private static final TokenRing FOUR_WITHOUT_2 = FOUR.withoutNode(2);

    /** The arcs between the tokens of all these rings. */
    private static final TokenRange WRAP = new TokenRange(4 * U, -4 * U);
    private static final TokenRange A = new TokenRange(-4 * U, 0);
    private static final TokenRange B = new TokenRange(0, 2 * U);
    private static final TokenRange C = new TokenRange(2 * U, 4 * U);

    static Stream<Arguments> plans() {
        return Stream.of(
                // ---- join: pull, the displaced replica first ----
                plan("join N=3: the displaced replica first, then the others in preference order",
                        RebalancePlan.join(THREE, FOUR, 3, 4),
                        a(WRAP, 4, 3, 1, 2), a(A, 4, 1, 2, 3), a(B, 4, 2, 3, 1)),
                plan("join N=2", RebalancePlan.join(THREE, FOUR, 2, 4), a(A, 4, 3, 2), a(B, 4, 1, 3)),
                plan("join N=1: the old primary is the only source", RebalancePlan.join(THREE, FOUR, 1, 4), a(B, 4, 3)),
                plan("join onto fewer nodes than N: nobody is displaced, preference order",
                        RebalancePlan.join(TWO, THREE, 3, 3),
                        a(WRAP, 3, 1, 2), a(A, 3, 2, 1), a(new TokenRange(0, 4 * U), 3, 1, 2)),
                plan("second node: the first holds everything",
                        RebalancePlan.join(ONE, TWO, 3, 2), a(new TokenRange(0, -4 * U), 2, 1), a(A, 2, 1)),
                plan("join onto an empty ring: nobody has data", RebalancePlan.join(TokenRing.empty(), ONE, 3, 1)),
                plan("a node already a replica of all it will hold pulls nothing",
                        RebalancePlan.join(THREE, FOUR, 3, 1)),
                plan("join while node 2 leaves: the joiner pulls from the leaving node too",
                        RebalancePlan.join(THREE, FOUR_WITHOUT_2, 2, 4),
                        a(WRAP, 4, 2, 1), a(A, 4, 2, 3), a(B, 4, 1, 3)),

                // ---- decommission: push, from the leaving node to every gained replica ----
                plan("decommission N=3", RebalancePlan.decommission(FOUR, FOUR_WITHOUT_2, 3, 2),
                        a(WRAP, 3, 2), a(A, 1, 2), a(C, 4, 2)),
                plan("decommission N=2", RebalancePlan.decommission(FOUR, FOUR_WITHOUT_2, 2, 2),
                        a(WRAP, 4, 2), a(A, 3, 2)),
                plan("decommission N=1", RebalancePlan.decommission(FOUR, FOUR_WITHOUT_2, 1, 2), a(A, 4, 2)),
                plan("decommission to as many nodes as N: every survivor already holds everything",
                        RebalancePlan.decommission(THREE, THREE.withoutNode(2), 3, 2)),
                plan("decommission while node 4 joins: arcs the leaving node does not hold are the joiner's to pull",
                        RebalancePlan.decommission(THREE, FOUR_WITHOUT_2, 2, 2), a(WRAP, 4, 2), a(A, 4, 2)),
                plan("the last node leaves: nobody to receive",
                        RebalancePlan.decommission(ONE, TokenRing.empty(), 3, 1)),

                // ---- removal: pull, from the surviving old replicas ----
                plan("removal N=3, node 3", RebalancePlan.removal(FOUR, FOUR_WITHOUT_2, 3, 3, 2), a(WRAP, 3, 1, 4)),
                plan("removal N=3, node 1", RebalancePlan.removal(FOUR, FOUR_WITHOUT_2, 3, 1, 2), a(A, 1, 4, 3)),
                plan("removal N=3, node 4", RebalancePlan.removal(FOUR, FOUR_WITHOUT_2, 3, 4, 2), a(C, 4, 3, 1)),
                plan("removal N=2, node 4", RebalancePlan.removal(FOUR, FOUR_WITHOUT_2, 2, 4, 2), a(WRAP, 4, 1)),
                plan("removal N=2, node 3", RebalancePlan.removal(FOUR, FOUR_WITHOUT_2, 2, 3, 2), a(A, 3, 4)),
                plan("removal N=2: a node already a replica of all it will hold pulls nothing",
                        RebalancePlan.removal(FOUR, FOUR_WITHOUT_2, 2, 1, 2)),
                plan("removal N=1: the only copy was on the removed node, no source is left",
                        RebalancePlan.removal(FOUR, FOUR_WITHOUT_2, 1, 4, 2)),
                plan("removal down to one node: it held everything already", RebalancePlan.removal(TWO, ONE, 2, 1, 2)),
                plan("the last node removed: nobody to receive",
                        RebalancePlan.removal(ONE, TokenRing.empty(), 3, 2, 1)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("plans")
    void assignments(String name, RebalancePlan plan, List<RebalancePlan.Assignment> expected) {
        assertThat(plan.assignments()).containsExactlyElementsOf(expected);
        assertThat(plan.isEmpty()).isEqualTo(expected.isEmpty());
    }

    @Test
    void aJoinAndARemovalPullFromTheSourcesADecommissionPushesToTheTarget() {
        RebalancePlan join = RebalancePlan.join(THREE, FOUR, 3, 4);
        assertThat(join.kind()).isEqualTo(RebalancePlan.Kind.JOIN);
        assertThat(join.local()).isEqualTo(4);
        assertThat(join.kind().pushes()).isFalse();
        assertThat(join.peers(join.assignments().get(0))).containsExactly(3L, 1L, 2L);

        RebalancePlan removal = RebalancePlan.removal(FOUR, FOUR_WITHOUT_2, 3, 3, 2);
        assertThat(removal.kind()).isEqualTo(RebalancePlan.Kind.REMOVAL);
        assertThat(removal.local()).isEqualTo(3);
        assertThat(removal.kind().pushes()).isFalse();
        assertThat(removal.peers(removal.assignments().get(0))).containsExactly(1L, 4L);

        RebalancePlan decommission = RebalancePlan.decommission(FOUR, FOUR_WITHOUT_2, 3, 2);
        assertThat(decommission.kind()).isEqualTo(RebalancePlan.Kind.DECOMMISSION);
        assertThat(decommission.local()).isEqualTo(2);
        assertThat(decommission.kind().pushes()).isTrue();
        assertThat(decommission.assignments()).extracting(decommission::peers)
                .containsExactly(List.of(3L), List.of(1L), List.of(4L));
    }

    @Test
    void plansAreImmutable() {
        RebalancePlan plan = RebalancePlan.join(THREE, FOUR, 3, 4);
        assertThatThrownBy(() -> plan.assignments().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> plan.assignments().get(0).sources().clear())
                .isInstanceOf(UnsupportedOperationException.class);
        List<Long> sources = new ArrayList<>(List.of(1L, 2L));
        RebalancePlan.Assignment a = new RebalancePlan.Assignment(A, 3, sources);
        sources.add(4L);
        assertThat(a.sources()).containsExactly(1L, 2L);
    }

    /**
     * A restarted node (2, JOINING on THREE) pulls each arc it replicates from the other replicas that are
     * on the read ring, never from a stand-in; with node 3 rejoining too, an arc whose other replicas are
     * all off the read ring has no source.
     */
    @Test
    void rejoinPullsFromReplicasThatHeldTheArcAndListsArcsNobodyHolds() {
        TokenRing readWithout2 = ONE.withNode(3, List.of(4 * U));
        RebalancePlan plan = RebalancePlan.rejoin(readWithout2, THREE, 3, 2);
        assertThat(plan.kind()).isEqualTo(RebalancePlan.Kind.REJOIN);
        assertThat(plan.unsourced()).isEmpty();
        assertThat(plan.assignments()).extracting(RebalancePlan.Assignment::range).containsExactlyInAnyOrder(
                new TokenRange(4 * U, -4 * U), new TokenRange(-4 * U, 0), new TokenRange(0, 4 * U));
        for (RebalancePlan.Assignment a : plan.assignments()) {
            assertThat(a.target()).isEqualTo(2);
            assertThat(a.sources()).containsExactlyInAnyOrder(1L, 3L);
        }

        // FOUR: node 4 (at 2U) stands in for 2 on the read ring, but never held 2's arcs.
        TokenRing four = THREE.withNode(4, List.of(2 * U));
        RebalancePlan withStandIn = RebalancePlan.rejoin(four.withoutNode(2), four, 3, 2);
        for (RebalancePlan.Assignment a : withStandIn.assignments()) {
            assertThat(a.sources()).containsExactlyElementsOf(
                    four.replicas(a.range().end(), 3).stream().filter(r -> r != 2L).toList());
        }

        // 2 and 3 restarted: on THREE with N = 2, arc (-4U, 0] is on 2 3 only.
        RebalancePlan both = RebalancePlan.rejoin(ONE, THREE, 2, 2);
        assertThat(both.unsourced()).containsExactly(new TokenRange(-4 * U, 0));
        assertThat(both.assignments()).extracting(RebalancePlan.Assignment::range)
                .containsExactly(new TokenRange(4 * U, -4 * U));
    }

    /**
     * On random rings, one node joining, leaving or being removed: every arc that gains a replica has
     * exactly one assignment per gained replica (for a removal, over the plans of all the survivors),
     * and no source is the target, or for a removal the removed node.
     */
    @Property(tries = 300, seed = "20240901")
    void everyGainedReplicaIsAssignedOnceAndNeverFromItself(@ForAll long seed, @ForAll RebalancePlan.Kind kind,
                                                            @ForAll @IntRange(min = 1, max = 4) int n) {
        if (kind == RebalancePlan.Kind.REJOIN) {
            return; // no ring change: its own property below
        }
        SplittableRandom random = new SplittableRandom(seed);
        TokenRing ring = randomRing(random, 2);
        List<Long> ids = new ArrayList<>(ring.nodes());
        long mover = ids.get(random.nextInt(ids.size()));
        TokenRing before;
        TokenRing after;
        List<RebalancePlan.Assignment> assigned = new ArrayList<>();
        switch (kind) {
            case JOIN -> {
                before = ring.withoutNode(mover);
                after = ring;
                assigned.addAll(RebalancePlan.join(before, after, n, mover).assignments());
            }
            case DECOMMISSION -> {
                before = ring;
                after = ring.withoutNode(mover);
                assigned.addAll(RebalancePlan.decommission(before, after, n, mover).assignments());
            }
            default -> {
                before = ring;
                after = ring.withoutNode(mover);
                for (long local : after.nodes()) {
                    assigned.addAll(RebalancePlan.removal(before, after, n, local, mover).assignments());
                }
            }
        }

        List<RangeMoves.Move> moves = RangeMoves.between(before, after, n);
        List<List<Object>> gained = new ArrayList<>();
        for (RangeMoves.Move m : moves) {
            for (long target : m.targets()) {
                gained.add(List.of(m.range(), target));
            }
        }
        List<List<Object>> planned = assigned.stream().map(a -> List.<Object>of(a.range(), a.target())).toList();
        if (kind == RebalancePlan.Kind.REMOVAL && n == 1) {
            assertThat(planned).as("with one replica the removed node held the only copy").isEmpty();
        } else {
            assertThat(planned).containsExactlyInAnyOrderElementsOf(gained);
        }

        for (RebalancePlan.Assignment a : assigned) {
            assertThat(a.sources()).isNotEmpty().doesNotContain(a.target()).doesNotHaveDuplicates();
            List<Long> old = before.replicas(a.range().end(), n);
            List<Long> future = after.replicas(a.range().end(), n);
            switch (kind) {
                case JOIN -> {
                    assertThat(a.sources()).containsExactlyInAnyOrderElementsOf(old);
                    int kept = (int) a.sources().stream().filter(future::contains).count();
                    assertThat(a.sources().subList(0, a.sources().size() - kept))
                            .as("displaced replicas first").noneMatch(future::contains);
                }
                case DECOMMISSION -> assertThat(a.sources()).containsExactly(mover);
                default -> {
                    assertThat(a.sources()).doesNotContain(mover);
                    assertThat(a.sources()).isEqualTo(old.stream().filter(s -> s != mover).toList());
                }
            }
        }
    }

    private static Arguments plan(String name, RebalancePlan plan, RebalancePlan.Assignment... expected) {
        return Arguments.of(name, plan, List.of(expected));
    }

    private static RebalancePlan.Assignment a(TokenRange range, long target, long... sources) {
        List<Long> list = new ArrayList<>();
        for (long s : sources) {
            list.add(s);
        }
        return new RebalancePlan.Assignment(range, target, list);
    }

    /** {@code min} to 7 nodes with 1 to 5 random tokens each. */
    private static TokenRing randomRing(SplittableRandom random, int min) {
        int nodes = min + random.nextInt(8 - min);
        Set<Long> used = new HashSet<>();
        Map<Long, List<Long>> tokens = new LinkedHashMap<>();
        for (long node = 1; node <= nodes; node++) {
            List<Long> own = new ArrayList<>();
            int count = 1 + random.nextInt(5);
            while (own.size() < count) {
                long token = random.nextLong();
                if (used.add(token)) {
                    own.add(token);
                }
            }
            tokens.put(node, own);
        }
        return TokenRing.of(0, tokens);
    }
}
