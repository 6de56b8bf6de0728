package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.repair.RepairStatus;
import io.trelliskv.replication.SimCluster.SimNode;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.CounterState;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.PnCounter;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static io.trelliskv.replication.ConsistencyLevel.ALL;
import static io.trelliskv.replication.ConsistencyLevel.QUORUM;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A reset (SET or DEL) at version v10 outranks a counter of the older epoch v5 even when that counter's
 * latest increment was stamped later, at v12 ({@link io.trelliskv.storage.Precedence}). A quorum read and
 * anti-entropy must follow the same order as the engines: the read returns the reset, and afterwards every
 * replica holds it, wherever it started. Repairs that ship only the newer version never carry the reset.
 */
class CounterResetConvergenceTest {

    private static final long START = SimCluster.START_MILLIS;
    private static final String KEY = "k";
    private static final Version EPOCH = at(5, 1);
    /** The counter: made from the state of {@link #EPOCH}, incremented by 3 at v12. */
    private static final Entry COUNTER = new Entry(Key.of(KEY), CausalCodec.encode(
            CounterState.of(0, EPOCH, PnCounter.ZERO.add(1, 3))), at(12, 1).hlc(), 1, 0, ValueKind.COUNTER);
    /** A SET at v10: newer than the counter's epoch, older than its version. */
    private static final Entry RESET = new Entry(Key.of(KEY), bytes("100"), at(10, 2).hlc(), 2, 0);
    private static final Entry DELETED = new Entry(Key.of(KEY), null, at(10, 2).hlc(), 2, 0);

    private static Version at(int logical, long node) {
        return new Version(Hlc.pack(START, logical), node);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Entry counter(int logical, Version epoch, long node, long delta, long expireAt) {
        return new Entry(Key.of(KEY), CausalCodec.encode(CounterState.of(0, epoch, PnCounter.ZERO.add(node, delta))),
                at(logical, node).hlc(), node, expireAt, ValueKind.COUNTER);
    }

    @Test
    void reconcileFollowsTheRankOrderOfTheEngines() {
        long now = START;
        assertThat(Coordinator.reconcile(COUNTER, RESET, now)).isSameAs(RESET);
        assertThat(Coordinator.reconcile(RESET, COUNTER, now)).isSameAs(RESET);
        assertThat(Coordinator.reconcile(COUNTER, DELETED, now)).as("a DEL resets too").isSameAs(DELETED);
        Entry olderSet = new Entry(Key.of(KEY), bytes("1"), at(4, 2).hlc(), 2, 0);
        assertThat(Coordinator.reconcile(olderSet, COUNTER, now)).as("older than the epoch").isSameAs(COUNTER);
        Entry madeFromTheReset = counter(11, RESET.version(), 3, 1, 0);
        assertThat(Coordinator.reconcile(RESET, madeFromTheReset, now)).as("counts from the reset").isSameAs(madeFromTheReset);
        assertThat(Coordinator.reconcile(madeFromTheReset, COUNTER, now)).as("the newer epoch").isSameAs(madeFromTheReset);

        Entry sameEpoch = counter(13, EPOCH, 2, 4, 0);
        Entry joined = Coordinator.reconcile(COUNTER, sameEpoch, now);
        assertThat(CausalCodec.decodeCounterState(joined.value()).value()).as("one epoch: joined").isEqualTo(7);
        assertThat(joined.version()).isEqualTo(sameEpoch.version());

        Entry expired = counter(12, EPOCH, 1, 3, now - 1);
        assertThat(Coordinator.reconcile(RESET, expired, now)).as("an expired counter ranks at its version")
                .isSameAs(expired);
    }

    @Test
    void aReadAtTheCounterReturnsTheResetAndRepairsEveryReplica() {
        SimCluster cluster = SimCluster.ofThree(11);
        List<Long> replicas = cluster.replicasOf(KEY);
        SimNode coordinator = cluster.node(replicas.get(0));
        coordinator.merge(COUNTER);
        cluster.node(replicas.get(1)).merge(RESET);
        cluster.node(replicas.get(2)).merge(COUNTER);

        assertThat(coordinator.get(KEY, ALL).join()).isEqualTo("100");

        assertEveryReplicaHolds(cluster, RESET);
        assertThat(cluster.node(replicas.get(2)).get(KEY, QUORUM).join()).isEqualTo("100");
    }

    @Test
    void aReadAtTheResetReturnsItAndRepairsTheReplicasHoldingTheCounter() {
        SimCluster cluster = SimCluster.ofThree(12);
        List<Long> replicas = cluster.replicasOf(KEY);
        SimNode coordinator = cluster.node(replicas.get(0));
        coordinator.merge(DELETED);
        cluster.node(replicas.get(1)).merge(COUNTER);
        cluster.node(replicas.get(2)).merge(COUNTER);

        assertThat(coordinator.get(KEY, ALL).join()).isNull();

        assertEveryReplicaHolds(cluster, DELETED);
    }

    @Test
    void antiEntropyCarriesTheResetToTheReplicaHoldingTheLaterStampedCounter() {
        for (long starter : new long[] {1, 2}) {
            AntiEntropySim sim = new AntiEntropySim(2, 2, AntiEntropyConfig.defaults().withInterval(0), 13);
            sim.node(1).engine.merge(COUNTER);
            sim.node(2).engine.merge(RESET);

            RepairStatus s = sim.node(starter).antiEntropy.repairNow();

            assertThat(s.failures()).isZero();
            for (AntiEntropySim.Node n : sim.nodes()) {
                Entry stored = n.engine.stored(Key.of(KEY));
                assertThat(stored.version()).as("node %d, round run by node %d", n.id, starter).isEqualTo(RESET.version());
                assertThat(stored.value()).isEqualTo(RESET.value());
            }
        }
    }

    private static void assertEveryReplicaHolds(SimCluster cluster, Entry expected) {
        for (Entry e : cluster.storedEverywhere(KEY)) {
            assertThat(e).as("a replica of %s", cluster.replicasOf(KEY)).isNotNull();
            assertThat(e.version()).isEqualTo(expected.version());
            assertThat(e.kind()).isEqualTo(ValueKind.PLAIN);
            assertThat(e.value()).isEqualTo(expected.value());
        }
    }
}
