package io.trelliskv.replication;

import io.trelliskv.common.Key;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;

import static io.trelliskv.replication.ConsistencyLevel.ALL;
import static io.trelliskv.replication.ConsistencyLevel.ONE;
import static io.trelliskv.replication.ConsistencyLevel.QUORUM;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DOWN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How many replicas each level needs, and how {@link Coordinator#checkAvailable} applies it. */
class QuorumArithmeticTest {

    @ParameterizedTest(name = "N={0}: ONE {1}, QUORUM {2}, ALL {3}")
    @CsvSource({
            "1, 1, 1, 1",
            "2, 1, 2, 2",
            "3, 1, 2, 3",
            "4, 1, 3, 4",
            "5, 1, 3, 5"})
    void requiredReplicasPerLevel(int n, int one, int quorum, int all) {
        assertThat(ONE.required(n)).isEqualTo(one);
        assertThat(QUORUM.required(n)).isEqualTo(quorum);
        assertThat(ALL.required(n)).isEqualTo(all);
    }

    @ParameterizedTest(name = "N={0}")
    @CsvSource({"1", "2", "3", "4", "5"})
    void twoQuorumsAlwaysShareAReplica(int n) {
        assertThat(QUORUM.required(n) * 2).isGreaterThan(n);
    }

    @Test
    void noReplicasIsAnError() {
        assertThatThrownBy(() -> QUORUM.required(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("replicas: 0 (expected: >= 1)");
    }

    /**
     * Three replicas, {@code down} of them down (never the coordinator): what each level allows. An
     * empty message means the command goes ahead.
     */
    @ParameterizedTest(name = "{1} down, {0}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            ONE    | 0 | ''
            QUORUM | 0 | ''
            ALL    | 0 | ''
            ONE    | 1 | ''
            QUORUM | 1 | ''
            ALL    | 1 | needs 3 live replicas, 2 alive
            ONE    | 2 | ''
            QUORUM | 2 | needs 2 live replicas, 1 alive
            ALL    | 2 | needs 3 live replicas, 1 alive
            """)
    void availabilityOfThreeReplicas(ConsistencyLevel level, int down, String refusal) {
        SimCluster cluster = SimCluster.ofThree(1);
        for (long id = 3; id > 3 - down; id--) {
            cluster.fault(id, DOWN);
        }
        Coordinator coordinator = cluster.node(1).coordinator;
        List<Key> keys = List.of(Key.of("k"));
        for (boolean write : new boolean[] {false, true}) {
            if (refusal.isEmpty()) {
                assertThatCode(() -> coordinator.checkAvailable(keys, level, write)).doesNotThrowAnyException();
            } else {
                assertThatThrownBy(() -> coordinator.checkAvailable(keys, level, write))
                        .isInstanceOf(ReplicationException.class)
                        .hasMessage("UNAVAILABLE " + (write ? "write" : "read") + " of key 'k' at " + level + " "
                                + refusal);
            }
        }
    }

    @Test
    void unavailableIsCountedAndNothingIsWritten() {
        SimCluster cluster = SimCluster.ofThree(2);
        cluster.fault(2, DOWN);
        SimCluster.SimNode coordinator = cluster.node(1);

        assertThatThrownBy(() -> coordinator.set("k", "v", ALL))
                .hasMessageStartingWith("UNAVAILABLE write of key 'k' at ALL");

        assertThat(coordinator.stored("k")).isNull();
        assertThat(coordinator.hints.pending()).isZero();
        assertThat(coordinator.coordinator.stats().unavailable()).isEqualTo(1);
    }

    @Test
    void aSloppyQuorumLetsWritesThroughOnHintsButNotReads() {
        SimCluster cluster = new SimCluster(3, SimCluster.config(true), 3);
        cluster.fault(2, DOWN);
        cluster.fault(3, DOWN);
        SimCluster.SimNode coordinator = cluster.node(1);

        SimCluster.Write w = coordinator.set("k", "v", ALL);

        assertThat(w.acked()).isCompleted();
        assertThat(w.acked()).isNotCompletedExceptionally();
        assertThat(coordinator.hints.pendingByTarget()).containsExactly(
                Map.entry(2L, 1), Map.entry(3L, 1));
        assertThatThrownBy(() -> coordinator.get("k", QUORUM))
                .hasMessage("UNAVAILABLE read of key 'k' at QUORUM needs 2 live replicas, 1 alive");
    }

    @Test
    void quorumOfFiveReplicasOnARingOfSeven() {
        SimCluster cluster = new SimCluster(7, new ReplicationConfig(5, QUORUM, QUORUM, false, 500, 0, 2_000), 4);
        List<Long> replicas = cluster.replicasOf("k");
        assertThat(replicas).hasSize(5).doesNotHaveDuplicates();
        long coordinator = replicas.get(0);
        cluster.fault(replicas.get(1), DOWN);
        cluster.fault(replicas.get(2), DOWN);
        List<Key> keys = List.of(Key.of("k"));

        assertThatCode(() -> cluster.node(coordinator).coordinator.checkAvailable(keys, QUORUM, true))
                .doesNotThrowAnyException();

        cluster.fault(replicas.get(3), DOWN);
        assertThatThrownBy(() -> cluster.node(coordinator).coordinator.checkAvailable(keys, QUORUM, true))
                .hasMessage("UNAVAILABLE write of key 'k' at QUORUM needs 3 live replicas, 2 alive");
    }
}
