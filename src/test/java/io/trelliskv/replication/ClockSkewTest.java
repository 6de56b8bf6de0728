package io.trelliskv.replication;

import io.trelliskv.replication.SimCluster.SimNode;
import io.trelliskv.replication.SimCluster.Write;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;

import static io.trelliskv.replication.ConsistencyLevel.ALL;
import static io.trelliskv.replication.ConsistencyLevel.ONE;
import static io.trelliskv.replication.ConsistencyLevel.QUORUM;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DOWN;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DROP;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.NONE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Nodes whose wall clocks disagree: versions too far in a replica's future are refused, versions
 * within the allowed drift are taken, and hybrid logical clocks keep later writes winning when a clock
 * steps back. The allowed drift is the default, 500 ms.
 */
class ClockSkewTest {

    private static final long MAX_DRIFT = ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS;

    private final SimCluster cluster = SimCluster.ofThree(31);
    private final SimNode n1 = cluster.node(1);
    private final SimNode n2 = cluster.node(2);
    private final SimNode n3 = cluster.node(3);

    private static String failureOf(CompletableFuture<Void> acked) {
        assertThat(acked).isCompletedExceptionally();
        return acked.handle((v, t) -> Coordinator.unwrap(t)).join().getMessage();
    }

    @Test
    void aCoordinatorTooFarAheadIsRefusedAndKeepsNoHints() {
        n1.clock.advanceMillis(1_000);

        Write w = n1.set("k", "v", QUORUM);

        assertThat(failureOf(w.acked())).matches("REFUSED replica [23] refused the write of key 'k': version of"
                + " key 'k' is 1000 ms ahead of this node's clock \\(max drift 500 ms\\)");
        assertThat(n1.hints.pending()).isZero();
        assertThat(n2.stored("k")).isNull();
        assertThat(n3.stored("k")).isNull();
        assertThat(n1.coordinator.stats().refusals()).isEqualTo(1);
        assertThat(n2.replica.stats().refusedBatches()).isEqualTo(1);
    }

    @Test
    void onlyTheReplicaThatIsBehindRefuses() {
        n1.clock.advanceMillis(1_000);
        n3.clock.advanceMillis(1_000);

        Write quorum = n1.set("k", "v", QUORUM);
        Write all = n1.set("j", "v", ALL);

        assertThat(quorum.acked()).isCompleted().isNotCompletedExceptionally();
        assertThat(failureOf(all.acked())).startsWith("REFUSED replica 2 refused the write of key 'j'")
                .contains("1000 ms ahead");
        assertThat(n3.stored("k").version()).isEqualTo(quorum.version());
        assertThat(n2.stored("k")).isNull();
        assertThat(n1.hints.pending(2)).as("it would refuse the hint too").isZero();
    }

    @Test
    void exactlyTheMaxDriftIsStillAccepted() {
        n1.clock.advanceMillis(MAX_DRIFT);

        Write w = n1.set("k", "v", ALL);

        assertThat(w.acked()).isCompleted().isNotCompletedExceptionally();
    }

    @Test
    void aWriteWithinTheDriftIsAcceptedAndMovesTheReplicasClocksPastIt() {
        n1.clock.advanceMillis(400);

        Write ahead = n1.set("k", "from 1", ALL);
        assertThat(ahead.acked()).isCompleted().isNotCompletedExceptionally();
        assertThat(cluster.versionsEverywhere("k")).containsOnly(ahead.version());

        // Node 2's wall clock is 400 ms behind that write, but it saw it: its next write still wins.
        Write after = n2.set("k", "from 2", ALL);
        assertThat(after.acked()).isCompleted().isNotCompletedExceptionally();
        assertThat(after.version()).isGreaterThan(ahead.version());
        assertThat(Hlc.physical(after.entry().hlc())).isEqualTo(Hlc.physical(ahead.entry().hlc()));
        assertThat(cluster.versionsEverywhere("k")).containsOnly(after.version());
        for (SimNode n : cluster.nodes()) {
            assertThat(n.get("k", ONE).join()).isEqualTo("from 2");
        }
    }

    @Test
    void aLaterWriteWinsOverAnEarlierOneAfterTheCoordinatorsClockStepsBack() {
        Write before = n1.set("k", "before", ALL);
        n1.clock.stepWallClock(-60_000);

        Write after = n1.set("k", "after", ALL);

        assertThat(after.acked()).isCompleted().isNotCompletedExceptionally();
        assertThat(after.version()).isGreaterThan(before.version());
        assertThat(cluster.versionsEverywhere("k")).containsOnly(after.version());
        assertThat(n3.get("k", QUORUM).join()).isEqualTo("after");
    }

    @Test
    void aHintedWriteFromBeforeAClockStepDoesNotOverwriteALaterOne() {
        cluster.fault(3, DOWN);
        Write before = n1.set("k", "before", QUORUM);
        n1.clock.stepWallClock(-60_000);
        cluster.fault(3, NONE);
        cluster.fault(2, DOWN);
        // The later write goes to 3 directly while 2 is down; 2 gets it as a hint afterwards.
        Write after = n1.set("k", "after", QUORUM);
        cluster.fault(2, NONE);
        cluster.replayHints(2);

        assertThat(before.acked()).isCompleted().isNotCompletedExceptionally();
        assertThat(after.acked()).isCompleted().isNotCompletedExceptionally();
        assertThat(cluster.versionsEverywhere("k")).containsOnly(after.version());
        assertThat(n1.hints.pending()).isZero();
    }

    /**
     * A replica answers a read with a version too far ahead of the coordinator's clock: the coordinator does not
     * take it, and does not answer as if it did not exist either (the older value, or a DEL or INCR stamped
     * below it, which would then lose to it, acknowledged): the read is refused. Once the clocks come within the
     * bound, the same read takes the version and answers it.
     */
    @Test
    void aReadIsRefusedWhereAReplicaHoldsAVersionTooFarAheadOfTheCoordinatorsClock() {
        Write mine = n1.set("k", "v1", ALL);
        n3.clock.advanceMillis(2_000);
        cluster.fault(1, DROP);
        cluster.fault(2, DROP);
        Write future = n3.set("k", "from the future", ONE);
        cluster.fault(1, NONE);
        cluster.fault(2, NONE);
        assertThat(future.acked()).isCompleted().isNotCompletedExceptionally();

        CompletableFuture<String> refused = n1.get("k", ALL);

        assertThat(refused).isCompletedExceptionally();
        assertThat(refused.handle((v, t) -> Coordinator.unwrap(t)).join().getMessage())
                .isEqualTo("REFUSED read of key 'k': replica 3 holds it at a version 2000 ms ahead of this node's"
                        + " clock (max drift 500 ms)");
        assertThat(n1.stored("k").version()).isEqualTo(mine.version());
        assertThat(n1.coordinator.stats().driftRejected()).isEqualTo(1);
        assertThat(n1.coordinator.stats().refusals()).isEqualTo(1);

        n1.clock.advanceMillis(2_000 - MAX_DRIFT);

        assertThat(n1.get("k", ALL).join()).isEqualTo("from the future");
        assertThat(n1.stored("k").version()).isEqualTo(future.version());
    }

    @Test
    void hintsTheTargetRefusesAreDiscarded() {
        cluster.fault(3, DOWN);
        n1.clock.advanceMillis(1_000);
        n2.clock.advanceMillis(1_000);
        Write w = n1.set("k", "v", QUORUM);
        assertThat(w.acked()).isCompleted().isNotCompletedExceptionally();
        assertThat(n1.hints.pending(3)).isEqualTo(1);

        cluster.fault(3, NONE);
        cluster.replayHints(2);

        assertThat(n1.hints.pending()).isZero();
        assertThat(n1.hints.stats().refused()).isEqualTo(1);
        assertThat(n3.stored("k")).isNull();
    }
}
