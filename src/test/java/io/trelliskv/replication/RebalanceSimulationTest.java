package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.ring.RebalancePlan;
import io.trelliskv.ring.TokenRing;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.storage.WriteCapture;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Join and leave under load lose nothing: nodes in one process over {@link SimReplicaNetwork}, each with
 * its own engine, {@link ReplicaService} and {@link Coordinator}, placing keys on a read ring and a
 * future ring exactly as the server does while ownership moves (writes go to the read ring's replicas,
 * which count, and to the future ring's new replicas, which do not). A client writes, overwrites and
 * deletes at QUORUM between every batch of the streams; some batches fail and are retried. After each
 * move, every replica of the final ring holds the last acknowledged version of every key.
 */
class RebalanceSimulationTest {

    private static final long GRACE_MILLIS = 4 * 60 * 60 * 1_000L;
    private static final int N = 3;
    private static final int TOKENS = 8;

    private final ManualClock clock = new ManualClock(1_700_000_000_000L);
    private SimReplicaNetwork network;
    private final Map<Long, Node> nodes = new LinkedHashMap<>();
    private volatile TokenRing read;
    private volatile TokenRing future;
    /** The last acknowledged version of each key written. */
    private final Map<String, Entry> acked = new HashMap<>();
    private SplittableRandom random;
    private int writes;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void joinThenDecommissionThenRemovalUnderLoadLoseNoAcknowledgedWrite(long seed) {
        random = new SplittableRandom(seed);
        network = new SimReplicaNetwork(seed);
        Map<Long, Collection<Long>> tokens = new LinkedHashMap<>();
        for (long id = 1; id <= 5; id++) {
            List<Long> mine = new ArrayList<>();
            for (int t = 0; t < TOKENS; t++) {
                mine.add(random.nextLong());
            }
            tokens.put(id, mine);
            nodes.put(id, new Node(id));
        }
        read = TokenRing.of(1, Map.of(1L, tokens.get(1L), 2L, tokens.get(2L), 3L, tokens.get(3L)));
        future = read;
        load(2_000);

        // Node 4 joins: JOINING, writes reach it, it pulls its ranges from the current replicas.
        future = read.withNode(4, tokens.get(4L));
        RebalancePlan join = RebalancePlan.join(read, future, N, 4);
        stream(RangeStream.Kind.BOOTSTRAP, join, (peer, range, cursor, max) -> {
            StreamCodec.Batch b = nodes.get(peer).reader.read(range, cursor, max);
            assertThat(nodes.get(4L).replica.apply("stream", b.entries())).isNull();
            return b;
        });
        read = future;
        load(500);
        assertEveryReplicaHoldsEveryAckedWrite();
        assertThat(nodes.get(4L).engine.size()).as("node 4 holds its share").isPositive();

        // Node 2 decommissions: LEAVING, writes reach the new owners too, it pushes its ranges to them.
        future = read.withoutNode(2);
        RebalancePlan decommission = RebalancePlan.decommission(read, future, N, 2);
        stream(RangeStream.Kind.DECOMMISSION, decommission, (peer, range, cursor, max) -> {
            StreamCodec.Batch b = nodes.get(2L).reader.read(range, cursor, max);
            assertThat(nodes.get(peer).replica.apply("stream", b.entries())).isNull();
            return b;
        });
        read = future;
        network.set(2, SimReplicaNetwork.Fault.DOWN); // it left and exited
        load(500);
        assertEveryReplicaHoldsEveryAckedWrite();

        // Node 3 dies and is removed: the nodes that gain its ranges pull them from the survivors.
        network.set(3, SimReplicaNetwork.Fault.DOWN);
        TokenRing before = read;
        read = before.withoutNode(3);
        future = read;
        for (long gainer : read.nodes()) {
            RebalancePlan removal = RebalancePlan.removal(before, read, N, gainer, 3);
            stream(RangeStream.Kind.RESTORE, removal, (peer, range, cursor, max) -> {
                StreamCodec.Batch b = nodes.get(peer).reader.read(range, cursor, max);
                assertThat(nodes.get(gainer).replica.apply("stream", b.entries())).isNull();
                return b;
            });
        }
        assertEveryReplicaHoldsEveryAckedWrite();
        assertThat(writes).isGreaterThan(3_000);
    }

    /**
     * Runs a plan's stream to its end, with the peers the production plan gives each range, client writes
     * before every batch and one batch in seven failing.
     */
    private void stream(RangeStream.Kind kind, RebalancePlan plan, RangeStream.Transfer transfer) {
        List<RangeStream.Assignment> assignments = new ArrayList<>();
        for (RebalancePlan.Assignment a : plan.assignments()) {
            assignments.add(new RangeStream.Assignment(a.range(), plan.peers(a)));
        }
        int[] calls = {0};
        RangeStream.Transfer loaded = (peer, range, cursor, max) -> {
            load(20);
            if (++calls[0] % 7 == 0) {
                throw new IllegalStateException("simulated failure");
            }
            return transfer.batch(peer, range, cursor, 2_000); // small batches: many interleavings
        };
        RangeStream s = new RangeStream(kind, assignments, loaded, network, 0, clock, nanos -> { }, Long::toHexString);
        s.run();
        assertThat(s.finished()).isCompleted();
        assertThat(s.progress().failures()).isEqualTo(calls[0] / 7);
        assertThat(s.progress().rangesDone()).isEqualTo(s.progress().rangesTotal());
    }

    /** {@code count} client writes at QUORUM, coordinated by each key's first live replica. */
    private void load(int count) {
        for (int i = 0; i < count; i++) {
            String key = "key-" + random.nextInt(3_000);
            Key k = Key.of(key);
            long coordinatorId = read.replicas(k.token(), N).stream().filter(network::isAlive).findFirst().orElseThrow();
            Node c = nodes.get(coordinatorId);
            List<Entry> written;
            WriteCapture.begin();
            try {
                if (random.nextInt(10) == 0) {
                    c.engine.delete(k);
                } else {
                    c.engine.put(k, ("v" + writes).getBytes(StandardCharsets.UTF_8), 0);
                }
            } finally {
                written = WriteCapture.end();
            }
            CompletableFuture<Void> f = c.coordinator.write(written, ConsistencyLevel.QUORUM);
            writes++;
            clock.advanceMillis(1);
            if (f.isDone() && !f.isCompletedExceptionally()) {
                acked.put(key, written.get(written.size() - 1));
            }
        }
    }

    private void assertEveryReplicaHoldsEveryAckedWrite() {
        for (Map.Entry<String, Entry> e : acked.entrySet()) {
            Key k = Key.of(e.getKey());
            for (long replica : read.replicas(k.token(), N)) {
                Entry stored = nodes.get(replica).engine.stored(k);
                assertThat(stored).as("key %s on node %d", e.getKey(), replica).isNotNull();
                assertThat(stored.version().compareTo(e.getValue().version()))
                        .as("version of key %s on node %d", e.getKey(), replica).isGreaterThanOrEqualTo(0);
            }
        }
    }

    private final class Node {
        final long id;
        final Hlc hlc = new Hlc(clock);
        final MemoryEngine engine;
        final ReplicaService replica;
        final Coordinator coordinator;
        final RangeReader reader;

        Node(long id) {
            this.id = id;
            this.engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, GRACE_MILLIS,
                    EngineConfig.DEFAULT_EVICTION_SAMPLES), clock, hlc, id);
            this.replica = new ReplicaService(engine, hlc, 500);
            this.reader = new RangeReader(engine);
            network.register(id, replica);
            ReplicaPlacement placement = new ReplicaPlacement() {
                @Override
                public long localNodeId() {
                    return Node.this.id;
                }

                @Override
                public List<Long> replicas(long token) {
                    return read.replicas(token, N);
                }

                @Override
                public List<Long> pendingReplicas(long token) {
                    List<Long> now = read.replicas(token, N);
                    return future.replicas(token, N).stream().filter(n -> !now.contains(n)).toList();
                }
            };
            this.coordinator = new Coordinator(engine, hlc, placement, network, network.from(id),
                    (target, e) -> true, SimCluster.config(false), new SplittableRandom(id));
        }
    }
}
