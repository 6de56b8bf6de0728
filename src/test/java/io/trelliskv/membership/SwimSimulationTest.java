package io.trelliskv.membership;

import io.trelliskv.membership.SimNetwork.SimNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whole clusters over the simulated network, with the default configuration: 500 ms probe interval,
 * 500 ms probe timeout and a 1 s probe window, 200 ms gossip interval. Each test is deterministic for its seed.
 * The figures quoted in the docs are printed with the prefix {@code [swim-sim]}; run
 * {@code ./mvnw -o test -Dtest='io.trelliskv.membership.SwimSimulationTest' | grep swim-sim}.
 */
class SwimSimulationTest {

    private static final SwimConfig CONFIG = SwimConfig.lan("sim");

    private static void report(String format, Object... args) {
        System.out.println("[swim-sim] " + String.format(Locale.ROOT, format, args));
    }

    private static boolean allAliveEverywhere(List<SimNode> nodes) {
        for (SimNode n : nodes) {
            if (n.swim.count(MemberState.ALIVE) != nodes.size()) {
                return false;
            }
        }
        return true;
    }

    /** Whether every observer sees {@code target} in {@code state}. */
    private static boolean allSee(List<SimNode> observers, SimNode target, MemberState state) {
        for (SimNode o : observers) {
            Member m = o.swim.member(target.id());
            if (m == null || m.state() != state) {
                return false;
            }
        }
        return true;
    }

    private static long sum(List<SimNode> nodes, java.util.function.ToLongFunction<SwimStats> stat) {
        return nodes.stream().mapToLong(n -> stat.applyAsLong(n.swim.stats())).sum();
    }

    private static List<SimNode> others(List<SimNode> nodes, SimNode except) {
        List<SimNode> out = new ArrayList<>(nodes);
        out.remove(except);
        return out;
    }

    private static long converge(SimNetwork net, List<SimNode> nodes) {
        long took = net.runUntil(() -> allAliveEverywhere(nodes), 100, 120_000);
        assertThat(took).as("converged").isNotNegative();
        return took;
    }

    // ---------------------------------------------------------------- convergence

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void hundredNodesConvergeToAFullAliveViewFromOneSeed() {
        SimNetwork net = new SimNetwork(100);
        List<SimNode> nodes = net.startCluster(100, CONFIG);
        long took = converge(net, nodes);
        report("100 nodes, all joining one seed at once: full ALIVE view everywhere after %d ms simulated "
                + "(%.1f protocol periods, %d gossip rounds), %d datagrams", took,
                took / (double) CONFIG.probeIntervalMillis(), took / CONFIG.gossipIntervalMillis(), net.datagramsSent);
        assertThat(nodes).allSatisfy(n -> assertThat(n.swim.isJoined()).isTrue());
        assertThat(sum(nodes, SwimStats::suspicions)).isZero();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void thousandNodesConverge() {
        long cpu0 = cpuMillis();
        SimNetwork net = new SimNetwork(1000);
        List<SimNode> nodes = net.startCluster(1000, CONFIG);
        long took = net.runUntil(() -> allAliveEverywhere(nodes), 200, 300_000);
        assertThat(took).as("converged").isNotNegative();
        report("1000 nodes, all joining one seed at once: full ALIVE view everywhere after %d ms simulated "
                + "(%.1f protocol periods, %d gossip rounds); %d datagrams (%.1f MB), %d false suspicions; "
                + "%d ms of CPU", took, took / (double) CONFIG.probeIntervalMillis(),
                took / CONFIG.gossipIntervalMillis(), net.datagramsSent, net.bytesSent / 1e6,
                sum(nodes, SwimStats::suspicions), cpuMillis() - cpu0);
        assertThat(sum(nodes, SwimStats::suspicions)).isZero();
    }

    private static long cpuMillis() {
        return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() / 1_000_000;
    }

    // ---------------------------------------------------------------- failure detection

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aKilledNodeIsDeclaredDeadByEveryMember() {
        List<String> runs = new ArrayList<>();
        for (long seed = 1; seed <= 5; seed++) {
            SimNetwork net = new SimNetwork(seed);
            List<SimNode> nodes = net.startCluster(50, CONFIG);
            converge(net, nodes);
            net.runFor(5_000);
            SimNode victim = nodes.get(17);
            List<SimNode> survivors = others(nodes, victim);
            net.kill(victim);
            long killedAt = net.now();
            long[] firstSuspect = {-1};
            long[] firstDead = {-1};
            long allDead = net.runUntil(() -> {
                for (SimNode o : survivors) {
                    MemberState s = o.swim.member(victim.id()).state();
                    if (s != MemberState.ALIVE && firstSuspect[0] < 0) {
                        firstSuspect[0] = net.now() - killedAt;
                    }
                    if (s == MemberState.DEAD && firstDead[0] < 0) {
                        firstDead[0] = net.now() - killedAt;
                    }
                }
                return allSee(survivors, victim, MemberState.DEAD);
            }, 50, 120_000);
            runs.add(String.format(Locale.ROOT, "%.2f/%.2f/%.2f s", firstSuspect[0] / 1e3, firstDead[0] / 1e3,
                    allDead / 1e3));
            assertThat(allDead).isPositive().isLessThan(30_000);
            net.runFor(30_000);
            for (SimNode o : survivors) {
                assertThat(o.swim.count(MemberState.DEAD)).as("nobody else dies").isEqualTo(1);
                assertThat(o.swim.memberCount()).as("the dead stay listed").isEqualTo(50);
            }
        }
        report("50 nodes, one killed (5 seeds), first SUSPECT / first DEAD / DEAD at all 49 after the kill: %s "
                + "(minimum suspicion timeout %d ms)", String.join(", ", runs),
                Suspicion.minTimeoutMillis(CONFIG.suspicionMult(), 50, CONFIG.probeIntervalMillis()));
    }

    /**
     * The target: SIGKILL to DEAD at every member of a 5-node cluster within 5 s, with the
     * defaults. Each seed kills another member at another point of the probe rounds. And a dead member's
     * failed probes are nobody's fault: its relays nack in time, so no survivor's awareness rises.
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aKilledNodeOfFiveIsDeadEverywhereWithinFiveSeconds() {
        int seeds = 100;
        long[] took = new long[seeds];
        int maxAwareness = 0;
        for (int s = 0; s < seeds; s++) {
            SimNetwork net = new SimNetwork(1000 + s);
            List<SimNode> nodes = net.startCluster(5, CONFIG);
            converge(net, nodes);
            net.runFor(5_000 + (s * 7919L) % 10_000);
            SimNode victim = nodes.get(s % 5);
            List<SimNode> survivors = others(nodes, victim);
            net.kill(victim);
            took[s] = net.runUntil(() -> allSee(survivors, victim, MemberState.DEAD), 10, 60_000);
            assertThat(took[s]).as("seed %d: kill -> DEAD at all 4", 1000 + s)
                    .isNotNegative().isLessThanOrEqualTo(5_000);
            for (SimNode o : survivors) {
                maxAwareness = Math.max(maxAwareness, o.swim.awarenessScore());
            }
        }
        long[] sorted = took.clone();
        java.util.Arrays.sort(sorted);
        report("5 nodes, one killed (%d seeds): DEAD at all 4 after %.2f-%.2f s (median %.2f s); max awareness "
                + "score of a survivor %d", seeds, sorted[0] / 1e3, sorted[seeds - 1] / 1e3, sorted[seeds / 2] / 1e3,
                maxAwareness);
        assertThat(maxAwareness).as("awareness of the survivors").isZero();
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void tenPercentPacketLossForTenMinutesGivesNoFalseDeaths() {
        SimNetwork net = new SimNetwork(10);
        List<SimNode> nodes = net.startCluster(50, CONFIG);
        converge(net, nodes);
        net.dropProbability = 0.10;
        long periods = 0;
        net.runFor(600_000);
        periods = sum(nodes, SwimStats::probes);
        long suspicions = sum(nodes, SwimStats::suspicions);
        long raised = sum(nodes, SwimStats::probesFailed);
        report("50 nodes, 10%% datagram loss for 600 s simulated: %d false DEAD, %d suspicions raised by "
                        + "failed probes out of %d probes, %d SUSPECT transitions in all views, %d refutations; "
                        + "max awareness score %d", sum(nodes, SwimStats::deaths), raised, periods, suspicions,
                sum(nodes, SwimStats::refutations),
                nodes.stream().mapToInt(n -> n.swim.awarenessScore()).max().orElse(0));
        assertThat(sum(nodes, SwimStats::deaths)).as("false DEAD").isZero();
        net.dropProbability = 0;
        net.runFor(10_000);
        assertThat(allAliveEverywhere(nodes)).isTrue();
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aPartitionIntoHalvesIsDetectedAndHeals() {
        SimNetwork net = new SimNetwork(20);
        List<SimNode> nodes = net.startCluster(20, CONFIG);
        converge(net, nodes);
        List<SimNode> left = nodes.subList(0, 10);
        List<SimNode> right = nodes.subList(10, 20);
        net.partition(left, right);
        long split = net.runUntil(() -> {
            for (SimNode a : left) {
                for (SimNode b : right) {
                    if (!allSee(List.of(a), b, MemberState.DEAD) || !allSee(List.of(b), a, MemberState.DEAD)) {
                        return false;
                    }
                }
            }
            return true;
        }, 100, 300_000);
        assertThat(split).as("each side declares the other DEAD").isNotNegative();
        int falseWithinSide = 0;
        for (List<SimNode> side : List.of(left, right)) {
            for (SimNode a : side) {
                for (SimNode b : side) {
                    if (a.swim.member(b.id()).state() != MemberState.ALIVE) {
                        falseWithinSide++;
                    }
                }
            }
        }
        net.runFor(60_000);
        net.heal();
        long healed = net.runUntil(() -> allAliveEverywhere(nodes), 100, 300_000);
        report("20 nodes split 10/10: every node sees the other side DEAD after %d ms (%d non-ALIVE views "
                + "within a side at that moment); after heal, all ALIVE everywhere after %d ms", split,
                falseWithinSide, healed);
        assertThat(healed).as("all ALIVE again after the heal").isNotNegative();
    }

    /**
     * A node whose every packet leaves late. Under the probe timeout (400 ms) nothing happens; over it
     * but within the probe window (800 ms) the late direct ack still counts. Beyond the window
     * (1500 ms) its acks miss every deadline, so it is suspected over and over, but it refutes each time
     * and is never declared DEAD; and Lifeguard makes it notice its own trouble (the nacks it expects from
     * indirect probers arrive too late too) and slow down, so it seldom accuses healthy nodes: the run
     * with Lifeguard turned off (awareness multiplier 1) shows how often it would.
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aSlowNodeThatStillAnswersIsNotDeclaredDead() {
        for (long delay : new long[] {400, 800, 1500, -1500}) {
            boolean lifeguard = delay > 0;
            SwimConfig config = lifeguard ? CONFIG : CONFIG.toBuilder().awarenessMaxMultiplier(1).build();
            SimNetwork net = new SimNetwork(30 + Math.abs(delay));
            List<SimNode> nodes = net.startCluster(30, config);
            converge(net, nodes);
            SimNode slow = nodes.get(3);
            List<SimNode> others = others(nodes, slow);
            net.slow(slow, Math.abs(delay));
            int[] deadViews = {0};
            int[] suspectViews = {0};
            int[] healthyDeadViews = {0};
            net.runChecking(300_000, 500, t -> {
                for (SimNode o : nodes) {
                    for (SimNode m : nodes) {
                        MemberState s = o.swim.member(m.id()).state();
                        if (m != slow) {
                            healthyDeadViews[0] += s == MemberState.DEAD ? 1 : 0;
                        } else if (o != slow) {
                            deadViews[0] += s == MemberState.DEAD ? 1 : 0;
                            suspectViews[0] += s == MemberState.SUSPECT ? 1 : 0;
                        }
                    }
                }
            });
            SwimStats st = slow.swim.stats();
            report("30 nodes, one answering %d ms late for 300 s%s: SUSPECT in %.1f%% of views, DEAD in %d of "
                            + (600 * others.size()) + "; it "
                            + "refuted %d times; it accused healthy nodes after %d of its %d probes, awareness "
                            + "score %d at the end; healthy nodes DEAD in %d views", Math.abs(delay),
                    lifeguard ? "" : " (Lifeguard off)", 100.0 * suspectViews[0] / (600 * others.size()),
                    deadViews[0], st.refutations(), st.probesFailed(), st.probes(), slow.swim.awarenessScore(),
                    healthyDeadViews[0]);
            assertThat(healthyDeadViews[0]).as("views with a healthy node DEAD").isZero();
            if (Math.abs(delay) < config.probeWindowMillis()) {
                assertThat(deadViews[0]).as("views with the slow node DEAD").isZero();
                assertThat(sum(others, SwimStats::deaths)).as("DEAD transitions at the others").isZero();
            } else {
                // Beyond the probe window it answers no probe in time: suspected, refuting, and at worst
                // declared DEAD for a moment until its refutation arrives.
                assertThat(deadViews[0]).as("views with the slow node DEAD").isLessThan(600 * others.size() / 100);
            }
            if (delay == 1500) {
                assertThat(st.probes()).as("Lifeguard: the slow node probes less often").isLessThan(100);
                assertThat(st.probesFailed()).as("false accusations by the slow node").isLessThan(st.probes() / 10);
            }
        }
    }

    // ---------------------------------------------------------------- partial partitions

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aNodeThatHearsEverythingButCannotSendIsDeclaredDead() {
        SimNetwork net = new SimNetwork(40);
        List<SimNode> nodes = net.startCluster(20, CONFIG);
        converge(net, nodes);
        SimNode mute = nodes.get(5);
        List<SimNode> others = others(nodes, mute);
        for (SimNode o : others) {
            net.cutOneWay(mute, o);
        }
        long took = net.runUntil(() -> allSee(others, mute, MemberState.DEAD), 100, 120_000);
        report("20 nodes, one that receives but cannot send: DEAD everywhere after %d ms", took);
        assertThat(took).isNotNegative();
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void cutLinksBetweenSomePairsDoNotKillAnyone() {
        SimNetwork net = new SimNetwork(41);
        List<SimNode> nodes = net.startCluster(20, CONFIG);
        converge(net, nodes);
        // Each of the first five nodes loses its links to two others, in one direction or both.
        for (int i = 0; i < 5; i++) {
            net.cutOneWay(nodes.get(i), nodes.get(10 + i));
            net.cutOneWay(nodes.get(i + 5), nodes.get(i));
            net.cutOneWay(nodes.get(i), nodes.get(i + 5));
        }
        net.runFor(300_000);
        report("20 nodes, 15 links cut (5 both ways, 5 one way) for 300 s: %d DEAD transitions, %d suspicions, "
                        + "%d indirect probes", sum(nodes, SwimStats::deaths), sum(nodes, SwimStats::suspicions),
                sum(nodes, SwimStats::indirectProbesSent));
        assertThat(sum(nodes, SwimStats::deaths)).isZero();
        assertThat(allAliveEverywhere(nodes)).isTrue();
    }

    // ---------------------------------------------------------------- leave and foreign clusters

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aNodeThatLeavesIsLeftEverywhere() {
        SimNetwork net = new SimNetwork(50);
        List<SimNode> nodes = net.startCluster(30, CONFIG);
        converge(net, nodes);
        SimNode leaver = nodes.get(9);
        List<SimNode> others = others(nodes, leaver);
        long[] spreadAt = {-1};
        long start = net.now();
        leaver.swim.leave(() -> {
            spreadAt[0] = net.now() - start;
            leaver.swim.stop();
        });
        long took = net.runUntil(() -> allSee(others, leaver, MemberState.LEFT), 50, 60_000);
        net.runFor(120_000);
        report("30 nodes, one leaving: its LEFT broadcast spread (and it stopped) after %d ms; LEFT everywhere "
                + "after %d ms", spreadAt[0], took);
        assertThat(took).isNotNegative();
        assertThat(allSee(others, leaver, MemberState.LEFT)).as("still LEFT, not DEAD, after it stopped").isTrue();
        assertThat(sum(others, SwimStats::deaths)).isZero();
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void anotherClusterIsNeverMerged() {
        SimNetwork net = new SimNetwork(60);
        List<SimNode> a = new ArrayList<>();
        List<SimNode> b = new ArrayList<>();
        SwimConfig configB = CONFIG.toBuilder().clusterName("other").build();
        for (int i = 0; i < 5; i++) {
            a.add(net.addNode(CONFIG));
            b.add(net.addNode(configB));
        }
        for (int i = 0; i < 5; i++) {
            a.get(i).swim.start();
            a.get(i).swim.join(List.of(a.get(0).address));
            b.get(i).swim.start();
            // b's nodes are also told of a's seed, as a misconfigured node would be.
            b.get(i).swim.join(List.of(a.get(0).address, b.get(0).address));
        }
        // And a member of b that only knows a's seed keeps retrying it.
        SimNode stray = net.addNode(configB);
        stray.swim.start();
        stray.swim.join(List.of(a.get(0).address));
        net.runFor(120_000);
        report("cluster 'sim' (5) and 'other' (5 + 1 stray): a's seed refused %d foreign push-pulls; the stray "
                + "made %d join attempts", a.get(0).swim.stats().foreignCluster(), stray.swim.stats().pushPulls());
        assertThat(a).allSatisfy(n -> assertThat(n.swim.memberCount()).isEqualTo(5));
        assertThat(b).allSatisfy(n -> assertThat(n.swim.memberCount()).isEqualTo(5));
        assertThat(allAliveEverywhere(a)).isTrue();
        assertThat(allAliveEverywhere(b)).isTrue();
        assertThat(a.get(0).swim.stats().foreignCluster()).isPositive();
        assertThat(stray.swim.isJoined()).isFalse();
        assertThat(stray.swim.memberCount()).isEqualTo(1);
    }
}
