package io.trelliskv.server;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.membership.MemberState;
import io.trelliskv.net.NetConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * FLUSHALL in a cluster of three real nodes in one JVM: it empties every node before it answers, and
 * nothing older than it comes back — not through repair, not as a late replica write.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FlushAllClusterTest {

    private final List<Node> nodes = new ArrayList<>();
    private final List<Jedis> clients = new ArrayList<>();

    @BeforeEach
    void startCluster() throws IOException {
        Node seed = start(List.of());
        String seedAddress = "127.0.0.1:" + seed.address().getPort();
        start(List.of(seedAddress));
        start(List.of(seedAddress));
        await().atMost(Duration.ofSeconds(20)).until(() -> nodes.stream().allMatch(n ->
                n.clusterState().ring().nodes().size() == 3 && n.clusterState().count(MemberState.ALIVE) == 3));
        for (Node n : nodes) {
            clients.add(new Jedis("127.0.0.1", n.address().getPort(), 10_000));
        }
    }

    private Node start(List<String> seeds) throws IOException {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        ClusterConfig cluster = new ClusterConfig("flush", seeds, null, 16, null);
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
        redis.clients.jedis.Pipeline p = clients.get(0).pipelined();
        List<redis.clients.jedis.Response<String>> before = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            p.set("p" + i, "old");
        }
        redis.clients.jedis.Response<Object> flushed = p.sendCommand(redis.clients.jedis.Protocol.Command.FLUSHALL, new String[0]);
        for (int i = 0; i < 100; i++) {
            before.add(p.get("p" + i));
            p.set("q" + i, "new");
        }
        List<redis.clients.jedis.Response<String>> after = new ArrayList<>();
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
