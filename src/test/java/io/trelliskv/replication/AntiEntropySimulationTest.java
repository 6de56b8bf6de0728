package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.repair.RepairStatus;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Anti-entropy between simulated replicas with random divergence — stale values, newer values only
 * some replicas have, tombstones some have not seen, keys missing on some — in every direction: after
 * one repair round on each node every replica of every key holds the newest version, and a second
 * round finds every tree equal and moves nothing. Each run replays from its seed.
 */
class AntiEntropySimulationTest {

    private static final AntiEntropyConfig CONFIG = AntiEntropyConfig.defaults().withInterval(0);

    /** The newest version of each key, as written by the test; what every replica must end with. */
    private final Map<Key, Entry> newest = new HashMap<>();

    /**
     * Writes {@code keys} keys to their replicas with divergence: per key up to three versions (values
     * or tombstones); the newest is on at least one replica, and each other replica holds it with
     * probability {@code 1 - divergence}, else an older version or nothing.
     */
    private void populate(AntiEntropySim sim, int keys, double divergence, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < keys; i++) {
            Key key = Key.of("key-" + i);
            List<Long> replicas = sim.ring.replicas(key.token(), sim.replicationFactor);
            int versions = 1 + random.nextInt(3);
            List<Entry> history = new ArrayList<>();
            for (int v = 0; v < versions; v++) {
                boolean tombstone = v > 0 && random.nextInt(4) == 0;
                long writer = replicas.get(random.nextInt(replicas.size()));
                long hlc = Hlc.pack(AntiEntropySim.START_MILLIS - 60_000 + i + v * 10_000L, random.nextInt(3));
                byte[] value = tombstone ? null : ("value-" + i + "-" + v + "-" + "x".repeat(random.nextInt(40)))
                        .getBytes(StandardCharsets.UTF_8);
                history.add(new Entry(key, value, hlc, writer,
                        tombstone ? AntiEntropySim.START_MILLIS + AntiEntropySim.GRACE_MILLIS : 0));
            }
            Entry last = history.get(history.size() - 1);
            newest.put(key, last);
            int holder = random.nextInt(replicas.size());
            for (int r = 0; r < replicas.size(); r++) {
                AntiEntropySim.Node node = sim.node(replicas.get(r));
                if (r == holder || random.nextDouble() >= divergence) {
                    node.engine.merge(last);
                } else if (random.nextBoolean() && history.size() > 1) {
                    node.engine.merge(history.get(random.nextInt(history.size() - 1)));
                } // else: missing
            }
        }
    }

    private void assertConverged(AntiEntropySim sim) {
        for (Map.Entry<Key, Entry> e : newest.entrySet()) {
            List<Long> replicas = sim.ring.replicas(e.getKey().token(), sim.replicationFactor);
            for (AntiEntropySim.Node node : sim.nodes()) {
                Entry stored = node.engine.stored(e.getKey());
                if (replicas.contains(node.id)) {
                    assertThat(stored).as("%s on replica %d", e.getKey(), node.id).isNotNull();
                    assertThat(stored.version()).as("%s on replica %d", e.getKey(), node.id)
                            .isEqualTo(e.getValue().version());
                    assertThat(stored.isTombstone()).isEqualTo(e.getValue().isTombstone());
                } else {
                    assertThat(stored).as("%s on non-replica %d", e.getKey(), node.id).isNull();
                }
            }
        }
    }

    private static void assertNothingToDo(AntiEntropySim sim) {
        for (AntiEntropySim.Node node : sim.nodes()) {
            RepairStatus s = node.antiEntropy.repairNow();
            assertThat(s.keysStreamedIn() + s.keysStreamedOut()).as("streamed by node %d", node.id).isZero();
            assertThat(s.keysCompared()).as("keys compared by node %d (every tree should be equal)", node.id).isZero();
            assertThat(s.failures()).isZero();
            assertThat(s.rangesDone()).isEqualTo(s.rangesTotal());
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void threeReplicasOfFiveNodesConvergeAfterOneRoundEach(long seed) {
        AntiEntropySim sim = new AntiEntropySim(5, 3, CONFIG, seed);
        populate(sim, 3000, 0.1, seed);
        long streamed = 0;
        for (AntiEntropySim.Node node : sim.nodes()) {
            RepairStatus s = node.antiEntropy.repairNow();
            assertThat(s.running()).isFalse();
            assertThat(s.failures()).isZero();
            streamed += s.keysStreamedIn() + s.keysStreamedOut();
        }
        assertThat(streamed).isPositive();
        assertConverged(sim);
        assertNothingToDo(sim);
    }

    @ParameterizedTest
    @ValueSource(longs = {11, 12, 13})
    void oneRoundOnOneSideRepairsBothDirections(long seed) {
        AntiEntropySim sim = new AntiEntropySim(2, 2, CONFIG, seed);
        populate(sim, 5000, 0.2, seed);
        RepairStatus s = sim.node(1).antiEntropy.repairNow();
        assertThat(s.keysStreamedIn()).isPositive();
        assertThat(s.keysStreamedOut()).isPositive();
        assertThat(s.keysCompared()).isLessThan(5000); // only the keys of differing leaves
        assertConverged(sim);
        assertNothingToDo(sim);
    }

    /** Tiny bounds: few, crowded leaves, so key listings are cut mid-run and batches are small. */
    @ParameterizedTest
    @ValueSource(longs = {21, 22})
    void tinyBoundsStillConverge(long seed) {
        AntiEntropyConfig tiny = new AntiEntropyConfig(0, 1, 1, 3, 5, 1024, 2, 1000);
        AntiEntropySim sim = new AntiEntropySim(3, 3, tiny, seed);
        populate(sim, 2000, 0.3, seed);
        for (AntiEntropySim.Node node : sim.nodes()) {
            node.antiEntropy.repairNow();
        }
        assertConverged(sim);
        assertNothingToDo(sim);
    }

    @Test
    void aWipedReplicaIsRebuiltByItsOwnRepair() {
        AntiEntropySim sim = new AntiEntropySim(3, 3, CONFIG, 31);
        populate(sim, 4000, 0.0, 31);
        sim.node(2).engine.clear();
        RepairStatus s = sim.node(2).antiEntropy.repairNow();
        assertThat(s.keysStreamedIn()).isEqualTo(4000);
        assertThat(s.keysStreamedOut()).isZero();
        assertConverged(sim);
        assertNothingToDo(sim);
    }

    @Test
    void aDownPeerIsSkippedAndAFailingOneIsCountedWhileTheRoundGoesOn() {
        AntiEntropySim sim = new AntiEntropySim(3, 3, CONFIG, 41);
        populate(sim, 2000, 0.0, 41);
        sim.node(2).engine.clear();
        sim.node(3).engine.clear();
        sim.setDown(3, true);
        RepairStatus s = sim.node(1).antiEntropy.repairNow();
        assertThat(s.failures()).isZero();
        assertThat(s.keysStreamedOut()).isEqualTo(2000); // all to node 2, none to the down node 3
        assertThat(sim.node(3).engine.forEachInRange(0, 0, e -> { })).isZero();

        sim.setDown(3, false);
        sim.setFailing(3, true);
        RepairStatus failed = sim.node(1).antiEntropy.repairNow();
        assertThat(failed.failures()).isEqualTo(failed.rangesTotal());
        assertThat(failed.rangesDone()).isEqualTo(failed.rangesTotal());

        sim.setFailing(3, false);
        sim.node(3).antiEntropy.repairNow();
        assertConverged(sim);
    }

    @Test
    void entriesTooFarAheadOfTheClockAreRefusedNotMerged() {
        AntiEntropySim sim = new AntiEntropySim(2, 2, CONFIG, 51);
        Key key = Key.of("from-the-future");
        Entry future = new Entry(key, "v".getBytes(StandardCharsets.UTF_8),
                Hlc.pack(AntiEntropySim.START_MILLIS + 60_000, 0), 2, 0);
        sim.node(2).engine.merge(future);
        RepairStatus s = sim.node(1).antiEntropy.repairNow();
        assertThat(s.failures()).isPositive();
        assertThat(sim.node(1).engine.stored(key)).isNull();
    }
}
