package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.replication.SimCluster.SimNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.trelliskv.replication.ConsistencyLevel.QUORUM;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DROP;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A read of several keys that times out tells its caller which keys lack answers ({@link Coordinator.ReadDone}), so
 * that a run of pipelined reads fails only the commands of those keys: five nodes, three replicas per key, keys of
 * two replica sets that share the coordinator, and the other replicas of one set silent.
 */
class ReadKeyFailuresTest {

    private final SimCluster cluster = new SimCluster(5, SimCluster.config(false), 33);

    /** What a read told its caller; it must be told which keys failed (the two-argument {@code readDone}). */
    private static final class Told implements Coordinator.ReadDone {
        boolean told;
        Throwable failure;
        ReplicationException[] keyFailures;

        @Override
        public void readDone(Throwable f) {
            throw new AssertionError("the read tells which keys failed");
        }

        @Override
        public void readDone(Throwable f, ReplicationException[] perKey) {
            told = true;
            failure = f;
            keyFailures = perKey;
        }
    }

    /** A key whose replicas are exactly {@code replicas}, in any order. */
    private String keyOn(List<Long> replicas) {
        for (int i = 0; i < 100_000; i++) {
            String key = "key" + i;
            List<Long> r = cluster.replicasOf(key);
            if (r.size() == replicas.size() && r.containsAll(replicas)) {
                return key;
            }
        }
        throw new AssertionError("no key on " + replicas);
    }

    @Test
    void onlyTheKeysWhoseReplicasAreSilentFail() {
        List<Long> silentSet = cluster.replicasOf("key0");
        long coordinator = silentSet.get(0);
        List<Long> others = new ArrayList<>();
        for (long id = 1; id <= 5; id++) {
            if (!silentSet.contains(id)) {
                others.add(id);
            }
        }
        String failing = "key0";
        String answered = keyOn(List.of(coordinator, others.get(0), others.get(1)));
        for (long id : silentSet) {
            if (id != coordinator) {
                cluster.fault(id, DROP);
            }
        }
        SimNode node = cluster.node(coordinator);
        Told told = new Told();
        List<Key> keys = List.of(Key.of(answered), Key.of(failing), Key.of(answered));

        boolean waits = node.coordinator.read(keys, QUORUM, null, told);

        assertThat(waits).isTrue();
        assertThat(told.failure).isInstanceOf(ReplicationException.class)
                .hasMessage("TIMEOUT read of key '" + failing + "' at QUORUM: 1 of 2 replicas answered in time");
        assertThat(told.keyFailures).hasSize(3);
        assertThat(told.keyFailures[0]).as(answered).isNull();
        assertThat(told.keyFailures[1]).as(failing).isSameAs(told.failure);
        assertThat(told.keyFailures[2]).as(answered).isNull();
    }

    /**
     * A key a replica holds at a version too far ahead of this node's clock is refused alone: the other keys of the
     * read take their answers (as {@link ClockSkewTest} shows for one key).
     */
    @Test
    void aKeyHeldTooFarAheadIsRefusedAloneAndTheOthersAreRead() {
        SimCluster three = SimCluster.ofThree(21);
        SimNode n1 = three.node(1);
        SimNode n3 = three.node(3);
        n1.set("k", "v1", ConsistencyLevel.ALL);
        n1.set("j", "j1", ConsistencyLevel.ALL);
        n3.clock.advanceMillis(10 * ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS);
        three.fault(1, DROP);
        three.fault(2, DROP);
        n3.set("k", "from the future", ConsistencyLevel.ONE);
        three.fault(1, SimReplicaNetwork.Fault.NONE);
        three.fault(2, SimReplicaNetwork.Fault.NONE);
        Told told = new Told();

        n1.coordinator.read(List.of(Key.of("j"), Key.of("k")), ConsistencyLevel.ALL, null, told);

        assertThat(told.failure).hasMessageStartingWith("REFUSED read of key 'k': replica 3 holds it at a version");
        assertThat(told.keyFailures).hasSize(2);
        assertThat(told.keyFailures[0]).as("j").isNull();
        assertThat(told.keyFailures[1]).as("k").isSameAs(told.failure);
        assertThat(n1.stored("j").value()).isEqualTo("j1".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void aReadThatSucceedsTellsNoKeyFailures() {
        String key = "key0";
        SimNode node = cluster.node(cluster.replicasOf(key).get(0));
        Told told = new Told();

        node.coordinator.read(List.of(Key.of(key)), QUORUM, null, told);

        assertThat(told.told).isTrue();
        assertThat(told.failure).isNull();
        assertThat(told.keyFailures).isNull();
    }
}
