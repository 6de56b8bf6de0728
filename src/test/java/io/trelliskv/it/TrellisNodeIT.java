package io.trelliskv.it;

import io.trelliskv.it.TrellisProcess.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.trelliskv.testing.InfoFields;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code bin/trellis} as a process: how it refuses bad command lines, reports seeds, shuts down on
 * SIGTERM, fails on a busy port, and how real Redis tools (redis-cli, redis-benchmark) get on with it.
 * The Redis tools tests are skipped where the tools are not installed (CI installs redis-tools).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TrellisNodeIT {

    @TempDir
    static Path stagingDir;
    private static Path home;

    @TempDir
    Path logs;
    private final List<TrellisProcess> started = new ArrayList<>();

    @BeforeAll
    static void stage() throws IOException {
        home = TrellisProcess.stageHome(stagingDir);
    }

    @AfterEach
    void stopNodes() {
        started.forEach(TrellisProcess::close);
    }

    private TrellisProcess startNode(int port, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of(Integer.toString(port)));
        args.addAll(List.of(extra));
        TrellisProcess node = TrellisProcess.launch(home, logs, "trellis", args.toArray(String[]::new));
        started.add(node);
        return node.awaitServing(port);
    }

    static Stream<Arguments> badCommandLines() {
        return Stream.of(
                Arguments.of(List.of("--maxmemory", "lots"), "'lots'"),
                Arguments.of(List.of("--maxmemory-policy", "foo"), "'foo'"),
                Arguments.of(List.of("--bogus"), "'--bogus'"),
                Arguments.of(List.of(), "'abc'"));
    }

    @ParameterizedTest
    @MethodSource("badCommandLines")
    void badCommandLineExitsTwoWithOneLineNamingTheValue(List<String> flags, String named) throws IOException {
        List<String> args = new ArrayList<>();
        args.add(flags.isEmpty() ? "abc" : Integer.toString(TrellisProcess.freePort()));
        args.addAll(flags);

        Result r = TrellisProcess.run(home, logs, null, "trellis", args.toArray(String[]::new));

        assertThat(r.exitCode()).as("exit status; stderr: %s", r.stderr()).isEqualTo(2);
        assertThat(r.stderrLines()).hasSize(1);
        assertThat(r.stderrLines().get(0)).startsWith("trellis: ").contains(named);
        assertThat(r.stdout()).isEmpty();
    }

    @Test
    void aLaterStartMapsTheClassDataArchiveTrainedAfterTheFirst() throws Exception {
        Path cds = home.resolve("target/cds");
        int port = TrellisProcess.freePort();
        TrellisProcess first = TrellisProcess.launchWithClassData(home, logs, "trellis", Integer.toString(port));
        started.add(first);
        first.awaitServing(port);
        String jvm = first.stderr().lines().filter(l -> l.contains("JVM: ")).findFirst().orElseThrow();
        assertThat(jvm).doesNotContain("class-data archive");
        first.close();
        java.util.regex.Matcher version = java.util.regex.Pattern.compile("JVM: \\S+ (\\d+)").matcher(jvm);
        assumeTrue(version.find() && Integer.parseInt(version.group(1)) >= 19, "class-data archives need JDK 19+: " + jvm);

        // The training runs in the background: a node started and stopped twice, then the archive moved in.
        await().atMost(Duration.ofSeconds(60)).until(() -> hasArchive(cds));
        TrellisProcess second = TrellisProcess.launchWithClassData(home, logs, "trellis", Integer.toString(port));
        started.add(second);
        second.awaitServing(port);
        assertThat(second.stderr()).contains("class-data archive");
    }

    private static boolean hasArchive(Path cds) throws IOException {
        if (!Files.isDirectory(cds)) {
            return false;
        }
        try (Stream<Path> files = Files.list(cds)) {
            return files.anyMatch(f -> f.getFileName().toString().endsWith(".jsa"));
        }
    }

    @Test
    void helpPrintsUsageAndExitsZero() throws IOException {
        Result r = TrellisProcess.run(home, logs, null, "trellis", "--help");

        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).contains("Usage: trellis", "PORT", "--maxmemory", "--unix-socket");
        assertThat(r.stderr()).isEmpty();
    }

    /**
     * A node whose seeds do not answer keeps trying, and meanwhile refuses keyed commands rather than
     * serve them on a ring of itself (JoiningNodeServesAloneTest has the reason); keyless commands work.
     */
    @Test
    void unreachableSeedIsRetriedWhileTheNodeRefusesKeys() throws IOException {
        int port = TrellisProcess.freePort();
        String seed = "127.0.0.1:" + TrellisProcess.freePort();

        TrellisProcess node = startNode(port, seed);

        try (Jedis j = new Jedis("127.0.0.1", port)) {
            assertThatThrownBy(() -> j.set("k", "v")).isInstanceOf(JedisDataException.class)
                    .hasMessageStartingWith("TRYAGAIN this node has not joined its cluster yet");
            assertThat(j.dbSize()).isZero();
            Map<String, String> cluster = InfoFields.parse(j.info("cluster"));
            assertThat(cluster).containsEntry("cluster_seeds", seed).containsEntry("members_alive", "1");
        }
        // The node warns every few seconds that no seed has answered, naming them.
        await().atMost(Duration.ofSeconds(15)).until(() -> node.stderr().lines()
                .anyMatch(l -> l.contains("No seed of [" + seed + "] has answered")));
    }

    /**
     * SIGTERM runs the shutdown hook, which closes the node; the JVM then ends with the status the
     * signal implies, 128 + 15. (The main thread's own System.exit(0) blocks behind the signal's
     * shutdown sequence, so it cannot turn that into 0.)
     */
    @Test
    void sigtermShutsDownCleanly() throws IOException {
        int port = TrellisProcess.freePort();
        TrellisProcess node = startNode(port);

        long begin = System.nanoTime();
        int status = node.stop();
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - begin);

        assertThat(status).as("exit status after SIGTERM; stderr:\n%s", node.stderr()).isEqualTo(143);
        assertThat(tookMillis).as("milliseconds from SIGTERM to exit").isLessThan(5_000);
        assertThat(node.stderr()).contains("Shutting down", "Stopped");
        assertThat(TrellisProcess.answersPing(port)).isFalse();
    }

    @Test
    void busyPortExitsOneWithOneLine() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();

            Result r = TrellisProcess.run(home, logs, null, "trellis", Integer.toString(port));

            assertThat(r.exitCode()).as("exit status; stderr: %s", r.stderr()).isEqualTo(1);
            // the node's log says where its data is (loaded before it binds); its own error is one line
            List<String> own = r.stderrLines().stream().filter(l -> !l.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*")).toList();
            assertThat(own).as("stderr: %s", r.stderr()).hasSize(1);
            assertThat(own.get(0)).startsWith("trellis: cannot listen on 127.0.0.1:" + port + ": ");
            assertThat(r.stderr()).doesNotContain("Exception", "\tat ");
        }
    }

    @Test
    void redisCliWorksAgainstTheNode() throws IOException {
        String redisCli = TrellisProcess.which("redis-cli").map(Path::toString).orElse(null);
        assumeTrue(redisCli != null, "redis-cli is not installed");
        int port = TrellisProcess.freePort();
        startNode(port);
        String p = Integer.toString(port);

        assertThat(redisCli(redisCli, "-p", p, "set", "a", "b").stdout()).isEqualTo("OK\n");
        assertThat(redisCli(redisCli, "-p", p, "get", "a").stdout()).isEqualTo("b\n");
        assertThat(redisCli(redisCli, "-p", p, "--no-raw", "get", "a").stdout()).isEqualTo("\"b\"\n");
        assertThat(redisCli(redisCli, "-p", p, "--no-raw", "incr", "n").stdout()).isEqualTo("(integer) 1\n");
        assertThat(redisCli(redisCli, "-p", p, "--no-raw", "get", "missing").stdout()).isEqualTo("(nil)\n");

        String info = redisCli(redisCli, "-p", p, "--no-raw", "info").stdout();
        assertThat(info).contains("# Server", "# Keyspace");
        Map<String, String> fields = InfoFields.parse(info);
        assertThat(fields).containsEntry("tcp_port", p).containsEntry("db0", "keys=2,expires=0,avg_ttl=0");
        assertThat(Long.parseLong(fields.get("connected_clients"))).isEqualTo(1);
    }

    @Test
    void redisBenchmarkRunsToCompletion() throws IOException {
        String benchmark = TrellisProcess.which("redis-benchmark").map(Path::toString).orElse(null);
        assumeTrue(benchmark != null, "redis-benchmark is not installed");
        int port = TrellisProcess.freePort();
        startNode(port);

        Result r = TrellisProcess.runCommand(logs, null,
                List.of(benchmark, "-p", Integer.toString(port), "-t", "set,get", "-n", "2000", "-q"));

        assertThat(r.exitCode()).as("redis-benchmark exit status; output:\n%s%s", r.stdout(), r.stderr()).isZero();
        assertThat(r.stdout()).contains("SET: ", "GET: ").contains("requests per second");
    }

    private Result redisCli(String... command) throws IOException {
        Result r = TrellisProcess.runCommand(logs, null, List.of(command));
        assertThat(r.exitCode()).as("redis-cli exit status; stderr: %s", r.stderr()).isZero();
        return r;
    }
}
