package io.trelliskv.cluster;

import io.trelliskv.common.Key;
import io.trelliskv.resp.RespValue;
import io.trelliskv.storage.Entry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * A forwarded write held back on its way past its sender's deadline must never be applied over a
 * newer acknowledged write of its key (the fault harness once saw it applied ten seconds late, stamped
 * then, winning over everything written since). Whole nodes in {@link NodeSimulation}: the path from the
 * client's node to the key's coordinator holds requests back for longer than the forward timeout; the
 * client is told TRYAGAIN, writes the key again through the coordinator and is acknowledged; then the
 * held write arrives.
 */
class ZombieWriteSimulationTest {

    /** How long the path holds the first write back: well past the forward timeout and the skew allowance. */
    private static final long HELD_MILLIS = 12_000;

    @Test
    void aForwardHeldPastItsDeadlineIsNotAppliedOverANewerAcknowledgedWrite() {
        Outcome o = run(7L, true);
        assertThat(o.firstReply).isInstanceOf(RespValue.Error.class);
        assertThat(((RespValue.Error) o.firstReply).message()).startsWith("TRYAGAIN");
        assertThat(o.secondReply).isEqualTo(new RespValue.SimpleString("OK"));
        assertThat(o.stored).as("every replica's value of the key").containsOnly("new");
        assertThat(o.expiredForwardsDropped).isEqualTo(1);
    }

    /** What deadlines prevent: without them (nodes of an earlier build) the held write wins. */
    @Test
    void withoutDeadlinesTheHeldForwardWinsOverTheNewerWrite() {
        Outcome o = run(7L, false);
        assertThat(o.secondReply).isEqualTo(new RespValue.SimpleString("OK"));
        assertThat(o.stored).containsOnly("old");
        assertThat(o.expiredForwardsDropped).isZero();
    }

    private record Outcome(RespValue firstReply, RespValue secondReply, List<String> stored,
                           long expiredForwardsDropped) {
    }

    private static Outcome run(long seed, boolean deadlines) {
        // With local coordination a replica would coordinate the write itself instead of forwarding it.
        assumeFalse(Boolean.getBoolean("trelliskv.localCoordination"));
        NodeSimulation sim = PipelineOrderSimulationTest.cluster(seed, true, null);
        sim.slowChance = 0;
        sim.deadlines = deadlines;
        List<Long> owners = PipelineOrderSimulationTest.ownersOf(sim, "k");
        NodeSimulation.SimNode coordinator = sim.node(owners.get(0));
        NodeSimulation.SimNode entry = sim.nodes().stream().filter(n -> n != coordinator).findFirst().orElseThrow();

        try (NodeSimulation.SimClient first = sim.new SimClient(entry);
             NodeSimulation.SimClient second = sim.new SimClient(coordinator)) {
            sim.hold(entry, coordinator, HELD_MILLIS);
            first.send("SET", "k", "old");
            sim.runUntil("the forward's TRYAGAIN", () -> first.waiting() == 0, 10_000);
            sim.hold(entry, coordinator, 0);

            second.send("SET", "k", "new");
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
