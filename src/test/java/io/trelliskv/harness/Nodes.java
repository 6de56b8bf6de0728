package io.trelliskv.harness;

import redis.clients.jedis.Jedis;
import redis.clients.jedis.util.SafeEncoder;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The cluster's processes: one TrellisKV JVM per node, each in its own network namespace
 * ({@link Network}), started from the built jar with {@code --test-clock-control} and a data directory
 * so a restart keeps the node's id and tokens.
 *
 * <h2>Processes by pid, never by name</h2>
 * Every start writes the JVM's pid to {@code <run dir>/pids/n<i>.pid} (the process is {@code ip netns
 * exec}, which execs the JVM, so the pid is the JVM's). Signals go to that pid only. Each JVM carries
 * {@code -Dtkh.run=<prefix>} on its command line, and {@link #killLeftovers} kills a recorded pid only
 * if {@code /proc/<pid>/cmdline} still shows that marker, so a reused pid is never hit.
 */
final class Nodes {

    /** The TCP port every node listens on, inside its own namespace. */
    static final int PORT = 7000;
    /** Small C1-only JVMs with a serial collector: five of them and the harness share two cores. */
    static final List<String> JAVA_OPTS = List.of("-Xmx160m", "-Xss512k", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:ActiveProcessorCount=1");
    /** From exec to PING answered. */
    static final long START_TIMEOUT_MILLIS = 40_000;
    private static final int ADMIN_TIMEOUT_MILLIS = 2_000;

    private final Network net;
    private final Path runDir;
    private final Path jar;
    private final int count;
    private final List<String> extraNodeArgs;
    /** How the workload's clients connect and log in (plain, or TLS as an ACL user with --secure yes). */
    private final ClientAccess clientAccess;
    private final Process[] processes;
    /** Per address slot: how many fresh nodes (new data dir, new id) have taken it after the first. */
    private final int[] generation;
    /** The slots whose node clients and faults may use: a member that is not leaving or joining. */
    private volatile List<Integer> live;

    Nodes(Network net, Path runDir, Path jar, int count, List<String> extraNodeArgs, ClientAccess clientAccess) {
        this.net = net;
        this.runDir = runDir;
        this.jar = jar;
        this.count = count;
        this.extraNodeArgs = extraNodeArgs;
        this.clientAccess = clientAccess;
        this.processes = new Process[count + 1];
        this.generation = new int[count + 1];
        this.live = java.util.stream.IntStream.rangeClosed(1, count).boxed().toList();
    }

    /** Address slots, the cluster's size at the start: a slot holds at most one node at a time. */
    int count() {
        return count;
    }

    /** The slots in use, in order (1..count without the ones whose node left and was not replaced yet). */
    List<Integer> live() {
        return live;
    }

    /** Adds or removes a slot from {@link #live()}. */
    synchronized void setLive(int slot, boolean isLive) {
        java.util.TreeSet<Integer> s = new java.util.TreeSet<>(live);
        if (isLive) {
            s.add(slot);
        } else {
            s.remove(slot);
        }
        live = List.copyOf(s);
    }

    /** Whether the slot's current process runs. */
    boolean alive(int node) {
        Process p = processes[node];
        return p != null && p.isAlive();
    }

    /** The slot's current process, or null. */
    Process process(int node) {
        return processes[node];
    }

    /**
     * Starts a fresh node at {@code slot}: a new data directory (so a new node id and tokens), joining
     * through {@code seeds}; it bootstraps (JOINING, streams, NORMAL) by itself.
     */
    synchronized void startFresh(int slot, List<Integer> seeds) throws IOException {
        generation[slot]++;
        start(slot, seeds);
    }

    /** Sends DECOMMISSION; returns the reply (OK, or the error's text). */
    String decommission(int node) {
        try (Jedis j = admin(node)) {
            Object r = j.sendCommand(() -> SafeEncoder.encode("DECOMMISSION"));
            return r instanceof byte[] b ? SafeEncoder.encode(b) : String.valueOf(r);
        } catch (RuntimeException e) {
            return Workload.describe(e);
        }
    }

    /** Waits for the slot's process to exit; its exit status, or null at the deadline. */
    Integer awaitExit(int node, long timeoutMillis) {
        Process p = processes[node];
        if (p == null) {
            return null;
        }
        try {
            return p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS) ? p.exitValue() : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The node's INFO cluster {@code node_status} (NORMAL, JOINING, LEAVING), or null if it did not answer. */
    String ringStatus(int node) {
        try (Jedis j = admin(node)) {
            for (String line : j.info("cluster").split("\r?\n")) {
                if (line.startsWith("node_status:")) {
                    return line.substring("node_status:".length()).trim();
                }
            }
        } catch (RuntimeException e) {
            return null;
        }
        return null;
    }

    String host(int node) {
        return net.address(node);
    }

    /** Starts node {@code node} (1-based) joining through {@code seeds} (1-based, may be empty). */
    synchronized void start(int node, List<Integer> seeds) throws IOException {
        Path data = Files.createDirectories(runDir.resolve("data")
                .resolve("n" + node + (generation[node] == 0 ? "" : ".g" + generation[node])));
        Path logs = Files.createDirectories(runDir.resolve("logs"));
        Files.createDirectories(runDir.resolve("pids"));
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", net.namespace(node),
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(JAVA_OPTS);
        cmd.add("-Dtkh.run=" + net.prefix());
        cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", jar.toString(), "io.trelliskv.node.Main",
                Integer.toString(PORT)));
        List<String> seedAddresses = seeds.stream().filter(s -> s != node).map(s -> host(s) + ":" + PORT).toList();
        if (!seedAddresses.isEmpty()) {
            cmd.add(seedAddresses.get(0));
            if (seedAddresses.size() > 1) {
                cmd.add("--seeds");
                cmd.add(String.join(",", seedAddresses.subList(1, seedAddresses.size())));
            }
        }
        // The nodes listen on namespace addresses, not loopback, and the clients reach them from other
        // namespaces: without a password, protected mode would refuse them.
        cmd.addAll(List.of("--host", host(node), "--cluster-name", net.prefix(), "--data-dir", data.toString(),
                "--test-clock-control", "--protected-mode", "no"));
        cmd.addAll(extraNodeArgs);
        File log = logs.resolve("n" + node + ".log").toFile();
        Files.writeString(log.toPath(), "=== start " + java.time.Instant.now() + ": " + String.join(" ", cmd) + "\n",
                StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log)).redirectInput(new File("/dev/null"));
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("_JAVA_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        Process p = pb.start();
        processes[node] = p;
        Files.writeString(pidFile(node), Long.toString(p.pid()), StandardCharsets.UTF_8);
    }

    /** Waits until the node answers PING; false if it exited or the deadline passed. */
    boolean awaitServing(int node, long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (System.nanoTime() < deadline) {
            Process p = processes[node];
            if (p == null || !p.isAlive()) {
                return false;
            }
            try (Jedis j = admin(node)) {
                if ("PONG".equals(j.ping())) {
                    return true;
                }
            } catch (RuntimeException e) {
                // not serving yet
            }
            sleep(200);
        }
        return false;
    }

    /** SIGKILL; waits for the process to be gone. */
    synchronized void kill(int node) {
        Process p = processes[node];
        if (p == null) {
            return;
        }
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGKILL to all of {@code victims} first, then waits for each to be gone: they die together. */
    synchronized void killAll(List<Integer> victims) {
        List<Process> dying = new ArrayList<>();
        for (int v : victims) {
            Process p = processes[v];
            if (p != null) {
                p.destroyForcibly();
                dying.add(p);
            }
        }
        for (Process p : dying) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    synchronized void pause(int node) {
        signal(node, "STOP");
    }

    synchronized void resume(int node) {
        signal(node, "CONT");
    }

    private void signal(int node, String signal) {
        Process p = processes[node];
        if (p != null && p.isAlive()) {
            Shell.run("kill", "-" + signal, Long.toString(p.pid()));
        }
    }

    /** Sets the node's clock offset through DEBUG CLOCK-OFFSET; false if the node did not answer. */
    boolean clockOffset(int node, long millis) {
        try (Jedis j = admin(node)) {
            Object r = j.sendCommand(() -> SafeEncoder.encode("DEBUG"), "CLOCK-OFFSET", Long.toString(millis));
            return "OK".equals(SafeEncoder.encode((byte[]) r));
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The node's MEMBERS table as rows of whitespace-separated fields, or null if it did not answer. */
    List<String[]> members(int node) {
        try (Jedis j = admin(node)) {
            Object r = j.sendCommand(() -> SafeEncoder.encode("MEMBERS"));
            String text = SafeEncoder.encode((byte[]) r);
            List<String[]> rows = new ArrayList<>();
            for (String line : text.split("\r?\n")) {
                if (!line.isBlank() && !line.startsWith("node ")) {
                    rows.add(line.trim().split("\\s+"));
                }
            }
            return rows;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * True if every live node answers and lists exactly the live nodes as members, all ALIVE; members
     * that LEFT (decommissioned nodes, whose address a fresh node may have taken) are not counted.
     */
    boolean healthy() {
        List<Integer> slots = live;
        java.util.Set<String> expected = new java.util.HashSet<>();
        for (int i : slots) {
            expected.add(host(i) + ":" + PORT);
        }
        for (int i : slots) {
            List<String[]> rows = members(i);
            if (rows == null) {
                return false;
            }
            List<String[]> present = rows.stream().filter(r -> !(r.length >= 3 && r[2].equals("LEFT"))).toList();
            if (present.size() != slots.size() || present.stream().anyMatch(r -> r.length < 3 || !r[2].equals("ALIVE")
                    || !expected.contains(r[1]))) {
                return false;
            }
        }
        return true;
    }

    /** A workload client's connection to {@code node}, connected and logged in ({@link ClientAccess}). */
    Jedis client(int node, int connectTimeoutMillis, int socketTimeoutMillis) {
        return clientAccess.jedis(host(node), connectTimeoutMillis, socketTimeoutMillis);
    }

    /** A pipelining client's connection to {@code node}, connected and logged in ({@link ClientAccess}). */
    RespSocket pipeliningClient(int node, int connectTimeoutMillis, int readTimeoutMillis) throws IOException {
        return clientAccess.resp(host(node), connectTimeoutMillis, readTimeoutMillis);
    }

    /** The harness's own connection to {@code node}: the plain port, the default user. */
    Jedis admin(int node) {
        return new Jedis(host(node), PORT, ADMIN_TIMEOUT_MILLIS, ADMIN_TIMEOUT_MILLIS);
    }

    private Path pidFile(int node) {
        return runDir.resolve("pids").resolve("n" + node + ".pid");
    }

    /** Kills (SIGCONT, then SIGKILL) every node this harness started; used on every exit path. */
    synchronized void stopAll() {
        for (int i = 1; i <= count; i++) {
            Process p = processes[i];
            if (p != null && p.isAlive()) {
                Shell.run("kill", "-CONT", Long.toString(p.pid()));
                kill(i);
            }
        }
    }

    /**
     * Kills the processes an earlier run with the same prefix recorded in {@code runDir/pids}, if they
     * still run and still carry the marker; removes the pid files. Returns how many were killed.
     */
    static int killLeftovers(Path runDir, String prefix) {
        Path pids = runDir.resolve("pids");
        if (!Files.isDirectory(pids)) {
            return 0;
        }
        int killed = 0;
        try (var files = Files.list(pids)) {
            for (Path f : files.toList()) {
                try {
                    String pid = Files.readString(f, StandardCharsets.UTF_8).strip();
                    Path cmdline = Path.of("/proc", pid, "cmdline");
                    if (pid.matches("\\d+") && Files.exists(cmdline)) {
                        String cmd = new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8).replace('\0', ' ');
                        if (cmd.contains("-Dtkh.run=" + prefix + " ")) {
                            Shell.run("kill", "-CONT", pid);
                            Shell.run("kill", "-KILL", pid);
                            killed++;
                        }
                    }
                    Files.deleteIfExists(f);
                } catch (IOException e) {
                    // a pid file that vanished or cannot be read: nothing to kill
                }
            }
        } catch (IOException e) {
            return killed;
        }
        return killed;
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
