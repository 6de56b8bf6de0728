package io.trelliskv.harness;

import io.trelliskv.common.DaemonThreads;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A Jepsen-style run against a real cluster: builds the {@link Network}, starts the {@link Nodes},
 * runs the {@link Workload} and the {@link Nemesis} together for the run's duration, heals, waits for
 * the cluster to settle, lets the replicas converge, reads every key at ALL, and hands the history to
 * the {@link Checker}. Prints a summary ending in {@code N passed, M failed}; exit status 0 only if
 * every check passed (1: a violation, 2: the run itself could not be carried out).
 *
 * <p>Everything it creates (namespaces, bridge, rules, processes) is removed at the end — in a finally
 * block and, for a JVM that is being killed, a shutdown hook — and whatever an earlier run with the same
 * run id left behind is removed at the start. Every wait has a deadline.
 *
 * <p>Usage (see docs/TESTING.md): {@code bin/trellis-harness [--workload mixed|counter|versioned] [--duration 30m] [--seed N] [--nodes 5]
 * [--clients 6] [--pipelined 2] [--nemesis partition,kill,pause,clock,loss,churn,killall] [--combine 2] [--fault 8s] [--quiet 4s]
 * [--kill-scope one|any] [--max-clock-offset 2s] [--appendfsync always|everysec|no] [--final-killall yes] [--secure yes] [--sloppy-quorum yes] [--think 10ms] [--run-id 2] [--run-dir DIR]
 * [--jar PATH] [--converge-timeout 60s]}
 */
public final class Harness {

    /** --max-clock-drift the nodes run with (their default). */
    static final long MAX_DRIFT_MILLIS = 500;
    /** From the heal to every node seeing every other ALIVE. */
    static final long SETTLE_TIMEOUT_MILLIS = 90_000;
    /** Final read attempts per key. */
    private static final int FINAL_READ_ATTEMPTS = 5;
    private static final int FINAL_READERS = 4;

    /** The run's options; {@link #parse} reads them from flags. */
    record Options(long durationMillis, long seed, int nodes, int clients, int pipelined, Set<Nemesis.Kind> nemesis,
                   int combine, long faultMillis, long quietMillis, boolean killAny, int runId, Path runDir, Path jar,
                   long convergeTimeoutMillis, long thinkMillis, long maxClockOffsetMillis, String appendFsync,
                   boolean finalKillAll, WorkloadKind workload, boolean secure, boolean sloppyQuorum) {

        /** The nodes' node default, when --appendfsync is not given. */
        static final String DEFAULT_APPEND_FSYNC = "everysec";

        /** The node options every node gets besides the harness's own. */
        List<String> nodeArgs() {
            List<String> args = new ArrayList<>();
            if (appendFsync != null) {
                args.addAll(List.of("--appendfsync", appendFsync));
            }
            if (secure) {
                Path dir = secureDir().toAbsolutePath();
                args.addAll(List.of("--tls-cluster", "yes", "--tls-cert-file", dir.resolve("server.crt").toString(),
                        "--tls-key-file", dir.resolve("server.key").toString(),
                        "--tls-ca-cert-file", dir.resolve("ca.crt").toString(),
                        "--cluster-secret-file", dir.resolve("cluster.secret").toString(),
                        "--gossip-key-file", dir.resolve("gossip.keys").toString()));
                args.addAll(ClientAccess.nodeArgs(dir));
            }
            if (sloppyQuorum) {
                args.add("--sloppy-quorum");
            }
            return args;
        }

        /** Where --secure keeps the nodes' shared TLS files, cluster secret, gossip key and ACL file. */
        Path secureDir() {
            return runDir.resolve("secure");
        }

        /** The --appendfsync the nodes run with. */
        String effectiveAppendFsync() {
            return appendFsync == null ? DEFAULT_APPEND_FSYNC : appendFsync;
        }

        static Options parse(String... args) {
            long duration = 120_000;
            long seed = System.currentTimeMillis();
            int nodes = 5;
            int clients = 6;
            int pipelined = 2;
            Set<Nemesis.Kind> nemesis = Nemesis.Kind.ALL;
            int combine = 2;
            long fault = 8_000;
            long quiet = 4_000;
            boolean killAny = false;
            int runId = 2;
            Path runDir = null;
            Path jar = Path.of("target", "trelliskv.jar");
            long converge = 60_000;
            long think = 0;
            long maxClockOffset = Nemesis.MAX_CLOCK_OFFSET_MILLIS;
            String appendFsync = null;
            boolean finalKillAll = false;
            WorkloadKind workload = WorkloadKind.MIXED;
            boolean secure = false;
            boolean sloppyQuorum = false;
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(flag + " needs a value");
                }
                String v = args[++i];
                switch (flag) {
                    case "--duration" -> duration = io.trelliskv.common.Durations.parse(v).toMillis();
                    case "--seed" -> seed = Long.parseLong(v);
                    case "--nodes" -> nodes = Integer.parseInt(v);
                    case "--clients" -> clients = Integer.parseInt(v);
                    case "--pipelined" -> pipelined = Integer.parseInt(v);
                    case "--nemesis" -> nemesis = Nemesis.Kind.parse(v);
                    case "--combine" -> combine = Integer.parseInt(v);
                    case "--fault" -> fault = io.trelliskv.common.Durations.parse(v).toMillis();
                    case "--quiet" -> quiet = io.trelliskv.common.Durations.parse(v).toMillis();
                    case "--kill-scope" -> {
                        if (!v.equals("one") && !v.equals("any")) {
                            throw new IllegalArgumentException("--kill-scope: " + v + " (expected: one or any)");
                        }
                        killAny = v.equals("any");
                    }
                    case "--run-id" -> runId = Integer.parseInt(v);
                    case "--run-dir" -> runDir = Path.of(v);
                    case "--jar" -> jar = Path.of(v);
                    case "--max-clock-offset" -> maxClockOffset = io.trelliskv.common.Durations.parse(v).toMillis();
                    case "--think" -> think = io.trelliskv.common.Durations.parse(v).toMillis();
                    case "--appendfsync" -> {
                        if (!List.of("always", "everysec", "no").contains(v)) {
                            throw new IllegalArgumentException("--appendfsync: " + v + " (expected: always, everysec or no)");
                        }
                        appendFsync = v;
                    }
                    case "--final-killall" -> {
                        if (!v.equals("yes") && !v.equals("no")) {
                            throw new IllegalArgumentException("--final-killall: " + v + " (expected: yes or no)");
                        }
                        finalKillAll = v.equals("yes");
                    }
                    case "--workload" -> workload = WorkloadKind.parse(v);
                    case "--secure" -> {
                        if (!v.equals("yes") && !v.equals("no")) {
                            throw new IllegalArgumentException("--secure: " + v + " (expected: yes or no)");
                        }
                        secure = v.equals("yes");
                    }
                    case "--sloppy-quorum" -> {
                        if (!v.equals("yes") && !v.equals("no")) {
                            throw new IllegalArgumentException("--sloppy-quorum: " + v + " (expected: yes or no)");
                        }
                        sloppyQuorum = v.equals("yes");
                    }
                    case "--converge-timeout" -> converge = io.trelliskv.common.Durations.parse(v).toMillis();
                    default -> throw new IllegalArgumentException("unknown option " + flag);
                }
            }
            if (nodes < 3) {
                throw new IllegalArgumentException("--nodes: " + nodes + " (expected: >= 3, the replication factor)");
            }
            if (clients < 1) {
                throw new IllegalArgumentException("--clients: " + clients + " (expected: >= 1)");
            }
            if (pipelined < 0) {
                throw new IllegalArgumentException("--pipelined: " + pipelined + " (expected: >= 0)");
            }
            if (runDir == null) {
                runDir = Path.of("target", "harness", "tkh" + runId);
            }
            return new Options(duration, seed, nodes, clients, pipelined, nemesis, combine, fault, quiet, killAny, runId, runDir,
                    jar, converge, think, maxClockOffset, appendFsync, finalKillAll, workload, secure, sloppyQuorum);
        }
    }

    /**
     * What the clients do ({@code --workload}): the set, register, delete and TTL keys with the pipelined
     * clients ({@link Workload}, {@link PipelinedClient}), convergent counters ({@link CounterWorkload}) or
     * sets in versioned keys ({@link VersionedSetWorkload}); one kind a run, each with its own checker.
     */
    enum WorkloadKind {
        MIXED, COUNTER, VERSIONED;

        static WorkloadKind parse(String v) {
            for (WorkloadKind k : values()) {
                if (k.name().toLowerCase(Locale.ROOT).equals(v)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("--workload: " + v + " (expected: mixed, counter or versioned)");
        }

        String flag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Options options;
    private final PrintStream out;
    private final Network net;
    private final Nodes nodes;
    private final Object cleanupLock = new Object();
    private boolean cleanedUp;

    Harness(Options options, PrintStream out) {
        this.options = options;
        this.out = out;
        this.net = new Network(options.runId(), options.nodes());
        this.nodes = new Nodes(net, options.runDir(), options.jar().toAbsolutePath(), options.nodes(), options.nodeArgs(),
                options.secure() ? ClientAccess.secured(options.secureDir().toAbsolutePath()) : ClientAccess.plain());
    }

    /** The history's line that says the nodes ran with --sloppy-quorum, which the checker needs to know. */
    static final String SLOPPY_QUORUM_COMMENT = "# nodes: --sloppy-quorum";

    /** What --help prints (docs/TESTING.md has the details). */
    static final String USAGE = """
            usage: bin/trellis-harness [options]        (needs root; docs/TESTING.md)
              --duration D          how long clients and nemesis run (default 120s)
              --seed N              seeds faults, victims and clients (default: the time)
              --nodes N             nodes in the cluster, >= 3 (default 5)
              --workload W          mixed (set/register/delete/TTL and pipelined clients), counter
                                    (INCRBY) or versioned (VGET/VSET sets) (default mixed)
              --clients N           clients of the workload (default 6)
              --pipelined N         pipelined clients besides them, mixed only, 0 for none (default 2)
              --nemesis LIST        partition,kill,pause,clock,loss,churn,killall | all | none
                                    (default all: not churn, not killall)
              --combine N           at most this many faults at once (default 2)
              --fault D / --quiet D how long faults last / healed time between them (default 8s / 4s)
              --kill-scope one|any  SIGKILL only the last node, or any (default one)
              --max-clock-offset D  largest clock offset (default 2s)
              --appendfsync P       always|everysec|no, passed to every node (default: not passed, the
                                    node's everysec); the checker allows kill-all losses by it
              --final-killall yes   end the workload with one kill-all, besides the nemesis (default no)
              --secure yes          peers over mutual TLS (--tls-cluster yes), with a cluster secret and
                                    sealed gossip; the workload's clients over TLS as an ACL user (default no)
              --sloppy-quorum yes   nodes count the hints they keep for down replicas toward the write
                                    level; the checker then holds other connections' reads to no
                                    stale-read or delete rule, the pipelined clients keep their connection
                                    (default no)
              --think D             pause between one client's operations (default 0)
              --run-id N            names and subnet of the run (default 2)
              --run-dir DIR         where history, summary and logs go (default target/harness/tkh<run-id>)
              --converge-timeout D  bound on replica convergence after the heal (default 60s)
              --jar PATH            the node jar (default target/trelliskv.jar)
              --check-history FILE  re-run the checker on a recorded history.tsv, alone
            exit status: 0 every check passed, 1 a violation, 2 the run could not be carried out
            """;

    public static void main(String[] args) {
        int status;
        if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
            System.out.print(USAGE);
            System.exit(0);
        }
        try {
            if (args.length == 2 && args[0].equals("--check-history")) {
                System.exit(recheck(Path.of(args[1])));
            }
            Options options = Options.parse(args);
            status = new Harness(options, System.out).run().violations() == 0 ? 0 : 1;
        } catch (IllegalArgumentException e) {
            System.err.println("trellis-harness: " + e.getMessage());
            status = 2;
        } catch (Exception e) {
            System.err.println("trellis-harness: run failed: " + e);
            e.printStackTrace();
            status = 2;
        }
        System.exit(status);
    }

    /**
     * Runs the checker again on a recorded history (after a checker fix, say): the margin comes from the
     * clock offsets the nemesis lines record; convergence is taken as it was reported at the time.
     */
    static int recheck(Path historyFile) throws IOException {
        List<Op> ops = new ArrayList<>();
        long maxOffset = 0;
        boolean sloppyQuorum = false;
        java.util.regex.Pattern clock = java.util.regex.Pattern.compile("clock (?:skew|jump) (-?\\d+) ms");
        for (String line : Files.readAllLines(historyFile, StandardCharsets.UTF_8)) {
            if (line.startsWith("#") || line.isBlank()) {
                sloppyQuorum |= line.equals(SLOPPY_QUORUM_COMMENT);
                continue;
            }
            Op op = Op.parse(line);
            if (op.client().equals("nemesis")) {
                java.util.regex.Matcher m = clock.matcher(op.value() == null ? "" : op.value());
                if (m.find()) {
                    maxOffset = Math.max(maxOffset, Math.abs(Long.parseLong(m.group(1))));
                }
            }
            ops.add(op);
        }
        if (ops.stream().anyMatch(o -> o.key() != null && o.key().startsWith(CounterWorkload.KEY_PREFIX))) {
            CounterChecker.Result r = CounterChecker.check(ops, true, "as reported by the run");
            return recheckCausal(historyFile, ops, r.checks(), CounterChecker.report(r));
        }
        if (ops.stream().anyMatch(o -> o.key() != null && o.key().startsWith(VersionedSetWorkload.KEY_PREFIX))) {
            VersionedSetChecker.Result r = VersionedSetChecker.check(ops, true, "as reported by the run");
            return recheckCausal(historyFile, ops, r.checks(), VersionedSetChecker.report(r));
        }
        Checker checker = new Checker(MAX_DRIFT_MILLIS, maxOffset, sloppyQuorum);
        Checker.Summary s = checker.check(ops, true, "convergence: as reported by the run");
        System.out.printf(Locale.ROOT, "re-checked %s: %d operations, %d acknowledged, lost %d, stale %d, ryw %d, "
                        + "phantoms %d, reappeared %d deleted %d expired, late indeterminate %d, margin %.0f ms%n", historyFile,
                s.operations(), s.acknowledged(), s.lost(), s.stale(), s.rywViolations(), s.phantoms(), s.reappeared(),
                s.expiredSeen(), s.lateIndeterminate(), checker.margin());
        if (s.pipelined().pipelines() > 0) {
            System.out.print(pipelinedLines(s.pipelined()));
        }
        System.out.print(cutLines(s.cutLosses()));
        for (Checker.Check check : s.checks()) {
            System.out.println((check.passed() ? "  PASS " : "  FAIL ") + check.name()
                    + (check.passed() || check.detail().isBlank() ? "" : "\n       " + check.detail().replace("\n", "\n       ")));
        }
        System.out.printf(Locale.ROOT, "%d passed, %d failed%n", s.passed(), s.violations());
        return s.violations() == 0 ? 0 : 1;
    }

    /** {@link #recheck} of a counter or versioned history: its checker's lines and checks. */
    private static int recheckCausal(Path historyFile, List<Op> ops, List<Checker.Check> checks, String lines) {
        Checker.Summary s = causalSummary(ops, checks);
        System.out.printf(Locale.ROOT, "re-checked %s: %d operations, %d acknowledged (failed %d, indeterminate %d)%n",
                historyFile, s.operations(), s.acknowledged(), s.failed(), s.indeterminate());
        System.out.print(lines);
        for (Checker.Check check : s.checks()) {
            System.out.println((check.passed() ? "  PASS " : "  FAIL ") + check.name()
                    + (check.passed() || check.detail().isBlank() ? "" : "\n       " + check.detail().replace("\n", "\n       ")));
        }
        System.out.printf(Locale.ROOT, "%d passed, %d failed%n", s.passed(), s.violations());
        return s.violations() == 0 ? 0 : 1;
    }

    /**
     * For {@code --secure yes}: one CA and one node certificate (peers do not check host names, so every node
     * may present the same one), a cluster secret and a gossip key, shared by every node of the run; and the
     * client side ({@link ClientAccess}): the nodes' ACL file and the workload user's password.
     */
    private static void makeSecureFiles(Path dir) throws IOException {
        Files.createDirectories(dir);
        try {
            io.trelliskv.testing.TestCertificates.make(dir, "");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while making certificates", e);
        }
        java.security.SecureRandom random = new java.security.SecureRandom();
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        Files.writeString(dir.resolve("cluster.secret"), java.util.HexFormat.of().formatHex(secret) + "\n");
        byte[] key = new byte[32];
        random.nextBytes(key);
        Files.writeString(dir.resolve("gossip.keys"), java.util.Base64.getEncoder().encodeToString(key) + "\n");
        ClientAccess.makeFiles(dir, random);
    }

    /** Runs the whole test and returns its summary; cleans up on every path. */
    Checker.Summary run() throws IOException {
        if (!Files.isRegularFile(options.jar())) {
            throw new IllegalArgumentException("no jar at " + options.jar() + ": build it with ./mvnw -q package -DskipTests");
        }
        int leftovers = Nodes.killLeftovers(options.runDir(), net.prefix());
        net.cleanup();
        deleteTree(options.runDir());
        Files.createDirectories(options.runDir());
        if (options.secure()) {
            makeSecureFiles(options.secureDir().toAbsolutePath());
        }
        Thread hook = new Thread(this::cleanup, "tkh-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try (History history = new History(options.runDir().resolve("history.tsv"))) {
            if (options.sloppyQuorum()) {
                history.comment(SLOPPY_QUORUM_COMMENT);
            }
            out.printf(Locale.ROOT, "trellis-harness: %s workload, seed %d, %d nodes, %d clients + %d pipelined, %d s, nemesis %s (combine %d, "
                            + "fault %d ms, quiet %d ms, kill %s), appendfsync %s%s, run dir %s%s%n", options.workload().flag(),
                    options.seed(), options.nodes(), options.clients(), pipelined(),
                    options.durationMillis() / 1000, options.nemesis(), options.combine(), options.faultMillis(),
                    options.quietMillis(), options.killAny() ? "any node" : "node " + options.nodes() + " only",
                    options.effectiveAppendFsync() + (options.appendFsync() == null ? " (node default)" : ""),
                    options.sloppyQuorum() ? ", sloppy quorum" : "", options.runDir(), leftovers > 0 ? " (killed " + leftovers + " leftover processes)" : "");
            net.create();
            startCluster();
            out.printf(Locale.ROOT, "trellis-harness: cluster of %d up at %.1f s%n", options.nodes(), history.now() / 1000);

            Nemesis nemesis = new Nemesis(net, nodes, history, options.seed(), options.nemesis(), options.combine(),
                    options.faultMillis(), options.quietMillis(), options.killAny() ? 0 : options.nodes(),
                    options.maxClockOffsetMillis(), options.effectiveAppendFsync());
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.durationMillis());
            Workload workload = new Workload(nodes, history, options.thinkMillis(), nemesis::clockUncertainUntil,
                    nemesis::powerCuts, !options.effectiveAppendFsync().equals("always"), options.sloppyQuorum());
            List<Thread> clients = switch (options.workload()) {
                case MIXED -> workload.start(options.clients(), options.pipelined(), options.seed(), deadline);
                case COUNTER -> new CounterWorkload(nodes, history, options.thinkMillis())
                        .start(options.clients(), options.seed(), deadline);
                case VERSIONED -> new VersionedSetWorkload(nodes, history, options.thinkMillis())
                        .start(options.clients(), options.seed(), deadline);
            };
            Thread nemesisThread = DaemonThreads.start("tkh-nemesis", () -> nemesis.run(deadline, options.finalKillAll()));
            for (Thread t : clients) {
                join(t, options.durationMillis() + 60_000);
            }
            join(nemesisThread, options.durationMillis() + 120_000);
            double healed = history.now();

            boolean settled = awaitUntil(SETTLE_TIMEOUT_MILLIS, nodes::healthy);
            double settledAt = history.now();
            out.printf(Locale.ROOT, "trellis-harness: workload done after %d nemesis cycles; cluster %s %.1f s after the heal%n",
                    nemesis.cycles(), settled ? "settled (all ALIVE everywhere)" : "NOT settled", (settledAt - healed) / 1000);

            List<String> convergeKeys = switch (options.workload()) {
                case MIXED -> registers();
                case COUNTER -> CounterWorkload.keys();
                case VERSIONED -> touchedKeys(history, VersionedSetWorkload.KEY_PREFIX);
            };
            Convergence convergence = converge(history, convergeKeys, options.workload() == WorkloadKind.MIXED
                    ? "registers" : options.workload().flag() + " keys");
            String convergenceDetail = convergence.detail + (settled ? "" : "; membership did not settle within "
                    + SETTLE_TIMEOUT_MILLIS / 1000 + " s");
            boolean converged = convergence.converged && settled;
            Checker.Summary summary;
            String report;
            if (options.workload() == WorkloadKind.MIXED) {
                finalReads(history);
                Checker checker = new Checker(MAX_DRIFT_MILLIS, nemesis.maxOffset(), options.sloppyQuorum());
                summary = checker.check(history.ops(), converged, convergenceDetail);
                report = report(summary, convergence, checker.margin(), nemesis.cycles(), nemesis.churnSummary());
            } else if (options.workload() == WorkloadKind.COUNTER) {
                finalReadsEverywhere(history, convergeKeys, "read", (j, key) -> j.get(key));
                CounterChecker.Result result = CounterChecker.check(history.ops(), converged, convergenceDetail);
                summary = causalSummary(history.ops(), result.checks());
                report = causalReport(summary, convergence, nemesis.cycles(), nemesis.churnSummary(),
                        CounterChecker.report(result));
            } else {
                finalReadsEverywhere(history, convergeKeys, VersionedSetWorkload.VGET, (j, key) -> {
                    List<String> reply = VersionedSetWorkload.vget(j, key);
                    return reply.isEmpty() ? null
                            : String.join(VersionedSetChecker.SIBLING_SEPARATOR, reply.subList(1, reply.size()));
                });
                VersionedSetChecker.Result result = VersionedSetChecker.check(history.ops(), converged, convergenceDetail);
                summary = causalSummary(history.ops(), result.checks());
                report = causalReport(summary, convergence, nemesis.cycles(), nemesis.churnSummary(),
                        VersionedSetChecker.report(result));
            }
            out.print(report);
            Files.writeString(options.runDir().resolve("summary.txt"), report, StandardCharsets.UTF_8);
            return summary;
        } finally {
            cleanup();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down: the hook runs cleanup, which is idempotent
            }
        }
    }

    /** A numeric INFO field summed over the nodes, as text; nodes that do not answer are named, not counted. */
    private String infoSum(String section, String field) {
        long sum = 0;
        List<Integer> silent = new ArrayList<>();
        for (int i = 1; i <= options.nodes(); i++) {
            try (Jedis j = nodes.admin(i)) {
                String prefix = field + ":";
                sum += j.info(section).lines().filter(l -> l.startsWith(prefix))
                        .mapToLong(l -> Long.parseLong(l.substring(prefix.length()).trim())).sum();
            } catch (RuntimeException e) {
                silent.add(i);
            }
        }
        return sum + (silent.isEmpty() ? "" : " (nodes " + silent + " did not answer)");
    }

    private void startCluster() throws IOException {
        List<Integer> seeds = new ArrayList<>();
        for (int i = 1; i <= options.nodes(); i++) {
            nodes.start(i, seeds);
            if (!nodes.awaitServing(i, Nodes.START_TIMEOUT_MILLIS)) {
                throw new IllegalStateException("node " + i + " did not serve within " + Nodes.START_TIMEOUT_MILLIS
                        + " ms; see " + options.runDir().resolve("logs"));
            }
            int expected = i;
            if (!awaitUntil(30_000, () -> expected == ringNodes(1))) {
                throw new IllegalStateException("node " + i + " did not join the ring of node 1 within 30 s");
            }
            seeds.add(i);
        }
        if (!awaitUntil(SETTLE_TIMEOUT_MILLIS, nodes::healthy)) {
            throw new IllegalStateException("the cluster did not settle: not every node sees " + options.nodes() + " ALIVE");
        }
    }

    private int ringNodes(int node) {
        try (Jedis j = nodes.admin(node)) {
            for (String line : j.info("cluster").split("\r?\n")) {
                if (line.startsWith("ring_nodes:")) {
                    return Integer.parseInt(line.substring("ring_nodes:".length()).trim());
                }
            }
        } catch (RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** How the registers converged: whether all did within the bound, and the time the slowest took. */
    private record Convergence(boolean converged, double millis, String detail) {
    }

    /** The register keys of the mixed workload, {@code r:0} … */
    private static List<String> registers() {
        List<String> keys = new ArrayList<>();
        for (int r = 0; r < Workload.REGISTERS; r++) {
            keys.add("r:" + r);
        }
        return keys;
    }

    /** The keys with {@code prefix} that the clients touched, in order of first appearance. */
    private static List<String> touchedKeys(History history, String prefix) {
        Set<String> keys = new LinkedHashSet<>();
        for (Op o : history.ops()) {
            if (o.key() != null && o.key().startsWith(prefix) && !o.client().equals("nemesis")) {
                keys.add(o.key());
            }
        }
        return List.copyOf(keys);
    }

    /**
     * Polls REPLICAS of every key of {@code keys} (the registers, the counters or the versioned keys)
     * until all its replicas are alive and hold the same version, reading at ALL between polls (a read at
     * ALL repairs the replicas that answered older; a counter's or a versioned key's read joins them);
     * bounded by --converge-timeout.
     */
    private Convergence converge(History history, List<String> keys, String noun) {
        double begin = history.now();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.convergeTimeoutMillis());
        List<String> notConverged = new ArrayList<>();
        double slowest = 0;
        for (String key : keys) {
            String last = "never asked";
            boolean done = false;
            while (System.nanoTime() < deadline) {
                List<Integer> live = nodes.live();
                int node = live.get((int) (Math.random() * live.size()));
                try (Jedis j = nodes.admin(node)) {
                    List<String> rows = replicas(j, key);
                    last = String.join(" ", rows);
                    if (agree(rows)) {
                        done = true;
                        break;
                    }
                    j.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), "ALL");
                    if (options.workload() == WorkloadKind.VERSIONED) {
                        VersionedSetWorkload.vget(j, key);
                    } else {
                        j.get(key);
                    }
                } catch (RuntimeException e) {
                    last = Workload.describe(e);
                }
                Nodes.sleep(250);
            }
            slowest = Math.max(slowest, history.now() - begin);
            if (!done) {
                notConverged.add(key + " [" + last + "]");
            }
        }
        String detail = notConverged.isEmpty()
                ? String.format(Locale.ROOT, "all %d %s converged in %.1f s", keys.size(), noun, slowest / 1000)
                : "not converged within " + options.convergeTimeoutMillis() / 1000 + " s: " + String.join("; ", notConverged);
        return new Convergence(notConverged.isEmpty(), slowest, detail);
    }

    /** REPLICAS key as one "node state version kind" string per replica. */
    private static List<String> replicas(Jedis j, String key) {
        Object reply = j.sendCommand(() -> SafeEncoder.encode("REPLICAS"), key);
        List<String> rows = new ArrayList<>();
        for (Object row : (List<?>) reply) {
            List<String> fields = new ArrayList<>();
            for (Object f : (List<?>) row) {
                fields.add(SafeEncoder.encode((byte[]) f));
            }
            rows.add(String.join(",", fields));
        }
        return rows;
    }

    /** True if there are replicas, all alive, all holding the same version of the same kind (not missing). */
    static boolean agree(List<String> rows) {
        if (rows.isEmpty()) {
            return false;
        }
        String versionAndKind = null;
        for (String row : rows) {
            String[] f = row.split(",");
            if (f.length != 4 || !f[1].equals("alive") || f[3].equals("missing") || f[3].equals("unknown")) {
                return false;
            }
            String vk = f[2] + "," + f[3];
            if (versionAndKind != null && !versionAndKind.equals(vk)) {
                return false;
            }
            versionAndKind = vk;
        }
        return true;
    }

    /** Reads every key the clients touched at ALL, in parallel, a few attempts each; records the reads. */
    private void finalReads(History history) {
        Set<String> keys = new LinkedHashSet<>();
        for (Op o : history.ops()) {
            if (o.key() != null && !o.client().equals("nemesis")) {
                keys.add(o.key());
            }
        }
        ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>(keys);
        List<Thread> readers = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        List<Integer> live = nodes.live();
        for (int t = 0; t < FINAL_READERS; t++) {
            int first = t % live.size();
            readers.add(DaemonThreads.start("tkh-final-" + t, () -> finalReader(history, queue, live, first, deadline)));
        }
        for (Thread th : readers) {
            join(th, TimeUnit.MINUTES.toMillis(11));
        }
        out.printf(Locale.ROOT, "trellis-harness: %d keys read at ALL%n", keys.size());
    }

    private void finalReader(History history, ConcurrentLinkedQueue<String> queue, List<Integer> live, int index,
                             long deadline) {
        Jedis j = null;
        int node = live.get(index);
        String key;
        while ((key = queue.poll()) != null) {
            Op last = null;
            for (int attempt = 0; attempt < FINAL_READ_ATTEMPTS && System.nanoTime() < deadline; attempt++) {
                double start = history.now();
                try {
                    if (j == null) {
                        j = nodes.client(node, Workload.CONNECT_TIMEOUT_MILLIS, Workload.SOCKET_TIMEOUT_MILLIS);
                        j.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), "ALL");
                    }
                    last = new Op("final", null, "read", key, j.get(key), 0, "ALL", start, history.now(), Op.Result.OK, null);
                    break;
                } catch (RuntimeException e) {
                    last = new Op("final", null, "read", key, null, 0, "ALL", start, history.now(), Op.Result.FAIL,
                            Workload.describe(e));
                    Workload.closeQuietly(j);
                    j = null;
                    index = (index + 1) % live.size();
                    node = live.get(index);
                    Nodes.sleep(500);
                }
            }
            if (last != null) {
                history.add(last);
            }
        }
        Workload.closeQuietly(j);
    }

    /** How the counter and versioned workloads read a key at the end: the value to record. */
    private interface FinalRead {
        String read(Jedis j, String key);
    }

    /**
     * The counter and versioned workloads' final reads: each key once at ALL (through the live nodes in
     * turn), then at ONE through every live node, so that every node's answer is checked. Recorded as
     * {@code final} lines whose session names the node ({@code all@n2}, {@code n3}).
     */
    private void finalReadsEverywhere(History history, List<String> keys, String op, FinalRead read) {
        List<Integer> live = nodes.live();
        for (int k = 0; k < keys.size(); k++) {
            String key = keys.get(k);
            history.add(finalRead(history, key, op, "ALL", live.get(k % live.size()), read));
            for (int node : live) {
                history.add(finalRead(history, key, op, "ONE", node, read));
            }
        }
        out.printf(Locale.ROOT, "trellis-harness: %d keys read at ALL and at ONE through each of %d nodes%n", keys.size(),
                live.size());
    }

    /** One final read through {@code node} at {@code level}, a few attempts on fresh connections. */
    private Op finalRead(History history, String key, String op, String level, int node, FinalRead read) {
        String session = (level.equals("ALL") ? "all@n" : "n") + node;
        Op last = null;
        for (int attempt = 0; attempt < FINAL_READ_ATTEMPTS; attempt++) {
            double start = history.now();
            try (Jedis j = nodes.client(node, Workload.CONNECT_TIMEOUT_MILLIS, Workload.SOCKET_TIMEOUT_MILLIS)) {
                j.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), level);
                return new Op("final", session, op, key, read.read(j, key), 0, level, start, history.now(), Op.Result.OK, null);
            } catch (RuntimeException e) {
                last = new Op("final", session, op, key, null, 0, level, start, history.now(), Op.Result.FAIL,
                        Workload.describe(e));
                Nodes.sleep(500);
            }
        }
        return last;
    }

    /** The counts of a counter or versioned run (final reads apart) with its checker's checks. */
    static Checker.Summary causalSummary(List<Op> ops, List<Checker.Check> checks) {
        List<Op> client = ops.stream().filter(o -> !o.client().equals("nemesis") && !o.client().equals("final")).toList();
        long unreadable = ops.stream().filter(o -> o.client().equals("final") && !o.ok()).map(Op::key).distinct().count();
        return Checker.Summary.of(client.size(), client.stream().filter(Op::ok).count(),
                client.stream().filter(o -> o.result() == Op.Result.FAIL).count(),
                client.stream().filter(o -> o.result() == Op.Result.INFO).count(), unreadable, checks);
    }

    /** The summary's first lines, whatever the workload: title, nemesis cycles, membership, operations. */
    private StringBuilder summaryHead(String title, Checker.Summary s, int cycles, String churn) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%n== trellis-harness summary (%s) ==%n", title));
        sb.append(String.format(Locale.ROOT, "nemesis cycles:   %d (%s)%s%n", cycles, options.nemesis(),
                options.finalKillAll() ? ", then a kill-all at the deadline" : ""));
        if (options.nemesis().contains(Nemesis.Kind.CHURN)) {
            sb.append(String.format(Locale.ROOT, "membership:       %s; %d nodes at the end (slots %s)%n", churn,
                    nodes.live().size(), nodes.live()));
        }
        sb.append(String.format(Locale.ROOT, "operations:       %d%n", s.operations()));
        sb.append(String.format(Locale.ROOT, "acknowledged:     %d  (failed %d, indeterminate %d)%n", s.acknowledged(),
                s.failed(), s.indeterminate()));
        return sb;
    }

    private String causalReport(Checker.Summary s, Convergence c, int cycles, String churn, String workloadLines) {
        StringBuilder sb = summaryHead(options.workload().flag() + " workload, seed " + options.seed(), s, cycles,
                churn);
        sb.append(workloadLines);
        sb.append(String.format(Locale.ROOT, "convergence time: %.1f s (%s)%n", c.millis / 1000, c.converged ? "converged" : "NOT converged"));
        appendChecks(sb, s);
        return sb.toString();
    }

    /** Each check, its evidence if it failed, the tally and where the history is. */
    private void appendChecks(StringBuilder sb, Checker.Summary s) {
        for (Checker.Check check : s.checks()) {
            sb.append(check.passed() ? "  PASS " : "  FAIL ").append(check.name()).append('\n');
            if (!check.passed() && !check.detail().isBlank()) {
                for (String line : check.detail().split("\n")) {
                    sb.append("       ").append(line).append('\n');
                }
            }
        }
        sb.append(String.format(Locale.ROOT, "%d passed, %d failed%n", s.passed(), s.violations()));
        sb.append("history: ").append(options.runDir().resolve("history.tsv")).append('\n');
    }

    /** Pipelined clients run only with the mixed workload. */
    private int pipelined() {
        return options.workload() == WorkloadKind.MIXED ? options.pipelined() : 0;
    }

    /** The summary's lines about the pipelined clients. */
    static String pipelinedLines(Checker.Pipelined p) {
        return String.format(Locale.ROOT, "pipelined:        %d commands, %d violations  (%d pipelines; %d replies checked, "
                        + "%d faults, %d unchecked on abandoned keys, %d keys abandoned; %d blind SETs lost to an older value "
                        + "during clock faults, allowed)%n", p.commands(), p.violations(), p.pipelines(), p.checked(), p.faults(),
                p.unchecked(), p.abandoned(), p.lostBlindSets())
                + String.format(Locale.ROOT, "pipelined final:  %d keys equal the model at ALL, %d differ or unreadable, "
                        + "%d uncertain (not checked)%n", p.finalEqual(),
                p.finalWrong(), p.finalUncertain());
    }

    /** The summary's lines about kill-alls; empty if there were none. */
    static String cutLines(Checker.CutLosses k) {
        if (k.cuts() == 0) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "kill-alls:        %d (appendfsync %s): %d acknowledged set writes lost, %d of them "
                        + "acknowledged within the loss window before a kill-all (%s), %d outside it%n", k.cuts(), k.fsync(),
                k.lostWithin() + k.lostOutside(), k.lostWithin(), switch (k.fsync()) {
                    case "always" -> "none under always";
                    case "everysec" -> String.format(Locale.ROOT, "%.0f ms under everysec", Checker.EVERYSEC_LOSS_WINDOW_MILLIS);
                    default -> "any time under " + k.fsync();
                }, k.lostOutside()));
        sb.append(String.format(Locale.ROOT, "                  %d register reads older only than writes a kill-all may have lost, "
                + "%d reads of keys whose delete a kill-all may have lost (allowed)%n", k.staleAllowed(), k.reappearedAllowed()));
        for (String line : k.lostWrites()) {
            sb.append("    lost ").append(line).append('\n');
        }
        return sb.toString();
    }

    private String report(Checker.Summary s, Convergence c, double margin, int cycles, String churn) {
        StringBuilder sb = summaryHead("seed " + options.seed(), s, cycles, churn);
        sb.append(String.format(Locale.ROOT, "lost:             %d%n", s.lost()));
        sb.append(String.format(Locale.ROOT, "stale reads:      %d  (time margin %.0f ms)%n", s.stale(), margin));
        sb.append(String.format(Locale.ROOT, "read-your-writes: %d violations%n", s.rywViolations()));
        sb.append(String.format(Locale.ROOT, "phantoms:         %d%n", s.phantoms()));
        sb.append(String.format(Locale.ROOT, "late indeterminate writes seen: %d reads (allowed: TIMEOUT/TRYAGAIN may apply later)%n",
                s.lateIndeterminate()));
        sb.append(String.format(Locale.ROOT, "reappeared:       %d deleted, %d expired%n", s.reappeared(), s.expiredSeen()));
        sb.append(String.format(Locale.ROOT, "unreadable:       %d keys at the end%n", s.finalUnreadable()));
        if (options.pipelined() > 0) {
            sb.append(pipelinedLines(s.pipelined()));
        }
        sb.append(String.format(Locale.ROOT, "carried ahead:    %s forwards carried their node's copy of the connection's"
                + " write ahead (INFO forwards_carrying_writes summed over the nodes, each since its last start)%n",
                infoSum("cluster", "forwards_carrying_writes")));
        sb.append(cutLines(s.cutLosses()));
        sb.append(String.format(Locale.ROOT, "convergence time: %.1f s (%s)%n", c.millis / 1000, c.converged ? "converged" : "NOT converged"));
        appendChecks(sb, s);
        return sb.toString();
    }

    /** Stops the nodes and removes the network; idempotent, safe from the shutdown hook. */
    private void cleanup() {
        synchronized (cleanupLock) {
            if (cleanedUp) {
                return;
            }
            cleanedUp = true;
            nodes.stopAll();
            net.cleanup();
        }
    }

    private static boolean awaitUntil(long timeoutMillis, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Nodes.sleep(250);
        }
        return condition.getAsBoolean();
    }

    private static void join(Thread t, long millis) {
        try {
            t.join(millis);
            if (t.isAlive()) {
                t.interrupt();
                t.join(10_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
