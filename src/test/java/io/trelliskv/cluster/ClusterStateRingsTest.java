package io.trelliskv.cluster;

import io.trelliskv.common.Address;
import io.trelliskv.membership.Member;
import io.trelliskv.membership.MemberEvent;
import io.trelliskv.membership.MemberState;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The read ring and the future ring: a JOINING node takes writes but no reads, a LEAVING node keeps its
 * reads while its successors take writes too, and only a NORMAL node that leaves without handing over
 * counts as a loss of replicas.
 */
class ClusterStateRingsTest {

    private final ClusterState state = new ClusterState(1, 2);
    private final List<Long> lost = new ArrayList<>();

    ClusterStateRingsTest() {
        state.onRingLoss((gone, before, after) -> lost.add(gone));
    }

    private void event(MemberEvent.Type type, long id, MemberState s, NodeStatus status, long token) {
        state.onEvent(new MemberEvent(type, new Member(id, new Address("127.0.0.1", 5000 + (int) id), 1, s,
                TokenMeta.encode(status, List.of(token), Version.ZERO))));
    }

    @Test
    void aJoiningNodeIsWrittenToButNeitherReadNorRoutedTo() {
        event(MemberEvent.Type.JOIN, 1, MemberState.ALIVE, NodeStatus.NORMAL, 0L);
        assertThat(state.ownsEverything()).isTrue();
        event(MemberEvent.Type.JOIN, 2, MemberState.ALIVE, NodeStatus.JOINING, Long.MIN_VALUE / 2);

        assertThat(state.ownsEverything()).as("writes must reach the joining node").isFalse();
        assertThat(state.ring().nodes()).containsExactly(1L);
        assertThat(state.futureRing().nodes()).containsExactly(1L, 2L);
        assertThat(state.owners(-100)).containsExactly(1L);
        assertThat(state.replicas(-100)).containsExactly(1L);
        assertThat(state.pendingReplicas(-100)).containsExactly(2L);
        assertThat(state.moving()).isTrue();
        assertThat(state.status(2)).isEqualTo(NodeStatus.JOINING);

        event(MemberEvent.Type.UPDATE, 2, MemberState.ALIVE, NodeStatus.NORMAL, Long.MIN_VALUE / 2);
        assertThat(state.ring().nodes()).containsExactly(1L, 2L);
        assertThat(state.owners(Long.MIN_VALUE / 2)).containsExactly(2L, 1L);
        assertThat(state.pendingReplicas(-100)).isEmpty();
        assertThat(state.moving()).isFalse();
        assertThat(lost).isEmpty();
    }

    @Test
    void aLeavingNodeIsStillReadWhileItsSuccessorsTakeItsWrites() {
        event(MemberEvent.Type.JOIN, 1, MemberState.ALIVE, NodeStatus.NORMAL, 0L);
        event(MemberEvent.Type.JOIN, 2, MemberState.ALIVE, NodeStatus.NORMAL, Long.MIN_VALUE / 2);
        event(MemberEvent.Type.JOIN, 3, MemberState.ALIVE, NodeStatus.NORMAL, Long.MAX_VALUE / 2);
        event(MemberEvent.Type.UPDATE, 2, MemberState.ALIVE, NodeStatus.LEAVING, Long.MIN_VALUE / 2);

        assertThat(state.owners(Long.MIN_VALUE / 2)).containsExactly(2L, 1L);
        assertThat(state.pendingReplicas(Long.MIN_VALUE / 2)).containsExactly(3L);
        assertThat(state.futureRing().nodes()).containsExactly(1L, 3L);

        event(MemberEvent.Type.LEFT, 2, MemberState.LEFT, NodeStatus.LEAVING, Long.MIN_VALUE / 2);
        assertThat(state.ring().nodes()).containsExactly(1L, 3L);
        assertThat(lost).as("a decommissioned node handed its ranges over").isEmpty();
    }

    @Test
    void aNormalNodeThatIsRemovedOrLeavesLosesReplicas() {
        event(MemberEvent.Type.JOIN, 1, MemberState.ALIVE, NodeStatus.NORMAL, 0L);
        event(MemberEvent.Type.JOIN, 2, MemberState.ALIVE, NodeStatus.NORMAL, Long.MIN_VALUE / 2);
        event(MemberEvent.Type.JOIN, 3, MemberState.ALIVE, NodeStatus.NORMAL, Long.MAX_VALUE / 2);
        event(MemberEvent.Type.JOIN, 4, MemberState.ALIVE, NodeStatus.NORMAL, Long.MAX_VALUE / 4);
        event(MemberEvent.Type.DEAD, 2, MemberState.DEAD, NodeStatus.NORMAL, Long.MIN_VALUE / 2);
        assertThat(lost).as("death is not a loss of ownership").isEmpty();

        event(MemberEvent.Type.REMOVED, 2, MemberState.DEAD, NodeStatus.NORMAL, Long.MIN_VALUE / 2);
        event(MemberEvent.Type.LEFT, 3, MemberState.LEFT, NodeStatus.NORMAL, Long.MAX_VALUE / 2);
        assertThat(lost).containsExactly(2L, 3L);
    }

    @Test
    void metadataOfTheFirstVersionReadsAsNormal() {
        byte[] v1 = {1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7};
        assertThat(TokenMeta.parse(v1)).isEqualTo(new TokenMeta(NodeStatus.NORMAL, List.of(7L)));
        byte[] v2 = {2, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7};
        assertThat(TokenMeta.parse(v2)).as("version 2: no flush")
                .isEqualTo(new TokenMeta(NodeStatus.LEAVING, List.of(7L), Version.ZERO));
        Version flushed = new Version(123_456, 0x2a);
        assertThat(TokenMeta.parse(TokenMeta.encode(NodeStatus.LEAVING, List.of(7L, -3L), flushed)))
                .isEqualTo(new TokenMeta(NodeStatus.LEAVING, List.of(7L, -3L), flushed));
        assertThat(TokenMeta.parse(new byte[] {2, 9, 0, 0})).as("unknown status").isEqualTo(TokenMeta.NONE);
        byte[] v3 = TokenMeta.encode(NodeStatus.NORMAL, List.of(7L), flushed);
        assertThat(TokenMeta.parse(Arrays.copyOf(v3, v3.length - 1))).as("truncated flush").isEqualTo(TokenMeta.NONE);
    }
}
