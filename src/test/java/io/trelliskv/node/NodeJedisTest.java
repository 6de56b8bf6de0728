package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Clock;
import io.trelliskv.net.NetConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.testing.InfoFields;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.Response;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.params.SetParams;
import redis.clients.jedis.resps.ScanResult;
import redis.clients.jedis.util.KeyValue;
import redis.clients.jedis.util.SafeEncoder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A real node on loopback, driven by Jedis 5 (and by raw sockets where Jedis cannot misbehave
 * enough): the client-visible behaviour of the whole server path, from the Netty pipeline through the
 * dispatcher and commands to the memory engine, including the limits that keep a node alive under bad
 * clients (memory bound, client limit, protocol errors, clients that do not read their replies).
 *
 * <p>Every wait polls a condition with a deadline; nothing sleeps.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NodeJedisTest {

    /** Socket timeout for every client of these tests: a stuck node fails the test instead of hanging it. */
    private static final int CLIENT_TIMEOUT_MILLIS = 5_000;

    private final List<AutoCloseable> opened = new ArrayList<>();
    private Node node;

    @AfterEach
    void stopEverything() throws Exception {
        for (AutoCloseable c : opened) {
            try {
                c.close();
            } catch (Exception e) {
                // A client the test already broke on purpose; the node is what matters.
            }
        }
        if (node != null) {
            node.close();
        }
    }

    // ---------------------------------------------------------------- node and client set-up

    /** Options of the node under test; each test changes what it needs. */
    private static final class Options {
        int maxClients = 100;
        long maxMemory = 0;
        EvictionPolicy policy = EvictionPolicy.NOEVICTION;
        String unixSocket;
        int outputSoft = NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT;
        long outputHard = NetConfig.DEFAULT_OUTPUT_BUFFER_HARD;
    }

    private Node startNode() throws IOException {
        return startNode(new Options());
    }

    private Node startNode(Options o) throws IOException {
        NetConfig net = new NetConfig("127.0.0.1", 0, o.unixSocket, 2, o.maxClients, o.outputSoft, o.outputHard,
                RespLimits.DEFAULTS);
        EngineConfig engine = new EngineConfig(o.maxMemory, o.policy, 0, EngineConfig.DEFAULT_EVICTION_SAMPLES);
        node = new Node(new NodeConfig(net, engine, ClusterConfig.standalone()), Clock.SYSTEM);
        node.start();
        return node;
    }

    private HostAndPort hostAndPort() {
        InetSocketAddress a = node.address();
        return new HostAndPort(a.getHostString(), a.getPort());
    }

    private Jedis jedis() {
        return jedis(RedisProtocol.RESP2);
    }

    private Jedis jedis(RedisProtocol protocol) {
        Jedis j = new Jedis(hostAndPort(), DefaultJedisClientConfig.builder()
                .protocol(protocol)
                .socketTimeoutMillis(CLIENT_TIMEOUT_MILLIS)
                .connectionTimeoutMillis(CLIENT_TIMEOUT_MILLIS)
                .build());
        opened.add(j);
        return j;
    }

    private Socket rawSocket() throws IOException {
        Socket s = new Socket();
        opened.add(s);
        s.connect(node.address(), CLIENT_TIMEOUT_MILLIS);
        s.setSoTimeout(CLIENT_TIMEOUT_MILLIS);
        return s;
    }

    /** Reads until the server closes the connection (bounded by the socket timeout). */
    private static String readToEnd(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        for (int n; (n = in.read(buf)) >= 0; ) {
            out.write(buf, 0, n);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static long infoLong(Jedis j, String section, String field) {
        String value = InfoFields.parse(j.info(section)).get(field);
        assertThat(value).as("INFO %s field %s", section, field).isNotNull();
        return Long.parseLong(value);
    }

    /** A command Jedis does not know, sent as typed. */
    private static ProtocolCommand command(String name) {
        byte[] raw = SafeEncoder.encode(name);
        return () -> raw;
    }

    // ---------------------------------------------------------------- strings and keys

    /**
     * A node takes clients only once its membership lists it: MEMBERS on the first connection, the moment
     * {@link Node#start()} returns, has the node's own row. Several nodes in turn, as the membership thread's
     * first task once ran after the first client's command.
     */
    @Test
    void membersListsTheNodeFromItsFirstCommand() throws IOException {
        for (int i = 0; i < 5; i++) {
            startNode();
            try (Jedis j = new Jedis(hostAndPort(), DefaultJedisClientConfig.builder()
                    .socketTimeoutMillis(CLIENT_TIMEOUT_MILLIS).connectionTimeoutMillis(CLIENT_TIMEOUT_MILLIS).build())) {
                Object members = j.sendCommand(() -> SafeEncoder.encode("MEMBERS"));
                assertThat(SafeEncoder.encode((byte[]) members))
                        .contains(String.format("%016x", node.nodeId()))
                        .contains("(this node)");
            }
            node.close();
            node = null;
        }
    }

    @Test
    void setGetAndMissingKey() throws IOException {
        startNode();
        Jedis j = jedis();

        assertThat(j.set("greeting", "hello")).isEqualTo("OK");
        assertThat(j.get("greeting")).isEqualTo("hello");
        assertThat(j.get("missing")).isNull();
        assertThat(j.exists("greeting")).isTrue();
        assertThat(j.del("greeting")).isEqualTo(1);
        assertThat(j.get("greeting")).isNull();
    }

    @Test
    void binaryValuesRoundTripByteForByte() throws IOException {
        startNode();
        Jedis j = jedis();
        byte[] key = {0, '\r', '\n', (byte) 0xff, ' '};
        byte[] value = new byte[256 * 4];
        for (int i = 0; i < value.length; i++) {
            value[i] = (byte) i;
        }

        j.set(key, value);

        assertThat(j.get(key)).isEqualTo(value);
        assertThat(j.strlen(key)).isEqualTo(value.length);
    }

    @Test
    void pipelineOfAThousandCommandsAnswersInOrder() throws IOException {
        startNode();
        Jedis j = jedis();
        Pipeline p = j.pipelined();
        List<Response<String>> sets = new ArrayList<>();
        List<Response<String>> gets = new ArrayList<>();

        for (int i = 0; i < 500; i++) {
            sets.add(p.set("p:" + i, "v" + i));
            gets.add(p.get("p:" + i));
        }
        p.sync();

        for (int i = 0; i < 500; i++) {
            assertThat(sets.get(i).get()).isEqualTo("OK");
            assertThat(gets.get(i).get()).isEqualTo("v" + i);
        }
        assertThat(j.dbSize()).isEqualTo(500);
    }

    @Test
    void msetAndMget() throws IOException {
        startNode();
        Jedis j = jedis();

        assertThat(j.mset("a", "1", "b", "2", "c", "3")).isEqualTo("OK");

        assertThat(j.mget("a", "missing", "c", "b")).containsExactly("1", null, "3", "2");
    }

    @Test
    void concurrentIncrementsAreNeverLost() throws Exception {
        startNode();
        JedisPooled pool = new JedisPooled(hostAndPort(), DefaultJedisClientConfig.builder()
                .socketTimeoutMillis(CLIENT_TIMEOUT_MILLIS).build());
        opened.add(pool);
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                done.add(threads.submit(() -> {
                    for (int i = 0; i < 500; i++) {
                        pool.incr("counter");
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(20, TimeUnit.SECONDS);
            }
        } finally {
            threads.shutdownNow();
        }

        assertThat(pool.get("counter")).isEqualTo("2000");
    }

    @Test
    void expireAndTtl() throws IOException {
        startNode();
        Jedis j = jedis();
        j.set("session", "data");

        assertThat(j.ttl("session")).isEqualTo(-1);
        assertThat(j.expire("session", 100)).isEqualTo(1);
        assertThat(j.ttl("session")).isBetween(99L, 100L);
        assertThat(j.pttl("session")).isBetween(98_000L, 100_000L);
        assertThat(j.persist("session")).isEqualTo(1);
        assertThat(j.ttl("session")).isEqualTo(-1);
        assertThat(j.ttl("missing")).isEqualTo(-2);
        assertThat(j.expire("missing", 100)).isZero();
    }

    @Test
    void scanVisitsEveryKey() throws IOException {
        startNode();
        Jedis j = jedis();
        Set<String> written = new HashSet<>();
        Pipeline p = j.pipelined();
        for (int i = 0; i < 300; i++) {
            p.set("user:" + i, "x");
            p.set("order:" + i, "x");
            written.add("user:" + i);
        }
        p.sync();

        Set<String> seen = new HashSet<>();
        String cursor = ScanParams.SCAN_POINTER_START;
        int steps = 0;
        do {
            ScanResult<String> step = j.scan(cursor, new ScanParams().match("user:*").count(50));
            seen.addAll(step.getResult());
            cursor = step.getCursor();
            assertThat(++steps).as("SCAN steps before the cursor returns to 0").isLessThan(10_000);
        } while (!cursor.equals(ScanParams.SCAN_POINTER_START));

        assertThat(seen).isEqualTo(written);
    }

    // ---------------------------------------------------------------- server commands

    @Test
    void infoSectionsParseAndKeyspaceCountsKeys() throws IOException {
        startNode();
        Jedis j = jedis();
        j.set("k1", "v");
        j.set("k2", "v");
        j.setex("k3", 100, "v");

        String all = j.info();
        assertThat(all).contains("# Server", "# Clients", "# Memory", "# Stats", "# Keyspace");
        Map<String, String> fields = InfoFields.parse(all);
        assertThat(fields).containsEntry("redis_version", ServerCommands.REDIS_COMPAT_VERSION)
                .containsEntry("tcp_port", Integer.toString(node.address().getPort()))
                .containsKeys("used_memory", "total_commands_processed", "uptime_in_seconds");
        assertThat(Long.parseLong(fields.get("connected_clients"))).isEqualTo(1);
        assertThat(InfoFields.parse(j.info("keyspace"))).containsEntry("db0", "keys=3,expires=1,avg_ttl=0");
        assertThat(j.info("KEYSPACE")).startsWith("# Keyspace").doesNotContain("# Server");
        assertThat(j.info("commandstats")).contains("cmdstat_set:calls=2");
    }

    @Test
    void infoAndConfigGetSayHowManyIoThreadsRun() throws IOException {
        startNode(); // two I/O threads (see startNode)
        Jedis j = jedis();

        assertThat(InfoFields.parse(j.info("server"))).containsEntry("io_threads", "2");
        assertThat(j.configGet("io-threads")).containsEntry("io-threads", "2");
    }

    @Test
    void everyUnknownSubcommandErrorPointsAtAHelpThatAnswers() throws IOException {
        startNode();
        Jedis j = jedis();
        for (Protocol.Command container : List.of(Protocol.Command.ACL, Protocol.Command.CLIENT, Protocol.Command.COMMAND,
                Protocol.Command.CONFIG)) {
            String name = container.name();
            assertThatThrownBy(() -> j.sendCommand(container, "NOSUCH"))
                    .hasMessage("ERR unknown subcommand 'NOSUCH'. Try " + name + " HELP.");
            List<?> help = (List<?>) j.sendCommand(container, "HELP");
            assertThat(SafeEncoder.encode((byte[]) help.get(0))).as(name + " HELP")
                    .startsWith(name + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
            assertThat(help.stream().map(l -> SafeEncoder.encode((byte[]) l))).contains("HELP", "    Print this help.");
        }
    }

    @Test
    void everySubcommandCommandListNamesIsOneTheNodeRuns() throws IOException {
        startNode();
        Jedis j = jedis();
        List<String> listed = j.commandList();
        ServerCommands.SUBCOMMANDS.forEach((container, subs) -> subs.forEach(sub -> {
            assertThat(listed).contains(container + "|" + sub);
            // Sent bare: an answer or an arity error, never "unknown subcommand".
            try {
                j.sendCommand(() -> container.getBytes(StandardCharsets.UTF_8), sub);
            } catch (JedisDataException e) {
                assertThat(e.getMessage()).as(container + " " + sub).doesNotContain("unknown subcommand");
            }
        }));
    }

    @Test
    void hello3NegotiatesResp3() throws IOException {
        startNode();
        Jedis j = jedis(RedisProtocol.RESP3);

        Object reply = j.sendCommand(Protocol.Command.HELLO, "3");

        Map<String, Object> hello = new HashMap<>();
        for (Object kv : (List<?>) reply) {
            KeyValue<?, ?> e = (KeyValue<?, ?>) kv;
            Object v = e.getValue();
            hello.put(SafeEncoder.encode((byte[]) e.getKey()), v instanceof byte[] b ? SafeEncoder.encode(b) : v);
        }
        assertThat(hello).containsEntry("server", "trelliskv").containsEntry("proto", 3L)
                .containsEntry("version", ServerCommands.REDIS_COMPAT_VERSION);
        assertThat(j.clientInfo()).contains("resp=3");
        j.set("k", "v");
        assertThat(j.get("k")).isEqualTo("v");
        assertThat(j.get("missing")).isNull();
        assertThat(j.incr("n")).isEqualTo(1);
        assertThat(InfoFields.parse(j.info("keyspace"))).containsKey("db0");
    }

    @Test
    void clientSetnameShowsInClientList() throws IOException {
        startNode();
        Jedis named = jedis();
        Jedis other = jedis();

        assertThat(named.clientSetname("worker-1")).isEqualTo("OK");

        assertThat(named.clientGetname()).isEqualTo("worker-1");
        String list = other.clientList();
        assertThat(list.split("\n")).hasSize(2);
        assertThat(list).contains("name=worker-1");
        assertThatThrownBy(() -> named.clientSetname("has space"))
                .isInstanceOf(JedisDataException.class)
                .hasMessage("ERR Client names cannot contain spaces, newlines or special characters.");
    }

    @Test
    void unknownCommandGetsRedisErrorText() throws IOException {
        startNode();
        Jedis j = jedis();

        assertThatThrownBy(() -> j.sendCommand(command("NOSUCHCMD"), "a", "b"))
                .isInstanceOf(JedisDataException.class)
                .hasMessage("ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' ");
        assertThat(j.ping()).isEqualTo("PONG");
    }

    @Test
    void wrongArityGetsRedisErrorText() throws IOException {
        startNode();
        Jedis j = jedis();

        assertThatThrownBy(() -> j.sendCommand(Protocol.Command.GET))
                .isInstanceOf(JedisDataException.class)
                .hasMessage("ERR wrong number of arguments for 'get' command");
        assertThatThrownBy(() -> j.sendCommand(Protocol.Command.SET, "only-key"))
                .isInstanceOf(JedisDataException.class)
                .hasMessage("ERR wrong number of arguments for 'set' command");
        assertThat(j.ping()).isEqualTo("PONG");
    }

    // ---------------------------------------------------------------- memory bound and expiry

    @Test
    void noevictionRefusesWritesOverTheBoundButServesReads() throws IOException {
        Options o = new Options();
        o.maxMemory = 64 * 1024;
        startNode(o);
        Jedis j = jedis();
        String value = "x".repeat(1024);

        JedisDataException oom = null;
        int written = 0;
        while (oom == null && written < 1_000) {
            try {
                j.set("k" + written, value);
                written++;
            } catch (JedisDataException e) {
                oom = e;
            }
        }

        assertThat(oom).as("a write refused within 1000 writes of 1 KiB under a 64 KiB bound").isNotNull();
        assertThat(oom).hasMessage("OOM command not allowed when used memory > 'maxmemory'.");
        assertThat(written).isBetween(1, 64);
        assertThat(j.get("k0")).isEqualTo(value);
        assertThat(j.dbSize()).isEqualTo(written);
        assertThatThrownBy(() -> j.set("another", "v")).hasMessageStartingWith("OOM ");
        assertThat(j.del("k0")).isEqualTo(1);
        assertThat(j.flushAll()).isEqualTo("OK");
        assertThat(j.set("after-flush", "v")).isEqualTo("OK");
    }

    @Test
    void allkeysLruKeepsAcceptingWritesWithinTheBound() throws IOException {
        Options o = new Options();
        o.maxMemory = 256 * 1024;
        o.policy = EvictionPolicy.ALLKEYS_LRU;
        startNode(o);
        Jedis j = jedis();
        String value = "y".repeat(1024);

        for (int i = 0; i < 2_000; i++) {
            assertThat(j.set("k" + i, value)).isEqualTo("OK");
        }

        // Every entry costs more than its 1 KiB value, so the bound holds at most 256 of them (+ slack of 8).
        assertThat(j.dbSize()).isBetween(1L, 264L);
        assertThat(infoLong(j, "memory", "used_memory")).isLessThanOrEqualTo(o.maxMemory + 8 * 1024);
        assertThat(infoLong(j, "stats", "evicted_keys")).isGreaterThanOrEqualTo(2_000 - 264);
        assertThat(j.get("k1999")).isEqualTo(value);
    }

    @Test
    void expiredKeysAreReclaimedWithoutBeingRead() throws IOException {
        startNode();
        Jedis j = jedis();
        Pipeline p = j.pipelined();
        for (int i = 0; i < 1_000; i++) {
            p.set("short:" + i, "v", SetParams.setParams().px(100));
        }
        p.set("durable", "v");
        p.sync();

        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
                .until(j::dbSize, n -> n == 1);

        assertThat(infoLong(j, "stats", "expired_keys")).isEqualTo(1_000);
        assertThat(j.get("durable")).isEqualTo("v");
    }

    // ---------------------------------------------------------------- bad clients

    @Test
    void clientOverMaxClientsIsRefusedWithRedisError() throws IOException {
        Options o = new Options();
        o.maxClients = 2;
        startNode(o);
        Jedis first = jedis();
        Jedis second = jedis();
        assertThat(first.ping()).isEqualTo("PONG");
        assertThat(second.ping()).isEqualTo("PONG");

        Socket third = rawSocket();

        assertThat(readToEnd(third)).isEqualTo("-ERR max number of clients reached\r\n");
        assertThat(first.ping()).isEqualTo("PONG");
        assertThat(infoLong(first, "stats", "rejected_connections")).isEqualTo(1);

        second.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> infoLong(first, "clients", "connected_clients") == 1);
        assertThat(jedis().ping()).isEqualTo("PONG");
    }

    @Test
    void protocolErrorClosesOnlyTheOffendingClient() throws IOException {
        startNode();
        Jedis good = jedis();
        good.set("k", "v");

        Socket bad = rawSocket();
        bad.getOutputStream().write("*abc\r\n".getBytes(StandardCharsets.US_ASCII));

        assertThat(readToEnd(bad)).isEqualTo("-ERR Protocol error: invalid multibulk length\r\n");
        assertThat(good.get("k")).isEqualTo("v");
        await().atMost(Duration.ofSeconds(5)).until(() -> infoLong(good, "clients", "connected_clients") == 1);
    }

    /**
     * A client that sends many GETs of a large value and never reads the replies must not make the
     * node buffer replies without bound: the node stops reading it (back-pressure) or drops it at the
     * output buffer limit, and keeps serving everyone else.
     *
     * <p>The measure is how many of those GETs the node ran: each one puts a whole value into memory
     * that the stuck client cannot take. The kernel's socket buffers on loopback absorb a few MiB, so
     * the node may run at most (hard limit + 16 MiB of socket buffers) / value size of them. An
     * unbounded node runs all of them.
     */
    @Test
    void clientNotReadingRepliesDoesNotGrowTheNodeWithoutBound() throws IOException {
        Options o = new Options();
        o.outputSoft = 64 * 1024;
        o.outputHard = 8L << 20;
        startNode(o);
        Jedis good = jedis();
        int valueSize = 128 * 1024;
        good.set("big".getBytes(StandardCharsets.US_ASCII), new byte[valueSize]);
        good.configResetStat();

        int requests = 2_000; // 250 MiB of replies if all were run: bounded even if the node is not
        SocketChannel stuck = SocketChannel.open(node.address());
        opened.add(stuck);
        stuck.configureBlocking(false);
        ByteBuffer pipeline = ByteBuffer.wrap("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(requests)
                .getBytes(StandardCharsets.US_ASCII));
        long writeDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (pipeline.hasRemaining() && System.nanoTime() < writeDeadline) {
            stuck.write(pipeline); // non-blocking: stops making progress once the node stops reading
        }

        // Wait until the node has stopped running the stuck client's GETs: the count holds for 300 ms.
        AtomicLong lastCalls = new AtomicLong(-1);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).during(Duration.ofMillis(300))
                .until(() -> {
                    long calls = getCalls(good);
                    return calls == lastCalls.getAndSet(calls);
                });

        long maxUndeliverable = (o.outputHard + (16L << 20)) / valueSize;
        assertThat(getCalls(good)).as("GETs of a %d-byte value run for a client reading none of them", valueSize)
                .isLessThanOrEqualTo(maxUndeliverable);
        assertThat(good.get("big".getBytes(StandardCharsets.US_ASCII))).hasSize(valueSize);
        assertThat(infoLong(good, "clients", "connected_clients")).isBetween(1L, 2L);

        stuck.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> infoLong(good, "clients", "connected_clients") == 1);
        assertThat(good.ping()).isEqualTo("PONG");
    }

    /** GETs run since CONFIG RESETSTAT, from INFO commandstats (0 if none). */
    private static long getCalls(Jedis j) {
        String stat = InfoFields.parse(j.info("commandstats")).get("cmdstat_get");
        if (stat == null) {
            return 0;
        }
        assertThat(stat).startsWith("calls=");
        return Long.parseLong(stat.substring("calls=".length(), stat.indexOf(',')));
    }

    // ---------------------------------------------------------------- unix socket

    @Test
    void servesOnAUnixSocket(@TempDir Path dir) throws IOException {
        Options o = new Options();
        o.unixSocket = dir.resolve("trellis.sock").toString();
        startNode(o);

        try (SocketChannel unix = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            unix.connect(UnixDomainSocketAddress.of(o.unixSocket));

            assertThat(exchange(unix, "PING\r\n", "+PONG\r\n".length())).isEqualTo("+PONG\r\n");
            assertThat(exchange(unix, "SET via-unix yes\r\n", "+OK\r\n".length())).isEqualTo("+OK\r\n");
        }
        assertThat(jedis().get("via-unix")).isEqualTo("yes");
    }

    /** Writes {@code request} and reads exactly {@code replyLength} bytes (blocking; bounded by @Timeout). */
    private static String exchange(SocketChannel channel, String request, int replyLength) throws IOException {
        channel.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII)));
        ByteBuffer reply = ByteBuffer.allocate(replyLength);
        while (reply.hasRemaining()) {
            if (channel.read(reply) < 0) {
                break;
            }
        }
        return new String(reply.array(), 0, reply.position(), StandardCharsets.US_ASCII);
    }
}
