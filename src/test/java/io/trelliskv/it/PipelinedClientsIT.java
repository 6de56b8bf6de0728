package io.trelliskv.it;

import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.trelliskv.it.LoopbackCluster.Node;
import io.trelliskv.it.TrellisProcess.Result;
import io.trelliskv.testing.Violations;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisDataException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Pipelining clients against three real nodes (127.0.0.91 … 127.0.0.93, the node defaults: three
 * replicas, QUORUM): every reply, and the state left behind, must be what one Redis would give for
 * the same commands on one connection. Redis runs a connection's commands one after another in the
 * order they arrived, whatever the client does with the replies; a client that pipelines relies on it.
 *
 * <p>With three nodes and three replicas each node is a replica of every key, but only one — the key's
 * coordinator, its first live owner — runs commands on it; a connection's commands on the other nodes'
 * keys are forwarded. Commands on one key from one connection must still run in order when they are
 * forwarded; a node that sends {@code SET k first} and {@code SET k second} over different peer
 * connections, or that starts a command before the one before it on the connection has run, loses
 * acknowledged writes. Each test writes its keys in that shape: several commands on the same key back
 * to back, without waiting for replies, over keys coordinated by all three nodes.
 *
 * <ul>
 *   <li>{@link #lettuceAsyncWithAutoFlushOff}: Lettuce's async API, one connection per node, every
 *       command of 2,000 keys queued and flushed in one write per connection;</li>
 *   <li>{@link #lettuceReactiveManyCommandsInFlight}: Lettuce's reactive API on one connection, up to
 *       {@value #REACTIVE_IN_FLIGHT} commands in flight, replies collected in order;</li>
 *   <li>{@link #jedisPipelinesMatchAModel}: Jedis pipelines of random SET/INCR/DEL/GET/MGET/MSET/EXISTS
 *       over a small key space, each reply checked against a model of Redis's string semantics;</li>
 *   <li>{@link #redisCliPipe}: {@code redis-cli --pipe} of 20,000 commands (skipped without
 *       redis-cli);</li>
 *   <li>{@link #lettuceTransactionsInFlight}: Lettuce's async API, auto-flush off, on one connection:
 *       {@value #TX_KEYS} keys × {@value #TX_PER_KEY} MULTI/INCR/APPEND/GET/EXEC transactions with a plain
 *       INCR among them, every reply checked against {@link StringModel};</li>
 *   <li>{@link #aQueuingErrorAbortsAPipelinedTransaction}: MULTI … EXEC in one write, as redis-py's
 *       transactional pipeline sends it, with a command that cannot be queued: EXECABORT, nothing
 *       applied;</li>
 *   <li>{@link #lettuceWatchedKeysWrittenInTheSamePipelineAbortExec}: Lettuce async, auto-flush off,
 *       WATCH k, SET k, MULTI, SET k, EXEC per key in one write: every EXEC discarded.</li>
 * </ul>
 * After the replies, each test reads its keys back through another node at {@code CONSISTENCY ALL}:
 * every replica must hold what the last command left. Those read-back pipelines only read keys nobody
 * writes any more, so their own order does not matter. Each test counts its violations over the whole
 * run, in the replies and in the state left, prints the counts and the first few, and fails if there
 * is any.
 */
@TestInstance(Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PipelinedClientsIT {

    private static final List<String> HOSTS = List.of("127.0.0.91", "127.0.0.92", "127.0.0.93");
    /** Keys of the Lettuce tests; each gets the ten commands of {@link #script}. */
    private static final int SCRIPT_KEYS = 2_000;
    /** Most reactive commands subscribed to (so sent) and not yet answered. */
    private static final int REACTIVE_IN_FLIGHT = 512;
    /** Commands in each Jedis pipeline, one pipeline per node. */
    private static final int JEDIS_COMMANDS = 3_000;
    /** Keys of each Jedis pipeline: few, so that commands on one key follow each other closely. */
    private static final int JEDIS_KEYS = 30;
    /** Keys of the redis-cli test; four commands each. */
    private static final int PIPE_KEYS = 5_000;
    /** Keys of the Lettuce transaction test; each gets {@value #TX_PER_KEY} transactions. */
    private static final int TX_KEYS = 400;
    /** Transactions on each key of the Lettuce transaction test, all in flight at once. */
    private static final int TX_PER_KEY = 3;
    /** Keys of the Lettuce WATCH test; each gets one WATCH, SET, MULTI, SET, EXEC. */
    private static final int WATCH_KEYS = 100;
    /** How long the replies of one test's commands may take, all together. */
    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    static Path tempDir;
    private LoopbackCluster cluster;
    private ClientResources lettuceResources;
    private RedisClient lettuce;
    private final Random random = new Random();

    @BeforeAll
    void startCluster() throws IOException {
        long seed = System.nanoTime();
        random.setSeed(seed);
        System.out.println("PipelinedClientsIT: random seed " + seed);
        cluster = LoopbackCluster.start("pipelined-clients-it", tempDir, HOSTS);
        lettuceResources = DefaultClientResources.create();
        lettuce = RedisClient.create(lettuceResources);
    }

    @AfterAll
    void stopCluster() {
        if (lettuce != null) {
            lettuce.shutdown();
            lettuceResources.shutdown(0, 5, TimeUnit.SECONDS);
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    // ---- the per-key script of the Lettuce tests ----

    /** A command and what a single Redis answers it (a Long for integer replies, null for nil). */
    private record Step(List<String> command, Object expected) {

        @Override
        public String toString() {
            return String.join(" ", command);
        }
    }

    /** Three keys of one script: a string, a counter and a key that is written then deleted. */
    private record ScriptKeys(String string, String counter, String doomed) {

        static ScriptKeys of(String prefix, int i) {
            return new ScriptKeys(prefix + ":k:" + i, prefix + ":c:" + i, prefix + ":d:" + i);
        }
    }

    /**
     * Ten commands on three fresh keys and their replies from one Redis: the second SET must win, the
     * counter must count 1, 2, 3, the deleted key must be gone, and APPEND and GET must see the second
     * SET. Afterwards: string = "bx", counter = "3", doomed missing.
     */
    private static List<Step> script(ScriptKeys k) {
        return List.of(
                new Step(List.of("SET", k.string(), "a"), "OK"),
                new Step(List.of("SET", k.string(), "b"), "OK"),
                new Step(List.of("INCR", k.counter()), 1L),
                new Step(List.of("INCR", k.counter()), 2L),
                new Step(List.of("INCR", k.counter()), 3L),
                new Step(List.of("SET", k.doomed(), "v"), "OK"),
                new Step(List.of("DEL", k.doomed()), 1L),
                new Step(List.of("EXISTS", k.doomed()), 0L),
                new Step(List.of("APPEND", k.string(), "x"), 2L),
                new Step(List.of("GET", k.string()), "bx"));
    }

    private static RedisFuture<?> send(RedisAsyncCommands<String, String> c, List<String> command) {
        return switch (command.get(0)) {
            case "SET" -> c.set(command.get(1), command.get(2));
            case "INCR" -> c.incr(command.get(1));
            case "DEL" -> c.del(command.get(1));
            case "EXISTS" -> c.exists(command.get(1));
            case "APPEND" -> c.append(command.get(1), command.get(2));
            case "GET" -> c.get(command.get(1));
            default -> throw new IllegalArgumentException("not in the script: " + command);
        };
    }

    private static Mono<?> send(RedisReactiveCommands<String, String> c, List<String> command) {
        return switch (command.get(0)) {
            case "SET" -> c.set(command.get(1), command.get(2));
            case "INCR" -> c.incr(command.get(1));
            case "DEL" -> c.del(command.get(1));
            case "EXISTS" -> c.exists(command.get(1));
            case "APPEND" -> c.append(command.get(1), command.get(2));
            case "GET" -> c.get(command.get(1));
            default -> throw new IllegalArgumentException("not in the script: " + command);
        };
    }

    /** An error reply, as the tests compare it with an expected one. */
    private record Err(String message) {

        @Override
        public String toString() {
            return "(error) " + message;
        }
    }

    /**
     * Lettuce's async API with auto-flush off, as a bulk loader uses it: one connection per node, the
     * ten commands of 2,000 keys queued without waiting (key i on connection i mod 3, so every
     * connection carries keys of all three coordinators), one flush per connection, then every future
     * awaited and checked.
     */
    @Test
    void lettuceAsyncWithAutoFlushOff() {
        String prefix = "async:" + runId();
        String run = "Lettuce async, auto-flush off, " + SCRIPT_KEYS + " keys";
        Violations replies = new Violations(run + ", replies");
        List<StatefulRedisConnection<String, String>> connections = new ArrayList<>();
        try {
            for (Node node : cluster.nodes()) {
                StatefulRedisConnection<String, String> connection = lettuce.connect(uri(node));
                connection.setAutoFlushCommands(false);
                connections.add(connection);
            }
            List<String> sent = new ArrayList<>();
            List<Object> expected = new ArrayList<>();
            List<RedisFuture<?>> futures = new ArrayList<>();
            for (int i = 0; i < SCRIPT_KEYS; i++) {
                Node node = cluster.node(i % connections.size());
                RedisAsyncCommands<String, String> async = connections.get(node.index()).async();
                for (Step step : script(ScriptKeys.of(prefix, i))) {
                    sent.add(step + " (through " + node + ")");
                    expected.add(step.expected());
                    futures.add(send(async, step.command()));
                }
            }
            connections.forEach(StatefulRedisConnection::flushCommands);
            assertThat(LettuceFutures.awaitAll(REPLY_TIMEOUT, futures.toArray(Future[]::new)))
                    .as("every reply of %d pipelined commands within %s", futures.size(), REPLY_TIMEOUT).isTrue();
            for (int s = 0; s < futures.size(); s++) {
                replies.expect(sent.get(s), expected.get(s), outcome(futures.get(s)));
            }
        } finally {
            connections.forEach(StatefulRedisConnection::close);
        }
        Violations.assertNone(replies, scriptsLeft(prefix, run));
    }

    /**
     * Lettuce's reactive API on one connection: the commands of every key in one stream, mapped with
     * {@code flatMapSequential} so that up to {@value #REACTIVE_IN_FLIGHT} are in flight at once (a
     * Lettuce command is sent when it is subscribed to, in the stream's order) and the replies come
     * out in the order of the commands. (Concatenating each key's commands with {@code Flux.concat}
     * would wait for each reply before sending the next command on the key, which hides the race.)
     */
    @Test
    void lettuceReactiveManyCommandsInFlight() {
        String prefix = "reactive:" + runId();
        Node node = cluster.node(0);
        String run = "Lettuce reactive, " + REACTIVE_IN_FLIGHT + " in flight, " + SCRIPT_KEYS + " keys through "
                + node;
        List<Step> steps = new ArrayList<>();
        for (int i = 0; i < SCRIPT_KEYS; i++) {
            steps.addAll(script(ScriptKeys.of(prefix, i)));
        }
        List<Object> received;
        // Every command is dispatched from one thread. Lettuce writes a command on the thread that
        // subscribes to it, and Netty orders writes per calling thread only: inner subscriptions made
        // partly by this thread and partly by Lettuce's event loop (as replies free up room) can reach
        // the socket in another order than subscribed — the client's own reordering, not the store's.
        Scheduler dispatch = Schedulers.newSingle("reactive-dispatch");
        try (StatefulRedisConnection<String, String> connection = lettuce.connect(uri(node))) {
            RedisReactiveCommands<String, String> reactive = connection.reactive();
            received = Flux.fromIterable(steps)
                    .flatMapSequential(step -> send(reactive, step.command()).subscribeOn(dispatch)
                            .map(r -> (Object) r)
                            .defaultIfEmpty(Nil.NIL)
                            .onErrorResume(e -> Mono.just(new Err(String.valueOf(e.getMessage())))),
                            REACTIVE_IN_FLIGHT)
                    .collectList()
                    .block(REPLY_TIMEOUT);
        } finally {
            dispatch.dispose();
        }
        assertThat(received).as("replies").hasSize(steps.size());
        Violations replies = new Violations(run + ", replies");
        for (int s = 0; s < steps.size(); s++) {
            Object expected = steps.get(s).expected() == null ? Nil.NIL : steps.get(s).expected();
            replies.expect(steps.get(s).toString(), expected, received.get(s));
        }
        Violations.assertNone(replies, scriptsLeft(prefix, run));
    }

    /** The nil reply in a reactive stream, which has no nulls (an empty Mono). */
    private enum Nil { NIL }

    /** After the scripts, at ALL through node 2: string = "bx", counter = "3", doomed missing. */
    private Violations scriptsLeft(String prefix, String run) {
        Node via = cluster.next(cluster.node(0));
        Violations left = new Violations(run + ", state left (at ALL through " + via + ")");
        try (Jedis j = via.client()) {
            LoopbackCluster.consistency(j, "ALL");
            Pipeline p = j.pipelined();
            List<Response<String>> strings = new ArrayList<>();
            List<Response<String>> counters = new ArrayList<>();
            List<Response<Boolean>> doomed = new ArrayList<>();
            for (int i = 0; i < SCRIPT_KEYS; i++) {
                ScriptKeys k = ScriptKeys.of(prefix, i);
                strings.add(p.get(k.string()));
                counters.add(p.get(k.counter()));
                doomed.add(p.exists(k.doomed()));
            }
            p.sync();
            for (int i = 0; i < SCRIPT_KEYS; i++) {
                ScriptKeys k = ScriptKeys.of(prefix, i);
                left.expect("GET " + k.string(), "bx", outcome(strings.get(i)::get));
                left.expect("GET " + k.counter(), "3", outcome(counters.get(i)::get));
                left.expect("EXISTS " + k.doomed(), false, outcome(doomed.get(i)::get));
            }
        }
        return left;
    }

    // ---- Jedis pipelines against a model ----

    /**
     * One Jedis pipeline per node, run one after the other, each of {@value #JEDIS_COMMANDS} random
     * commands over {@value #JEDIS_KEYS} keys of its own (so each pipeline's model is exact): SET of a
     * number or a word, INCR (which fails on a word), DEL and EXISTS of one to three keys, GET, MGET
     * and MSET of two to four keys (split by owner on the node). Every reply is checked against
     * {@link StringModel}, then every key at ALL through the next node.
     */
    @Test
    void jedisPipelinesMatchAModel() {
        String prefix = "jedis:" + runId();
        String run = "Jedis pipelines, " + JEDIS_COMMANDS + " commands over " + JEDIS_KEYS + " keys through each of "
                + cluster.nodes().size() + " nodes";
        Violations replies = new Violations(run + ", replies");
        Violations left = new Violations(run + ", state left (at ALL through the next node)");
        for (Node node : cluster.nodes()) {
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < JEDIS_KEYS; i++) {
                keys.add(prefix + ":" + node.index() + ":" + i);
            }
            StringModel model = new StringModel();
            List<String> commands = new ArrayList<>();
            List<Object> expected = new ArrayList<>();
            List<Response<?>> responses = new ArrayList<>();
            try (Jedis j = node.client()) {
                Pipeline p = j.pipelined();
                for (int c = 0; c < JEDIS_COMMANDS; c++) {
                    String k = keys.get(random.nextInt(keys.size()));
                    int op = random.nextInt(100);
                    if (op < 25) {
                        String v = random.nextInt(3) == 0 ? "w" + random.nextInt(1000)
                                : Integer.toString(random.nextInt(2000) - 1000);
                        commands.add("SET " + k + " " + v);
                        responses.add(p.set(k, v));
                        expected.add(model.set(k, v));
                    } else if (op < 50) {
                        commands.add("INCR " + k);
                        responses.add(p.incr(k));
                        expected.add(model.incr(k));
                    } else if (op < 60) {
                        String[] ks = pick(keys, 1 + random.nextInt(3));
                        commands.add("DEL " + String.join(" ", ks));
                        responses.add(p.del(ks));
                        expected.add(model.del(ks));
                    } else if (op < 75) {
                        commands.add("GET " + k);
                        responses.add(p.get(k));
                        expected.add(model.get(k));
                    } else if (op < 85) {
                        String[] ks = pick(keys, 2 + random.nextInt(3));
                        commands.add("MGET " + String.join(" ", ks));
                        responses.add(p.mget(ks));
                        expected.add(model.mget(ks));
                    } else if (op < 93) {
                        String[] ks = pick(keys, 2 + random.nextInt(3));
                        String[] kv = new String[ks.length * 2];
                        for (int i = 0; i < ks.length; i++) {
                            kv[2 * i] = ks[i];
                            kv[2 * i + 1] = Integer.toString(random.nextInt(100));
                        }
                        commands.add("MSET " + String.join(" ", kv));
                        responses.add(p.mset(kv));
                        expected.add(model.mset(kv));
                    } else {
                        String[] ks = pick(keys, 1 + random.nextInt(3));
                        commands.add("EXISTS " + String.join(" ", ks));
                        responses.add(p.exists(ks));
                        expected.add(model.exists(ks));
                    }
                }
                p.sync();
            }
            for (int c = 0; c < commands.size(); c++) {
                replies.expect("#" + c + " " + commands.get(c) + " (through " + node + ")", expected.get(c),
                        outcome(responses.get(c)::get));
            }
            Node via = cluster.next(node);
            try (Jedis j = via.client()) {
                LoopbackCluster.consistency(j, "ALL");
                for (String k : keys) {
                    left.expect("GET " + k + " through " + via, model.get(k), outcome(() -> j.get(k)));
                }
            }
        }
        Violations.assertNone(replies, left);
    }

    /** {@code n} keys drawn from {@code keys}, repeats allowed (as a client may send them). */
    private String[] pick(List<String> keys, int n) {
        String[] picked = new String[n];
        for (int i = 0; i < n; i++) {
            picked[i] = keys.get(random.nextInt(keys.size()));
        }
        return picked;
    }

    /**
     * Redis 7.0's replies to the string commands these tests send, over a map: what a single Redis
     * holds after each command, and what it answers.
     */
    private static final class StringModel {

        private final Map<String, String> values = new HashMap<>();

        String set(String k, String v) {
            values.put(k, v);
            return "OK";
        }

        long append(String k, String v) {
            String now = values.getOrDefault(k, "") + v;
            values.put(k, now);
            return now.length();
        }

        String get(String k) {
            return values.get(k);
        }

        Object incr(String k) {
            String old = values.getOrDefault(k, "0");
            long n;
            try {
                n = Long.parseLong(old);
            } catch (NumberFormatException e) {
                return new Err("ERR value is not an integer or out of range");
            }
            if (n == Long.MAX_VALUE) {
                return new Err("ERR increment or decrement would overflow");
            }
            values.put(k, Long.toString(n + 1));
            return n + 1;
        }

        long del(String... ks) {
            long removed = 0;
            for (String k : ks) {
                if (values.remove(k) != null) {
                    removed++;
                }
            }
            return removed;
        }

        /** EXISTS counts a key once for each time it is named. */
        long exists(String... ks) {
            long n = 0;
            for (String k : ks) {
                if (values.containsKey(k)) {
                    n++;
                }
            }
            return n;
        }

        List<String> mget(String... ks) {
            List<String> out = new ArrayList<>();
            for (String k : ks) {
                out.add(values.get(k));
            }
            return out;
        }

        String mset(String... kv) {
            for (int i = 0; i < kv.length; i += 2) {
                values.put(kv[i], kv[i + 1]);
            }
            return "OK";
        }
    }

    // ---- redis-cli --pipe ----

    /**
     * {@code redis-cli --pipe}, the documented way to mass-insert into Redis: a file of
     * {@value #PIPE_KEYS} × (SET k v1, SET k v2, INCR c, INCR c) in RESP, piped to node 1 in one go.
     * redis-cli must report no error and one reply per command, and every key must read v2 and every
     * counter 2 at ALL through node 2. The file is left in the log directory to replay by hand.
     */
    @Test
    void redisCliPipe() throws IOException {
        Assumptions.assumeTrue(TrellisProcess.onPath("redis-cli"), "redis-cli is not installed");
        String prefix = "pipe:" + runId();
        StringBuilder resp = new StringBuilder();
        int commands = 0;
        for (int i = 0; i < PIPE_KEYS; i++) {
            String k = prefix + ":k:" + i;
            String c = prefix + ":c:" + i;
            appendResp(resp, "SET", k, "v1");
            appendResp(resp, "SET", k, "v2");
            appendResp(resp, "INCR", c);
            appendResp(resp, "INCR", c);
            commands += 4;
        }
        Path file = Files.writeString(cluster.logs().resolve("redis-cli-pipe.resp"), resp, StandardCharsets.UTF_8);
        Node node = cluster.node(0);
        Result r = TrellisProcess.runCommand(cluster.logs(), resp.toString(),
                List.of("redis-cli", "-h", node.host(), "-p", Integer.toString(node.port()), "--pipe"));
        System.out.printf("PipelinedClientsIT: redis-cli --pipe < %s to %s:%n%s%s", file, node, r.stdout(),
                r.stderr());
        assertThat(r.stdout()).as("redis-cli --pipe summary (stderr: %s)", r.stderr())
                .contains("errors: 0, replies: " + commands);
        assertThat(r.exitCode()).as("redis-cli exit status").isZero();

        Node via = cluster.next(node);
        Violations left = new Violations("redis-cli --pipe, " + commands + " commands through " + node
                + ", state left (at ALL through " + via + ")");
        try (Jedis j = via.client()) {
            LoopbackCluster.consistency(j, "ALL");
            Pipeline p = j.pipelined();
            List<Response<String>> values = new ArrayList<>();
            List<Response<String>> counters = new ArrayList<>();
            for (int i = 0; i < PIPE_KEYS; i++) {
                values.add(p.get(prefix + ":k:" + i));
                counters.add(p.get(prefix + ":c:" + i));
            }
            p.sync();
            for (int i = 0; i < PIPE_KEYS; i++) {
                left.expect("GET " + prefix + ":k:" + i, "v2", outcome(values.get(i)::get));
                left.expect("GET " + prefix + ":c:" + i, "2", outcome(counters.get(i)::get));
            }
        }
        left.assertNone();
    }

    private static void appendResp(StringBuilder out, String... args) {
        out.append('*').append(args.length).append("\r\n");
        for (String a : args) {
            out.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
        }
    }

    // ---- transactions ----

    /**
     * Lettuce's async API with auto-flush off on one connection (to node 1): for each of
     * {@value #TX_KEYS} keys, {@value #TX_PER_KEY} transactions {@code MULTI, INCR k, APPEND k 0, GET k,
     * EXEC} with a plain {@code INCR k} after the first, all queued and flushed in one write, so that
     * thousands of transactions are in flight at once, most of them forwarded to their key's
     * coordinator. Each transaction has one key, so one coordinator. Each EXEC's
     * {@code TransactionResult} and each plain reply must be what a single Redis answers
     * ({@link StringModel}); then every key at ALL through node 2.
     */
    @Test
    void lettuceTransactionsInFlight() {
        String prefix = "tx:" + runId();
        Node node = cluster.node(0);
        String run = "Lettuce async transactions, auto-flush off, " + TX_KEYS + " keys x " + TX_PER_KEY
                + " transactions through " + node;
        Violations replies = new Violations(run + ", replies");
        StringModel model = new StringModel();
        List<String> sent = new ArrayList<>();
        List<Object> expected = new ArrayList<>();
        List<Supplier<Object>> actual = new ArrayList<>();
        List<RedisFuture<?>> futures = new ArrayList<>();
        try (StatefulRedisConnection<String, String> connection = lettuce.connect(uri(node))) {
            connection.setAutoFlushCommands(false);
            RedisAsyncCommands<String, String> async = connection.async();
            for (int i = 0; i < TX_KEYS; i++) {
                String k = prefix + ":" + i;
                for (int t = 0; t < TX_PER_KEY; t++) {
                    RedisFuture<String> multi = async.multi();
                    RedisFuture<Long> incr = async.incr(k);
                    RedisFuture<Long> append = async.append(k, "0");
                    RedisFuture<String> get = async.get(k);
                    RedisFuture<TransactionResult> exec = async.exec();
                    futures.addAll(List.of(multi, incr, append, get, exec));
                    String tx = "transaction " + t + " on " + k;
                    Object incrExpected = model.incr(k);
                    Object appendExpected = model.append(k, "0");
                    Object getExpected = model.get(k);
                    sent.add("MULTI (" + tx + ")");
                    expected.add("OK");
                    actual.add(() -> outcome(multi));
                    sent.add("EXEC (" + tx + ")");
                    expected.add(List.of(incrExpected, appendExpected, getExpected));
                    actual.add(() -> {
                        Object result = outcome(exec);
                        if (!(result instanceof TransactionResult r)) {
                            return result;
                        }
                        if (r.wasDiscarded()) {
                            return "discarded";
                        }
                        List<Object> elements = new ArrayList<>();
                        r.forEach(elements::add);
                        return elements;
                    });
                    sent.add("INCR, APPEND, GET futures (" + tx + ")");
                    expected.add(List.of(incrExpected, appendExpected, getExpected));
                    actual.add(() -> List.of(outcome(incr), outcome(append), outcome(get)));
                    if (t == 0) {
                        RedisFuture<Long> plain = async.incr(k);
                        futures.add(plain);
                        sent.add("INCR " + k + " between transactions");
                        expected.add(model.incr(k));
                        actual.add(() -> outcome(plain));
                    }
                }
            }
            connection.flushCommands();
            awaitReplies(futures);
        }
        for (int s = 0; s < sent.size(); s++) {
            replies.expect(sent.get(s), expected.get(s), actual.get(s).get());
        }
        Node via = cluster.next(node);
        Violations left = new Violations(run + ", state left (at ALL through " + via + ")");
        try (Jedis j = via.client()) {
            LoopbackCluster.consistency(j, "ALL");
            Pipeline p = j.pipelined();
            List<Response<String>> values = new ArrayList<>();
            for (int i = 0; i < TX_KEYS; i++) {
                values.add(p.get(prefix + ":" + i));
            }
            p.sync();
            for (int i = 0; i < TX_KEYS; i++) {
                String k = prefix + ":" + i;
                left.expect("GET " + k, model.get(k), outcome(values.get(i)::get));
            }
        }
        Violations.assertNone(replies, left);
    }

    /**
     * A transaction sent in one write, MULTI to EXEC, as redis-py's {@code pipeline(transaction=True)}
     * sends it, holding a command that cannot be queued ({@code KEYS *}: keyless, so refused in a
     * transaction): the queued commands answer QUEUED, KEYS its error, EXEC {@code EXECABORT}, and
     * nothing is applied on any replica. The same connection's next transaction runs.
     */
    @Test
    void aQueuingErrorAbortsAPipelinedTransaction() throws IOException {
        String k = "abort:" + runId();
        Node node = cluster.node(1);
        try (Socket socket = new Socket(node.host(), node.port())) {
            socket.setSoTimeout(LoopbackCluster.CLIENT_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                    StandardCharsets.UTF_8));
            StringBuilder request = new StringBuilder();
            appendResp(request, "MULTI");
            appendResp(request, "SET", k, "1");
            appendResp(request, "KEYS", "*");
            appendResp(request, "INCR", k);
            appendResp(request, "EXEC");
            out.write(request.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                lines.add(in.readLine());
            }
            assertThat(lines).as("replies through %s", node).containsExactly(
                    "+OK",
                    "+QUEUED",
                    "-ERR 'keys' is not allowed in a transaction: a transaction runs on the coordinator of its keys, "
                            + "and this command is not about keys",
                    "+QUEUED",
                    "-EXECABORT Transaction discarded because of previous errors.");

            StringBuilder again = new StringBuilder();
            appendResp(again, "MULTI");
            appendResp(again, "INCR", k);
            appendResp(again, "EXEC");
            out.write(again.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            List<String> next = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                next.add(in.readLine());
            }
            assertThat(next).as("the next transaction through %s", node)
                    .containsExactly("+OK", "+QUEUED", "*1", ":1");
        }
        for (Node n : cluster.nodes()) {
            try (Jedis j = n.client()) {
                LoopbackCluster.consistency(j, "ALL");
                assertThat(j.get(k)).as("%s at ALL through %s", k, n).isEqualTo("1");
            }
        }
    }

    /**
     * Lettuce's async API, auto-flush off, one connection: for each of {@value #WATCH_KEYS} keys,
     * {@code WATCH k, SET k touched, MULTI, SET k mine, EXEC} in one write. Redis answers each WATCH
     * before it reads the SET after it, so every EXEC is discarded (null) and every key reads
     * "touched" afterwards.
     */
    @Test
    void lettuceWatchedKeysWrittenInTheSamePipelineAbortExec() {
        String prefix = "watch:" + runId();
        Node node = cluster.node(0);
        String run = "Lettuce async WATCH/SET/MULTI/SET/EXEC, auto-flush off, " + WATCH_KEYS + " keys through " + node;
        Violations replies = new Violations(run + ", replies");
        List<RedisFuture<TransactionResult>> execs = new ArrayList<>();
        List<RedisFuture<?>> futures = new ArrayList<>();
        try (StatefulRedisConnection<String, String> connection = lettuce.connect(uri(node))) {
            connection.setAutoFlushCommands(false);
            RedisAsyncCommands<String, String> async = connection.async();
            for (int i = 0; i < WATCH_KEYS; i++) {
                String k = prefix + ":" + i;
                futures.add(async.watch(k));
                futures.add(async.set(k, "touched"));
                futures.add(async.multi());
                futures.add(async.set(k, "mine"));
                RedisFuture<TransactionResult> exec = async.exec();
                futures.add(exec);
                execs.add(exec);
            }
            connection.flushCommands();
            awaitReplies(futures);
        }
        for (int i = 0; i < WATCH_KEYS; i++) {
            Object result = outcome(execs.get(i));
            replies.expect("EXEC after WATCH and SET of " + prefix + ":" + i, "discarded",
                    result instanceof TransactionResult r ? (r.wasDiscarded() ? "discarded" : "ran") : result);
        }
        Node via = cluster.next(node);
        Violations left = new Violations(run + ", state left (at ALL through " + via + ")");
        try (Jedis j = via.client()) {
            LoopbackCluster.consistency(j, "ALL");
            for (int i = 0; i < WATCH_KEYS; i++) {
                String k = prefix + ":" + i;
                left.expect("GET " + k, "touched", outcome(() -> j.get(k)));
            }
        }
        Violations.assertNone(replies, left);
    }

    // ---- plumbing ----

    /** Waits for every reply, errors included: those are checked as replies, not thrown here. */
    private static void awaitReplies(List<RedisFuture<?>> futures) {
        CompletableFuture<?>[] done = futures.stream()
                .map(f -> f.toCompletableFuture().handle((reply, error) -> null))
                .toArray(CompletableFuture[]::new);
        assertThat(CompletableFuture.allOf(done))
                .as("every reply of %d pipelined commands within %s", futures.size(), REPLY_TIMEOUT)
                .succeedsWithin(REPLY_TIMEOUT);
    }

    private static RedisURI uri(Node node) {
        return RedisURI.Builder.redis(node.host(), node.port()).withTimeout(REPLY_TIMEOUT).build();
    }

    /** A reply, or the error it failed with, as {@link Err}. */
    private static Object outcome(Future<?> future) {
        try {
            return future.get(0, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return new Err(String.valueOf(e.getCause().getMessage()));
        } catch (Exception e) {
            return new Err(e.toString());
        }
    }

    /** A Jedis pipeline reply, or the error it failed with, as {@link Err}. */
    private static Object outcome(Supplier<?> reply) {
        try {
            return reply.get();
        } catch (JedisDataException e) {
            return new Err(e.getMessage());
        }
    }

    /** Keys of each test are new, so a rerun or another test never sees them. */
    private String runId() {
        return Long.toHexString(random.nextLong() & Long.MAX_VALUE);
    }
}
