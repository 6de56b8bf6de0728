package io.trelliskv.node;

import io.trelliskv.common.Address;
import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.net.NetConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.testing.InfoFields;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.Response;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Three real nodes in one JVM on loopback: they join through the first, and every node serves every
 * key, forwarding to the owner over real peer connections (the reply comes back on the client's
 * connection, in order, from another thread).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClusterNodesTest {

    private final List<Node> nodes = new ArrayList<>();
    private final List<Jedis> clients = new ArrayList<>();

    @BeforeEach
    void startCluster() throws IOException {
        Node seed = start(List.of());
        Address seedAddress = new Address("127.0.0.1", seed.address().getPort());
        start(List.of(seedAddress));
        start(List.of(seedAddress));
        await().atMost(Duration.ofSeconds(20)).until(() -> nodes.stream().allMatch(n ->
                n.clusterState().ring().nodes().size() == 3
                        && n.clusterState().count(io.trelliskv.membership.MemberState.ALIVE) == 3));
        for (Node n : nodes) {
            clients.add(new Jedis("127.0.0.1", n.address().getPort(), 5000));
        }
    }

    private Node start(List<Address> seeds) throws IOException {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        ClusterConfig cluster = new ClusterConfig("test", seeds, null, 16, null);
        Node node = new Node(new NodeConfig(net, EngineConfig.defaults(), cluster), Clock.SYSTEM);
        nodes.add(node);
        node.start();
        return node;
    }

    @AfterEach
    void stop() {
        clients.forEach(Jedis::close);
        nodes.forEach(Node::close);
    }

    private Node ownerOf(String key) {
        long owner = nodes.get(0).clusterState().owners(Key.of(key).token()).get(0);
        return nodes.stream().filter(n -> n.nodeId() == owner).findFirst().orElseThrow();
    }

    private long coordinatorOf(String key) {
        return nodes.get(0).clusterState().owners(Key.of(key).token()).get(0);
    }

    /** {@code count} fresh keys (named {@code prefix} and a number) whose coordinator is {@code node}. */
    private List<String> keysCoordinatedBy(Node node, String prefix, int count) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; keys.size() < count && i < 10_000; i++) {
            if (coordinatorOf(prefix + i) == node.nodeId()) {
                keys.add(prefix + i);
            }
        }
        assertThat(keys).as("keys of %x", node.nodeId()).hasSize(count);
        return keys;
    }

    /** Every replica of {@code key} holds the version its coordinator holds (the last copy may lag). */
    private void assertEveryReplicaHoldsTheCoordinatorsVersion(String key) {
        Entry written = ownerOf(key).engine().stored(Key.of(key));
        assertThat(written).as("%s on its coordinator", key).isNotNull();
        List<Long> replicas = nodes.get(0).clusterState().replicas(Key.of(key).token());
        assertThat(replicas).hasSize(3);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(replicas).allSatisfy(id -> {
            Entry e = node(id).engine().stored(Key.of(key));
            assertThat(e).as("%s on replica %x", key, id).isNotNull();
            assertThat(e.version()).as("%s on replica %x", key, id).isEqualTo(written.version());
            assertThat(new String(e.value(), StandardCharsets.UTF_8)).isEqualTo(
                    new String(written.value(), StandardCharsets.UTF_8));
        }));
    }

    private Node node(long id) {
        return nodes.stream().filter(n -> n.nodeId() == id).findFirst().orElseThrow();
    }

    @Test
    void everyNodeServesEveryKeyAndEachKeyLivesOnEveryReplica() {
        for (int i = 0; i < 60; i++) {
            assertThat(clients.get(i % 3).set("key" + i, "v" + i)).isEqualTo("OK");
        }
        for (Jedis c : clients) {
            for (int i = 0; i < 60; i++) {
                assertThat(c.get("key" + i)).isEqualTo("v" + i);
            }
        }
        for (int i = 0; i < 60; i++) {
            Node owner = ownerOf("key" + i);
            assertThat(owner.engine().peek(Key.of("key" + i))).as("key%d on its owner", i).isNotNull();
        }
        // N = 3 on three nodes: every node is a replica of every key. A QUORUM write answers after two
        // copies; the third arrives on its own.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(nodes)
                .allSatisfy(n -> assertThat(n.engine().size()).as("keys on %x", n.nodeId()).isEqualTo(60)));
        // Every node is a replica of every key, so reads and blind writes ran where they arrived ...
        assertThat(nodes.stream().mapToLong(n -> n.dispatcher().router().forwarded()).sum()).isZero();
        // ... while a read-modify-write runs on its key's first replica, a hop away from two of the three.
        for (int i = 0; i < 30; i++) {
            assertThat(clients.get(i % 3).incr("counter" + i)).isEqualTo(1L);
        }
        assertThat(nodes.stream().mapToLong(n -> n.dispatcher().router().forwarded()).sum()).isPositive();
    }

    @Test
    void pipelinedRepliesKeepTheirOrderAcrossLocalAndForwardedKeys() {
        Jedis c = clients.get(0);
        for (int i = 0; i < 100; i++) {
            c.set("p" + i, Integer.toString(i));
        }
        Pipeline p = c.pipelined();
        List<Response<String>> replies = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            for (int i = 0; i < 100; i++) {
                replies.add(p.get("p" + i));
            }
        }
        p.sync();
        for (int k = 0; k < replies.size(); k++) {
            assertThat(replies.get(k).get()).isEqualTo(Integer.toString(k % 100));
        }
    }

    @Test
    void pipelinedCommandsOnOneKeyTakeEffectInTheOrderSent() {
        Node first = nodes.get(0);
        Jedis c = clients.get(0);
        List<String> keys = new ArrayList<>();
        for (int i = 0; keys.size() < 20 && i < 10_000; i++) {
            String key = "order" + i;
            if (first.clusterState().owners(Key.of(key).token()).get(0) == first.nodeId()) {
                keys.add(key); // coordinated here: DEL waits for a read phase, SET (blind) does not
            }
        }
        assertThat(keys).hasSize(20);
        for (String key : keys) {
            c.set(key, "old");
        }
        Pipeline p = c.pipelined();
        List<Response<String>> reads = new ArrayList<>();
        List<Response<Long>> incrs = new ArrayList<>();
        for (String key : keys) {
            p.del(key);
            p.set(key, "10");
            incrs.add(p.incr(key));
            reads.add(p.get(key));
        }
        p.sync();
        for (int i = 0; i < keys.size(); i++) {
            assertThat(incrs.get(i).get()).as("INCR %s after DEL and SET", keys.get(i)).isEqualTo(11);
            assertThat(reads.get(i).get()).as("GET %s", keys.get(i)).isEqualTo("11");
            assertThat(c.get(keys.get(i))).isEqualTo("11");
        }
    }

    @Test
    void multiKeyCommandsSplitByOwnerAndMerge() {
        Jedis c = clients.get(1);
        assertThat(c.mset("a", "1", "b", "2", "c", "3", "d", "4", "e", "5")).isEqualTo("OK");
        assertThat(c.mget("e", "d", "missing", "c", "b", "a")).containsExactly("5", "4", null, "3", "2", "1");
        assertThat(clients.get(2).exists("a", "b", "c", "nope")).isEqualTo(3);
        assertThat(clients.get(0).del("a", "b", "c", "d", "e", "nope")).isEqualTo(5);
    }

    /** The node's count of reads it coordinated that asked other replicas. */
    private static long remoteReads(Jedis client) {
        return Long.parseLong(InfoFields.parse(client.info("replication")).get("coordinated_remote_reads"));
    }

    @Test
    void aPipelineOfQuorumReadsAsksTheReplicasOncePerRun() {
        Jedis c = clients.get(0);
        for (int i = 0; i < 64; i++) {
            c.set("run" + i, "v" + i);
        }
        long before = remoteReads(c);
        Pipeline p = c.pipelined();
        List<Response<String>> replies = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            replies.add(p.get("run" + i));
        }
        p.sync();
        for (int i = 0; i < 64; i++) {
            assertThat(replies.get(i).get()).isEqualTo("v" + i);
        }
        // One read per run of them (at most 64 commands, one per read of the connection), not one per GET.
        assertThat(remoteReads(c) - before).isBetween(1L, 4L);
    }

    /**
     * A seeded pipeline of reads (GET, MGET, STRLEN, EXISTS) among writes (SET, DEL, APPEND, INCR, the last
     * forwarded to its key's first replica), PINGs and changes of the connection's levels (CONSISTENCY ONE, QUORUM,
     * ALL) on a few keys answers each command as one connection of a single server would, in the order sent: reads
     * run with their replicas as one read per run of them, and the writes after them on their keys must neither
     * overtake them nor be overtaken.
     */
    @Test
    void pipelinedReadsAmongWritesAnswerAsOneServerWould() {
        Jedis c = clients.get(0);
        java.util.Random random = new java.util.Random(20261206);
        java.util.Map<String, String> model = new java.util.HashMap<>();
        List<String> keys = List.of("rk0", "rk1", "rk2", "rk3", "rk4", "rk5");
        for (int round = 0; round < 6; round++) {
            Pipeline p = c.pipelined();
            List<Response<?>> replies = new ArrayList<>();
            List<Object> expected = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                String key = keys.get(random.nextInt(keys.size()));
                String value = model.get(key);
                int op = random.nextInt(20);
                if (op < 9) {
                    replies.add(p.get(key));
                    expected.add(value);
                } else if (op < 11) {
                    String other = keys.get(random.nextInt(keys.size()));
                    replies.add(p.mget(key, other));
                    List<String> both = new ArrayList<>();
                    both.add(value);
                    both.add(model.get(other));
                    expected.add(both);
                } else if (op == 11) {
                    replies.add(p.strlen(key));
                    expected.add(value == null ? 0L : (long) value.length());
                } else if (op == 12) {
                    replies.add(p.exists(key));
                    expected.add(value == null ? Boolean.FALSE : Boolean.TRUE);
                } else if (op < 15) {
                    String v = Integer.toString(random.nextInt(100));
                    replies.add(p.set(key, v));
                    model.put(key, v);
                    expected.add("OK");
                } else if (op == 15) {
                    replies.add(p.del(key));
                    expected.add(model.remove(key) == null ? 0L : 1L);
                } else if (op == 16) {
                    replies.add(p.append(key, "7"));
                    String v = (value == null ? "" : value) + "7";
                    model.put(key, v);
                    expected.add((long) v.length());
                } else if (op == 17) {
                    replies.add(p.incr(key));
                    long v = (value == null ? 0 : Long.parseLong(value)) + 1;
                    model.put(key, Long.toString(v));
                    expected.add(v);
                } else if (op == 18 && random.nextInt(4) == 0) { // another level: reads of a run share theirs
                    String level = List.of("ONE", "QUORUM", "ALL").get(random.nextInt(3));
                    replies.add(p.sendCommand(() -> "CONSISTENCY".getBytes(StandardCharsets.UTF_8), level));
                    expected.add("OK");
                } else {
                    replies.add(p.sendCommand(Protocol.Command.PING, new String[0]));
                    expected.add("PONG");
                }
            }
            p.sync();
            for (int i = 0; i < replies.size(); i++) {
                Object reply = replies.get(i).get();
                if (reply instanceof byte[] status) { // a reply to a command sent raw
                    reply = new String(status, StandardCharsets.UTF_8);
                }
                assertThat(reply).as("round %d, command %d", round, i).isEqualTo(expected.get(i));
            }
        }
    }

    @Test
    void readModifyWriteCommandsRunOnTheOwner() {
        for (int i = 0; i < 30; i++) {
            clients.get(i % 3).incr("counter");
        }
        assertThat(clients.get(2).get("counter")).isEqualTo("30");
        assertThat(ownerOf("counter").engine().peek(Key.of("counter"))).isNotNull();
    }

    // ---- transactions (see Transactions) ----

    @Test
    void aTransactionRunsOnItsKeysCoordinatorAndReplicatesWhatItWrote() {
        Node connected = nodes.get(0);
        Node coordinator = nodes.get(1);
        List<String> keys = keysCoordinatedBy(coordinator, "tx", 2);
        String k = keys.get(0);
        String other = keys.get(1);
        long forwardedBefore = connected.dispatcher().router().forwarded();
        Transaction t = clients.get(0).multi();
        t.set(k, "10");
        t.incr(k);
        t.get(k);
        t.append(other, "x");
        assertThat(t.exec()).containsExactly("OK", 11L, "11", 1L);
        assertThat(connected.dispatcher().router().forwarded()).isGreaterThan(forwardedBefore);
        assertEveryReplicaHoldsTheCoordinatorsVersion(k);
        assertEveryReplicaHoldsTheCoordinatorsVersion(other);
        for (Jedis c : clients) {
            assertThat(c.get(k)).isEqualTo("11");
            assertThat(c.get(other)).isEqualTo("x");
        }
    }

    @Test
    void aTransactionOverKeysOfTwoCoordinatorsIsRefusedAndWritesNothing() {
        String a = keysCoordinatedBy(nodes.get(1), "cross", 1).get(0);
        String b = keysCoordinatedBy(nodes.get(2), "cross", 1).get(0);
        Transaction t = clients.get(0).multi();
        t.set(a, "1");
        t.set(b, "2");
        assertThatThrownBy(t::exec).isInstanceOf(JedisDataException.class)
                .hasMessage("CROSSSLOT Keys in request don't hash to the same node");
        assertThat(clients.get(0).get(a)).isNull();
        for (Node n : nodes) {
            assertThat(n.engine().stored(Key.of(a))).as("%s on %x", a, n.nodeId()).isNull();
            assertThat(n.engine().stored(Key.of(b))).as("%s on %x", b, n.nodeId()).isNull();
        }
    }

    @Test
    void aWatchedKeyOfAnotherCoordinatorThanTheTransactionsKeysIsRefused() {
        String watched = keysCoordinatedBy(nodes.get(1), "crossw", 1).get(0);
        String written = keysCoordinatedBy(nodes.get(2), "crossw", 1).get(0);
        Jedis c = clients.get(0);
        assertThat(c.watch(watched)).isEqualTo("OK");
        Transaction t = c.multi();
        t.set(written, "1");
        assertThatThrownBy(t::exec).isInstanceOf(JedisDataException.class)
                .hasMessage("CROSSSLOT Keys in request don't hash to the same node");
        for (Node n : nodes) {
            assertThat(n.engine().stored(Key.of(written))).as("%s on %x", written, n.nodeId()).isNull();
        }
    }

    @Test
    void aWatchedKeyWrittenThroughAnotherNodeAbortsExec() {
        String k = keysCoordinatedBy(nodes.get(2), "watched", 1).get(0);
        Jedis watcher = clients.get(0);
        watcher.set(k, "before");
        assertThat(watcher.watch(k)).isEqualTo("OK");
        assertThat(clients.get(1).set(k, "theirs")).isEqualTo("OK");
        Transaction t = watcher.multi();
        t.set(k, "mine");
        t.append(k, "!");
        assertThat(t.exec()).isNull();
        for (Jedis c : clients) {
            assertThat(c.get(k)).isEqualTo("theirs");
        }
        assertEveryReplicaHoldsTheCoordinatorsVersion(k);
    }

    @Test
    void anUndisturbedWatchLetsExecRunOnAnotherNode() {
        String k = keysCoordinatedBy(nodes.get(1), "calm", 1).get(0);
        Jedis watcher = clients.get(2);
        watcher.set(k, "1");
        assertThat(watcher.watch(k)).isEqualTo("OK");
        assertThat(clients.get(0).get(k)).isEqualTo("1");
        Transaction t = watcher.multi();
        t.incr(k);
        t.get(k);
        assertThat(t.exec()).containsExactly(2L, "2");
        assertEveryReplicaHoldsTheCoordinatorsVersion(k);
    }

    /**
     * A pipeline that holds a transaction among plain commands on the same keys, as redis-py's
     * {@code pipeline(transaction=True)} sends one. Jedis 5's {@code Pipeline} has no {@code multi()},
     * so MULTI, the queued commands and EXEC go through {@code sendCommand} with raw replies.
     */
    @Test
    void aPipelinedTransactionAmongPlainCommandsKeepsTheOrder() {
        Jedis c = clients.get(0);
        List<String> keys = new ArrayList<>();
        keys.addAll(keysCoordinatedBy(nodes.get(0), "pipetx", 2));
        keys.addAll(keysCoordinatedBy(nodes.get(1), "pipetx", 2));
        keys.addAll(keysCoordinatedBy(nodes.get(2), "pipetx", 2));
        Pipeline p = c.pipelined();
        List<Response<?>> before = new ArrayList<>();
        List<Response<Object>> queued = new ArrayList<>();
        List<Response<Object>> execs = new ArrayList<>();
        List<Response<?>> after = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            for (String k : keys) {
                before.add(p.incr(k));
                queued.add(p.sendCommand(Protocol.Command.MULTI, new String[0]));
                queued.add(p.sendCommand(Protocol.Command.INCR, k));
                queued.add(p.sendCommand(Protocol.Command.APPEND, k, "0"));
                queued.add(p.sendCommand(Protocol.Command.GET, k));
                execs.add(p.sendCommand(Protocol.Command.EXEC, new String[0]));
                after.add(p.get(k));
            }
        }
        p.sync();
        for (int i = 0; i < execs.size(); i++) {
            int round = i / keys.size();
            String k = keys.get(i % keys.size());
            // Per round the key goes n -> n+1 (INCR) -> n+2 (INCR in the transaction) -> (n+2)*10 (APPEND "0").
            long n = round == 0 ? 0 : expectedAfterRound(round - 1);
            assertThat(before.get(i).get()).as("INCR %s, round %d", k, round).isEqualTo(n + 1);
            assertThat(text(queued.get(4 * i).get())).isEqualTo("OK");
            for (int q = 1; q < 4; q++) {
                assertThat(text(queued.get(4 * i + q).get())).as("queued %d of %s", q, k).isEqualTo("QUEUED");
            }
            @SuppressWarnings("unchecked")
            List<Object> replies = (List<Object>) execs.get(i).get();
            assertThat(replies).as("EXEC on %s, round %d", k, round).hasSize(3);
            assertThat(replies.get(0)).isEqualTo(n + 2);
            assertThat(replies.get(1)).isEqualTo((long) Long.toString((n + 2) * 10).length());
            assertThat(text(replies.get(2))).isEqualTo(Long.toString((n + 2) * 10));
            assertThat(after.get(i).get()).as("GET %s after the transaction, round %d", k, round)
                    .isEqualTo(Long.toString((n + 2) * 10));
        }
    }

    /**
     * WATCH, a write of the watched key, MULTI and EXEC in one pipeline, as a pipelining client sends
     * them: Redis answers WATCH before it reads the SET, so the SET touches the watched key and EXEC
     * replies the null array. The watch must hold from WATCH on, even when EXEC arrives before the
     * watched key's coordinator has answered WATCH.
     */
    @Test
    void aPipelinedWatchCoversTheWritesAfterIt() {
        for (Node coordinator : nodes) {
            List<String> keys = keysCoordinatedBy(coordinator, "pipewatch", 2);
            String watched = keys.get(0);
            String written = keys.get(1);
            Pipeline p = clients.get(0).pipelined();
            Response<Object> watch = p.sendCommand(Protocol.Command.WATCH, watched);
            Response<String> set = p.set(watched, "touched");
            Response<Object> multi = p.sendCommand(Protocol.Command.MULTI, new String[0]);
            Response<Object> queued = p.sendCommand(Protocol.Command.SET, written, "1");
            Response<Object> exec = p.sendCommand(Protocol.Command.EXEC, new String[0]);
            p.sync();
            assertThat(text(watch.get())).isEqualTo("OK");
            assertThat(set.get()).isEqualTo("OK");
            assertThat(text(multi.get())).isEqualTo("OK");
            assertThat(text(queued.get())).isEqualTo("QUEUED");
            assertThat(exec.get()).as("EXEC through node 0 after the watched key %s of node %d was written",
                    watched, nodes.indexOf(coordinator)).isNull();
            assertThat(clients.get(1).get(written)).isNull();
        }
    }

    /**
     * EXEC ends the watch, also when it was pipelined right behind WATCH: a later change of the key
     * must not abort the connection's next transaction.
     */
    @Test
    void aPipelinedWatchDoesNotOutliveItsExec() {
        for (Node coordinator : nodes) {
            List<String> keys = keysCoordinatedBy(coordinator, "stalewatch", 2);
            String watched = keys.get(0);
            String written = keys.get(1);
            Jedis c = clients.get(0);
            Pipeline p = c.pipelined();
            p.sendCommand(Protocol.Command.WATCH, watched);
            p.sendCommand(Protocol.Command.MULTI, new String[0]);
            p.sendCommand(Protocol.Command.SET, written, "1");
            Response<Object> exec = p.sendCommand(Protocol.Command.EXEC, new String[0]);
            p.sync();
            assertThat(exec.get()).as("the first EXEC").isNotNull();
            assertThat(clients.get(1).set(watched, "changed later")).isEqualTo("OK");
            Transaction t = c.multi();
            t.set(written, "2");
            assertThat(t.exec()).as("the next transaction through node 0, after %s of node %d changed", watched,
                    nodes.indexOf(coordinator)).containsExactly("OK");
        }
    }

    /** A pipelined key's value after {@code round} rounds of INCR, then MULTI INCR APPEND 0 EXEC. */
    private static long expectedAfterRound(int round) {
        long n = 0;
        for (int r = 0; r <= round; r++) {
            n = (n + 2) * 10;
        }
        return n;
    }

    private static String text(Object raw) {
        return new String((byte[]) raw, StandardCharsets.UTF_8);
    }

    // ---- FLUSHALL: every node empty before OK, nothing older comes back ----

    /** REPAIR STATUS as text: its field names and values, space-separated. */
    private static String repairStatus(Jedis c) {
        Object reply = c.sendCommand(() -> "REPAIR".getBytes(StandardCharsets.US_ASCII),
                "STATUS".getBytes(StandardCharsets.US_ASCII));
        StringBuilder sb = new StringBuilder();
        for (Object o : (List<?>) reply) {
            sb.append(o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o)).append(' ');
        }
        return sb.toString();
    }

    @Test
    void flushAllEmptiesEveryNodeBeforeItAnswersAndNothingOlderComesBack() {
        for (int i = 0; i < 200; i++) {
            clients.get(i % 3).set("k" + i, "v" + i);
        }
        Entry before = nodes.get(0).engine().stored(Key.of("k1"));
        assertThat(nodes).allSatisfy(n -> assertThat(n.engine().size()).isPositive());

        assertThat(clients.get(1).flushAll()).isEqualTo("OK");

        assertThat(nodes).as("every live node applied it before OK").allSatisfy(n -> {
            assertThat(n.engine().size()).isZero();
            assertThat(n.engine().flushFloor()).isEqualTo(nodes.get(1).engine().flushFloor());
        });
        // A replica write of the old version arriving late (a hint, read repair, anti-entropy) is refused.
        Node replica = nodes.get(2);
        Entry late = before != null ? before : new Entry(Key.of("k1"), "v1".getBytes(StandardCharsets.UTF_8),
                Hlc.pack(System.currentTimeMillis() - 60_000, 0), 1, 0);
        assertThat(replica.engine().merge(late)).isFalse();
        Object round = clients.get(0).sendCommand(() -> "REPAIR".getBytes(StandardCharsets.US_ASCII));
        assertThat(round).isInstanceOf(Long.class);
        await().atMost(Duration.ofSeconds(20)).until(() -> repairStatus(clients.get(0)).contains("done"));
        for (int i = 0; i < 200; i++) {
            assertThat(clients.get(i % 3).get("k" + i)).as("k%d after FLUSHALL and a repair", i).isNull();
        }
        assertThat(nodes).allSatisfy(n -> assertThat(n.engine().size()).isZero());
        assertThat(clients.get(2).set("k1", "new")).isEqualTo("OK");
        assertThat(clients.get(0).get("k1")).as("writes after the flush are kept").isEqualTo("new");
        assertThat(clients.get(0).info("stats")).contains("flush_floor:").contains("flush_dropped_entries:");
        assertThat(replica.engine().refusedBelowFlushFloor()).as("the late write, counted").isPositive();
    }

    @Test
    void aPipelinedFlushAllTakesEffectBetweenTheCommandsSentBeforeAndAfterIt() {
        Pipeline p = clients.get(0).pipelined();
        List<Response<String>> before = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            p.set("p" + i, "old");
        }
        Response<Object> flushed = p.sendCommand(Protocol.Command.FLUSHALL, new String[0]);
        for (int i = 0; i < 100; i++) {
            before.add(p.get("p" + i));
            p.set("q" + i, "new");
        }
        List<Response<String>> after = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            after.add(p.get("q" + i));
        }
        p.sync();
        assertThat(flushed.get()).isEqualTo("OK".getBytes(StandardCharsets.US_ASCII));
        assertThat(before).as("reads sent after FLUSHALL, of keys set before it").allSatisfy(r -> assertThat(r.get()).isNull());
        assertThat(after).as("reads of keys set after FLUSHALL").allSatisfy(r -> assertThat(r.get()).isEqualTo("new"));
        for (int i = 0; i < 100; i++) {
            assertThat(clients.get(1).get("p" + i)).as("p%d through another node", i).isNull();
        }
    }
}
