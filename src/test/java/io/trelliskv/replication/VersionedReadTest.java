package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.replication.SimCluster.SimNode;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.Version;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.VersionVector;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static io.trelliskv.replication.ConsistencyLevel.ALL;
import static io.trelliskv.replication.ConsistencyLevel.ONE;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DROP;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.NONE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A quorum read of a versioned key joins the replicas' siblings instead of keeping the newest version, and
 * read repair writes the join back; {@link Coordinator#reconcile} is the rule, told as a table.
 */
class VersionedReadTest {

    private final SimCluster cluster = SimCluster.ofThree(7);
    private final SimNode n1 = cluster.node(1);
    private final SimNode n2 = cluster.node(2);
    private final SimNode n3 = cluster.node(3);

    @Test
    void aReadJoinsConcurrentSiblingsEvenWhereTheLocalVersionIsNewerAndRepairsEveryReplicaItAsked() {
        isolated(n2, () -> n2.vset("k", VersionVector.EMPTY, "b", ONE));
        cluster.advanceMillis(10);
        isolated(n1, () -> n1.vset("k", VersionVector.EMPTY, "a", ONE));
        assertThat(n1.stored("k").newerThan(n2.stored("k"))).as("the coordinator's own copy is the newer").isTrue();
        assertThat(n3.stored("k")).isNull();

        n1.get("k", ALL).join();

        assertThat(n1.siblings("k")).containsExactlyInAnyOrder("a", "b");
        for (SimNode n : cluster.nodes()) {
            assertThat(n.stored("k").value()).as("node %d after read repair", n.id).isEqualTo(n1.stored("k").value());
        }
    }

    /**
     * Read-your-writes for a joined value: a newer version of a versioned key does not supersede the
     * caller's write (a concurrent sibling may be newer and lack it), so only the write's own version
     * meets the caller's floor; anything else asks every live replica.
     */
    @Test
    void aReadAtOneMeetsTheCallersFloorOnlyWithItsOwnSiblingNotWithANewerConcurrentOne() {
        isolated(n1, () -> n1.vset("k", VersionVector.EMPTY, "mine", ONE));
        Version floor = n1.stored("k").version();
        cluster.advanceMillis(10);
        isolated(n2, () -> n2.vset("k", VersionVector.EMPTY, "theirs", ONE));
        assertThat(n2.stored("k").version()).as("the concurrent write is the newer").isGreaterThan(floor);

        n2.get("k", ONE, floor).join();

        assertThat(n2.siblings("k")).containsExactlyInAnyOrder("mine", "theirs");
    }

    @Test
    void reconcileJoinsTwoLiveValuesOfAJoinableKindAndOtherwiseKeepsTheNewerVersion() {
        Entry a = versioned("a", 1, 5);
        Entry b = versioned("b", 2, 6);
        Entry plainNewer = new Entry(Key.of("k"), bytes("p"), 7, 1, 0);
        Entry tombstoneNewer = new Entry(Key.of("k"), null, 8, 1, 0);

        Entry joined = Coordinator.reconcile(a, b, SimCluster.START_MILLIS);
        assertThat(CausalCodec.decodeDvv(joined.value()).values()).extracting(v -> new String(v, StandardCharsets.UTF_8))
                .containsExactlyInAnyOrder("a", "b");
        assertThat(joined.version()).isEqualTo(b.version());
        assertThat(joined.kind()).isEqualTo(ValueKind.VERSIONED);
        assertThat(Coordinator.reconcile(b, a, SimCluster.START_MILLIS).value()).isEqualTo(joined.value());
        assertThat(Coordinator.reconcile(a, plainNewer, SimCluster.START_MILLIS)).isSameAs(plainNewer);
        assertThat(Coordinator.reconcile(tombstoneNewer, b, SimCluster.START_MILLIS)).isSameAs(tombstoneNewer);
        assertThat(Coordinator.reconcile(null, a, SimCluster.START_MILLIS)).isSameAs(a);
        Entry damaged = new Entry(Key.of("k"), new byte[] {9}, 9, 1, 0, ValueKind.VERSIONED);
        assertThat(Coordinator.reconcile(a, damaged, SimCluster.START_MILLIS)).isSameAs(damaged);
    }

    @Test
    void aSiblingReconciledWithADeletedKeysHistoryKeepsItsOwnExpiryAsTheEngineStoresIt() {
        DvvSet<byte[]> written = DvvSet.<byte[]>empty().update(VersionVector.EMPTY, bytes("x"), 1);
        long graceEnd = SimCluster.START_MILLIS + SimCluster.GRACE_MILLIS;
        Entry history = new Entry(Key.of("k"), CausalCodec.encode(written.discard(written.context())), 9, 1, graceEnd,
                ValueKind.VERSIONED);
        Entry sibling = versioned("a", 2, 5);
        Entry withTtl = new Entry(Key.of("k"), sibling.value(), 5, 2, graceEnd * 2, ValueKind.VERSIONED);

        assertThat(Coordinator.reconcile(history, sibling, SimCluster.START_MILLIS).expireAt()).isZero();
        assertThat(Coordinator.reconcile(sibling, history, SimCluster.START_MILLIS).expireAt()).isZero();
        assertThat(Coordinator.reconcile(withTtl, history, SimCluster.START_MILLIS).expireAt()).isEqualTo(graceEnd * 2);
        assertThat(Coordinator.reconcile(history, sibling, SimCluster.START_MILLIS).version()).isEqualTo(history.version());

        n1.merge(history);
        n1.merge(sibling);
        assertThat(n1.stored("k").expireAt()).as("the engine stores what reconcile settles on").isZero();
        assertThat(n1.siblings("k")).containsExactly("a");
    }

    /** Runs a write at {@code node} while the other two drop what it sends. */
    private void isolated(SimNode node, Runnable write) {
        for (SimNode other : cluster.nodes()) {
            if (other != node) {
                cluster.fault(other.id, DROP);
            }
        }
        write.run();
        for (SimNode other : cluster.nodes()) {
            cluster.fault(other.id, NONE);
        }
    }

    private static Entry versioned(String value, long node, long hlc) {
        DvvSet<byte[]> s = DvvSet.<byte[]>empty().update(VersionVector.EMPTY, bytes(value), node);
        return new Entry(Key.of("k"), CausalCodec.encode(s), hlc, node, 0, ValueKind.VERSIONED);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
