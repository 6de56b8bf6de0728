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
        LOSS;

        static Set<Kind> parse(String list) {
            Set<Kind> kinds = EnumSet.noneOf(Kind.class);
            if (list.isBlank() || list.equals("none")) {
                return kinds;
            }
            for (String s : list.split(",")) {
                try {
                    kinds.add(valueOf(s.trim().toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--nemesis: unknown fault '" + s + "' (expected: "
                            + "partition, kill, pause, clock, loss, all or none)");
                }
            }
            return kinds;
        }
    }

    /** Default largest clock offset, in ms: the checker's time-uncertainty margin grows with it. */
    static final long MAX_CLOCK_OFFSET_MILLIS = 2_000;
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
    private final List<Integer> killed = new ArrayList<>();
    private final List<Integer> paused = new ArrayList<>();
    private final List<Integer> skewed = new ArrayList<>();
    private int cycles;
    private long maxOffset;

    Nemesis(Network net, Nodes nodes, History history, long seed, Set<Kind> kinds, int combine, long faultMillis,
            long quietMillis, int killVictim, long maxClockOffset) {
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

    /** The largest absolute clock offset applied so far, in ms. */
    synchronized long maxOffset() {
        return maxOffset;
    }

    /** Runs fault cycles until {@code deadlineNanos}, then heals; never leaves a fault in place. */
    void run(long deadlineNanos) {
        if (kinds.isEmpty()) {
            return;
        }
        try {
            while (sleepUntil(Math.min(deadlineNanos, System.nanoTime() + quietMillis * 1_000_000), deadlineNanos)) {
                List<Kind> pool = new ArrayList<>(kinds);
                Collections.shuffle(pool, random);
                int n = 1 + random.nextInt(Math.min(combine, pool.size()));
                for (Kind k : pool.subList(0, n)) {
                    apply(k);
                }
                cycles++;
                sleepUntil(Math.min(deadlineNanos, System.nanoTime() + faultMillis * 1_000_000), Long.MAX_VALUE);
                heal();
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
            };
        } catch (RuntimeException e) {
            what = kind.name().toLowerCase(Locale.ROOT) + " failed: " + e.getMessage();
        }
        history.add(new Op("nemesis", null, "start", null, what, 0, null, start, history.now(), Op.Result.INFO, null));
    }

    private String partition() {
        List<Integer> all = IntStream.rangeClosed(1, nodes.count()).boxed().collect(Collectors.toCollection(ArrayList::new));
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
        int victim = killVictim > 0 ? killVictim : 1 + random.nextInt(nodes.count());
        if (killed.contains(victim)) {
            return "kill skipped: " + victim + " is down";
        }
        nodes.kill(victim);
        killed.add(victim);
        return "kill -9 node " + victim;
    }

    private String pause() {
        int victim = 1 + random.nextInt(nodes.count());
        if (paused.contains(victim) || killed.contains(victim)) {
            return "pause skipped: " + victim;
        }
        nodes.pause(victim);
        paused.add(victim);
        return "kill -STOP node " + victim;
    }

    private String clock() {
        int victim = 1 + random.nextInt(nodes.count());
        boolean jump = maxClockOffset >= MIN_JUMP_MILLIS && random.nextInt(10) < 4;
        long skewMax = Math.min(400, maxClockOffset);
        long magnitude = jump ? MIN_JUMP_MILLIS + (long) (random.nextDouble() * (maxClockOffset - MIN_JUMP_MILLIS))
                : Math.min(skewMax, 100) + (long) (random.nextDouble() * (skewMax - Math.min(skewMax, 100)));
        long offset = random.nextBoolean() ? magnitude : -magnitude;
        boolean done = nodes.clockOffset(victim, offset);
        synchronized (this) {
            maxOffset = Math.max(maxOffset, magnitude);
        }
        skewed.add(victim);
        return (jump ? "clock jump " : "clock skew ") + offset + " ms on node " + victim + (done ? "" : " (node did not answer)");
    }

    private String loss() {
        List<Integer> all = IntStream.rangeClosed(1, nodes.count()).boxed().collect(Collectors.toCollection(ArrayList::new));
        Collections.shuffle(all, random);
        List<Integer> victims = all.subList(0, 1 + random.nextInt(2));
        double p = 0.1 + 0.3 * random.nextDouble();
        for (int v : victims) {
            net.loss(v, p);
        }
        return String.format(Locale.ROOT, "packet loss %.0f%% into nodes %s", p * 100, victims);
    }

    /** Undoes every fault: network rules, pauses, clock offsets, killed nodes (restarted). */
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
        for (int v : skewed) {
            if (!nodes.clockOffset(v, 0)) {
                notes.add("clock reset failed on " + v);
            }
        }
        skewed.clear();
        for (int v : killed) {
            List<Integer> seeds = IntStream.rangeClosed(1, nodes.count()).boxed().filter(s -> s != v).toList();
            try {
                nodes.start(v, seeds);
                if (!nodes.awaitServing(v, Nodes.START_TIMEOUT_MILLIS)) {
                    notes.add("node " + v + " did not serve after restart");
                }
            } catch (IOException e) {
                notes.add("restart of " + v + " failed: " + e.getMessage());
            }
        }
        killed.clear();
        history.add(new Op("nemesis", null, "heal", null, notes.isEmpty() ? "healed" : String.join("; ", notes), 0, null,
                start, history.now(), notes.isEmpty() ? Op.Result.OK : Op.Result.FAIL, null));
    }
}
