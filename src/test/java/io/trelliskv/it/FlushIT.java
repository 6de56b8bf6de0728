package io.trelliskv.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * FLUSHALL is cluster-wide and final: three real nodes ({@code --replication-factor 3}) on 127.0.0.81 …
 * 127.0.0.83, periodic anti-entropy off so that only REPAIR runs it.
 *
 * <ol>
 *   <li>Keys written and some deleted at QUORUM, every copy in place; FLUSHALL through one node answers
 *       OK, after which DBSIZE is 0 on every node, all three show the same flush floor, and neither a
 *       REPAIR of every node nor reads at ALL bring anything back. A write after the flush stays.</li>
 *   <li>The third node stopped (SIGSTOP) and FLUSHALL at once, while it is still believed alive: the
 *       reply is TIMEOUT naming it; once resumed it applies the flush (the request waiting in its
 *       socket, or the gossip, whichever comes first).</li>
 *   <li>The third node stopped until the others see it DEAD: FLUSHALL answers OK (every member believed
 *       alive applied it) and writes made meanwhile are hinted for it. Resumed (SIGCONT), it can only
 *       hear of the flush through gossip: it drops the old keys it still held, keeps the hinted newer
 *       writes, and a REPAIR brings nothing back.</li>
 * </ol>
 */
@TestInstance(Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FlushIT {

    private static final int NODES = 3;
    private static final String CLUSTER_NAME = "flush-it";
    private static final int KEYS = 300;
    private static final int DELETES = 30;
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(100);
    /** Longer than the flush's wait for a member's answer (5 s), so the TIMEOUT reply arrives. */
    private static final int CLIENT_TIMEOUT_MILLIS = 15_000;
    private static final ProtocolCommand REPAIR = () -> SafeEncoder.encode("REPAIR");
    private static final ProtocolCommand CONSISTENCY = () -> SafeEncoder.encode("CONSISTENCY");

    @TempDir
    static Path tempDir;
    private Path home;
    private Path logs;
    private final List<Endpoint> nodes = new ArrayList<>();
    private final List<TrellisProcess> processes = new ArrayList<>();

    @BeforeAll
    void startCluster() throws IOException {
        home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        logs = ClusterIT.logDir("flush-it-logs");
        for (int i = 0; i < NODES; i++) {
            Endpoint node = Endpoint.free("127.0.0." + (81 + i), CLIENT_TIMEOUT_MILLIS);
            nodes.add(node);
            processes.add(node.start(home, logs, CLUSTER_NAME, i == 0 ? null : node(0), "--replication-factor", "3",
                    "--anti-entropy-interval", "0"));
            Endpoint.awaitInfo(List.of(node(0)), CONVERGE_TIMEOUT, "cluster",
                    Map.of("ring_nodes", Integer.toString(i + 1)));
        }
        awaitAllAlive();
    }

    @AfterAll
    void stopCluster() {
        for (TrellisProcess p : processes) {
            p.close(); // SIGCONT is not needed: SIGKILL ends a stopped process too
        }
    }

    @Test
    void aFlushReachesEveryNodeAndNothingComesBack() {
        writeEverywhere("before:");
        try (Jedis j = node(0).client()) {
            assertThat(j.flushAll()).isEqualTo("OK");
        }
        String floor = node(0).info("stats").get("flush_floor");
        assertThat(floor).as("flush floor of the node that took FLUSHALL").isNotEqualTo("none");
        for (int i = 0; i < NODES; i++) {
            assertThat(node(i).dbsize()).as("DBSIZE of %s once FLUSHALL answered OK", node(i)).isZero();
            assertThat(node(i).info("stats")).as("INFO stats of %s", node(i)).containsEntry("flush_floor", floor);
        }

        for (int i = 0; i < NODES; i++) {
            repair(i);
        }
        for (int i = 0; i < NODES; i++) {
            assertThat(node(i).dbsize()).as("DBSIZE of %s after REPAIR of every node", node(i)).isZero();
        }
        try (Jedis j = node(1).client()) {
            j.sendCommand(CONSISTENCY, "ALL");
            for (int k = 0; k < KEYS; k += 17) {
                assertThat(j.get("before:" + k)).as("GET before:%d at ALL", k).isNull();
            }
            assertThat(j.set("after:1", "stays")).isEqualTo("OK");
            assertThat(j.get("after:1")).isEqualTo("stays");
        }
    }

    @Test
    void aFlushWhileAMemberIsStoppedButBelievedAliveNamesItInTheReply() {
        writeEverywhere("stopped:");
        int victim = 2;
        String victimId = shortId(node(victim));
        processes.get(victim).signal("STOP");
        try {
            try (Jedis j = node(0).client()) {
                assertThatThrownBy(j::flushAll).isInstanceOf(JedisDataException.class)
                        .hasMessageStartingWith("TIMEOUT flush applied on 2 of 3 live nodes; " + victimId + "@"
                                + node(victim).address() + " did not answer: timed out")
                        .hasMessageEndingWith("; it will apply it when it hears of it");
            }
            for (int i = 0; i < NODES - 1; i++) {
                assertThat(node(i).dbsize()).as("DBSIZE of %s", node(i)).isZero();
            }
        } finally {
            processes.get(victim).signal("CONT");
        }
        String floor = node(0).info("stats").get("flush_floor");
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            assertThat(node(victim).info("stats")).as("INFO stats of the resumed node")
                    .containsEntry("flush_floor", floor);
            assertThat(node(victim).dbsize()).as("DBSIZE of the resumed node").isZero();
        });
        awaitAllAlive();
    }

    @Test
    void aNodeDownDuringTheFlushAppliesItFromGossipWhenItComesBack() {
        writeEverywhere("second:");
        int victim = 2;
        // as MEMBERS prints it
        String victimId = String.format("%016x", Long.parseUnsignedLong(shortId(node(victim)), 16));
        processes.get(victim).signal("STOP");
        try {
            await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
                for (int i = 0; i < NODES - 1; i++) {
                    assertThat(node(i).memberState(victimId)).as("%s seen from %s", node(victim), node(i))
                            .isEqualTo("DEAD");
                }
            });
            try (Jedis j = node(0).client()) {
                assertThat(j.flushAll()).as("OK: every member believed alive applied it").isEqualTo("OK");
            }
            try (Jedis j = node(1).client()) {
                for (int k = 0; k < 10; k++) {
                    assertThat(j.set("during:" + k, "v" + k)).isEqualTo("OK"); // QUORUM of the two running nodes
                }
            }
        } finally {
            processes.get(victim).signal("CONT");
        }
        String floor = node(0).info("stats").get("flush_floor");
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            assertThat(node(victim).info("stats")).as("INFO stats of the resumed node")
                    .containsEntry("flush_floor", floor);
            assertThat(node(victim).dbsize()).as("DBSIZE of the resumed node: the hinted writes only").isEqualTo(10);
        });
        assertThat(processes.get(victim).stderr()).as("log of the resumed node")
                .contains("Applied flush " + floor + " from the gossip of ");
        assertThat(Long.parseLong(node(victim).info("stats").get("flush_dropped_entries")))
                .as("the resumed node dropped the old keys it held").isGreaterThanOrEqualTo(KEYS - DELETES);
        awaitAllAlive();
        repair(victim);
        for (int i = 0; i < NODES; i++) {
            assertThat(node(i).dbsize()).as("DBSIZE of %s after REPAIR of the resumed node", node(i)).isEqualTo(10);
        }
        try (Jedis j = node(victim).client()) {
            for (int k = 0; k < KEYS; k += 17) {
                assertThat(j.get("second:" + k)).as("GET second:%d through the resumed node", k).isNull();
            }
            assertThat(j.get("during:3")).isEqualTo("v3");
        }
    }

    /** Writes KEYS keys at QUORUM, deletes DELETES of them, and waits until every node holds every copy. */
    private void writeEverywhere(String prefix) {
        try (Jedis j = node(0).client()) {
            j.sendCommand(CONSISTENCY, "QUORUM");
            for (int k = 0; k < KEYS; k++) {
                assertThat(j.set(prefix + k, "value-" + k)).isEqualTo("OK");
            }
            for (int k = 0; k < DELETES; k++) {
                assertThat(j.del(prefix + k)).isEqualTo(1);
            }
        }
        long before = node(0).dbsize();
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (int i = 0; i < NODES; i++) {
                assertThat(node(i).dbsize()).as("DBSIZE of %s before the flush", node(i)).isEqualTo(before);
            }
        });
        assertThat(before).isGreaterThanOrEqualTo(KEYS - DELETES);
    }

    /** Runs one anti-entropy round on node {@code i} and waits for it to finish without failures. */
    private void repair(int i) {
        try (Jedis j = node(i).client()) {
            long round = (Long) j.sendCommand(REPAIR);
            await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
                Map<String, String> status = Endpoint.repairStatus(j);
                assertThat(status).as("REPAIR STATUS of %s", node(i)).containsEntry("round", Long.toString(round))
                        .containsEntry("state", "done").containsEntry("failures", "0");
            });
        }
    }

    private Endpoint node(int i) {
        return nodes.get(i);
    }

    private void awaitAllAlive() {
        Endpoint.awaitInfo(nodes, CONVERGE_TIMEOUT, "cluster", Map.of("members_alive", Integer.toString(NODES),
                "ring_nodes", Integer.toString(NODES), "node_status", "NORMAL"));
    }

    /** The node's id as errors and logs print it (hex without leading zeros). */
    private static String shortId(Endpoint node) {
        return node.selfId().replaceFirst("^0+(?=.)", "");
    }
}
