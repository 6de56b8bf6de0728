package io.trelliskv.cluster;

import io.trelliskv.common.Key;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.resp.RespValue;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One node's wall clock runs further ahead than {@code --max-clock-drift}, as in the fault harness's forward
 * clock jumps. Its peers refuse the versions it stamps, but a write it acknowledged alone (at ONE) reaches its
 * client's session as a read-your-writes floor, and a write of that connection through a node with a true
 * clock observes the floor before it is stamped. That observation must not carry the fast clock over: the
 * harness once saw one such floor move a true node's clock a second ahead, and from it, through the floors of
 * every client whose write it stamped, the clocks of the others, until deletes issued after a write lost to it.
 * Whole nodes in {@link NodeSimulation}; three of them, each a replica of every key.
 */
class FastClockSimulationTest {

    private static final long MAX_DRIFT = ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS;
    private static final long AHEAD = 1_500;

    @Test
    void aFloorFromAFastNodeIsNotObservedPastTheDriftBoundAndItsKeysWritesWaitForTheClock() {
        NodeSimulation sim = NodeSimulation.threeNodes(5L, 2_000);
        sim.slowChance = 0;
        List<Long> owners = PipelineOrderSimulationTest.ownersOf(sim, "a");
        NodeSimulation.SimNode fast = sim.node(owners.get(0)); // coordinates a's read-modify-writes
        NodeSimulation.SimNode entry = sim.node(owners.get(1));
        fast.clockAheadMillis = AHEAD;

        try (NodeSimulation.SimClient client = sim.new SimClient(entry)) {
            client.send("CONSISTENCY", "ONE");
            // A SET that reads first goes to a's first replica, the fast node, which acknowledges it alone.
            client.send("SET", "a", "fast", "GET");
            sim.runUntil("the forwarded SET's reply", () -> client.waiting() == 0, 10_000);
            Entry fastWrite = fast.engine.stored(Key.of("a"));
            assertThat(Hlc.physical(fastWrite.hlc()) - sim.clock.millis()).isGreaterThan(MAX_DRIFT);

            // A blind write of another key, coordinated by the entry node: its clock stays its own.
            client.send("SET", "b", "x");
            sim.runUntil("SET b's reply", () -> client.waiting() == 0, 10_000);
            assertThat(Hlc.physical(entry.engine.stored(Key.of("b")).hlc()) - sim.clock.millis())
                    .as("how far ahead the entry node stamped b").isLessThanOrEqualTo(MAX_DRIFT);

            // A blind write of a itself would be stamped below the connection's own write of it: refused.
            client.send("SET", "a", "true");
            sim.runUntil("SET a's reply", () -> client.waiting() == 0, 10_000);
            assertThat(client.replies()).hasSize(4);
            assertThat(client.replies().subList(0, 3)).containsExactly(new RespValue.SimpleString("OK"),
                    new RespValue.Null(), new RespValue.SimpleString("OK"));
            assertThat(client.replies().get(3)).isInstanceOf(RespValue.Error.class);
            assertThat(((RespValue.Error) client.replies().get(3)).message())
                    .startsWith("REFUSED write of key 'a': this connection wrote it (or a key sharing its"
                            + " read-your-writes floor) at a version ")
                    .contains("ms ahead of this node's clock (max drift " + MAX_DRIFT + " ms)");
            assertThat(Hlc.physical(entry.engine.stored(Key.of("b")).hlc()) - sim.clock.millis())
                    .isLessThanOrEqualTo(MAX_DRIFT);

            // Once this node's clock is within the bound of the floor, the write goes through, after it.
            sim.runFor(AHEAD - MAX_DRIFT);
            client.send("SET", "a", "true");
            sim.runUntil("the second SET a's reply", () -> client.waiting() == 0, 10_000);
            assertThat(client.replies().get(4)).isEqualTo(new RespValue.SimpleString("OK"));
            assertThat(entry.engine.stored(Key.of("a")).hlc()).isGreaterThan(fastWrite.hlc());
            sim.runUntil("every replica holds the second SET", () -> owners.stream().allMatch(owner -> {
                Entry e = sim.node(owner).engine.stored(Key.of("a"));
                return e != null && "true".equals(new String(e.value(), StandardCharsets.UTF_8));
            }), 10_000);
        }
    }

    /**
     * FLUSHALL on the fast node ({@link ClusterMember#flushAll}): the others refuse its FLUSH message, but its
     * flush floor also travels by gossip. A node that heard it applies it only once its own clock is within the
     * bound of it, as it would the message; applied at once, it would drop every entry written here until the
     * fast clock's time.
     */
    @Test
    void aFlushGossipedFromAFastNodeIsAppliedOnceThisClockIsWithinTheBound() {
        NodeSimulation sim = NodeSimulation.threeNodes(6L, 2_000);
        sim.slowChance = 0;
        List<NodeSimulation.SimNode> nodes = List.copyOf(sim.nodes());
        NodeSimulation.SimNode fast = nodes.get(0);
        NodeSimulation.SimNode other = nodes.get(1);
        fast.clockAheadMillis = AHEAD;

        CompletableFuture<Void> flushAll = fast.member.flushAll(); // FLUSHALL's work on the node
        sim.runUntil("FLUSHALL's answer", flushAll::isDone, 10_000);
        assertThat(flushAll).as("the others refuse the FLUSH message").isCompletedExceptionally();
        Version flush = fast.engine.flushFloor();
        assertThat(Hlc.physical(flush.hlc()) - sim.clock.millis()).isGreaterThan(MAX_DRIFT);

        sim.runUntil("the other node has heard the flush floor", () -> other.state.members().stream()
                .anyMatch(m -> m.id() == fast.id && TokenMeta.parse(m.meta()).flushed().equals(flush)), 10_000);
        assertThat(other.engine.flushFloor()).as("the flush, heard while too far ahead").isEqualTo(Version.ZERO);

        sim.runUntil("the flush applied", () -> other.engine.flushFloor().equals(flush), 10_000);
        assertThat(Hlc.physical(flush.hlc()) - sim.clock.millis())
                .as("how far ahead of the other node's clock the flush was when applied")
                .isLessThanOrEqualTo(MAX_DRIFT);
    }
}
