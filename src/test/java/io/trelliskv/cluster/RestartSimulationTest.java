package io.trelliskv.cluster;

import io.trelliskv.membership.MemberState;
import io.trelliskv.resp.RespValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node that restarts empty (no log: --appendonly no, or a lost directory) rejoins the cluster it knew, whatever its seeds,
 * and neither serves reads nor counts toward a quorum until it has streamed its ranges from replicas
 * that hold them (the restart findings of issue 12: a seedless first node came back as a new cluster,
 * empty and NORMAL, and reads of acknowledged keys returned nil). Whole nodes in a {@link NodeSimulation},
 * each with a data directory; QUORUM writes run throughout, and afterwards every acknowledged write is
 * read back at QUORUM through every node. A node that kept its data (its log recovered) is NORMAL at once
 * and streams nothing, unless it crashed while still streaming its ranges.
 */
class RestartSimulationTest {

    private static final long WRITE_EVERY_MILLIS = 5;

    @TempDir
    Path dirs;

    private NodeSimulation sim;
    private final List<NodeSimulation.SimClient> writers = new ArrayList<>();
    /** Every key whose SET was acknowledged, with its value. Keys are written once. */
    private final Map<String, String> acked = new LinkedHashMap<>();
    private int sent;
    private boolean writing;

    /** The cluster's first node, started without seeds, is killed and restarted without seeds. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void restartedSeedNodeRejoinsAndIsNotReadUntilStreamed(long seed) {
        startCluster(seed, 3);
        NodeSimulation.SimNode first = sim.node(1);
        first.crash();
        awaitDeadAt(2, 1);
        sim.runFor(1_000);
        Set<String> before = Set.copyOf(acked.keySet());

        NodeSimulation.SimNode again = sim.restart(first); // no seeds: through the members it knew
        assertThat(again.rebalancer().status()).isEqualTo(NodeStatus.JOINING);
        sim.runUntil("node 1 rejoined, NORMAL", () -> {
            poll();
            if (again.rebalancer().status() != NodeStatus.NORMAL) {
                // a peer whose view is stale may still ask it: it refuses, so it is never counted
                assertThat(again.member.replica().stats().reads()).as("replica reads answered while JOINING").isZero();
                return false;
            }
            return true;
        }, 60_000);
        assertThat(again.state.members().size()).as("knows its cluster").isEqualTo(3);
        for (String key : before) {
            assertThat(again.stored(key)).as("%s streamed before NORMAL", key).isNotNull();
        }
        finish();
    }

    /**
     * Five nodes; node 2 is cut off from nodes 4 and 5 and restarted, then node 3 too (its only way to the
     * others is through what it knew); then the partition heals.
     */
    @ParameterizedTest
    @ValueSource(longs = {4, 5})
    void twoNodesRestartedInTurnDuringAPartition(long seed) {
        startCluster(seed, 5);
        NodeSimulation.SimNode two = sim.node(2);
        for (long other : new long[] {4, 5}) {
            sim.cutBoth(two, sim.node(other), NodeSimulation.LinkFault.REFUSED);
        }
        two.crash();
        awaitDeadAt(1, 2);
        NodeSimulation.SimNode twoAgain = sim.restart(two);
        for (long other : new long[] {4, 5}) {
            sim.cutBoth(twoAgain, sim.node(other), NodeSimulation.LinkFault.REFUSED);
        }
        // Scheduled, not run from here: a stream waiting for sources cut off from it holds the test's
        // thread (simulated threads run inside events), while the world goes on around it.
        NodeSimulation.SimNode three = sim.node(3);
        NodeSimulation.SimNode[] threeAgain = new NodeSimulation.SimNode[1];
        sim.after(3_000, three::crash);
        sim.after(8_000, () -> threeAgain[0] = sim.restart(three));
        sim.after(14_000, () -> {
            for (long other : new long[] {4, 5}) {
                sim.healBoth(twoAgain, sim.node(other));
            }
        });
        sim.runUntil("nodes 2 and 3 NORMAL", () -> {
            poll();
            return twoAgain.rebalancer().status() == NodeStatus.NORMAL
                    && threeAgain[0] != null && threeAgain[0].rebalancer().status() == NodeStatus.NORMAL;
        }, 60_000);
        finish();
    }

    /**
     * A node that kept its data (its log recovered) comes back NORMAL at once, as it was, without streaming
     * its ranges again; what it missed while down reaches it through hints and the write path, and every
     * acknowledged write reads back at QUORUM through every node.
     */
    @ParameterizedTest
    @ValueSource(longs = {21, 22})
    void nodeRestartedWithItsDataServesAtOnceWithoutStreaming(long seed) {
        startCluster(seed, 3);
        NodeSimulation.SimNode first = sim.node(1);
        first.crash();
        awaitDeadAt(2, 1);
        sim.runFor(1_000); // writes go on: node 1 misses them, the others keep hints for it
        NodeSimulation.SimNode again = sim.restartWithData(first);
        assertThat(again.rebalancer().status()).isEqualTo(NodeStatus.NORMAL);
        sim.runUntil("node 1 ALIVE at node 2", () -> {
            poll();
            var m = sim.node(2).state.member(1);
            return m != null && m.state() == MemberState.ALIVE;
        }, 30_000);
        sim.runFor(3_000);
        assertThat(again.rebalancer().status()).isEqualTo(NodeStatus.NORMAL);
        assertThat(again.rebalancer().streams()).as("streams run by the restarted node").isEmpty();
        finish();
    }

    /**
     * A power cut: every node of a three-node cluster is killed at once and restarted with its data. No node
     * waits for a source or for {@code BOOTSTRAP FORCE}: each is NORMAL at once, and every write acknowledged
     * before the cut reads back at QUORUM through every node.
     */
    @Test
    void wholeClusterRestartWithTheirDataIsNormalAtOnce() {
        startCluster(31, 3);
        writing = false;
        sim.runUntil("replies to every write", () -> {
            poll();
            return writers.stream().allMatch(c -> c.waiting() == 0);
        }, 30_000);
        List<NodeSimulation.SimNode> old = List.copyOf(sim.nodes());
        old.forEach(NodeSimulation.SimNode::crash);
        sim.runFor(1_000);
        List<NodeSimulation.SimNode> again = new ArrayList<>();
        for (NodeSimulation.SimNode n : old) {
            again.add(sim.restartWithData(n));
        }
        for (NodeSimulation.SimNode n : again) {
            assertThat(n.rebalancer().status()).as("%s restarted with its data", n).isEqualTo(NodeStatus.NORMAL);
        }
        sim.runFor(5_000);
        for (NodeSimulation.SimNode n : again) {
            assertThat(n.rebalancer().status()).as("%s", n).isEqualTo(NodeStatus.NORMAL);
            assertThat(n.rebalancer().rejoinUnsourcedRanges()).as("%s", n).isZero();
            assertThat(n.rebalancer().streams()).as("streams run by %s", n).isEmpty();
        }
        assertThat(acked.size()).as("acknowledged before the power cut").isGreaterThan(100);
        readBackAcked();
        writeAndReadBack(again);
    }

    /**
     * A node that crashed while it was still streaming its ranges (a bootstrap) holds only part of them:
     * restarted with what it had, it streams again (JOINING) instead of serving the part as if whole.
     */
    @Test
    void nodeThatCrashedWhileStreamingStreamsAgainOnRestart() {
        startCluster(41, 3);
        NodeSimulation.SimNode fourth = sim.start(4, sim.node(1));
        sim.runUntil("node 4 JOINING", () -> {
            poll();
            return fourth.rebalancer().status() == NodeStatus.JOINING;
        }, 30_000);
        fourth.crash();
        sim.runFor(1_000);
        NodeSimulation.SimNode again = sim.restartWithData(fourth, sim.node(1));
        assertThat(again.rebalancer().status()).as("restarted in the middle of its bootstrap")
                .isEqualTo(NodeStatus.JOINING);
        sim.runUntil("node 4 NORMAL", () -> {
            poll();
            return again.rebalancer().status() == NodeStatus.NORMAL;
        }, 60_000);
        finish();
    }

    /**
     * Every node of a three-node cluster (N = 3) is killed and restarted, so every copy of every range
     * restarted empty: no range has a NORMAL replica to stream from. Each node waits JOINING (INFO's
     * count of unsourced ranges above 0, no replica read answered) until {@code BOOTSTRAP FORCE}, sent to each node as a client would, makes them NORMAL; then
     * the cluster takes writes and serves them back at QUORUM through every node.
     */
    @Test
    void wholeClusterRestartWaitsForBootstrapForce() {
        List<NodeSimulation.SimNode> again = restartWholeCluster(11, 0);
        for (int step = 0; step < 30; step++) { // 30 s: ten times the settle time and the recheck together
            sim.runFor(1_000);
            assertWaiting(again);
        }
        assertThat(sim.now() - restartedAt).isGreaterThanOrEqualTo(30_000);
        NodeSimulation.SimClient reader = sim.new SimClient(again.get(0));
        reader.send("GET", "key-1");
        reader.send("SET", "key-1", "lost?");
        sim.runUntil("keyed commands answered while waiting", () -> reader.waiting() == 0, 10_000);
        reader.poll((cmd, reply) -> assertThat(reply).as("%s while every member rejoins", String.join(" ", cmd))
                .isInstanceOfSatisfying(RespValue.Error.class,
                        e -> assertThat(e.message()).contains("CLUSTERDOWN no member serves keys yet")));

        List<NodeSimulation.SimClient> admins = new ArrayList<>();
        for (NodeSimulation.SimNode n : again) {
            NodeSimulation.SimClient admin = sim.new SimClient(n);
            admin.send("BOOTSTRAP", "FORCE");
            admins.add(admin);
        }
        sim.runUntil("BOOTSTRAP FORCE answered", () -> admins.stream().allMatch(c -> c.waiting() == 0), 10_000);
        for (NodeSimulation.SimClient admin : admins) {
            admin.poll((cmd, reply) -> assertThat(reply).as("BOOTSTRAP FORCE on %s", admin.node)
                    .isEqualTo(new RespValue.SimpleString("OK")));
        }
        awaitAllNormal(again, 30_000);
        NodeSimulation.SimClient refused = sim.new SimClient(again.get(1));
        refused.send("BOOTSTRAP", "FORCE");
        sim.runUntil("second BOOTSTRAP FORCE answered", () -> refused.waiting() == 0, 10_000);
        refused.poll((cmd, reply) -> assertThat(reply).as("BOOTSTRAP FORCE on a NORMAL node")
                .isInstanceOf(RespValue.Error.class));
        writeAndReadBack(again);
    }

    /**
     * The same whole-cluster restart with {@code --rejoin-timeout} (RebalanceConfig.rejoinTimeoutMillis):
     * the nodes wait JOINING until the timeout has passed in simulated time, and not before, then go
     * NORMAL by themselves and serve writes and reads.
     */
    @Test
    void wholeClusterRestartGoesNormalAfterTheRejoinTimeout() {
        long timeout = 15_000;
        List<NodeSimulation.SimNode> again = restartWholeCluster(12, timeout);
        // the wait starts when a node first hears from a member, after its restart: never sooner
        while (sim.now() + 1_000 < restartedAt + timeout) {
            sim.runFor(1_000);
            assertWaiting(again);
        }
        awaitAllNormal(again, 15_000);
        assertThat(sim.now() - restartedAt).as("NORMAL only once the rejoin timeout passed")
                .isGreaterThanOrEqualTo(timeout);
        writeAndReadBack(again);
    }

    /** When the whole cluster was restarted, simulated ms. */
    private long restartedAt;

    /**
     * Starts a three-node cluster with the given rejoin timeout, writes for a while, stops, kills every
     * node and restarts each (no seeds: through the members it knew); returns the restarted nodes once
     * each has begun waiting.
     */
    private List<NodeSimulation.SimNode> restartWholeCluster(long seed, long rejoinTimeoutMillis) {
        sim = new NodeSimulation(seed);
        ClusterConfig t = sim.template;
        RebalanceConfig r = t.rebalance();
        sim.template = new ClusterConfig(t.name(), t.seeds(), t.advertise(), t.vnodes(), t.dataDir(), t.membership(),
                t.replication(), t.hints(), t.antiEntropy(), new RebalanceConfig(r.streamBytesPerSecond(),
                        r.autoRemoveAfterMillis(), r.settleMillis(), rejoinTimeoutMillis));
        startCluster(sim, 3);
        writing = false;
        sim.runUntil("replies to every write", () -> {
            poll();
            return writers.stream().allMatch(c -> c.waiting() == 0);
        }, 30_000);
        assertThat(acked).isNotEmpty();
        List<NodeSimulation.SimNode> old = List.copyOf(sim.nodes());
        old.forEach(NodeSimulation.SimNode::crash);
        sim.runFor(1_000);
        List<NodeSimulation.SimNode> again = new ArrayList<>();
        for (NodeSimulation.SimNode n : old) {
            again.add(sim.restart(n));
        }
        restartedAt = sim.now();
        for (NodeSimulation.SimNode n : again) {
            assertThat(n.rebalancer().status()).as("%s restarted", n).isEqualTo(NodeStatus.JOINING);
            assertThat(n.rebalancer().rejoinUnsourcedRanges()).as("%s before its first plan", n).isZero();
        }
        return again;
    }

    /** Every node is JOINING, waits for sources after its first plan, and has answered no replica read. */
    private void assertWaiting(List<NodeSimulation.SimNode> nodes) {
        for (NodeSimulation.SimNode n : nodes) {
            assertThat(n.rebalancer().status()).as("%s at %d ms", n, sim.now()).isEqualTo(NodeStatus.JOINING);
            assertThat(n.member.replica().stats().reads()).as("replica reads %s answered while JOINING", n).isZero();
            if (sim.now() > 5_000 + restartedAt) {
                assertThat(n.rebalancer().rejoinUnsourcedRanges()).as("%s ranges without a source", n).isPositive();
            }
        }
    }

    private void awaitAllNormal(List<NodeSimulation.SimNode> nodes, long maxMillis) {
        sim.runUntil("every node NORMAL", () -> nodes.stream().allMatch(n ->
                n.rebalancer().status() == NodeStatus.NORMAL), maxMillis);
        for (NodeSimulation.SimNode n : nodes) {
            assertThat(n.rebalancer().rejoinUnsourcedRanges()).as("%s unsourced once NORMAL", n).isZero();
        }
        sim.runFor(2_000); // every node hears the others NORMAL
    }

    /** Writes keys at QUORUM through one node and reads each back at QUORUM through every node. */
    private void writeAndReadBack(List<NodeSimulation.SimNode> nodes) {
        NodeSimulation.SimClient w = sim.new SimClient(nodes.get(0));
        for (int i = 0; i < 50; i++) {
            w.send("SET", "after-" + i, "w" + i);
        }
        sim.runUntil("the writes answered", () -> w.waiting() == 0, 30_000);
        w.poll((cmd, reply) -> assertThat(reply).as("SET %s", cmd[1]).isEqualTo(new RespValue.SimpleString("OK")));
        for (NodeSimulation.SimNode n : nodes) {
            NodeSimulation.SimClient reader = sim.new SimClient(n);
            for (int i = 0; i < 50; i++) {
                reader.send("GET", "after-" + i);
            }
            sim.runUntil("reads through " + n, () -> reader.waiting() == 0, 30_000);
            reader.poll((cmd, reply) -> assertThat(reply).as("GET %s through %s", cmd[1], n)
                    .isEqualTo(new RespValue.BulkString(("w" + cmd[1].substring("after-".length()))
                            .getBytes(StandardCharsets.UTF_8))));
        }
    }

    private void startCluster(long seed, int size) {
        startCluster(new NodeSimulation(seed), size);
    }

    private void startCluster(NodeSimulation simulation, int size) {
        sim = simulation;
        sim.dataDirs = dirs;
        sim.antiEntropy = false; // what streams and the write path achieve, without a round to mend them
        NodeSimulation.SimNode first = sim.start(1);
        for (long id = 2; id <= size; id++) {
            sim.start(id, first);
        }
        sim.runUntil("all NORMAL", () -> sim.nodes().stream().allMatch(n ->
                n.state.ring().nodes().size() == size && n.rebalancer().status() == NodeStatus.NORMAL), 60_000);
        sim.runFor(2_000); // the members known are saved
        writers.add(sim.new SimClient(sim.node(size)));
        writers.add(sim.new SimClient(sim.node(size - 1)));
        writing = true;
        writers.forEach(this::write);
        sim.runFor(1_000);
    }

    private void awaitDeadAt(long observer, long dead) {
        sim.runUntil("node " + dead + " DEAD at node " + observer, () -> {
            poll();
            var m = sim.node(observer).state.member(dead);
            return m != null && m.state() == MemberState.DEAD;
        }, 30_000);
    }

    /** Stops writing, then reads every acknowledged key at QUORUM through every node. */
    private void finish() {
        writing = false;
        sim.runUntil("replies to every write", () -> {
            poll();
            return writers.stream().allMatch(c -> c.waiting() == 0);
        }, 30_000);
        assertThat(acked.size()).as("acknowledged writes of %d", sent).isGreaterThan(500);
        readBackAcked();
    }

    /** Reads every acknowledged key at QUORUM through every node. */
    private void readBackAcked() {
        sim.runFor(3_000);
        for (NodeSimulation.SimNode n : sim.nodes()) {
            NodeSimulation.SimClient reader = sim.new SimClient(n);
            Map<String, RespValue> got = new LinkedHashMap<>();
            for (String key : acked.keySet()) {
                reader.send("GET", key);
            }
            sim.runUntil("reads through " + n, () -> {
                reader.poll((cmd, reply) -> got.put(cmd[1], reply));
                return reader.waiting() == 0;
            }, 60_000);
            for (Map.Entry<String, String> e : acked.entrySet()) {
                assertThat(got.get(e.getKey())).as("GET %s through %s", e.getKey(), n)
                        .isEqualTo(new RespValue.BulkString(e.getValue().getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    private void poll() {
        writers.forEach(c -> c.poll((cmd, reply) -> {
            if (reply.equals(new RespValue.SimpleString("OK"))) {
                acked.put(cmd[1], cmd[2]);
            }
        }));
    }

    private void write(NodeSimulation.SimClient client) {
        if (!writing) {
            return;
        }
        poll();
        String key = "key-" + sent;
        client.send("SET", key, "v" + sent);
        sent++;
        sim.after(WRITE_EVERY_MILLIS, () -> write(client));
    }
}
