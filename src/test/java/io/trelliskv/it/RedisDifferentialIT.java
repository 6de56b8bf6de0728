package io.trelliskv.it;

import io.trelliskv.it.LoopbackCluster.Node;
import io.trelliskv.testing.RawResp;
import io.trelliskv.testing.StringCommandGenerator;
import io.trelliskv.testing.Violations;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

/**
 * TrellisKV against the real thing: the same seeded random stream of string commands
 * ({@link StringCommandGenerator}: SET with its options, GET, the counters, APPEND, STRLEN, DEL,
 * EXISTS, MGET, MSET, GETSET, SETNX, GETDEL, SETRANGE, GETRANGE, TYPE over a few keys) is sent
 * pipelined, in batches of 50 commands without waiting, to a redis-server and to one node of a
 * three-node cluster (127.0.0.94 … 127.0.0.96, node defaults), and every reply must be the same, byte
 * for byte. The cluster's node coordinates some of the keys and forwards the others, so the
 * stream checks both Redis's semantics and that a connection's commands run in order across nodes.
 *
 * <p>The reference is the {@code redis-server} on PATH (Redis 7.0 from the distribution: the one
 * TrellisKV follows), started on 127.0.0.97 without persistence and stopped by its process handle. The
 * class is skipped where there is none; .ci/run installs it.
 *
 * <h2>Seeds</h2>
 * One random seed per run by default, printed. {@code -Dtrellis.differential.seeds=1,2,3} replays
 * given seeds; {@code -Dtrellis.differential.runs=N} runs N random ones;
 * {@code -Dtrellis.differential.batch=1} sends one command at a time (see {@link #BATCH}). A failure
 * prints the seed and the first mismatches with their commands; once the streams diverge, later
 * replies on the same keys differ too, so the first mismatch is the one to read.
 */
@TestInstance(Lifecycle.PER_CLASS)
class RedisDifferentialIT {

    private static final List<String> HOSTS = List.of("127.0.0.94", "127.0.0.95", "127.0.0.96");
    private static final String REDIS_HOST = "127.0.0.97";
    /** Commands in each seed's stream. */
    private static final int COMMANDS = 2_000;
    /**
     * Commands sent before reading their replies ({@code -Dtrellis.differential.batch}, default 50). A
     * batch of 1 waits for each reply before the next command: a mismatch that goes away with it is
     * one of ordering, not of a command's semantics.
     */
    private static final int BATCH = Integer.getInteger("trellis.differential.batch", 50);
    /** Keys of each stream: few, so commands on one key follow each other closely. */
    private static final int KEYS = 8;
    private static final int READ_TIMEOUT_MILLIS = 10_000;

    @TempDir
    static Path tempDir;
    private LoopbackCluster cluster;
    private TrellisProcess redis;
    private int redisPort;
    /** Each stream's keys are new, so a seed given twice does not meet the first run's keys. */
    private int streams;

    @BeforeAll
    void start() throws IOException {
        Assumptions.assumeTrue(TrellisProcess.onPath("redis-server"), "redis-server is not installed");
        cluster = LoopbackCluster.start("redis-differential-it", tempDir, HOSTS);
        redisPort = TrellisProcess.freePort(REDIS_HOST);
        redis = TrellisProcess.launchCommand(cluster.logs(), List.of("redis-server", "--port",
                Integer.toString(redisPort), "--bind", REDIS_HOST, "--save", "", "--appendonly", "no"));
        redis.awaitServing(REDIS_HOST, redisPort);
        System.out.println("RedisDifferentialIT: reference " + redisVersion() + " at " + REDIS_HOST + ":" + redisPort);
    }

    @AfterAll
    void stop() {
        if (redis != null) {
            redis.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /** The seeds to run: the given ones, else {@code trellis.differential.runs} (default 1) random ones. */
    LongStream seeds() {
        String given = System.getProperty("trellis.differential.seeds", "").trim();
        if (!given.isEmpty()) {
            return Arrays.stream(given.split(",")).map(String::trim).mapToLong(Long::parseLong);
        }
        int runs = Integer.getInteger("trellis.differential.runs", 1);
        return new Random().longs(runs, 0, Long.MAX_VALUE);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void sameRepliesAsRedis(long seed) throws IOException {
        Node node = cluster.node(0);
        String prefix = "diff:" + seed + ":" + (streams++);
        StringCommandGenerator generator = new StringCommandGenerator(seed, prefix, KEYS);
        Violations mismatches = new Violations("RedisDifferentialIT seed " + seed + " (" + COMMANDS
                + " commands in batches of " + BATCH + " to " + node + " and redis-server; -Dtrellis.differential"
                + ".seeds=" + seed + " replays it)");
        try (RawResp reference = RawResp.connect(REDIS_HOST, redisPort, READ_TIMEOUT_MILLIS);
             RawResp trellis = RawResp.connect(node.host(), node.port(), READ_TIMEOUT_MILLIS)) {
            for (int sent = 0; sent < COMMANDS; sent += BATCH) {
                List<byte[][]> batch = generator.next(Math.min(BATCH, COMMANDS - sent));
                List<byte[]> expected = reference.pipeline(batch);
                List<byte[]> actual = trellis.pipeline(batch);
                for (int i = 0; i < batch.size(); i++) {
                    if (Arrays.equals(expected.get(i), actual.get(i))) {
                        mismatches.passed();
                    } else {
                        mismatches.add("#" + (sent + i) + " " + RawResp.printable(batch.get(i)) + ": redis "
                                + RawResp.printable(expected.get(i)) + ", trellis " + RawResp.printable(actual.get(i)));
                    }
                }
            }
        }
        mismatches.assertNone();
    }

    private String redisVersion() {
        try (Jedis j = new Jedis(REDIS_HOST, redisPort)) {
            return j.info("server").lines().filter(l -> l.startsWith("redis_version:")).findFirst()
                    .orElse("redis_version:?").trim();
        }
    }
}
