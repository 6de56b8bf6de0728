package io.trelliskv.server;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.net.NetConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
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
        String seedAddress = "127.0.0.1:" + seed.address().getPort();
        start(List.of(seedAddress));
        start(List.of(seedAddress));
        await().atMost(Duration.ofSeconds(20)).until(() -> nodes.stream().allMatch(n ->
                n.clusterState().ring().nodes().size() == 3
                        && n.clusterState().count(io.trelliskv.membership.MemberState.ALIVE) == 3));
        for (Node n : nodes) {
            clients.add(new Jedis("127.0.0.1", n.address().getPort(), 5000));
        }
    }

    private Node start(List<String> seeds) throws IOException {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        ClusterConfig cluster = new ClusterConfig("test", seeds, null, 16, null);
        Node node = new Node(new NodeConfig(net, EngineConfig.unbounded(), cluster), Clock.SYSTEM);
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

    @Test
    void readModifyWriteCommandsRunOnTheOwner() {
        for (int i = 0; i < 30; i++) {
            clients.get(i % 3).incr("counter");
        }
        assertThat(clients.get(2).get("counter")).isEqualTo("30");
        assertThat(ownerOf("counter").engine().peek(Key.of("counter"))).isNotNull();
    }
}
