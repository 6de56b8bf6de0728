package io.trelliskv.cluster;

import io.trelliskv.common.Key;
import io.trelliskv.resp.RespValue;
import io.trelliskv.storage.Entry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A forwarded write held back on its way past its sender's deadline must never be applied over a
 * newer acknowledged write of its key (the fault harness once saw it applied ten seconds late, stamped
 * then, winning over everything written since). Whole nodes in {@link NodeSimulation}: the path from the
 * client's node to the key's coordinator holds requests back for longer than the forward timeout; the
 * client is told TRYAGAIN, writes the key again through the coordinator and is acknowledged; then the
 * held write arrives. The writes are {@code SET k v GET}: a SET that reads the key is coordinated by the
 * key's first live replica, so it is forwarded even from a node that is a replica (a plain SET would be
 * coordinated there).
 */
class ZombieWriteSimulationTest {

    /** How long the path holds the first write back: well past the forward timeout and the skew allowance. */
    private static final long HELD_MILLIS = 12_000;

    @Test
    void aForwardHeldPastItsDeadlineIsNotAppliedOverANewerAcknowledgedWrite() {
        Outcome o = run(7L, true);
        assertThat(o.firstReply).isInstanceOf(RespValue.Error.class);
        assertThat(((RespValue.Error) o.firstReply).message()).startsWith("TRYAGAIN");
        assertThat(o.secondReply).isNotInstanceOf(RespValue.Error.class);
        assertThat(o.stored).as("every replica's value of the key").containsOnly("new");
        assertThat(o.expiredForwardsDropped).isEqualTo(1);
    }

    /** A forward held back by less than its deadline (and the skew allowance) is applied as ever. */
    @Test
    void aForwardHeldWithinItsDeadlineIsApplied() {
        NodeSimulation sim = PipelineOrderSimulationTest.cluster(7L, true, null);
        sim.slowChance = 0;
        List<Long> owners = PipelineOrderSimulationTest.ownersOf(sim, "k");
        NodeSimulation.SimNode coordinator = sim.node(owners.get(0));
        NodeSimulation.SimNode entry = sim.nodes().stream().filter(n -> n != coordinator).findFirst().orElseThrow();
        try (NodeSimulation.SimClient client = sim.new SimClient(entry)) {
            sim.hold(entry, coordinator, 4_000);
            client.send("SET", "k", "in time", "GET");
            sim.runUntil("the forward's reply", () -> client.waiting() == 0, 10_000);
            assertThat(client.replies()).containsExactly(new RespValue.Null());
            assertThat(new String(coordinator.engine.stored(Key.of("k")).value(), StandardCharsets.UTF_8))
                    .isEqualTo("in time");
            assertThat(coordinator.dispatcher.stats().expiredForwardsDropped()).isZero();
        }
    }

    /** What deadlines prevent: without them (nodes of an earlier build) the held write wins. */
    @Test
    void withoutDeadlinesTheHeldForwardWinsOverTheNewerWrite() {
        Outcome o = run(7L, false);
        assertThat(o.secondReply).isNotInstanceOf(RespValue.Error.class);
        assertThat(o.stored).containsOnly("old");
        assertThat(o.expiredForwardsDropped).isZero();
    }

    /**
     * The checks after arrival: a pipelined INCR and SET ... GET of one key are forwarded together; the
     * INCR's read of the other replicas is held back past both commands' deadline. The INCR's read phase
     * ends after its deadline, so it writes nothing; the SET, whose turn comes after the INCR, is not
     * started. Neither is applied after its sender gave up, and both are counted.
     */
    @Test
    void forwardsWhoseDeadlinePassedDuringTheirReadPhaseOrWhileTheyWaitedInTheirStreamWriteNothing() {
        NodeSimulation sim = NodeSimulation.threeNodes(11L, 20_000); // coordinators wait up to 20 s for replicas
        List<Long> owners = PipelineOrderSimulationTest.ownersOf(sim, "k");
        NodeSimulation.SimNode coordinator = sim.node(owners.get(0));
        NodeSimulation.SimNode entry = sim.node(owners.get(1));
        try (NodeSimulation.SimClient client = sim.new SimClient(entry)) {
            for (long other : owners.subList(1, owners.size())) {
                sim.hold(coordinator, sim.node(other), 8_000);
            }
            client.send(List.of(new String[] {"INCR", "k"}, new String[] {"SET", "k", "late", "GET"}));
            sim.runUntil("both forwards answered", () -> client.waiting() == 0, 10_000);
            assertThat(client.replies()).allSatisfy(r -> assertThat(r).isInstanceOf(RespValue.Error.class));
            for (long other : owners.subList(1, owners.size())) {
                sim.hold(coordinator, sim.node(other), 0);
            }
            sim.runFor(10_000); // the reads come back after the deadline; the SET's turn comes

            for (long owner : owners) {
                assertThat(sim.node(owner).engine.stored(Key.of("k"))).as("node %d's copy of k", owner).isNull();
            }
            assertThat(coordinator.dispatcher.stats().expiredForwardsDropped()).isEqualTo(2);
        }
    }

    private record Outcome(RespValue firstReply, RespValue secondReply, List<String> stored,
                           long expiredForwardsDropped) {
    }

    private static Outcome run(long seed, boolean deadlines) {
        NodeSimulation sim = PipelineOrderSimulationTest.cluster(seed, true, null);
        sim.slowChance = 0;
        sim.deadlines = deadlines;
        List<Long> owners = PipelineOrderSimulationTest.ownersOf(sim, "k");
        NodeSimulation.SimNode coordinator = sim.node(owners.get(0));
        NodeSimulation.SimNode entry = sim.nodes().stream().filter(n -> n != coordinator).findFirst().orElseThrow();

        try (NodeSimulation.SimClient first = sim.new SimClient(entry);
             NodeSimulation.SimClient second = sim.new SimClient(coordinator)) {
            sim.hold(entry, coordinator, HELD_MILLIS);
            first.send("SET", "k", "old", "GET");
            sim.runUntil("the forward's TRYAGAIN", () -> first.waiting() == 0, 10_000);
            sim.hold(entry, coordinator, 0);

            second.send("SET", "k", "new", "GET");
            sim.runUntil("the newer write acknowledged", () -> second.waiting() == 0, 5_000);
            sim.runFor(HELD_MILLIS); // the held write arrives, and whatever it wrote is replicated

            List<String> stored = new ArrayList<>();
            for (long owner : owners) {
                Entry e = sim.node(owner).engine.stored(Key.of("k"));
                stored.add(e == null || e.value() == null ? null : new String(e.value(), StandardCharsets.UTF_8));
            }
            return new Outcome(first.replies().get(0), second.replies().get(0), stored,
                    coordinator.dispatcher.stats().expiredForwardsDropped());
        }
    }
}
