package io.trelliskv.it;

import io.trelliskv.it.TrellisProcess.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Bootstrap, decommission and removal with real processes on 127.0.0.61 … 127.0.0.64
 * ({@code --replication-factor 3}, periodic anti-entropy off). Three nodes hold data; while a client
 * writes at QUORUM through the first node, a fourth joins (JOINING, streams, NORMAL) and then the third
 * is decommissioned with {@code trellis-cli decommission} (it streams its ranges away, leaves and
 * exits). Every acknowledged write must then be readable at ALL, and REPLICAS must show three live
 * copies of one version. Then a fresh node joins on the freed address, the second node is killed
 * (SIGKILL), and {@code trellis-cli removenode} takes it off the ring: every key is back to three copies.
 */
@TestInstance(Lifecycle.PER_CLASS)
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class RebalanceIT {

    private static final String CLUSTER_NAME = "rebalance-it";
    private static final int PRELOAD = 2_000;
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final int CLIENT_TIMEOUT_MILLIS = 5_000;
    private static final ProtocolCommand CONSISTENCY = () -> SafeEncoder.encode("CONSISTENCY");

    @TempDir
    static Path tempDir;
    private Path home;
    private Path logs;
    /** Slots: 0..3 on 127.0.0.61..64; slot 4 is a second node on 127.0.0.63 after the first left. */
    private final Endpoint[] nodes = new Endpoint[5];
    private final TrellisProcess[] processes = new TrellisProcess[5];
    /** Acknowledged writes: key to value. */
    private final Map<String, String> acked = new ConcurrentHashMap<>();

    @BeforeAll
    void startCluster() throws IOException {
        home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        logs = ClusterIT.logDir("rebalance-it-logs");
        for (int i = 0; i < 4; i++) {
            nodes[i] = Endpoint.free("127.0.0." + (61 + i), CLIENT_TIMEOUT_MILLIS);
        }
        nodes[4] = Endpoint.free(nodes[2].host(), CLIENT_TIMEOUT_MILLIS);
        for (int i = 0; i < 3; i++) {
            start(i);
            Endpoint.awaitInfo(List.of(nodes[0]), CONVERGE_TIMEOUT, "cluster",
                    Map.of("ring_nodes", Integer.toString(i + 1)));
        }
    }

    private void start(int i) throws IOException {
        processes[i] = nodes[i].start(home, logs, CLUSTER_NAME, i == 0 ? null : nodes[0], "--replication-factor",
                "3", "--data-dir", Files.createDirectories(tempDir.resolve("data-" + i)).toString(),
                "--anti-entropy-interval", "0");
    }

    @AfterAll
    void stopCluster() {
        for (TrellisProcess p : processes) {
            if (p != null) {
                p.close();
            }
        }
    }

    @Test
    void joinDecommissionAndRemovalUnderLoadKeepEveryAcknowledgedWriteOnThreeReplicas() throws Exception {
        try (Jedis j = nodes[0].client()) {
            for (int k = 0; k < PRELOAD; k++) {
                assertThat(j.set("pre:" + k, "v" + k)).isEqualTo("OK");
                acked.put("pre:" + k, "v" + k);
            }
        }

        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger failed = new AtomicInteger();
        Thread writer = new Thread(() -> {
            int k = 0;
            Jedis j = nodes[0].client();
            while (writing.get()) {
                String key = "load:" + k++;
                try {
                    if ("OK".equals(j.set(key, "w" + k))) {
                        acked.put(key, "w" + k);
                    }
                } catch (JedisException e) {
                    failed.incrementAndGet(); // not acknowledged: may or may not be applied
                    j.close();
                    j = nodes[0].client();
                }
            }
            j.close();
        }, "rebalance-it-writer");
        writer.start();

        // Join: the fourth node bootstraps while the writer goes on.
        start(3);
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            assertThat(nodes[0].info("cluster")).containsEntry("ring_nodes", "4")
                    .containsEntry("ring_future_nodes", "4");
            assertThat(nodes[3].info("cluster")).containsEntry("node_status", "NORMAL");
        });
        String joinStatus = nodes[3].status();
        assertThat(joinStatus).containsPattern("bootstrap from .*: done, ranges (\\d+)/\\1, keys [1-9]");
        System.out.printf("RebalanceIT: STATUS of the joined node:%n%s", joinStatus);

        // Decommission: the third node streams its ranges away, leaves and exits.
        Result r = TrellisProcess.run(home, logs, null, "trellis-cli", nodes[2].address(), "decommission");
        assertThat(r.exitCode()).as("trellis-cli decommission; stdout %s stderr %s", r.stdout(), r.stderr()).isZero();
        assertThat(r.stdout()).contains("decommission of " + nodes[2].address() + " started")
                .contains(nodes[2].address() + " left the ring");
        System.out.printf("RebalanceIT: trellis-cli decommission:%n%s", r.stdout());
        assertThat(processes[2].process().waitFor(20, TimeUnit.SECONDS)).as("decommissioned node exits").isTrue();
        assertThat(processes[2].process().exitValue()).isZero();
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() ->
                assertThat(nodes[0].info("cluster")).containsEntry("ring_nodes", "3")
                        .containsEntry("ring_future_nodes", "3"));

        writing.set(false);
        writer.join();
        System.out.printf("RebalanceIT: %d writes acknowledged, %d failed%n", acked.size(), failed.get());
        assertThat(acked.size()).isGreaterThan(PRELOAD + 500);

        int[] live = {0, 1, 3};
        assertEveryAckedKeyOnThreeReplicas(live, "after the join and the decommission");

        // Removal: a fresh node joins on the freed address, then the second node dies and is removed.
        start(4);
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            assertThat(nodes[0].info("cluster")).containsEntry("ring_nodes", "4");
            assertThat(nodes[4].info("cluster")).containsEntry("node_status", "NORMAL");
        });
        String victimId = nodes[1].selfId();
        processes[1].process().destroyForcibly();
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() ->
                assertThat(memberState(0, victimId)).isEqualTo("DEAD"));
        Result removed = TrellisProcess.run(home, logs, null, "trellis-cli", nodes[0].address(), "removenode",
                victimId);
        assertThat(removed.exitCode()).as("trellis-cli removenode; stderr %s", removed.stderr()).isZero();
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (int i : new int[] {0, 3, 4}) {
                assertThat(nodes[i].info("cluster")).containsEntry("ring_nodes", "3");
            }
        });
        assertEveryAckedKeyOnThreeReplicas(new int[] {0, 3, 4}, "after the removal");
        String removalStatus = nodes[0].status() + nodes[3].status() + nodes[4].status();
        assertThat(removalStatus).contains("restore from");
    }

    /** Every acknowledged key reads back at ALL, and REPLICAS shows three live copies of one version. */
    private void assertEveryAckedKeyOnThreeReplicas(int[] live, String when) {
        try (Jedis j = nodes[live[0]].client()) {
            assertThat(SafeEncoder.encode((byte[]) j.sendCommand(CONSISTENCY, "ALL"))).isEqualTo("OK");
            for (Map.Entry<String, String> e : acked.entrySet()) {
                assertThat(j.get(e.getKey())).as("GET %s at ALL %s", e.getKey(), when).isEqualTo(e.getValue());
            }
        }
        await().atMost(CONVERGE_TIMEOUT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            try (Jedis j = nodes[live[0]].client()) {
                for (String key : acked.keySet()) {
                    assertThat(converged(j, key)).as("REPLICAS %s %s", key, when).isNull();
                }
            }
        });
    }

    /** Null if the key has three live replicas holding one version, else why not. */
    private static String converged(Jedis j, String key) {
        List<List<String>> copies = Endpoint.replicas(j, key);
        if (copies.size() != 3) {
            return copies.toString();
        }
        for (List<String> c : copies) {
            if (!c.get(1).equals("alive") || c.get(2).equals("none") || !c.get(2).equals(copies.get(0).get(2))) {
                return copies.toString();
            }
        }
        return null;
    }

    private String memberState(int observer, String id) {
        String state = nodes[observer].memberState(id);
        return state == null ? "none" : state;
    }
}
