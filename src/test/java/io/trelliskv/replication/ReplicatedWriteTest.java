package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.replication.SimCluster.SimNode;
import io.trelliskv.replication.SimCluster.Write;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.WriteCapture;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.trelliskv.replication.ConsistencyLevel.ALL;
import static io.trelliskv.replication.ConsistencyLevel.ONE;
import static io.trelliskv.replication.ConsistencyLevel.QUORUM;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DELAY;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DOWN;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DROP;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.LOSE_REPLY;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.NONE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Writes across three replicas with one of them down, silent or slow; hinted handoff. */
class ReplicatedWriteTest {

    private final SimCluster cluster = SimCluster.ofThree(11);
    private final SimNode n1 = cluster.node(1);
    private final SimNode n2 = cluster.node(2);
    private final SimNode n3 = cluster.node(3);

    private static void assertSucceeded(CompletableFuture<Void> acked) {
        assertThat(acked).isCompleted();
        assertThat(acked).isNotCompletedExceptionally();
    }

    private static String failureOf(CompletableFuture<Void> acked) {
        assertThat(acked).isCompletedExceptionally();
        return acked.handle((v, t) -> Coordinator.unwrap(t)).join().getMessage();
    }

    /** The versions every replica reports through {@link Coordinator#inspect}, asked of {@code at}. */
    private static List<Version> inspect(SimNode at, String key) {
        List<Coordinator.ReplicaCopy> copies = at.coordinator.inspect(Key.of(key)).join();
        assertThat(copies).allSatisfy(c -> assertThat(c.error()).isNull());
        return copies.stream().map(c -> new Version(c.copy().hlc(), c.copy().nodeId())).toList();
    }

    @Test
    void allReplicasUpEveryoneTakesTheWrite() {
        Write w = n1.set("k", "v", ALL);

        assertSucceeded(w.acked());
        assertThat(cluster.versionsEverywhere("k")).containsOnly(w.version());
        assertThat(n1.hints.pending()).isZero();
        assertThat(n1.coordinator.stats().remoteWrites()).isEqualTo(1);
    }

    @Test
    void quorumWriteWithOneReplicaDownSucceedsAndKeepsAHintForIt() {
        cluster.fault(3, DOWN);

        Write w = n1.set("k", "v", QUORUM);

        assertSucceeded(w.acked());
        assertThat(n2.stored("k").version()).isEqualTo(w.version());
        assertThat(n3.stored("k")).isNull();
        assertThat(n1.hints.pendingByTarget()).containsOnlyKeys(3L).containsEntry(3L, 1);
        assertThat(n1.coordinator.stats().hinted()).isEqualTo(1);
    }

    @Test
    void hintsAreReplayedOnceTheReplicaIsBackAndThenEveryReplicaAgrees() {
        cluster.fault(3, DOWN);
        Write first = n1.set("k", "one", QUORUM);
        Write second = n1.set("k", "two", QUORUM);
        Write other = n2.set("j", "x", QUORUM);
        assertSucceeded(first.acked());
        assertSucceeded(second.acked());
        assertSucceeded(other.acked());
        assertThat(n1.hints.pending(3)).as("one hint per key: the newest").isEqualTo(1);

        cluster.replayHints(5);
        assertThat(n3.stored("k")).as("nothing is replayed to a node that is down").isNull();

        cluster.fault(3, NONE);
        cluster.replayHints(2);

        assertThat(n1.hints.pending()).isZero();
        assertThat(n2.hints.pending()).isZero();
        assertThat(cluster.versionsEverywhere("k")).containsOnly(second.version());
        assertThat(cluster.versionsEverywhere("j")).containsOnly(other.version());
        assertThat(SimCluster.text(n3.stored("k"))).isEqualTo("two");
        assertThat(inspect(n3, "k")).containsOnly(second.version());
    }

    @Test
    void allWriteWithOneReplicaDownIsRefusedBeforeAnythingIsDone() {
        cluster.fault(2, DOWN);

        assertThatThrownBy(() -> n1.set("k", "v", ALL))
                .isInstanceOf(ReplicationException.class)
                .hasMessage("UNAVAILABLE write of key 'k' at ALL needs 3 live replicas, 2 alive");
        assertThat(cluster.storedEverywhere("k")).containsOnlyNulls();
    }

    @Test
    void aReplicaThatTimesOutDoesNotFailAQuorumWriteAndGetsAHint() {
        cluster.fault(3, DROP);

        Write w = n1.set("k", "v", QUORUM);

        assertSucceeded(w.acked());
        assertThat(n3.stored("k")).isNull();
        assertThat(n1.hints.pending(3)).isEqualTo(1);

        cluster.fault(3, NONE);
        cluster.replayHints(2);
        assertThat(cluster.versionsEverywhere("k")).containsOnly(w.version());
    }

    @Test
    void allWriteWithOneReplicaTimingOutFailsWithTwoOfThree() {
        cluster.fault(2, DROP);

        Write w = n1.set("k", "v", ALL);

        assertThat(failureOf(w.acked())).isEqualTo("TIMEOUT write of key 'k' at ALL: 2 of 3 replicas answered"
                + " in time; the write may or may not have been applied");
        assertThat(n1.stored("k").version()).as("the coordinator keeps its copy").isEqualTo(w.version());
        assertThat(n3.stored("k").version()).isEqualTo(w.version());
        assertThat(n1.hints.pending(2)).isEqualTo(1);
        assertThat(n1.coordinator.stats().timeouts()).isEqualTo(1);
    }

    @Test
    void allWriteWithTwoReplicasTimingOutFailsWithOneOfThree() {
        cluster.fault(2, DROP);
        cluster.fault(3, LOSE_REPLY);

        Write w = n1.set("k", "v", ALL);

        assertThat(failureOf(w.acked()))
                .contains("1 of 3")
                .contains("may or may not");
        assertThat(n2.stored("k")).as("request lost").isNull();
        assertThat(n3.stored("k").version()).as("reply lost: applied all the same").isEqualTo(w.version());
        assertThat(n1.hints.pendingByTarget()).containsOnlyKeys(2L, 3L);

        cluster.fault(2, NONE);
        cluster.fault(3, NONE);
        cluster.replayHints(2);
        assertThat(cluster.versionsEverywhere("k")).containsOnly(w.version());
        assertThat(n3.replica.stats().stale()).as("the replayed hint changed nothing on 3").isEqualTo(1);
    }

    @Test
    void quorumWriteWithBothOthersTimingOutReportsOneOfTwo() {
        cluster.fault(2, DROP);
        cluster.fault(3, DROP);

        Write w = n1.set("k", "v", QUORUM);

        assertThat(failureOf(w.acked())).isEqualTo("TIMEOUT write of key 'k' at QUORUM: 1 of 2 replicas answered"
                + " in time; the write may or may not have been applied");
    }

    @Test
    void aSlowReplicaDoesNotHoldUpAQuorumWriteAndStillAppliesItLate() {
        cluster.fault(3, DELAY);

        Write w = n1.set("k", "v", QUORUM);

        assertSucceeded(w.acked());
        assertThat(n3.stored("k")).isNull();
        assertThat(cluster.network.heldFor(3)).isEqualTo(1);

        assertThat(cluster.network.release(3)).isEqualTo(1);

        assertThat(cluster.versionsEverywhere("k")).containsOnly(w.version());
        assertThat(n1.hints.pending()).as("it answered, late but well").isZero();
    }

    @Test
    void anAllWriteWaitsForTheSlowReplica() {
        cluster.fault(2, DELAY);

        Write w = n1.set("k", "v", ALL);
        assertThat(w.acked()).isNotDone();

        cluster.network.release(2);
        assertSucceeded(w.acked());
    }

    @Test
    void aOneWriteCompletesOnTheCoordinatorsOwnCopy() {
        cluster.fault(2, DELAY);
        cluster.fault(3, DELAY);

        Write w = n1.set("k", "v", ONE);

        assertSucceeded(w.acked());
        cluster.network.releaseAllShuffled();
        assertThat(cluster.versionsEverywhere("k")).containsOnly(w.version());
    }

    @Test
    void aDeleteWhileAReplicaIsDownReachesItAsAHintedTombstone() {
        Write set = n1.set("k", "v", ALL);
        assertSucceeded(set.acked());
        cluster.fault(3, DOWN);

        Write del = n1.delete("k", QUORUM);
        assertSucceeded(del.acked());
        assertThat(SimCluster.text(n3.stored("k"))).isEqualTo("v");

        cluster.fault(3, NONE);
        cluster.replayHints(2);

        assertThat(cluster.storedEverywhere("k")).allSatisfy(e -> {
            assertThat(e.isTombstone()).isTrue();
            assertThat(e.version()).isEqualTo(del.version());
        });
        assertThat(n3.get("k", ONE).join()).isNull();
    }

    /**
     * SET key value here, sent with {@link Coordinator#write(List, ConsistencyLevel, Coordinator.WriteDone)}:
     * what its callback was told, in order (null for acknowledged).
     */
    private static List<Throwable> setTellingWhenDone(SimNode node, String key, ConsistencyLevel level) {
        List<Entry> written;
        WriteCapture.begin();
        try {
            node.engine.put(Key.of(key), SimCluster.bytes("v"), 0);
        } finally {
            written = WriteCapture.end();
        }
        List<Throwable> told = new ArrayList<>();
        node.coordinator.write(written, level, told::add);
        return told;
    }

    @Test
    void aWriteDoneIsToldOnceAtOnceWhenTheCoordinatorsOwnCopyMeetsTheLevel() {
        cluster.fault(2, DELAY);
        cluster.fault(3, DELAY);

        List<Throwable> told = setTellingWhenDone(n1, "k", ONE);
        assertThat(told).as("told before write returned").containsExactly((Throwable) null);

        cluster.network.releaseAllShuffled();
        assertThat(told).as("the later acks tell it nothing more").containsExactly((Throwable) null);
    }

    @Test
    void aWriteDoneIsToldOnceWhenTheLastAckItNeedsArrives() {
        cluster.fault(2, DELAY);

        List<Throwable> told = setTellingWhenDone(n1, "k", ALL);
        assertThat(told).isEmpty();

        cluster.network.release(2);
        assertThat(told).containsExactly((Throwable) null);
    }

    @Test
    void aWriteDoneIsToldTheTimeoutOnce() {
        cluster.fault(2, DROP);
        cluster.fault(3, DROP);

        List<Throwable> told = setTellingWhenDone(n1, "k", QUORUM);

        assertThat(told).hasSize(1);
        assertThat(told.get(0)).isInstanceOf(ReplicationException.class)
                .hasMessage("TIMEOUT write of key 'k' at QUORUM: 1 of 2 replicas answered in time; the write may or"
                        + " may not have been applied");
    }

    /** What {@code node}'s engine writes for SETs of {@code keys} in turn (one key may come twice), as a run does. */
    private static List<Entry> setsOf(SimNode node, String... keys) {
        List<Entry> written = new ArrayList<>();
        for (int i = 0; i < keys.length; i++) {
            WriteCapture.begin();
            try {
                node.engine.put(Key.of(keys[i]), SimCluster.bytes("v" + i), 0);
            } finally {
                written.addAll(WriteCapture.end());
            }
        }
        return written;
    }

    @Test
    void theWritesOfSeveralCommandsGoAsOneBatchWithTheLastVersionOfAKeyWrittenTwice() {
        List<Entry> written = setsOf(n1, "a", "b", "a", "c");
        List<Coordinator.Outcome> outcome = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        n1.coordinator.write(written, ALL, new Coordinator.WriteDone() {
            @Override
            public void writeDone(Throwable failure) {
                throw new AssertionError("told without the outcome");
            }

            @Override
            public void writeDone(Throwable failure, Coordinator.Outcome o) {
                failures.add(failure);
                outcome.add(o);
            }
        });

        assertThat(failures).containsExactly((Throwable) null);
        assertThat(n1.coordinator.stats().remoteWrites()).isEqualTo(1);
        assertThat(cluster.versionsEverywhere("a")).containsOnly(written.get(2).version());
        assertThat(cluster.versionsEverywhere("b")).containsOnly(written.get(1).version());
        assertThat(outcome.get(0).failureOf(Key.of("a"))).isNull();
        assertThat(outcome.get(0).failureOf(Key.of("c"))).isNull();
    }

    @Test
    void anOutcomeNamesEachKeyShortOfItsAcks() {
        cluster.fault(3, DROP);
        List<Entry> written = setsOf(n1, "a", "b");
        List<Coordinator.Outcome> outcome = new ArrayList<>();
        n1.coordinator.write(written, ALL, new Coordinator.WriteDone() {
            @Override
            public void writeDone(Throwable failure) {
            }

            @Override
            public void writeDone(Throwable failure, Coordinator.Outcome o) {
                assertThat(failure).isInstanceOf(ReplicationException.class);
                outcome.add(o);
            }
        });

        assertThat(outcome).hasSize(1);
        assertThat(outcome.get(0).failureOf(Key.of("b"))).hasMessage("TIMEOUT write of key 'b' at ALL: 2 of 3 replicas"
                + " answered in time; the write may or may not have been applied");
        assertThat(outcome.get(0).failureOf(Key.of("a")).getMessage()).startsWith("TIMEOUT write of key 'a' at ALL");
        assertThat(outcome.get(0).failureOf(Key.of("z"))).as("not part of the write").isNull();
    }
}
