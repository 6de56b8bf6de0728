package io.trelliskv.cluster;

import io.trelliskv.command.VersionedCommands;
import io.trelliskv.common.Key;
import io.trelliskv.membership.MemberState;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.resp.RespValue;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.VersionVector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Versioned keys across a partition, on whole simulated nodes: three nodes at consistency ONE, a client on
 * each side of a partition that cuts node 3 off reading the key with VGET and writing it back with VSET
 * and the context it read; then the partition heals and a read at ALL joins every replica's siblings.
 * No acknowledged write may be lost: each is still a sibling, or some write's context saw it (that write
 * superseded it knowingly). And read repair leaves every replica with the same siblings.
 */
class VersionedPartitionSimulationTest {

    private static final String KEY = "cart";

    private NodeSimulation sim;
    /** The context each VSET was sent with, by the (unique) value it wrote. */
    private final Map<String, VersionVector> sentContext = new HashMap<>();
    /** The dot of each acknowledged VSET (node, counter), by value: what its reply context added. */
    private final Map<String, long[]> ackedDot = new HashMap<>();
    /** Values acknowledged while the partition lasted, per side. */
    private final Map<String, Integer> ackedDuringPartition = new HashMap<>();
    private boolean partitioned;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void everyAcknowledgedWriteSurvivesOrWasSeenByALaterWrite(long seed) {
        sim = new NodeSimulation(seed);
        ClusterConfig t = sim.template;
        ReplicationConfig r = t.replication();
        sim.template = new ClusterConfig(t.name(), t.seeds(), t.advertise(), t.vnodes(), t.dataDir(), t.membership(),
                new ReplicationConfig(3, ConsistencyLevel.ONE, ConsistencyLevel.ONE, false, r.maxClockDriftMillis(),
                        0.0, r.replicaTimeoutMillis()), t.hints(), t.antiEntropy(), t.rebalance());
        sim.antiEntropy = false; // what the write path, hints and read repair achieve
        NodeSimulation.SimNode first = sim.start(1);
        sim.start(2, first);
        sim.start(3, first);
        sim.runUntil("all NORMAL", () -> sim.nodes().stream().allMatch(n ->
                n.state.ring().nodes().size() == 3 && n.rebalancer().status() == NodeStatus.NORMAL), 60_000);
        List<Writer> writers = List.of(new Writer("a", sim.node(1)), new Writer("b", sim.node(3)));

        runWriting(writers, 2_000);
        partitioned = true;
        for (long other : new long[] {1, 2}) {
            sim.cutBoth(sim.node(3), sim.node(other), NodeSimulation.LinkFault.REFUSED);
        }
        runWriting(writers, 15_000);
        partitioned = false;
        for (long other : new long[] {1, 2}) {
            sim.healBoth(sim.node(3), sim.node(other));
        }
        runWriting(writers, 5_000);
        writers.forEach(w -> w.active = false);
        sim.runUntil("every write answered", () -> {
            writers.forEach(Writer::step);
            return writers.stream().allMatch(w -> w.client.waiting() == 0);
        }, 30_000);
        sim.runUntil("every node sees the others ALIVE", () -> sim.nodes().stream().allMatch(n ->
                sim.nodes().stream().allMatch(o -> o == n || n.state.member(o.id) != null
                        && n.state.member(o.id).state() == MemberState.ALIVE)), 120_000);

        assertThat(ackedDuringPartition).as("writes acknowledged on both sides of the partition")
                .containsKeys("a", "b");
        readAtAll(seed);
        NodeSimulation.SimClient reader = sim.new SimClient(sim.node(1));
        reader.send("VGET", KEY);
        sim.runUntil("VGET answered", () -> reader.waiting() == 0, 10_000);
        List<RespValue> read = ((RespValue.Array) reader.replies().get(0)).elements();
        List<String> siblings = new ArrayList<>();
        for (RespValue v : read.subList(1, read.size())) {
            siblings.add(new String(((RespValue.BulkString) v).value(), StandardCharsets.UTF_8));
        }

        VersionVector seenByWrites = VersionVector.EMPTY; // a dot some write's context covers is covered by their merge
        for (VersionVector c : sentContext.values()) {
            seenByWrites = seenByWrites.merge(c);
        }
        for (Map.Entry<String, long[]> acked : ackedDot.entrySet()) {
            long[] dot = acked.getValue();
            boolean seenByAWrite = seenByWrites.covers(dot[0], dot[1]);
            assertThat(siblings.contains(acked.getKey()) || seenByAWrite)
                    .as("seed %d: acknowledged %s (dot %x:%d) is a sibling of %s or was seen by a later write", seed,
                            acked.getKey(), dot[0], dot[1], siblings).isTrue();
        }
        sim.runFor(2_000); // read repair's writes land
        byte[] joined = sim.node(1).stored(KEY).value();
        for (NodeSimulation.SimNode n : sim.nodes()) {
            Entry e = n.stored(KEY);
            assertThat(e.value()).as("seed %d: siblings at %s after read repair", seed, n).isEqualTo(joined);
        }
    }

    /** Joins every replica's siblings at node 1; a read that times out (a connection not back yet) is tried again. */
    private void readAtAll(long seed) {
        for (int attempt = 1; ; attempt++) {
            CompletableFuture<Void> all = sim.node(1).member.coordinator().read(List.of(Key.of(KEY)), ConsistencyLevel.ALL, null);
            if (all == null) {
                return;
            }
            sim.runUntil("read at ALL", all::isDone, 30_000);
            if (!all.isCompletedExceptionally()) {
                return;
            }
            assertThat(attempt).as("seed %d: reads at ALL that timed out", seed).isLessThan(5);
            sim.runFor(1_000);
        }
    }

    private void runWriting(List<Writer> writers, long millis) {
        long until = sim.now() + millis;
        while (sim.now() < until) {
            writers.forEach(Writer::step);
            sim.runFor(5);
        }
    }

    /** A client that reads the key, writes a new value with the context it read, and again, on one node. */
    private final class Writer {
        final String name;
        final NodeSimulation.SimClient client;
        boolean active = true;
        int written;

        Writer(String name, NodeSimulation.SimNode node) {
            this.name = name;
            this.client = sim.new SimClient(node);
        }

        void step() {
            client.poll(this::answered);
            if (active && client.waiting() == 0) {
                client.send("VGET", KEY);
            }
        }

        private void answered(String[] command, RespValue reply) {
            if (command[0].equals("VGET")) {
                if (!(reply instanceof RespValue.Array a)) {
                    return; // refused while the cluster changes: read again
                }
                byte[] context = a.elements().isEmpty() ? new byte[0] : ((RespValue.BulkString) a.elements().get(0)).value();
                String value = name + (written++);
                sentContext.put(value, VersionedCommands.decodeContext(context));
                client.send("VSET".getBytes(StandardCharsets.US_ASCII), KEY.getBytes(StandardCharsets.US_ASCII), context,
                        value.getBytes(StandardCharsets.US_ASCII));
            } else if (reply instanceof RespValue.BulkString b) {
                String value = command[3];
                VersionVector sent = sentContext.get(value);
                VersionVector seen = VersionedCommands.decodeContext(b.value());
                for (int i = 0; i < seen.size(); i++) {
                    if (seen.counter(i) != sent.counterOf(seen.node(i))) {
                        ackedDot.put(value, new long[] {seen.node(i), seen.counter(i)});
                    }
                }
                assertThat(ackedDot).as("the dot of %s", value).containsKey(value);
                if (partitioned) {
                    ackedDuringPartition.merge(name, 1, Integer::sum);
                }
            }
        }
    }
}
