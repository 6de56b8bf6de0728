package io.trelliskv.ring;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** What a join, a leave and a removal move, on rings of allocated tokens. */
class RangeMovesTest {

    private static TokenRing threeNodes() {
        TokenRing ring = TokenRing.empty();
        for (long id = 1; id <= 3; id++) {
            ring = ring.withNode(id, new TokenAllocator(3, id).allocate(ring, id, 16));
        }
        return ring;
    }

    @Test
    void aJoinMovesTheNewNodesShareAndOnlyToIt() {
        TokenRing before = threeNodes();
        TokenRing after = before.withNode(4, new TokenAllocator(3, 4).allocate(before, 4, 16));

        List<RangeMoves.Move> moves = RangeMoves.between(before, after, 3);

        assertThat(moves).allSatisfy(m -> {
            assertThat(m.targets()).containsExactly(4L);
            assertThat(m.sources()).hasSize(3).doesNotContain(4L);
        });
        double moved = RangeMoves.fractionMoved(moves);
        assertThat(moved).as("the new node's copies: N times its replica share")
                .isCloseTo(3 * after.replicaOwnership(3).get(4L), within(1e-9));
        assertThat(moved / 3).as("close to 1/4 of the data").isCloseTo(0.25, within(0.03));
    }

    @Test
    void aLeaveMovesTheLeavingNodesRangesToOthers() {
        TokenRing before = threeNodes();
        before = before.withNode(4, new TokenAllocator(3, 4).allocate(before, 4, 16));
        TokenRing after = before.withoutNode(2);

        List<RangeMoves.Move> moves = RangeMoves.between(before, after, 3);

        assertThat(moves).isNotEmpty().allSatisfy(m -> {
            assertThat(m.sources()).contains(2L);
            assertThat(m.targets()).hasSize(1).doesNotContain(2L);
        });
        assertThat(RangeMoves.fractionMoved(moves)).isCloseTo(3 * before.replicaOwnership(3).get(2L), within(1e-9));
        assertThat(RangeMoves.receivedBy(moves, 2)).isEmpty();
    }

    @Test
    void arcsCoverExactlyTheRangesThatChangeHands() {
        SplittableRandom random = new SplittableRandom(7);
        Map<Long, List<Long>> tokens = new LinkedHashMap<>();
        for (long id = 1; id <= 5; id++) {
            List<Long> mine = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                mine.add(random.nextLong());
            }
            tokens.put(id, mine);
        }
        TokenRing before = TokenRing.of(1, tokens);
        TokenRing after = before.withoutNode(3);
        for (RangeMoves.Move m : RangeMoves.between(before, after, 3)) {
            for (long probe : new long[] {m.range().end(), m.range().start() + 1}) {
                assertThat(before.replicas(probe, 3)).isEqualTo(m.sources());
                assertThat(after.replicas(probe, 3)).containsAll(m.targets());
            }
        }
    }

    @Test
    void nothingMovesWithoutAChangeOrWithoutData() {
        TokenRing ring = threeNodes();
        assertThat(RangeMoves.between(ring, ring, 3)).isEmpty();
        assertThat(RangeMoves.between(TokenRing.empty(), ring, 3)).isEmpty();
        assertThat(RangeMoves.between(ring, TokenRing.empty(), 3)).isEmpty();
    }

    @Test
    void aSecondNodeGetsTheWholeRingFromTheFirst() {
        TokenRing one = TokenRing.of(1, Map.of(1L, List.of(0L)));
        TokenRing two = one.withNode(2, List.of(Long.MIN_VALUE / 2));
        List<RangeMoves.Move> moves = RangeMoves.between(one, two, 3);
        assertThat(RangeMoves.fractionMoved(moves)).isCloseTo(1.0, within(1e-9));
        assertThat(moves).allSatisfy(m -> assertThat(m.sources()).containsExactly(1L));
    }
}
