package io.trelliskv.harness;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The nemesis: a thread that, in cycles until the deadline, waits {@code quiet} ms, then applies one or
 * more faults at once (up to {@code combine}, chosen at random from the enabled {@link Kind}s), keeps
 * them {@code faultMillis}, and heals everything. Each fault start and heal is an entry in the history
 * (client {@code nemesis}). All choices come from the run's seed.
 */
final class Nemesis {

    /** The faults the nemesis knows. */
    enum Kind {
        /** Network partition: random halves, one node isolated, a bridge, or a one-way cut. */
        PARTITION,
        /** SIGKILL a node, restart it (same --data-dir) at the heal. */
        KILL,
        /** SIGSTOP a node, SIGCONT at the heal. */
        PAUSE,
        /** Skew (±100–400 ms) or jump (±1 s to --max-clock-offset, default 2 s) one node's wall clock. */
        CLOCK,
        /** Drop 10–40 % of the packets from other nodes to one or two nodes. */
        LOSS,
        /**
         * Membership change: DECOMMISSION a node (it streams its ranges away, leaves, exits 0) when the
         * cluster is at full size, or start a fresh node (new data dir, new id) at the free address slot
         * when it is one short; the cluster stays within [nodes-1, nodes] and never below 3.
         */
        CHURN,
        /**
         * Power cut ({@code killall}): SIGKILL every node at once; at the heal restart them all on their
         * data directories, where each recovers its log. Skipped while a membership change is under way.
         */
        KILL_ALL;

        /**
         * What {@code all} means: every kind but CHURN and KILL_ALL, so the long-run defaults (and HarnessIT)
         * stay as they were.
         */
        static final Set<Kind> ALL = Collections.unmodifiableSet(EnumSet.range(PARTITION, LOSS));

        /** A comma-separated list of kinds; {@code all} may be one of them ({@code all,churn}); {@code none} is empty. */
        static Set<Kind> parse(String list) {
            Set<Kind> kinds = EnumSet.noneOf(Kind.class);
            if (list.isBlank() || list.equals("none")) {
                return kinds;
            }
            for (String s : list.split(",")) {
                if (s.trim().equals("all")) {
                    kinds.addAll(ALL);
                    continue;
                }
                Kind kind = switch (s.trim().toLowerCase(Locale.ROOT)) {
                    case "partition" -> PARTITION;
                    case "kill" -> KILL;
                    case "pause" -> PAUSE;
                    case "clock" -> CLOCK;
                    case "loss" -> LOSS;
                    case "churn" -> CHURN;
                    case "killall" -> KILL_ALL;
                    default -> throw new IllegalArgumentException("--nemesis: unknown fault '" + s + "' (expected: "
                            + "partition, kill, pause, clock, loss, churn, killall, all or none)");
                };
                kinds.add(kind);
            }
            return kinds;
        }
    }

    /** Default largest clock offset, in ms: the checker's time-uncertainty margin grows with it. */
    static final long MAX_CLOCK_OFFSET_MILLIS = 2_000;
    /** From DECOMMISSION to the process's exit, and from a fresh node's start to NORMAL (counted from the heal). */
    static final long CHURN_TIMEOUT_MILLIS = 90_000;
    /** Never decommission below this many nodes (the replication factor). */
    private static final int MIN_NODES = 3;
    /** Smallest jump; offsets below are skews. */
    private static final long MIN_JUMP_MILLIS = 1_000;

    private final Network net;
    private final Nodes nodes;
    private final History history;
    private final Random random;
    private final List<Kind> kinds;
    private final int combine;
    private final long faultMillis;
    private final long quietMillis;
    /** The only node KILL may hit, or 0 for any node. */
    private final int killVictim;
    /** Largest clock offset to set, in ms (jumps only if at least {@link #MIN_JUMP_MILLIS}). */
    private final long maxClockOffset;
    /** The nodes' --appendfsync, named in each kill-all's history line for the {@link Checker}. */
    private final String appendFsync;
    private final List<Integer> killed = new ArrayList<>();
    /** Whether this cycle cut every node's power (KILL_ALL): churn waits for the next cycle. */
    private boolean powerCut;
    /** Kill-alls so far; incremented before the first node dies. */
    private final java.util.concurrent.atomic.AtomicInteger powerCuts = new java.util.concurrent.atomic.AtomicInteger();
    private final List<Integer> paused = new ArrayList<>();
    private final List<Integer> skewed = new ArrayList<>();
    /** The slot being decommissioned (DECOMMISSION sent, exit not yet seen), or 0. */
    private int leaving;
    /** The slot a fresh node is joining at (started, not yet NORMAL), or 0. */
    private int joining;
    private int decommissions;
    private int joins;
    private int churnFailures;
    private int cycles;
    private long maxOffset;
    /**
     * History ms until which a version stamped by one node may still exceed one stamped later by
     * another: +∞ from the moment a clock offset is set until it is reset, then the largest offset plus
     * the nodes' drift bound and 250 ms (the checker's slack) past the reset; −∞ before any clock fault.
     */
    private volatile double clockUncertainUntil = Double.NEGATIVE_INFINITY;

    Nemesis(Network net, Nodes nodes, History history, long seed, Set<Kind> kinds, int combine, long faultMillis,
            long quietMillis, int killVictim, long maxClockOffset, String appendFsync) {
        this.appendFsync = appendFsync;
        this.net = net;
        this.nodes = nodes;
        this.history = history;
        this.random = new Random(seed ^ 0x5DEECE66DL);
        this.kinds = kinds.isEmpty() ? List.of() : List.copyOf(EnumSet.copyOf(kinds)); // fixed order: the seed replays
        this.combine = Math.max(1, combine);
        this.faultMillis = faultMillis;
        this.quietMillis = quietMillis;
        this.killVictim = killVictim;
        this.maxClockOffset = maxClockOffset;
    }

    int cycles() {
        return cycles;
    }

    /** How many kill-alls have begun (a {@link PipelinedClient} that sees it change may have lost writes). */
    int powerCuts() {
        return powerCuts.get();
    }

    /** Membership changes so far, for the summary. */
    String churnSummary() {
        return decommissions + " decommissions, " + joins + " joins, " + churnFailures + " failed";
    }

    /** Live slots that no other fault of this cycle or churn has taken. */
    private List<Integer> eligible() {
        return nodes.live().stream().filter(v -> v != leaving && v != joining).collect(Collectors.toCollection(ArrayList::new));
    }

    /**
     * Until when (history ms) clock faults may let a blind write lose to an older one by last-writer-wins
     * (docs/USAGE.md, "Guarantees"): the {@link PipelinedClient}s allow it for a SET that ran before then.
     */
    double clockUncertainUntil() {
        return clockUncertainUntil;
    }

    /** The largest absolute clock offset applied so far, in ms. */
    synchronized long maxOffset() {
        return maxOffset;
    }

    /**
     * Runs fault cycles until {@code deadlineNanos}, then heals; never leaves a fault in place. With
     * {@code finalKillAll}, a kill-all at the deadline ends the run — with the faults of a cycle still in
     * effect then, while the clients' last operations are still being answered — before the heal restarts
     * every node.
     */
    void run(long deadlineNanos, boolean finalKillAll) {
        if (kinds.isEmpty() && !finalKillAll) {
            return;
        }
        try {
            while (!kinds.isEmpty()
                    && sleepUntil(Math.min(deadlineNanos, System.nanoTime() + quietMillis * 1_000_000), deadlineNanos)) {
                List<Kind> pool = new ArrayList<>(kinds);
                Collections.shuffle(pool, random);
                int n = 1 + random.nextInt(Math.min(combine, pool.size()));
                for (Kind k : pool.subList(0, n)) {
                    apply(k);
                }
                cycles++;
                sleepUntil(Math.min(deadlineNanos, System.nanoTime() + faultMillis * 1_000_000), Long.MAX_VALUE);
                if (finalKillAll && System.nanoTime() - deadlineNanos >= 0) {
                    break;
                }
                heal();
            }
            if (finalKillAll) {
                sleepUntil(deadlineNanos, Long.MAX_VALUE);
                apply(Kind.KILL_ALL);
            }
        } finally {
            heal();
        }
    }

    /** Sleeps until {@code untilNanos}; returns false if that is at or past {@code deadlineNanos}. */
    private static boolean sleepUntil(long untilNanos, long deadlineNanos) {
        long ms = (untilNanos - System.nanoTime()) / 1_000_000;
        if (ms > 0) {
            Nodes.sleep(ms);
        }
        return untilNanos < deadlineNanos && !Thread.currentThread().isInterrupted();
    }

    private void apply(Kind kind) {
        double start = history.now();
        String what;
        try {
            what = switch (kind) {
                case PARTITION -> partition();
                case KILL -> kill();
                case PAUSE -> pause();
                case CLOCK -> clock();
                case LOSS -> loss();
                case CHURN -> churn();
                case KILL_ALL -> killAll();
            };
        } catch (RuntimeException e) {
            what = kind.name().toLowerCase(Locale.ROOT) + " failed: " + e.getMessage();
        }
        history.add(new Op("nemesis", null, "start", null, what, 0, null, start, history.now(), Op.Result.INFO, null));
    }

    private String partition() {
        List<Integer> all = new ArrayList<>(nodes.live());
        Collections.shuffle(all, random);
        int n = all.size();
        switch (random.nextInt(4)) {
            case 0 -> {
                List<Integer> a = all.subList(0, n / 2);
                List<Integer> b = all.subList(n / 2, n);
                net.partition(a, b);
                return "partition halves " + a + " | " + b;
            }
            case 1 -> {
                List<Integer> a = all.subList(0, 1);
                List<Integer> b = all.subList(1, n);
                net.partition(a, b);
                return "partition isolate " + a + " | " + b;
            }
            case 2 -> {
                // Two sides that cannot see each other, and one node (the bridge) that sees both.
                int bridge = all.get(0);
                List<Integer> a = all.subList(1, 1 + (n - 1) / 2);
                List<Integer> b = all.subList(1 + (n - 1) / 2, n);
                net.partition(a, b);
                return "partition bridge " + a + " <" + bridge + "> " + b;
            }
            default -> {
                int from = all.get(0);
                for (int to : all.subList(1, n)) {
                    net.drop(from, to);
                }
                return "partition one-way: nothing from " + from + " reaches the others (it still hears them)";
            }
        }
    }

    private String kill() {
        List<Integer> live = nodes.live();
        int victim = killVictim > 0 ? killVictim : live.get(random.nextInt(live.size()));
        if (killed.contains(victim)) {
            return "kill skipped: " + victim + " is down";
        }
        if (!eligible().contains(victim)) {
            return "kill skipped: " + victim + " is leaving, joining or gone";
        }
        nodes.kill(victim);
        killed.add(victim);
        return "kill -9 node " + victim;
    }

    /**
     * A power cut: SIGKILL to every live node at once (those another fault of this cycle killed already are
     * down). The history line, {@code kill-all: ...}, spans the kill and names the nodes' --appendfsync:
     * the {@link Checker} allows the writes that policy may lose (under everysec, those acknowledged within
     * about a second before it) and no others. Skipped while a membership change is under way.
     *
     * <p>SIGKILL ends the processes, not the machine: what a node had handed to the kernel (written, not
     * yet forced) survives in the page cache and reaches the disk anyway. So this is every process
     * crashing at once; the loss a real power cut adds (bytes written but not forced) cannot happen here.
     */
    private String killAll() {
        if (leaving != 0 || joining != 0) {
            return "kill-all skipped: a membership change is under way";
        }
        List<Integer> victims = nodes.live().stream().filter(v -> !killed.contains(v)).toList();
        powerCuts.incrementAndGet();
        powerCut = true;
        nodes.killAll(victims);
        killed.addAll(victims);
        return "kill-all: kill -9 nodes " + victims + " at once (power cut; appendfsync " + appendFsync + ")";
    }

    private String pause() {
        List<Integer> live = nodes.live();
        int victim = live.get(random.nextInt(live.size()));
        if (paused.contains(victim) || killed.contains(victim) || !eligible().contains(victim)) {
            return "pause skipped: " + victim;
        }
        nodes.pause(victim);
        paused.add(victim);
        return "kill -STOP node " + victim;
    }

    private String clock() {
        List<Integer> live = nodes.live();
        int victim = live.get(random.nextInt(live.size()));
        boolean jump = maxClockOffset >= MIN_JUMP_MILLIS && random.nextInt(10) < 4;
        long skewMax = Math.min(400, maxClockOffset);
        long magnitude = jump ? MIN_JUMP_MILLIS + (long) (random.nextDouble() * (maxClockOffset - MIN_JUMP_MILLIS))
                : Math.min(skewMax, 100) + (long) (random.nextDouble() * (skewMax - Math.min(skewMax, 100)));
        long offset = random.nextBoolean() ? magnitude : -magnitude;
        clockUncertainUntil = Double.POSITIVE_INFINITY;
        boolean done = nodes.clockOffset(victim, offset);
        synchronized (this) {
            maxOffset = Math.max(maxOffset, magnitude);
        }
        skewed.add(victim);
        return (jump ? "clock jump " : "clock skew ") + offset + " ms on node " + victim + (done ? "" : " (node did not answer)");
    }

    private String loss() {
        List<Integer> all = new ArrayList<>(nodes.live());
        Collections.shuffle(all, random);
        List<Integer> victims = all.subList(0, 1 + random.nextInt(2));
        double p = 0.1 + 0.3 * random.nextDouble();
        for (int v : victims) {
            net.loss(v, p);
        }
        return String.format(Locale.ROOT, "packet loss %.0f%% into nodes %s", p * 100, victims);
    }

    /**
     * Decommissions a node when the cluster is at full size (and above {@link #MIN_NODES}), else starts a
     * fresh node at the free slot. The slot leaves {@link Nodes#live()} when the leaving process exits
     * (clients stop sending to it then), and a joining node enters it once NORMAL; {@link #heal} waits
     * for both, bounded by {@link #CHURN_TIMEOUT_MILLIS}.
     */
    private String churn() {
        if (leaving != 0 || joining != 0) {
            return "churn skipped: a membership change is under way";
        }
        if (powerCut) {
            return "churn skipped: every node is down";
        }
        List<Integer> live = nodes.live();
        if (live.size() == nodes.count() && live.size() > MIN_NODES) {
            List<Integer> candidates = eligible();
            candidates.removeAll(killed);
            candidates.removeAll(paused);
            if (candidates.isEmpty()) {
                return "churn skipped: no node to decommission";
            }
            int victim = candidates.get(random.nextInt(candidates.size()));
            String reply = nodes.decommission(victim);
            if (!"OK".equals(reply)) {
                churnFailures++;
                return "decommission node " + victim + " refused: " + reply;
            }
            leaving = victim;
            Process p = nodes.process(victim);
            if (p != null) {
                // Clients stop sending to the address the moment the process is gone.
                p.onExit().thenRun(() -> {
                    if (nodes.process(victim) == p) {
                        nodes.setLive(victim, false);
                    }
                });
            }
            return "decommission node " + victim;
        }
        if (live.size() < nodes.count()) {
            int slot = IntStream.rangeClosed(1, nodes.count()).filter(i -> !live.contains(i)).findFirst().orElseThrow();
            try {
                nodes.startFresh(slot, live);
            } catch (IOException e) {
                churnFailures++;
                return "join of a fresh node at slot " + slot + " failed: " + e.getMessage();
            }
            joining = slot;
            return "join fresh node at slot " + slot + " (seeds " + live + ")";
        }
        return "churn skipped: " + live.size() + " nodes, at least " + MIN_NODES;
    }

    /**
     * Waits for a decommission or join under way to finish; a note if it did not, a note starting with
     * {@code +} if it did, null if there was none.
     */
    private String finishChurn() {
        String done = null;
        if (leaving != 0) {
            int v = leaving;
            Integer status = nodes.awaitExit(v, CHURN_TIMEOUT_MILLIS);
            leaving = 0;
            if (status == null) {
                churnFailures++;
                // Still running (LEAVING, its stream stuck): keep it live so the run goes on, and say so.
                return "node " + v + " did not exit within " + CHURN_TIMEOUT_MILLIS / 1000 + " s of its decommission"
                        + " (status " + nodes.ringStatus(v) + ")";
            }
            nodes.setLive(v, false);
            if (status != 0) {
                churnFailures++;
                return "decommissioned node " + v + " exited " + status;
            }
            decommissions++;
            done = "node " + v + " left (exit 0)";
        }
        if (joining != 0) {
            int v = joining;
            long deadline = System.nanoTime() + CHURN_TIMEOUT_MILLIS * 1_000_000;
            String status = null;
            while (System.nanoTime() < deadline && nodes.alive(v) && !"NORMAL".equals(status = nodes.ringStatus(v))) {
                Nodes.sleep(250);
            }
            joining = 0;
            if (!nodes.alive(v)) {
                churnFailures++;
                return "fresh node at slot " + v + " exited during its join";
            }
            nodes.setLive(v, true);
            if (!"NORMAL".equals(status)) {
                churnFailures++;
                return "fresh node at slot " + v + " not NORMAL within " + CHURN_TIMEOUT_MILLIS / 1000 + " s (" + status + ")";
            }
            joins++;
            done = (done == null ? "" : done + "; ") + "fresh node at slot " + v + " NORMAL";
        }
        return done == null ? null : "+" + done;
    }

    /** Undoes every fault: network rules, pauses, clock offsets, killed nodes (restarted); finishes churn. */
    void heal() {
        double start = history.now();
        List<String> notes = new ArrayList<>();
        List<Integer> netFailed = net.heal();
        if (!netFailed.isEmpty()) {
            notes.add("iptables flush failed on " + netFailed);
        }
        for (int v : paused) {
            nodes.resume(v);
        }
        paused.clear();
        boolean clocksReset = true;
        for (int v : skewed) {
            if (!nodes.clockOffset(v, 0) && nodes.alive(v)) {
                notes.add("clock reset failed on " + v);
                clocksReset = false;
            }
        }
        if (!skewed.isEmpty() && clocksReset) {
            clockUncertainUntil = history.now() + maxOffset() + Harness.MAX_DRIFT_MILLIS + 250;
        }
        skewed.clear();
        // Start every killed node first, then wait for each: after a kill-all they come back together.
        List<Integer> started = new ArrayList<>();
        for (int v : killed) {
            List<Integer> seeds = nodes.live().stream().filter(s -> s != v).toList();
            try {
                nodes.start(v, seeds);
                started.add(v);
            } catch (IOException e) {
                notes.add("restart of " + v + " failed: " + e.getMessage());
            }
        }
        for (int v : started) {
            if (!nodes.awaitServing(v, Nodes.START_TIMEOUT_MILLIS)) {
                notes.add("node " + v + " did not serve after restart");
            }
        }
        if (powerCut) {
            // Each restarted node recovered its log and is NORMAL at once; say so if one is not.
            for (int v : started) {
                String status = nodes.ringStatus(v);
                if (!"NORMAL".equals(status)) {
                    notes.add("node " + v + " " + status + " after the kill-all (expected NORMAL: it kept its data)");
                }
            }
        }
        killed.clear();
        powerCut = false;
        String churnNote = finishChurn();
        String churnDone = "";
        if (churnNote != null && churnNote.startsWith("+")) {
            churnDone = "; " + churnNote.substring(1);
        } else if (churnNote != null) {
            notes.add(churnNote);
        }
        history.add(new Op("nemesis", null, "heal", null, (notes.isEmpty() ? "healed" : String.join("; ", notes)) + churnDone, 0, null,
                start, history.now(), notes.isEmpty() ? Op.Result.OK : Op.Result.FAIL, null));
    }
}
