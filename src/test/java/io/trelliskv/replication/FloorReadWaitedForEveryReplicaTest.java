package io.trelliskv.replication;

import io.trelliskv.replication.SimCluster.SimNode;
import io.trelliskv.replication.SimCluster.Write;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;

import static io.trelliskv.replication.ConsistencyLevel.ALL;
import static io.trelliskv.replication.ConsistencyLevel.ONE;
import static io.trelliskv.replication.ConsistencyLevel.QUORUM;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DELAY;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DROP;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.NONE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Regression: a read below its read-your-writes floor asked every live replica and then waited for
 * all of them, even after one had brought the floor's version. A slow replica held such a read up,
 * and a silent one failed it: "TIMEOUT read of key 'k' at ONE: 2 of 3 replicas answered in time",
 * for a read at ONE that already had the client's own write.
 */
class FloorReadWaitedForEveryReplicaTest {

    private final SimCluster cluster = SimCluster.ofThree(51);
    private final SimNode n1 = cluster.node(1);
    private final SimNode n3 = cluster.node(3);
    private Write mine;

    /** The client wrote "v2" through node 1; node 3 missed it and still has "v1". */
    @BeforeEach
    void staleThird() {
        n1.set("k", "v1", ALL);
        cluster.fault(3, DROP);
        mine = n1.set("k", "v2", QUORUM);
        cluster.fault(3, NONE);
    }

    @Test
    void aSilentReplicaDoesNotFailAReadWhoseFloorIsMet() {
        cluster.fault(2, DROP);

        CompletableFuture<String> read = n3.get("k", ONE, mine.version());

        assertThat(read).isCompletedWithValue("v2");
    }

    @Test
    void aSlowReplicaDoesNotHoldUpAReadWhoseFloorIsMet() {
        cluster.fault(2, DELAY);

        CompletableFuture<String> read = n3.get("k", ONE, mine.version());

        assertThat(read).isCompletedWithValue("v2");
        cluster.fault(2, NONE);
        assertThat(cluster.network.release(2)).isEqualTo(1);
        assertThat(cluster.versionsEverywhere("k")).containsOnly(mine.version());
    }

    @Test
    void theReadWaitsForTheOthersWhileNoAnswerMeetsTheFloor() {
        cluster.fault(2, DROP);
        cluster.fault(3, DROP);
        Write newest = n1.set("k", "v3", ONE);
        cluster.fault(2, NONE);
        cluster.fault(3, NONE);
        cluster.fault(1, DELAY);

        CompletableFuture<String> read = n3.get("k", ONE, newest.version());
        assertThat(read).as("node 2 answered with v2, below the floor").isNotDone();

        cluster.fault(1, NONE);
        cluster.network.release(1);
        assertThat(read).isCompletedWithValue("v3");
    }

    @Test
    void aSilentReplicaStillFailsTheReadWhenNoAnswerMeetsTheFloor() {
        cluster.fault(1, DROP);
        cluster.fault(2, DROP);

        CompletableFuture<String> read = n3.get("k", ONE, mine.version());

        assertThat(read).isCompletedExceptionally();
        assertThat(read.handle((v, t) -> Coordinator.unwrap(t).getMessage()).join())
                .isEqualTo("TIMEOUT read of key 'k' at ONE: 1 of 3 replicas answered in time, none with this"
                        + " connection's last write of the key (a replica that did not answer may hold it)");
    }

    @Test
    void aQuorumReadBelowItsFloorStillNeedsAQuorum() {
        cluster.fault(1, DELAY);
        cluster.fault(2, DROP);

        CompletableFuture<String> read = n3.get("k", QUORUM, mine.version());
        assertThat(read).isNotDone();

        cluster.fault(1, NONE);
        cluster.network.release(1);
        assertThat(read).isCompletedWithValue("v2");
    }
}
