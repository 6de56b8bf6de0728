package io.trelliskv.replication;

import io.trelliskv.replication.SimCluster.SimNode;
import io.trelliskv.replication.SimCluster.Write;
import io.trelliskv.replication.SimReplicaNetwork.Fault;
import io.trelliskv.version.Version;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random writes and deletes on a ring of five nodes with three replicas per key, while replicas go
 * down, drop messages, answer late and come back; then the faults heal, hints are replayed and every
 * key is read at ALL. Every replica of every key must end on the newest version any coordinator
 * stamped (a coordinator keeps its own copy whatever the outcome), every command must have completed,
 * and the only failures are UNAVAILABLE (at once) and TIMEOUT (clocks agree, so nothing is refused). Each run is a pure function of its seed.
 */
class ConvergenceSimulationTest {

    private static final int NODES = 5;
    private static final int KEYS = 8;
    private static final int STEPS = 200;
    private static final ConsistencyLevel[] LEVELS = ConsistencyLevel.values();
    private static final Fault[] FAULTS = {Fault.NONE, Fault.NONE, Fault.DOWN, Fault.DROP, Fault.LOSE_REPLY,
            Fault.DELAY};

    @Property(tries = 25, seed = "20241124")
    void everyReplicaEndsOnTheNewestStampedVersion(@ForAll long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        SimCluster cluster = new SimCluster(NODES, new ReplicationConfig(3, ConsistencyLevel.QUORUM,
                ConsistencyLevel.QUORUM, random.nextBoolean(), 500, random.nextDouble(0.5), 2_000), seed);
        cluster.network.dropProbability(random.nextDouble(0.2));
        Map<String, Version> newest = new HashMap<>();
        List<CompletableFuture<?>> commands = new ArrayList<>();

        for (int step = 0; step < STEPS; step++) {
            cluster.advanceMillis(random.nextInt(5));
            int roll = random.nextInt(10);
            if (roll == 0) {
                long node = 1 + random.nextInt(NODES);
                cluster.fault(node, FAULTS[random.nextInt(FAULTS.length)]);
            } else if (roll == 1) {
                cluster.network.releaseAllShuffled();
            } else if (roll == 2) {
                cluster.replayHints(1);
            } else {
                String key = "k" + random.nextInt(KEYS);
                SimNode coordinator = liveReplica(cluster, key, random);
                if (coordinator == null) {
                    continue;
                }
                ConsistencyLevel level = LEVELS[random.nextInt(LEVELS.length)];
                try {
                    if (roll < 5) {
                        commands.add(coordinator.get(key, level));
                    } else {
                        Write w = roll < 8 ? coordinator.set(key, "v" + step, level) : coordinator.delete(key, level);
                        newest.merge(key, w.version(), (a, b) -> a.compareTo(b) >= 0 ? a : b);
                        commands.add(w.acked());
                    }
                } catch (ReplicationException e) {
                    assertThat(e.getMessage()).startsWith("UNAVAILABLE");
                }
            }
        }

        cluster.network.dropProbability(0);
        for (SimNode n : cluster.nodes()) {
            cluster.fault(n.id, Fault.NONE);
        }
        while (cluster.network.releaseAllShuffled() > 0) {
            // deliveries may start read repairs, which are delivered in turn
        }
        // Replay may be backing off after failed batches: at most 30 s.
        cluster.replayHints((int) (HintReplayer.MAX_BACKOFF_MILLIS / HintReplayer.TICK_MILLIS) + 10);
        for (Map.Entry<String, Version> e : newest.entrySet()) {
            String key = e.getKey();
            SimNode first = cluster.node(cluster.replicasOf(key).get(0));
            first.get(key, ConsistencyLevel.ALL).join();
            assertThat(cluster.versionsEverywhere(key)).as("key %s", key).containsOnly(e.getValue());
        }
        for (SimNode n : cluster.nodes()) {
            assertThat(n.hints.pending()).isZero();
        }
        for (CompletableFuture<?> command : commands) {
            assertThat(command).isDone();
            Throwable failure = command.handle((v, t) -> t).join();
            if (failure != null) {
                assertThat(Coordinator.unwrap(failure)).isInstanceOf(ReplicationException.class)
                        .message().startsWith("TIMEOUT ");
            }
        }
    }

    private static SimNode liveReplica(SimCluster cluster, String key, SplittableRandom random) {
        List<Long> live = cluster.replicasOf(key).stream().filter(cluster.network::isAlive).toList();
        return live.isEmpty() ? null : cluster.node(live.get(random.nextInt(live.size())));
    }
}
