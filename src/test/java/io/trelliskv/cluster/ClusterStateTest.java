package io.trelliskv.cluster;

import io.trelliskv.common.Address;
import io.trelliskv.membership.Member;
import io.trelliskv.membership.MemberEvent;
import io.trelliskv.membership.MemberState;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The ring follows membership: tokens leave it on LEFT and REMOVED, never on SUSPECT or DEAD. */
class ClusterStateTest {

    private final ClusterState state = new ClusterState(1);

    private static Member member(long id, MemberState s, List<Long> tokens) {
        return new Member(id, new Address("127.0.0.1", 5000 + (int) id), 1, s, TokenMeta.encode(tokens));
    }

    private void event(MemberEvent.Type type, long id, MemberState s, List<Long> tokens) {
        state.onEvent(new MemberEvent(type, member(id, s, tokens)));
    }

    @Test
    void ringIsBuiltFromTheTokensMembersGossip() {
        event(MemberEvent.Type.JOIN, 1, MemberState.ALIVE, List.of(0L));
        event(MemberEvent.Type.JOIN, 2, MemberState.ALIVE, List.of(Long.MIN_VALUE / 2));

        assertThat(state.ring().nodes()).containsExactlyInAnyOrder(1L, 2L);
        assertThat(state.owners(-100)).containsExactly(1L);
        assertThat(state.owners(Long.MIN_VALUE / 2)).containsExactly(2L);
        assertThat(state.describe(2)).isEqualTo("2@127.0.0.1:5002");
    }

    @Test
    void aDeadMemberKeepsItsRangesButIsNotAlive() {
        event(MemberEvent.Type.JOIN, 1, MemberState.ALIVE, List.of(0L));
        event(MemberEvent.Type.JOIN, 2, MemberState.ALIVE, List.of(Long.MIN_VALUE / 2));
        long version = state.ring().version();

        event(MemberEvent.Type.SUSPECT, 2, MemberState.SUSPECT, List.of(Long.MIN_VALUE / 2));
        assertThat(state.isAlive(2)).isTrue();
        event(MemberEvent.Type.DEAD, 2, MemberState.DEAD, List.of(Long.MIN_VALUE / 2));

        assertThat(state.isAlive(2)).isFalse();
        assertThat(state.ring().version()).as("no ownership change for liveness").isEqualTo(version);
        assertThat(state.owners(Long.MIN_VALUE / 2)).containsExactly(2L);
        assertThat(state.count(MemberState.DEAD)).isEqualTo(1);
    }

    @Test
    void leftAndRemovedMembersLeaveTheRing() {
        event(MemberEvent.Type.JOIN, 1, MemberState.ALIVE, List.of(0L));
        event(MemberEvent.Type.JOIN, 2, MemberState.ALIVE, List.of(Long.MIN_VALUE / 2));
        event(MemberEvent.Type.JOIN, 3, MemberState.ALIVE, List.of(Long.MAX_VALUE / 2));

        event(MemberEvent.Type.LEFT, 2, MemberState.LEFT, List.of(Long.MIN_VALUE / 2));
        assertThat(state.ring().nodes()).containsExactlyInAnyOrder(1L, 3L);

        event(MemberEvent.Type.DEAD, 3, MemberState.DEAD, List.of(Long.MAX_VALUE / 2));
        event(MemberEvent.Type.REMOVED, 3, MemberState.DEAD, List.of(Long.MAX_VALUE / 2));
        assertThat(state.ring().nodes()).containsExactly(1L);
        assertThat(state.member(3)).isNull();
    }

    @Test
    void aTokenClaimedTwiceGoesToTheLowerNodeIdOnEveryNode() {
        ClusterState other = new ClusterState(9);
        for (ClusterState view : List.of(state, other)) {
            // Two nodes that chose against the same ring; the events arrive in different orders.
            List<Member> joins = view == state
                    ? List.of(member(7, MemberState.ALIVE, List.of(10L, 20L)), member(3, MemberState.ALIVE, List.of(20L, 30L)))
                    : List.of(member(3, MemberState.ALIVE, List.of(20L, 30L)), member(7, MemberState.ALIVE, List.of(10L, 20L)));
            joins.forEach(m -> view.onEvent(new MemberEvent(MemberEvent.Type.JOIN, m)));
        }
        assertThat(state.ring().tokensOf(3)).containsExactly(20L, 30L);
        assertThat(state.ring().tokensOf(7)).containsExactly(10L);
        assertThat(other.ring().describeTokens()).isEqualTo(state.ring().describeTokens());
    }

    @Test
    void routingIsSkippedOnlyWhileThisNodeOwnsTheWholeRing() {
        assertThat(state.ownsEverything()).as("no ring yet").isTrue();
        event(MemberEvent.Type.JOIN, 1, MemberState.ALIVE, List.of(0L));
        assertThat(state.ownsEverything()).as("a cluster of one").isTrue();
        event(MemberEvent.Type.JOIN, 2, MemberState.ALIVE, List.of(Long.MIN_VALUE / 2));
        assertThat(state.ownsEverything()).isFalse();
        assertThat(state.addressOf(2)).hasToString("/127.0.0.1:5002");
        event(MemberEvent.Type.LEFT, 2, MemberState.LEFT, List.of(Long.MIN_VALUE / 2));
        assertThat(state.ownsEverything()).isTrue();
    }

    @Test
    void livenessFollowsEveryMembershipEvent() {
        event(MemberEvent.Type.JOIN, 1, MemberState.ALIVE, List.of(0L));
        for (long id = 2; id <= 5; id++) {
            event(MemberEvent.Type.JOIN, id, MemberState.ALIVE, List.of(id * 1000));
        }
        event(MemberEvent.Type.UPDATE, 3, MemberState.ALIVE, List.of(3000L));
        event(MemberEvent.Type.DEAD, 4, MemberState.DEAD, List.of(4000L));
        event(MemberEvent.Type.LEFT, 5, MemberState.LEFT, List.of(5000L));
        assertThat(state.isAlive(2)).isTrue();
        assertThat(state.isAlive(3)).as("an update of a live member").isTrue();
        assertThat(state.isAlive(4)).isFalse();
        assertThat(state.isAlive(5)).isFalse();

        event(MemberEvent.Type.ALIVE, 4, MemberState.ALIVE, List.of(4000L));
        event(MemberEvent.Type.REMOVED, 2, MemberState.ALIVE, List.of(2000L));
        assertThat(state.isAlive(4)).as("back").isTrue();
        assertThat(state.isAlive(2)).as("removed").isFalse();
        assertThat(state.isAlive(3)).isTrue();
        assertThat(state.isAlive(1)).as("the local node, whatever membership says").isTrue();
    }

    @Test
    void livenessOfManyMembers() { // more live ids than isAlive scans: it searches them
        for (long id = 2; id <= 20; id++) {
            event(MemberEvent.Type.JOIN, id, MemberState.ALIVE, List.of(id * 1000));
        }
        for (long id = 3; id <= 20; id += 3) {
            event(MemberEvent.Type.DEAD, id, MemberState.DEAD, List.of(id * 1000));
        }
        for (long id = 2; id <= 20; id++) {
            assertThat(state.isAlive(id)).as("member %d", id).isEqualTo(id % 3 != 0);
        }
        assertThat(state.isAlive(21)).isFalse();
        assertThat(state.isAlive(1)).isTrue();
    }

    @Test
    void noRingMeansNoOwners() {
        assertThat(state.owners(42)).isEmpty();
        assertThat(state.isAlive(1)).as("the local node").isTrue();
        assertThat(state.isAlive(99)).isFalse();
    }
}
