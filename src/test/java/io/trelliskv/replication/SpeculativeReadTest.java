package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.replication.SimCluster.SimNode;
import io.trelliskv.replication.SimCluster.Write;
import io.trelliskv.replication.SimReplicaNetwork.Delivery;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

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
 * Which replicas a read asks: as many as its level needs beyond this node's own copy, in a per-key order that
 * spreads keys over the replicas; the next one in place of a replica that fails (at once) or has not answered
 * after the speculative retry delay (on the coordinator's fake clock); every live one below a read-your-writes
 * floor and at ALL. Three nodes, three replicas of every key, so node 1 coordinates as a replica.
 */
class SpeculativeReadTest {

    private final SimCluster cluster = SimCluster.ofThree(31);
    private final SimNode n1 = cluster.node(1);
    private final long delay = cluster.config.speculativeDelayMillis();
    /** The replica node 1 asks first about "k", and the one it asks next. */
    private long first;
    private long second;
    private Write v1;

    @BeforeEach
    void everyReplicaHoldsK() {
        v1 = n1.set("k", "v1", ALL);
        assertThat(v1.acked()).isCompleted().isNotCompletedExceptionally();
        List<Long> order = cluster.readOrder(1, "k");
        assertThat(order).hasSize(2);
        first = order.get(0);
        second = order.get(1);
        cluster.network.clearDeliveries();
    }

    private List<Delivery> reads() {
        return cluster.network.deliveries().stream().filter(Delivery::isRead).toList();
    }

    private long readsAnsweredBy(long node) {
        return reads().stream().filter(d -> d.to() == node).count();
    }

    @Test
    void aQuorumReadAtAReplicaAsksOneOtherReplica() {
        assertThat(n1.get("k", QUORUM)).isCompletedWithValue("v1");

        assertThat(reads()).singleElement().satisfies(d -> assertThat(d.to()).isEqualTo(first));
        assertThat(n1.coordinator.stats().speculativeReads()).isZero();
    }

    @Test
    void keysSpreadTheirReadsOverTheOtherReplicas() {
        int keys = 400;
        for (int i = 0; i < keys; i++) {
            assertThat(n1.get("key:" + i, QUORUM)).isCompleted(); // missing everywhere: a digest each
        }

        assertThat(reads()).hasSize(keys);
        assertThat(readsAnsweredBy(2)).as("node 2's share").isBetween(keys * 35L / 100, keys * 65L / 100);
        assertThat(readsAnsweredBy(3)).as("node 3's share").isBetween(keys * 35L / 100, keys * 65L / 100);
    }

    @Test
    void theReadOrderIsTheRingsRotatedByTheKeysTokenAndSkipsTheDead() {
        List<Long> ring = List.of(1L, 2L, 3L); // one arc's replicas: the ring's order is the same for every key
        int keys = 1_000;
        int twoFirst = 0;
        for (int i = 0; i < keys; i++) {
            long[] order = Coordinator.readOrder(Key.of("key:" + i).token(), ring, 1, node -> true);
            assertThat(order).containsExactlyInAnyOrder(2L, 3L);
            if (order[0] == 2) {
                twoFirst++;
            }
        }
        assertThat(twoFirst).as("keys that ask node 2 first").isBetween(keys * 45 / 100, keys * 55 / 100);

        assertThat(Coordinator.readOrder(Key.of("k").token(), ring, 1, node -> node != 2)).containsExactly(3L);
        assertThat(Coordinator.readOrder(Key.of("k").token(), ring, 1, node -> node == 1)).isEmpty();
    }

    @Test
    void eachKeyAsksTheSameReplicaFirstWhileItLives() {
        for (int i = 0; i < 3; i++) {
            n1.get("k", QUORUM).join();
        }
        assertThat(readsAnsweredBy(first)).isEqualTo(3);

        cluster.fault(first, DOWN);
        assertThat(n1.get("k", QUORUM)).isCompletedWithValue("v1");
        assertThat(readsAnsweredBy(second)).as("a dead replica is not asked, nor waited for").isEqualTo(1);
        assertThat(n1.coordinator.stats().speculativeReads()).isZero();
    }

    @Test
    void aSlowReplicaHasTheNextAskedOnceTheDelayHasPassed() {
        cluster.fault(first, DELAY);

        CompletableFuture<String> read = n1.get("k", QUORUM);
        cluster.advanceMillis(delay - 1);
        assertThat(read).as("before the delay").isNotDone();
        assertThat(readsAnsweredBy(second)).isZero();

        cluster.advanceMillis(1);
        assertThat(read).isCompletedWithValue("v1");
        assertThat(readsAnsweredBy(second)).isEqualTo(1);
        assertThat(n1.coordinator.stats().speculativeReads()).isEqualTo(1);

        cluster.fault(first, NONE);
        assertThat(cluster.network.release(first)).as("the slow answer still arrives").isEqualTo(1);
        cluster.advanceMillis(delay);
        assertThat(n1.coordinator.stats().speculativeReads()).as("and nothing more is asked").isEqualTo(1);
        assertThat(n1.coordinator.stats().timeouts()).isZero();
    }

    @Test
    void aFailedReplicaHasTheNextAskedAtOnce() {
        cluster.fault(first, DROP);

        assertThat(n1.get("k", QUORUM)).as("no time has passed").isCompletedWithValue("v1");

        assertThat(readsAnsweredBy(second)).isEqualTo(1);
        assertThat(n1.coordinator.stats().speculativeReads()).isEqualTo(1);
    }

    @Test
    void aReadTimesOutOnlyOnceEveryReplicaItCouldAskHasFailed() {
        cluster.fault(first, DROP);
        cluster.fault(second, DROP);

        CompletableFuture<String> read = n1.get("k", QUORUM);

        assertThat(read).isCompletedExceptionally();
        assertThat(read.handle((v, t) -> Coordinator.unwrap(t).getMessage()).join())
                .isEqualTo("TIMEOUT read of key 'k' at QUORUM: 1 of 2 replicas answered in time");
    }

    @Test
    void withoutASpeculativeDelayOnlyAFailureHasTheNextAsked() {
        SimCluster off = new SimCluster(3, new ReplicationConfig(3, QUORUM, QUORUM, false, 500, 0.0, 2_000, 0), 31);
        off.node(1).set("k", "v1", ALL);
        off.fault(first, DELAY);

        CompletableFuture<String> read = off.node(1).get("k", QUORUM);
        off.advanceMillis(1_000);
        assertThat(read).isNotDone();

        off.fault(first, NONE);
        off.network.release(first);
        assertThat(read).isCompletedWithValue("v1");
        assertThat(off.node(1).coordinator.stats().speculativeReads()).isZero();
    }

    @Test
    void aFloorAboveTheLocalCopyAsksEveryLiveReplica() {
        cluster.fault(first, DROP);
        Write v2 = n1.set("k", "v2", QUORUM); // node "first" missed it
        cluster.fault(first, NONE);
        cluster.network.clearDeliveries();
        SimNode stale = cluster.node(first);

        assertThat(stale.get("k", QUORUM, v2.version())).isCompletedWithValue("v2");

        assertThat(reads()).extracting(Delivery::to).containsExactlyInAnyOrder(1L, second);
    }

    @Test
    void allAsksEveryOtherReplica() {
        assertThat(n1.get("k", ALL)).isCompletedWithValue("v1");

        assertThat(reads()).extracting(Delivery::to).containsExactlyInAnyOrder(first, second);
    }

    @Test
    void aSlowReplicaOfAMultiKeyReadHasOnlyItsShortKeysAskedElsewhere() {
        String other = null;
        for (int i = 0; other == null; i++) {
            if (cluster.readOrder(1, "o" + i).get(0) == second) {
                other = "o" + i;
            }
        }
        n1.set(other, "x", ALL);
        cluster.network.clearDeliveries();
        cluster.fault(first, DELAY);

        CompletableFuture<Void> read = n1.coordinator.read(List.of(Key.of("k"), Key.of(other)), QUORUM, null);
        assertThat(read).isNotDone();
        cluster.advanceMillis(delay);

        assertThat(read).isCompleted().isNotCompletedExceptionally();
        List<Delivery> toSecond = reads().stream().filter(d -> d.to() == second).toList();
        assertThat(toSecond).as("its own key, then the slow replica's").hasSize(2)
                .allSatisfy(d -> assertThat(d.readReplies()).hasSize(1));
        assertThat(n1.coordinator.stats().speculativeReads()).isEqualTo(1);
    }
}
