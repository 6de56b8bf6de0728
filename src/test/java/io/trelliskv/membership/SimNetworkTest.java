package io.trelliskv.membership;

import io.trelliskv.membership.SimNetwork.SimNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The simulated network itself: replay from a seed, and each of its switches. */
class SimNetworkTest {

    private static final SwimConfig CONFIG = SwimConfig.lan("sim");

    /** Everything observable about a run, to compare two runs. */
    private static List<Object> fingerprint(SimNetwork net) {
        List<Object> out = new ArrayList<>();
        out.add(net.datagramsSent);
        out.add(net.datagramsDropped);
        out.add(net.bytesSent);
        for (SimNode n : net.nodes()) {
            out.add(n.swim.members());
            out.add(n.swim.stats().suspicions());
            out.add(n.swim.stats().refutations());
            out.add(n.swim.awarenessScore());
        }
        return out;
    }

    private static SimNetwork lossyRun(long seed) {
        SimNetwork net = new SimNetwork(seed);
        List<SimNode> nodes = net.startCluster(12, CONFIG);
        net.dropProbability = 0.2;
        net.runFor(20_000);
        net.kill(nodes.get(4));
        net.runFor(40_000);
        return net;
    }

    @Test
    void aRunIsAPureFunctionOfItsSeed() {
        assertThat(fingerprint(lossyRun(5))).isEqualTo(fingerprint(lossyRun(5)));
        assertThat(fingerprint(lossyRun(5))).isNotEqualTo(fingerprint(lossyRun(6)));
    }

    @Test
    void datagramsAreDroppedWithTheConfiguredProbability() {
        SimNetwork net = lossyRun(9);
        assertThat(net.datagramsDropped / (double) net.datagramsSent).isCloseTo(0.2, within(0.02));
    }

    private static List<SimNode> pair(SimNetwork net) {
        List<SimNode> nodes = net.startCluster(2, CONFIG);
        net.runFor(5_000);
        assertThat(nodes).allSatisfy(n -> assertThat(n.swim.count(MemberState.ALIVE)).isEqualTo(2));
        return nodes;
    }

    @Test
    void aOneWayCutStopsOneDirectionOnly() {
        SimNetwork net = new SimNetwork(1);
        List<SimNode> nodes = pair(net);
        SimNode a = nodes.get(0);
        SimNode b = nodes.get(1);
        net.cutOneWay(a, b);
        net.runFor(10); // packets already in flight arrive or not, by the cut at delivery
        long bReceived = b.swim.stats().packetsReceived();
        long aReceived = a.swim.stats().packetsReceived();
        net.runFor(3_000);
        assertThat(b.swim.stats().packetsReceived()).isEqualTo(bReceived);
        assertThat(a.swim.stats().packetsReceived()).isGreaterThan(aReceived);
        net.heal();
        net.runFor(3_000);
        assertThat(b.swim.stats().packetsReceived()).isGreaterThan(bReceived);
    }

    @Test
    void aKilledNodeNeitherSendsNorReceives() {
        SimNetwork net = new SimNetwork(2);
        List<SimNode> nodes = pair(net);
        SimNode a = nodes.get(0);
        SimNode b = nodes.get(1);
        net.kill(b);
        net.runFor(10);
        long aReceived = a.swim.stats().packetsReceived();
        long bReceived = b.swim.stats().packetsReceived();
        net.runFor(5_000);
        assertThat(a.swim.stats().packetsReceived()).isEqualTo(aReceived);
        assertThat(b.swim.stats().packetsReceived()).isEqualTo(bReceived);
        net.revive(b);
        net.runFor(5_000);
        assertThat(a.swim.stats().packetsReceived()).isGreaterThan(aReceived);
    }

    @Test
    void aLinkDelayAppliesToOneLinkOnly() {
        SimNetwork net = new SimNetwork(3);
        List<SimNode> nodes = net.startCluster(3, CONFIG);
        net.runFor(5_000);
        SimNode a = nodes.get(0);
        SimNode b = nodes.get(1);
        SimNode c = nodes.get(2);
        net.setLinkDelay(b, a, 1_200); // b's packets to a miss the period, the relay's do not
        net.runFor(30_000);
        assertThat(a.swim.stats().indirectProbesSent()).isPositive();
        assertThat(a.swim.stats().probesFailed()).isZero();
        assertThat(c.swim.stats().indirectProbesSent()).as("c's links are all fast").isZero();
    }

    @Test
    void timeOnlyMovesWhenTheSimulationRuns() {
        SimNetwork net = new SimNetwork(4);
        long t0 = net.now();
        int[] ran = {0};
        net.scheduler.schedule(100, () -> ran[0]++);
        Scheduler.Cancellable cancelled = net.scheduler.schedule(50, () -> ran[0] += 10);
        cancelled.cancel();
        net.runFor(99);
        assertThat(ran[0]).isZero();
        net.runFor(1);
        assertThat(ran[0]).isEqualTo(1);
        assertThat(net.now() - t0).isEqualTo(100);
        assertThat(net.runUntil(() -> net.now() - t0 >= 1_000, 300, 10_000)).isEqualTo(1_100 - 200);
    }
}
