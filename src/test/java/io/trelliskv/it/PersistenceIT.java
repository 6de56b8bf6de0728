package io.trelliskv.it;

import io.trelliskv.harness.RespSocket;
import io.trelliskv.it.AckedWrites.Load;
import io.trelliskv.it.AckedWrites.Model;
import io.trelliskv.it.AckedWrites.Verdict;
import io.trelliskv.it.TrellisProcess.Result;
import io.trelliskv.testing.InfoFields;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A single node's data on disk, through real processes ({@code bin/trellis} with a small JVM, on
 * 127.0.0.1), each test on its own {@code --data-dir}:
 * <ol>
 *   <li>{@link #sigkillLosesNoAcknowledgedWriteUnderAlways}: {@code --appendfsync always}, a pipelined
 *       load ({@value #WINDOW} commands in flight: SETs of new keys, some DELs of acknowledged ones)
 *       SIGKILLed at a seeded random moment, restarted on the same directory, {@value #ROUNDS} rounds
 *       accumulating keys: every acknowledged SET is there with its value, every acknowledged DEL stays
 *       deleted ({@link AckedWrites});</li>
 *   <li>{@link #sigkillUnderEverysecLosesAtMostTheLastSecond}: the same under {@code everysec}: what was
 *       acknowledged more than {@value #EVERYSEC_SLACK_MILLIS} ms before the kill is there; how much of the
 *       rest was lost is printed (after a SIGKILL the OS still has every write the node made, so this
 *       only loses records still queued in the process);</li>
 *   <li>{@link #aTornTailIsCutWithOneWarning}, {@link #damageInTheMiddleStopsTheNodeUntilRepaired}, {@link
 *       #aDataDirectoryThatIsAFileIsRefused}, {@link #twoNodesCannotShareADataDirectory}: damaged or misused
 *       files;</li>
 *   <li>{@link #appendonlyNoKeepsTheIdentityButNoKeys}.</li>
 * </ol>
 * The seed of the random choices is printed; {@code -Dpersistence.seed=N} replays one.
 */
@TestInstance(Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PersistenceIT {

    private static final String HOST = "127.0.0.1";
    private static final long SEED = Long.getLong("persistence.seed", System.nanoTime());
    /** Commands in flight on the load's connection. */
    private static final int WINDOW = 64;
    /** One command in this many is a DEL. */
    private static final int DELETE_ONE_IN = 8;
    private static final int ROUNDS = 5;
    /** Under everysec, what was acknowledged this long before the kill must survive (1 s window + slack). */
    private static final long EVERYSEC_SLACK_MILLIS = 2_000;
    private static final long EVERYSEC_LOAD_MILLIS = 3_500;
    /** Keys written sequentially for the damaged-file tests. */
    private static final int FILE_KEYS = 200;

    @TempDir
    static Path tempDir;
    private Path home;
    private Path logs;
    private final List<TrellisProcess> started = new ArrayList<>();

    @BeforeAll
    void stage() throws IOException {
        home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        logs = ClusterIT.logDir("persistence-it-logs");
        System.out.printf("PersistenceIT: seed %d (-Dpersistence.seed=%d to replay); logs in %s%n", SEED, SEED,
                logs.toAbsolutePath());
    }

    @AfterEach
    void stopNodes() {
        started.forEach(TrellisProcess::close);
        started.clear();
    }

    @Test
    void sigkillLosesNoAcknowledgedWriteUnderAlways() throws Exception {
        Random random = new Random(SEED);
        Path dir = tempDir.resolve("kill-always");
        int port = TrellisProcess.freePort(HOST);
        Model model = new Model();
        TrellisProcess node = start(port, dir, "--appendfsync", "always");
        for (int round = 1; round <= ROUNDS; round++) {
            long delay = 100 + random.nextInt(701);
            Load load = loadUntilKilled(node, port, model, new Random(random.nextLong()), "a" + round + ":", delay);
            node = start(port, dir, "--appendfsync", "always");
            assertThat(node.stderr()).as("start log of round %d", round)
                    .contains("(appendonly yes, appendfsync always): loaded");
            try (Jedis j = new Jedis(HOST, port, AckedWrites.SOCKET_TIMEOUT_MILLIS)) {
                assertThat(InfoFields.parse(j.info("persistence"))).as("INFO persistence after round %d", round)
                        .containsEntry("aof_enabled", "1").containsEntry("aof_fsync", "always");
            }
            Verdict v = verify(port, model, Long.MAX_VALUE);
            System.out.printf("PersistenceIT always, round %d, killed after %d ms of load: %s; %s%n", round, delay,
                    load.counts(), v.summary());
            assertThat(load.errors).as("round %d: %s", round, load.counts()).isZero();
            assertThat(load.setsAcked).as("round %d: the load ran: %s", round, load.counts()).isPositive();
            assertThat(v.violations()).as("round %d (killed after %d ms, seed %d): %s; %s", round, delay, SEED,
                    load.counts(), v.summary()).isZero();
        }
    }

    @Test
    void sigkillUnderEverysecLosesAtMostTheLastSecond() throws Exception {
        Random random = new Random(SEED + 1);
        Path dir = tempDir.resolve("kill-everysec");
        int port = TrellisProcess.freePort(HOST);
        Model model = new Model();
        TrellisProcess node = start(port, dir, "--appendfsync", "everysec");
        long delay = EVERYSEC_LOAD_MILLIS + random.nextInt(500);
        long[] killedAt = new long[1];
        Load load = loadUntilKilled(node, port, model, new Random(random.nextLong()), "e:", delay, killedAt);
        node = start(port, dir, "--appendfsync", "everysec");
        assertThat(node.stderr()).contains("(appendonly yes, appendfsync everysec): loaded");
        Verdict v = verify(port, model, killedAt[0] - TimeUnit.MILLISECONDS.toNanos(EVERYSEC_SLACK_MILLIS));
        System.out.printf("PersistenceIT everysec, killed after %d ms of load: %s; %s%n", delay, load.counts(),
                v.summary());
        System.out.printf("PersistenceIT everysec: of %d writes acknowledged in the last %d ms before the kill, %d"
                + " lost%n", v.ackedAfterCutoff(), EVERYSEC_SLACK_MILLIS, v.lostAfterCutoff());
        assertThat(load.errors).as(load.counts()).isZero();
        assertThat(v.mustBePresent()).as("writes acknowledged more than %d ms before the kill: %s",
                EVERYSEC_SLACK_MILLIS, v.summary()).isPositive();
        assertThat(v.violations()).as("killed after %d ms (seed %d): %s; %s", delay, SEED, load.counts(),
                v.summary()).isZero();
    }

    @Test
    void aTornTailIsCutWithOneWarning() throws IOException {
        Path dir = tempDir.resolve("torn");
        int port = TrellisProcess.freePort(HOST);
        Map<String, String> values = writeAndStop(port, dir);
        Path segment = newestSegment(dir);
        long size = Files.size(segment);
        try (OutputStream out = Files.newOutputStream(segment, StandardOpenOption.APPEND)) {
            out.write(ByteBuffer.allocate(4).putInt(100).array()); // a record of 100 bytes ...
            out.write(new byte[] {1, 2, 3, 4, 5, 6, 7});           // ... of which 7 reached the disk
        }

        TrellisProcess node = start(port, dir);
        List<String> warnings = node.stderr().lines().filter(l -> l.contains(" WARN ")).toList();
        assertThat(warnings).as("WARN lines of the restart:\n%s", node.stderr()).hasSize(1);
        assertThat(warnings.get(0)).contains("torn", segment.getFileName().toString(), "offset " + size,
                "11 bytes dropped");
        assertThat(Files.size(segment)).as("the segment cut back").isEqualTo(size);
        assertValues(port, values, values.size());
    }

    @Test
    void damageInTheMiddleStopsTheNodeUntilRepaired() throws IOException {
        Path dir = tempDir.resolve("damaged");
        int port = TrellisProcess.freePort(HOST);
        Map<String, String> values = writeAndStop(port, dir);
        Path segment = newestSegment(dir);
        byte[] bytes = Files.readAllBytes(segment);
        List<Integer> offsets = recordOffsets(bytes);
        assertThat(offsets).as("records in %s", segment).hasSizeGreaterThanOrEqualTo(FILE_KEYS);
        int damaged = 10; // the records before it stay, the ~190 after it go
        int offset = offsets.get(damaged);
        bytes[offset + 8 + 3] ^= 0x40; // inside the body: the checksum no longer matches
        Files.write(segment, bytes);

        Result refused = TrellisProcess.run(home, logs, null, ClusterIT.LAUNCHER, args(port, dir));
        List<String> lines = refused.stderrLines();
        assertThat(refused.exitCode()).as("exit status; stderr:\n%s", refused.stderr()).isEqualTo(2);
        List<String> own = lines.stream().filter(l -> l.startsWith("trellis:")).toList();
        assertThat(own).as("stderr:\n%s", refused.stderr()).hasSize(1);
        assertThat(own.get(0)).contains("the log is damaged", segment.getFileName().toString(),
                "offset " + offset, "--repair-log");
        assertThat(lines).as("no stack trace:\n%s", refused.stderr())
                .noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception"));

        TrellisProcess node = start(port, dir, "--repair-log");
        List<String> warnings = node.stderr().lines().filter(l -> l.contains(" WARN ")).toList();
        assertThat(warnings).as("WARN lines of the repaired start:\n%s", node.stderr()).hasSize(1);
        assertThat(warnings.get(0)).contains("--repair-log", segment.getFileName().toString(), "offset " + offset);
        Map<String, String> before = new TreeMap<>();
        values.entrySet().stream().limit(damaged).forEach(e -> before.put(e.getKey(), e.getValue()));
        assertValues(port, before, damaged);

        // Once repaired the log is whole again: a plain restart keeps what the repair kept.
        node.stop();
        start(port, dir);
        assertValues(port, before, damaged);
    }

    @Test
    void aDataDirectoryThatIsAFileIsRefused() throws IOException {
        Path file = Files.writeString(tempDir.resolve("not-a-dir"), "x");
        Result r = TrellisProcess.run(home, logs, null, ClusterIT.LAUNCHER, args(TrellisProcess.freePort(HOST), file));
        assertThat(r.exitCode()).as("exit status; stderr:\n%s", r.stderr()).isEqualTo(2);
        assertThat(r.stderrLines()).as("stderr").hasSize(1);
        assertThat(r.stderr()).startsWith("trellis: ").contains(file.toString(), "not a directory");
    }

    @Test
    void twoNodesCannotShareADataDirectory() throws IOException {
        Path dir = tempDir.resolve("shared");
        start(TrellisProcess.freePort(HOST), dir);
        Result r = TrellisProcess.run(home, logs, null, ClusterIT.LAUNCHER, args(TrellisProcess.freePort(HOST), dir));
        assertThat(r.exitCode()).as("exit status; stderr:\n%s", r.stderr()).isEqualTo(2);
        List<String> own = r.stderrLines().stream().filter(l -> l.startsWith("trellis:")).toList();
        assertThat(own).as("stderr:\n%s", r.stderr()).hasSize(1);
        assertThat(own.get(0)).contains(dir.toString(), "in use by another running node", "lock");
        assertThat(r.stderrLines()).as("stderr").noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception"));
    }

    @Test
    void appendonlyNoKeepsTheIdentityButNoKeys() throws IOException {
        Path dir = tempDir.resolve("appendonly-no");
        int port = TrellisProcess.freePort(HOST);
        TrellisProcess node = start(port, dir, "--appendonly", "no");
        String id;
        try (Jedis j = new Jedis(HOST, port, AckedWrites.SOCKET_TIMEOUT_MILLIS)) {
            for (int i = 0; i < 20; i++) {
                assertThat(j.set("no:" + i, "v" + i)).isEqualTo("OK");
            }
            assertThat(j.dbSize()).isEqualTo(20);
            id = InfoFields.parse(j.info("server")).get("node_id");
        }
        assertThat(id).as("INFO server node_id").isNotBlank();
        assertThat(node.stop()).as("exit status after SIGTERM").isEqualTo(143);

        node = start(port, dir, "--appendonly", "no");
        try (Jedis j = new Jedis(HOST, port, AckedWrites.SOCKET_TIMEOUT_MILLIS)) {
            assertThat(InfoFields.parse(j.info("server")).get("node_id")).as("node_id after the restart")
                    .isEqualTo(id);
            assertThat(j.dbSize()).as("keys after the restart").isZero();
            assertThat(InfoFields.parse(j.info("persistence"))).as("INFO persistence").containsEntry("aof_enabled", "0");
        }
        assertThat(node.stderr()).contains("--appendonly no");
        assertThat(Files.exists(dir.resolve("node.properties"))).as("node.properties").isTrue();
        try (Stream<Path> files = Files.exists(dir.resolve("log")) ? Files.list(dir.resolve("log")) : Stream.empty()) {
            assertThat(files.toList()).as("log files with --appendonly no").isEmpty();
        }
    }

    // ---- helpers ----

    private String[] args(int port, Path dir, String... extra) {
        List<String> args = new ArrayList<>(List.of(Integer.toString(port), "--host", HOST, "--data-dir",
                dir.toString()));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    /** Starts a node on {@code port} and {@code dir} and waits until it answers PING. */
    private TrellisProcess start(int port, Path dir, String... extra) throws IOException {
        TrellisProcess p = TrellisProcess.launch(home, logs, ClusterIT.LAUNCHER, args(port, dir, extra));
        started.add(p);
        return p.awaitServing(HOST, port);
    }

    private Load loadUntilKilled(TrellisProcess node, int port, Model model, Random random, String prefix,
                                 long delayMillis) throws Exception {
        return loadUntilKilled(node, port, model, random, prefix, delayMillis, new long[1]);
    }

    /**
     * Runs a {@link Load} on {@code node}, SIGKILLs it {@code delayMillis} after the first reply (a fault
     * at a chosen moment, not a wait for anything), and returns the load once it has ended.
     */
    private Load loadUntilKilled(TrellisProcess node, int port, Model model, Random random, String prefix,
                                 long delayMillis, long[] killedAt) throws Exception {
        try (RespSocket conn = AckedWrites.connect(HOST, port)) {
            Load load = new Load(conn, model, random, prefix, WINDOW, DELETE_ONE_IN);
            Thread t = new Thread(load, "persistence-load");
            t.start();
            try {
                assertThat(load.firstReply.await(AckedWrites.SOCKET_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS))
                        .as("first reply of the load").isTrue();
                Thread.sleep(delayMillis);
                killedAt[0] = System.nanoTime();
                node.process().destroyForcibly(); // SIGKILL
                assertThat(node.process().waitFor(30, TimeUnit.SECONDS)).as("%s killed", node).isTrue();
            } finally {
                load.stop();
                Load.join(t);
            }
            assertThat(load.ended).as("the load ended by the kill: %s", load.counts()).isNotNull();
            return load;
        }
    }

    private static Verdict verify(int port, Model model, long cutoffNanos) throws IOException {
        try (RespSocket conn = AckedWrites.connect(HOST, port)) {
            return model.verify(List.of(conn), cutoffNanos);
        }
    }

    /** Writes {@value #FILE_KEYS} keys one after another, then stops the node (SIGTERM); returns them in order. */
    private Map<String, String> writeAndStop(int port, Path dir) throws IOException {
        TrellisProcess node = start(port, dir);
        Map<String, String> values = new java.util.LinkedHashMap<>();
        try (Jedis j = new Jedis(HOST, port, AckedWrites.SOCKET_TIMEOUT_MILLIS)) {
            for (int i = 0; i < FILE_KEYS; i++) {
                String key = "f:" + i;
                String value = "value-" + i;
                assertThat(j.set(key, value)).isEqualTo("OK");
                values.put(key, value);
            }
        }
        assertThat(node.stop()).as("exit status after SIGTERM; stderr:\n%s", node.stderr()).isEqualTo(143);
        return values;
    }

    /** Every key of {@code expected} holds its value, and the node holds {@code size} keys in all. */
    private static void assertValues(int port, Map<String, String> expected, int size) {
        try (Jedis j = new Jedis(HOST, port, AckedWrites.SOCKET_TIMEOUT_MILLIS)) {
            for (Map.Entry<String, String> e : expected.entrySet()) {
                assertThat(j.get(e.getKey())).as("GET %s", e.getKey()).isEqualTo(e.getValue());
            }
            assertThat(j.dbSize()).as("DBSIZE").isEqualTo(size);
        }
    }

    private static Path newestSegment(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve("log"))) {
            return files.filter(p -> p.getFileName().toString().matches("log-\\d{16}\\.tkl")).max(Path::compareTo)
                    .orElseThrow(() -> new AssertionError("no log segment in " + dir));
        }
    }

    /** Where each record of a segment starts: after the 20-byte header, 4-byte length + 4-byte CRC + body. */
    private static List<Integer> recordOffsets(byte[] segment) {
        List<Integer> offsets = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(segment);
        int off = 20;
        while (off + 8 <= segment.length) {
            offsets.add(off);
            off += 8 + b.getInt(off);
        }
        assertThat(off).as("records end at the end of the segment").isEqualTo(segment.length);
        return offsets;
    }
}
