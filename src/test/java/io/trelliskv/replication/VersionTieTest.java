package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.replication.SimCluster.SimNode;
import io.trelliskv.replication.SimCluster.Write;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static io.trelliskv.replication.ConsistencyLevel.ALL;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.DELAY;
import static io.trelliskv.replication.SimReplicaNetwork.Fault.NONE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Last-writer-wins at equal timestamps: applying one version twice changes nothing, and two writes
 * with the same hybrid-logical-clock timestamp resolve by node id (unsigned) the same way on every
 * replica, whatever order they arrive in.
 */
class VersionTieTest {

    private static final long HLC = Hlc.pack(SimCluster.START_MILLIS, 7);

    private static Entry entry(String key, String value, long hlc, long node) {
        return new Entry(Key.of(key), SimCluster.bytes(value), hlc, node, 0);
    }

    @Test
    void applyingTheSameWriteTwiceIsIdempotent() {
        SimCluster cluster = SimCluster.ofThree(41);
        SimNode n1 = cluster.node(1);
        Write w = n1.set("k", "v", ALL);
        Entry before = cluster.node(2).stored("k");

        cluster.network.from(1).write(2, List.of(w.entry())).join();
        cluster.network.from(3).write(2, List.of(w.entry(), w.entry())).join();

        Entry after = cluster.node(2).stored("k");
        // The engine materializes a new Entry per read, so "unchanged" is the same version, value and expiry.
        assertThat(after.version()).isEqualTo(before.version());
        assertThat(after.value()).isEqualTo(before.value());
        assertThat(after.expireAt()).isEqualTo(before.expireAt());
        assertThat(cluster.node(2).replica.stats().applied()).isEqualTo(1);
        assertThat(cluster.node(2).replica.stats().stale()).isEqualTo(3);
        assertThat(cluster.node(2).merge(w.entry())).isFalse();
    }

    @Test
    void equalTimestampsResolveByNodeIdInEitherOrder() {
        Entry fromA = entry("k", "a", HLC, 0xa);
        Entry fromB = entry("k", "b", HLC, 0xb);
        SimCluster cluster = SimCluster.ofThree(42);

        cluster.node(1).merge(fromA);
        cluster.node(1).merge(fromB);
        cluster.node(2).merge(fromB);
        cluster.node(2).merge(fromA);

        for (long id : new long[] {1, 2}) {
            assertThat(SimCluster.text(cluster.node(id).stored("k"))).isEqualTo("b");
            assertThat(cluster.node(id).stored("k").version()).isEqualTo(new Version(HLC, 0xb));
        }
    }

    @Test
    void nodeIdsCompareUnsignedLikeTheirHexForm() {
        Entry low = entry("k", "low", HLC, 0x7fff_ffff_ffff_ffffL);
        Entry high = entry("k", "high", HLC, 0x8000_0000_0000_0000L);
        SimCluster cluster = SimCluster.ofThree(43);

        cluster.node(1).merge(high);
        cluster.node(1).merge(low);
        cluster.node(2).merge(low);
        cluster.node(2).merge(high);

        assertThat(SimCluster.text(cluster.node(1).stored("k"))).isEqualTo("high");
        assertThat(SimCluster.text(cluster.node(2).stored("k"))).isEqualTo("high");
    }

    /**
     * A few writers, colliding timestamps, duplicates: every replica ends on the greatest version
     * whatever the order (drawn from the seed) in which the network delivers the batches.
     */
    @Property(tries = 200, seed = "20241124")
    void everyDeliveryOrderEndsOnTheSameWinner(@ForAll long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] writers = {1, 2, 3, 0x8000_0000_0000_0001L, -1L};
        List<Entry> writes = new ArrayList<>();
        Set<Version> stamped = new HashSet<>();
        int n = 2 + random.nextInt(8);
        for (int i = 0; i < n; i++) {
            long hlc = HLC + random.nextInt(3);
            long node = writers[random.nextInt(writers.length)];
            if (!stamped.add(new Version(hlc, node))) {
                continue; // a node never stamps two writes alike
            }
            boolean tombstone = random.nextInt(4) == 0;
            writes.add(new Entry(Key.of("k"), tombstone ? null : SimCluster.bytes("v" + i), hlc, node, 0));
        }
        Entry winner = writes.stream()
                .max(Comparator.comparing(Entry::version))
                .orElseThrow();
        SimCluster cluster = SimCluster.ofThree(seed);
        for (long target = 1; target <= 3; target++) {
            cluster.fault(target, DELAY);
        }
        for (Entry e : writes) {
            for (long target = 1; target <= 3; target++) {
                long from = 1 + random.nextInt(3);
                int copies = 1 + random.nextInt(2);
                for (int c = 0; c < copies; c++) {
                    cluster.network.from(from).write(target, List.of(e));
                }
            }
        }
        for (long target = 1; target <= 3; target++) {
            cluster.fault(target, NONE);
        }

        cluster.network.releaseAllShuffled();

        for (SimNode node : cluster.nodes()) {
            Entry stored = node.stored("k");
            assertThat(stored.version()).isEqualTo(winner.version());
            assertThat(stored.value()).isEqualTo(winner.value());
        }
    }
}
