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
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A replica wiped and rebuilt by anti-entropy: three real nodes ({@code --replication-factor 3}) on
 * 127.0.0.41 … 127.0.0.43, each with its own {@code --data-dir}, periodic anti-entropy off
 * ({@code --anti-entropy-interval 0}) so that only REPAIR runs it. Keys are written and some deleted at
 * QUORUM; once every copy is in place, the third node's engine is wiped with the test-only
 * {@code DEBUG WIPE} (nodes run with {@code --test-clock-control}, which registers it; FLUSHALL would
 * empty the whole cluster), so it keeps its place on the ring with nothing in it and no hints are
 * pending for it. {@code trellis-cli ADDRESS repair} on it must then bring back every key and tombstone: REPLICAS
 * shows the same version of the same kind on all three replicas for every key; a second REPAIR moves
 * nothing. Finally the node is killed (SIGKILL) and restarted on its data directory: it comes back
 * empty, rejoins JOINING and streams its ranges back before it serves reads, with no REPAIR.
 */
@TestInstance(Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RepairIT {

    private static final int NODES = 3;
    private static final String CLUSTER_NAME = "repair-it";
    private static final int KEYS = 1000;
    private static final int DELETES = 100;
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration DEAD_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final int CLIENT_TIMEOUT_MILLIS = 5_000;
    private static final ProtocolCommand REPAIR = () -> SafeEncoder.encode("REPAIR");

    @TempDir
    static Path tempDir;
    private Path home;
    private Path logs;
    private final List<Endpoint> nodes = new ArrayList<>();
    private final List<Path> dataDirs = new ArrayList<>();
    private final List<TrellisProcess> processes = new ArrayList<>();
    private final Random random = new Random();

    @BeforeAll
    void startCluster() throws IOException {
        home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        logs = ClusterIT.logDir("repair-it-logs");
        for (int i = 0; i < NODES; i++) {
            nodes.add(Endpoint.free("127.0.0." + (41 + i), CLIENT_TIMEOUT_MILLIS));
            dataDirs.add(Files.createDirectories(tempDir.resolve("data-" + (i + 1))));
            processes.add(null);
            start(i);
            Endpoint.awaitInfo(List.of(node(0)), CONVERGE_TIMEOUT, "cluster",
                    Map.of("ring_nodes", Integer.toString(i + 1)));
        }
        awaitAllAlive();
    }

    /** Starts (or restarts) node {@code i} on its address and data directory and waits until it serves. */
    private void start(int i) throws IOException {
        processes.set(i, node(i).start(home, logs, CLUSTER_NAME, i == 0 ? null : node(0), "--replication-factor",
                "3", "--data-dir", dataDirs.get(i).toString(), "--anti-entropy-interval", "0",
                "--test-clock-control"));
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
    void aWipedReplicaIsRebuiltByRepair() throws IOException {
        Map<String, String> values = new LinkedHashMap<>();
        List<Jedis> clients = new ArrayList<>();
        for (int i = 0; i < NODES; i++) {
            clients.add(node(i).client());
        }
        try {
            for (int k = 0; k < KEYS; k++) {
                String key = "repair:" + k;
                String value = "value-" + k + "-" + Long.toHexString(random.nextLong());
                assertThat(clients.get(random.nextInt(NODES)).set(key, value)).as("SET %s", key).isEqualTo("OK");
                values.put(key, value);
            }
            for (int k = 0; k < DELETES; k++) {
                assertThat(clients.get(random.nextInt(NODES)).del("repair:" + k)).isEqualTo(1);
            }
        } finally {
            clients.forEach(Jedis::close);
        }
        // Every copy in place before the kill, so the victim misses only what it loses with its memory.
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (String key : values.keySet()) {
                assertThat(converged(key)).as("REPLICAS %s before the kill", key).isNull();
            }
        });
        Map<String, String> versions = new HashMap<>();
        for (String key : values.keySet()) {
            versions.put(key, node(0).replicas(key).get(0).get(2));
        }

        int victim = 2;
        String victimId = node(victim).selfId();
        try (Jedis j = node(victim).client()) {
            assertThat(j.sendCommand(() -> "DEBUG".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                    "WIPE".getBytes(java.nio.charset.StandardCharsets.US_ASCII))).isEqualTo("OK".getBytes(
                    java.nio.charset.StandardCharsets.US_ASCII));
        }
        assertThat(node(victim).info("keyspace")).as("INFO keyspace of the wiped node: empty")
                .doesNotContainKey("db0");
        Map<String, String> before = node(victim).info("anti_entropy");
        assertThat(before).containsEntry("anti_entropy_interval_ms", "0").containsEntry("anti_entropy_running", "0");
        // A node that joined with seeds ran one round after its bootstrap; REPAIR's rounds follow it.
        long r0 = Long.parseLong(before.get("anti_entropy_rounds"));
        long keysInBefore = Long.parseLong(before.get("anti_entropy_keys_streamed_in"));

        long started = System.nanoTime();
        Result r = TrellisProcess.run(home, logs, null, "trellis-cli", node(victim).address(), "repair");
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        System.out.printf("RepairIT: trellis-cli repair of the wiped node took %d ms:%n%s", tookMillis, r.stdout());
        assertThat(r.exitCode()).as("trellis-cli repair; stderr: %s", r.stderr()).isZero();
        assertThat(r.stdout()).contains("repair round " + (r0 + 1) + " started on " + node(victim).address())
                .containsPattern("repair round " + (r0 + 1) + " done in .*: ranges (\\d+)/\\1, .*, 0 failed exchanges");

        for (String key : values.keySet()) {
            assertThat(converged(key)).as("REPLICAS %s after the repair", key).isNull();
            assertThat(node(victim).replicas(key).get(0).get(2)).as("version of %s", key)
                    .isEqualTo(versions.get(key));
        }
        Map<String, String> ae = node(victim).info("anti_entropy");
        assertThat(Long.parseLong(ae.get("anti_entropy_keys_streamed_in")) - keysInBefore).as("INFO anti_entropy %s", ae)
                .isEqualTo(KEYS);
        assertThat(ae).containsEntry("anti_entropy_rounds", Long.toString(r0 + 1));

        try (Jedis j = node(victim).client()) {
            long round = (Long) j.sendCommand(REPAIR);
            assertThat(round).isEqualTo(r0 + 2);
            await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
                Map<String, String> status = Endpoint.repairStatus(j);
                assertThat(status).containsEntry("round", Long.toString(r0 + 2)).containsEntry("state", "done");
                assertThat(status).containsEntry("keys_streamed_in", "0").containsEntry("keys_streamed_out", "0")
                        .containsEntry("keys_compared", "0").containsEntry("failures", "0");
            });
        }

        // A restart loses the engine; the node streams its ranges back by itself (JOINING, then NORMAL).
        processes.get(victim).process().destroyForcibly();
        await().atMost(DEAD_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            assertThat(memberState(0, victimId)).isEqualTo("DEAD");
            assertThat(memberState(1, victimId)).isEqualTo("DEAD");
        });
        start(victim);
        assertThat(node(victim).selfId()).as("id of the restarted node").isEqualTo(victimId);
        awaitAllAlive();
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (String key : values.keySet()) {
                assertThat(converged(key)).as("REPLICAS %s after the restart", key).isNull();
                assertThat(node(victim).replicas(key).get(0).get(2)).as("version of %s", key)
                        .isEqualTo(versions.get(key));
            }
        });
        assertThat(node(victim).info("cluster")).as("streamed back, no REPAIR asked")
                .containsEntry("node_status", "NORMAL");
    }

    /** Null if every replica of {@code key} is alive and holds one version of one kind, else why not. */
    private String converged(String key) {
        List<List<String>> copies = node(0).replicas(key);
        if (copies.size() != NODES) {
            return copies.toString();
        }
        for (List<String> c : copies) {
            if (!c.get(1).equals("alive") || !c.get(2).equals(copies.get(0).get(2)) || c.get(2).equals("none")
                    || !c.get(3).equals(copies.get(0).get(3))) {
                return copies.toString();
            }
        }
        return null;
    }

    private String memberState(int observer, String id) {
        String state = node(observer).memberState(id);
        return state == null ? "none" : state;
    }

    private Endpoint node(int i) {
        return nodes.get(i);
    }

    private void awaitAllAlive() {
        Endpoint.awaitInfo(nodes, CONVERGE_TIMEOUT, "cluster",
                Map.of("members_alive", Integer.toString(NODES), "ring_nodes", Integer.toString(NODES)));
    }
}
