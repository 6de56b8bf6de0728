package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.replication.SimCluster.SimNode;
import io.trelliskv.replication.SimCluster.Write;
import io.trelliskv.replication.SimReplicaNetwork.Delivery;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.trelliskv.replication.ConsistencyLevel.ALL;
import static io.trelliskv.replication.ConsistencyLevel.ONE;
import static io.trelliskv.replication.ConsistencyLevel.QUORUM;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DELAY;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DOWN;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DROP;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.NONE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reads across three replicas: digests, read repair, stale coordinators, slow replicas, read-your-writes
 * floors and deletes. Most tests start from {@link #staleThird()}: every replica took "v1", then node 3
 * missed "v2" (its hint is held at node 1 and never replayed here, so only reads can repair it).
 */
class ReplicatedReadTest {

    private final SimCluster cluster = SimCluster.ofThree(21);
    private final SimNode n1 = cluster.node(1);
    private final SimNode n2 = cluster.node(2);
    private final SimNode n3 = cluster.node(3);
    private Write v1;
    private Write v2;

    @BeforeEach
    void staleThird() {
        v1 = n1.set("k", "v1", ALL);
        cluster.advanceMillis(10);
        cluster.fault(3, DROP);
        v2 = n1.set("k", "v2", QUORUM);
        cluster.fault(3, NONE);
        assertThat(v1.acked()).isCompleted().isNotCompletedExceptionally();
        assertThat(v2.acked()).isCompleted().isNotCompletedExceptionally();
        assertThat(cluster.versionsEverywhere("k")).containsExactlyInAnyOrder(v2.version(), v2.version(),
                v1.version());
        assertThat(n3.stored("k").version()).isEqualTo(v1.version());
        cluster.network.clearDeliveries();
    }

    private List<Delivery> readsAnsweredBy(long node) {
        return cluster.network.deliveries().stream().filter(d -> d.isRead() && d.to() == node).toList();
    }

    @Test
    void quorumReadRepairsTheStaleReplica() {
        assertThat(cluster.readOrder(1, "k")).as("node 1 asks the stale replica first").startsWith(3L);

        assertThat(n1.get("k", QUORUM).join()).isEqualTo("v2");

        assertThat(cluster.versionsEverywhere("k")).containsOnly(v2.version());
        assertThat(n3.stored("k").value()).as("repair sends the coordinator's whole value, not just its version")
                .isEqualTo("v2".getBytes(StandardCharsets.UTF_8));
        assertThat(n1.coordinator.stats().readRepairs()).isEqualTo(1);
        assertThat(n3.replica.stats().applied()).isEqualTo(1 + 1); // v1 by the write, v2 by repair
    }

    @Test
    void aReadIssuesNoTimestampOfItsOwn() {
        long before = n1.hlc.peek();

        assertThat(n1.get("k", ALL).join()).isEqualTo("v2"); // repairs node 3, which only merges what node 1 had

        assertThat(n1.hlc.peek()).as("the coordinator's clock: read for expiry, not advanced").isEqualTo(before);
    }

    @Test
    void replicasThatAreNotNewerAnswerWithADigestOnly() {
        n1.get("k", ALL).join();

        List<Delivery> from2 = readsAnsweredBy(2);
        List<Delivery> from3 = readsAnsweredBy(3);
        assertThat(from2).hasSize(1);
        assertThat(from3).hasSize(1);
        assertThat(from2.get(0).readReplies()).singleElement().satisfies(r -> {
            assertThat(r.entry()).as("same version as the coordinator: no value").isNull();
            assertThat(new Version(r.hlc(), r.nodeId())).isEqualTo(v2.version());
        });
        assertThat(from3.get(0).readReplies()).singleElement().satisfies(r -> {
            assertThat(r.entry()).as("older than the coordinator: no value").isNull();
            assertThat(new Version(r.hlc(), r.nodeId())).isEqualTo(v1.version());
        });
    }

    @Test
    void quorumReadAtAStaleCoordinatorReturnsTheNewestValue() {
        assertThat(n3.get("k", QUORUM).join()).isEqualTo("v2");

        assertThat(n3.stored("k").version()).isEqualTo(v2.version());
        List<Delivery> reads = cluster.network.deliveries().stream().filter(Delivery::isRead).toList();
        assertThat(reads).as("the one replica asked, newer, sends the whole entry").hasSize(1)
                .allSatisfy(d -> assertThat(d.wholeEntries()).isEqualTo(1));
        assertThat(n3.coordinator.stats().readRepairs()).as("nobody is left stale").isZero();
    }

    @Test
    void readAtOneServesTheLocalCopyWithoutAskingAnyone() {
        CompletableFuture<Void> phase = n3.coordinator.read(List.of(Key.of("k")), ONE, null);

        assertThat(phase).as("satisfied locally").isNull();
        assertThat(n3.get("k", ONE).join()).isEqualTo("v1");
        assertThat(cluster.network.deliveries()).isEmpty();
    }

    @Test
    void backgroundReadRepairAtOneFixesTheStaleReplica() {
        SimCluster always = new SimCluster(3, new ReplicationConfig(3, QUORUM, QUORUM, false, 500, 1.0, 2_000), 22);
        Write w1 = always.node(1).set("k", "v1", ALL);
        always.fault(2, DROP);
        Write w2 = always.node(1).set("k", "v2", QUORUM);
        always.fault(1, DELAY);
        always.fault(2, NONE);
        always.fault(3, DELAY);

        assertThat(always.node(2).get("k", ONE)).as("ONE answers from the local copy at once")
                .isCompletedWithValue("v1");
        assertThat(always.node(2).coordinator.stats().backgroundChecks()).isEqualTo(1);

        always.fault(1, NONE);
        always.fault(3, NONE);
        assertThat(always.network.releaseAllShuffled()).as("the background check asked both").isEqualTo(2);

        assertThat(w1.acked()).isCompleted();
        assertThat(always.versionsEverywhere("k")).containsOnly(w2.version());
        assertThat(always.node(2).get("k", ONE).join()).isEqualTo("v2");
    }

    @Test
    void aSlowReplicaHoldsUpAQuorumReadOnlyForTheSpeculativeRetryDelay() {
        assertThat(cluster.readOrder(1, "k")).startsWith(3L);
        cluster.fault(3, DELAY);

        CompletableFuture<String> read = n1.get("k", QUORUM);
        assertThat(read).isNotDone();
        cluster.advanceMillis(cluster.config.speculativeDelayMillis());

        assertThat(read).as("node 2, asked in node 3's place").isCompletedWithValue("v2");
        assertThat(n3.stored("k").version()).as("repair waits for every answer").isEqualTo(v1.version());

        cluster.fault(3, NONE);
        cluster.network.release(3);
        assertThat(cluster.versionsEverywhere("k")).containsOnly(v2.version());
    }

    @Test
    void theLateAnswerOfASlowReplicaIsStillApplied() {
        // Node 3 alone has a v3, written at ONE while the others were silent.
        cluster.fault(1, DROP);
        cluster.fault(2, DROP);
        Write v3 = n3.set("k", "v3", ONE);
        cluster.fault(1, NONE);
        cluster.fault(2, NONE);
        cluster.fault(3, DELAY);

        CompletableFuture<String> read = n1.get("k", QUORUM);
        cluster.advanceMillis(cluster.config.speculativeDelayMillis());
        assertThat(read).as("a quorum of 1 and 2 does not include v3").isCompletedWithValue("v2");

        cluster.network.release(3);

        assertThat(n1.stored("k").version()).isEqualTo(v3.version());
        assertThat(cluster.versionsEverywhere("k")).as("and repair spreads it").containsOnly(v3.version());
    }

    @Test
    void allReadFailsWithTimeoutWhenAReplicaDoesNotAnswer() {
        cluster.fault(2, DROP);

        CompletableFuture<String> read = n1.get("k", ALL);

        assertThat(read).isCompletedExceptionally();
        assertThat(read.handle((v, t) -> Coordinator.unwrap(t).getMessage()).join())
                .isEqualTo("TIMEOUT read of key 'k' at ALL: 2 of 3 replicas answered in time");
        assertThat(cluster.versionsEverywhere("k")).as("3 answered, so it is repaired").containsOnly(v2.version());
    }

    // ---- read-your-writes ----

    @Test
    void aFloorAboveTheLocalCopyMakesAOneReadAskTheOthers() {
        assertThat(n3.get("k", ONE, v2.version()).join()).isEqualTo("v2");

        assertThat(n3.stored("k").version()).isEqualTo(v2.version());
        assertThat(readsAnsweredBy(1)).hasSize(1);
        assertThat(readsAnsweredBy(2)).hasSize(1);
    }

    @Test
    void aFloorAtOrBelowTheLocalCopyIsSatisfiedLocally() {
        assertThat(n3.coordinator.read(List.of(Key.of("k")), ONE, new Version[] {v1.version()})).isNull();
        assertThat(n3.get("k", ONE, v1.version()).join()).isEqualTo("v1");
        assertThat(cluster.network.deliveries()).isEmpty();
    }

    @Test
    void aFloorReadFindsTheWriteOnTheOnlyLiveReplicaThatTookIt() {
        cluster.fault(2, DOWN);

        assertThat(n3.get("k", ONE, v2.version()).join()).isEqualTo("v2");
    }

    /**
     * The one replica that took the connection's write is taken for dead by the reading node, which has not heard yet
     * that it is back (a partition that has just healed): asked all the same, it answers with the write.
     */
    @Test
    void aFloorReadAsksTheReplicaThatTookTheWriteEvenWhileItIsTakenForDead() {
        cluster.fault(1, SimReplicaNetwork.Fault.UNSEEN);
        cluster.fault(2, DOWN);

        assertThat(n3.get("k", ONE, v2.version()).join()).isEqualTo("v2");
        assertThat(readsAnsweredBy(1)).hasSize(1);
    }

    /**
     * Replicas excused for being unreachable never bring a read below its level: a batched read whose availability was
     * checked before both other replicas went down still needs a quorum.
     */
    @Test
    void aFloorReadNeverSettlesForFewerAnswersThanItsLevel() {
        cluster.fault(1, DOWN);
        cluster.fault(2, DOWN);

        CompletableFuture<Void> read = n3.coordinator.read(List.of(Key.of("k")), QUORUM, new Version[] {v2.version()});

        assertThat(read).isCompletedExceptionally();
        assertThat(read.handle((v, t) -> Coordinator.unwrap(t).getMessage()).join())
                .startsWith("TIMEOUT read of key 'k' at QUORUM");
    }

    /** The replicas taken for dead follow the live ones, each once, whatever membership says by then. */
    @Test
    void theReplicasTakenForDeadFollowTheLiveOnesEachOnce() {
        List<Long> replicas = List.of(3L, 1L, 2L);
        assertThat(Coordinator.withUnseen(new long[] {1L}, replicas, 3L)).containsExactly(1L, 2L);
        assertThat(Coordinator.withUnseen(new long[] {2L, 1L}, replicas, 3L)).containsExactly(2L, 1L);
        assertThat(Coordinator.withUnseen(new long[0], replicas, 3L)).containsExactly(1L, 2L);
        assertThat(Coordinator.withUnseen(new long[0], List.of(1L, 2L, 4L), 3L)).as("this node holds no replica")
                .containsExactly(1L, 2L, 4L);
    }

    @Test
    void aFloorReadThatNoLiveReplicaMeetsReturnsWhatTheyHave() {
        cluster.fault(1, DOWN);
        cluster.fault(2, DOWN);

        assertThat(n3.get("k", ONE, v2.version()).join()).isEqualTo("v1");
    }

    // ---- deletes ----

    @Test
    void aQuorumTombstoneWinsOverTheOlderValueOnAStaleReplicaAndTheKeyNeverComesBack() {
        Entry oldValue = n3.stored("k");
        cluster.fault(3, DROP);
        Write del = n1.delete("k", QUORUM);
        cluster.fault(3, NONE);
        assertThat(del.acked()).isCompleted().isNotCompletedExceptionally();
        assertThat(SimCluster.text(n3.stored("k"))).isEqualTo("v1");

        assertThat(n1.get("k", QUORUM).join()).isNull();

        assertThat(cluster.storedEverywhere("k")).allSatisfy(e -> {
            assertThat(e.isTombstone()).isTrue();
            assertThat(e.version()).isEqualTo(del.version());
        });
        // Old versions arriving late (a redelivery, a stale hint) change nothing.
        assertThat(n3.merge(oldValue)).isFalse();
        assertThat(n2.merge(v2.entry())).isFalse();
        cluster.replayHints(3);
        cluster.advanceMillis(60 * 60 * 1_000L);
        for (SimNode n : cluster.nodes()) {
            assertThat(n.get("k", ALL).join()).isNull();
            assertThat(n.get("k", ONE).join()).isNull();
        }
    }

    @Test
    void aStaleCoordinatorLearnsOfTheDeleteFromAQuorumRead() {
        cluster.fault(3, DROP);
        Write del = n1.delete("k", QUORUM);
        cluster.fault(3, NONE);

        assertThat(n3.get("k", QUORUM).join()).isNull();

        assertThat(n3.stored("k").isTombstone()).isTrue();
        assertThat(n3.stored("k").version()).isEqualTo(del.version());
    }

    @Test
    void aDeleteOvertakenByTheWriteItDeletedStillWins() {
        cluster.fault(3, DELAY);
        Write set = n1.set("j", "x", QUORUM);
        cluster.advanceMillis(5);
        Write del = n1.delete("j", QUORUM);
        assertThat(del.version()).isGreaterThan(set.version());

        assertThat(cluster.network.releaseNewestFirst(3)).isEqualTo(2);

        assertThat(n3.stored("j").isTombstone()).isTrue();
        assertThat(cluster.versionsEverywhere("j")).containsOnly(del.version());
    }
}
