package io.trelliskv.it;

import io.trelliskv.it.TrellisProcess.Result;
import io.trelliskv.testing.InfoFields;
import io.trelliskv.testing.Members;
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
    private static final ProtocolCommand REPLICAS = () -> SafeEncoder.encode("REPLICAS");
    private static final ProtocolCommand REPAIR = () -> SafeEncoder.encode("REPAIR");

    @TempDir
    static Path tempDir;
    private Path home;
    private Path logs;
    private final List<String> hosts = new ArrayList<>();
    private final List<Integer> ports = new ArrayList<>();
    private final List<Path> dataDirs = new ArrayList<>();
    private final List<TrellisProcess> processes = new ArrayList<>();
    private final Random random = new Random();

    @BeforeAll
    void startCluster() throws IOException {
        home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        logs = ClusterIT.logDir("repair-it-logs");
        for (int i = 0; i < NODES; i++) {
            String host = "127.0.0." + (41 + i);
            hosts.add(host);
            ports.add(ClusterIT.freePort(host));
            dataDirs.add(Files.createDirectories(tempDir.resolve("data-" + (i + 1))));
            processes.add(null);
            start(i);
            awaitServing(i);
            int ringNodes = i + 1;
            await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> assertThat(info(0, "cluster"))
                    .containsEntry("ring_nodes", Integer.toString(ringNodes)));
        }
        awaitAllAlive();
    }

    private void start(int i) throws IOException {
        List<String> args = new ArrayList<>(List.of(Integer.toString(ports.get(i))));
        if (i != 0) {
            args.add(address(0));
        }
        args.addAll(List.of("--host", hosts.get(i), "--cluster-name", CLUSTER_NAME, "--replication-factor", "3",
                "--data-dir", dataDirs.get(i).toString(), "--anti-entropy-interval", "0", "--test-clock-control"));
        processes.set(i, TrellisProcess.launch(home, logs, ClusterIT.LAUNCHER, args.toArray(String[]::new)));
    }

    private void awaitServing(int i) {
        await().atMost(TrellisProcess.START_TIMEOUT).pollInterval(POLL).until(() -> {
            Process p = processes.get(i).process();
            if (!p.isAlive()) {
                throw new AssertionError(address(i) + " exited with status " + p.exitValue() + "; stderr:\n"
                        + processes.get(i).stderr());
            }
            return ClusterIT.answersPing(hosts.get(i), ports.get(i));
        });
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
            clients.add(client(i));
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
            versions.put(key, replicas(0, key).get(0).get(2));
        }

        int victim = 2;
        String victimId = selfId(victim);
        try (Jedis j = client(victim)) {
            assertThat(j.sendCommand(() -> "DEBUG".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                    "WIPE".getBytes(java.nio.charset.StandardCharsets.US_ASCII))).isEqualTo("OK".getBytes(
                    java.nio.charset.StandardCharsets.US_ASCII));
        }
        assertThat(info(victim, "keyspace")).as("INFO keyspace of the wiped node: empty").doesNotContainKey("db0");
        Map<String, String> before = info(victim, "anti_entropy");
        assertThat(before).containsEntry("anti_entropy_interval_ms", "0").containsEntry("anti_entropy_running", "0");
        // A node that joined with seeds ran one round after its bootstrap; REPAIR's rounds follow it.
        long r0 = Long.parseLong(before.get("anti_entropy_rounds"));
        long keysInBefore = Long.parseLong(before.get("anti_entropy_keys_streamed_in"));

        long started = System.nanoTime();
        Result r = TrellisProcess.run(home, logs, null, "trellis-cli", address(victim), "repair");
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        System.out.printf("RepairIT: trellis-cli repair of the wiped node took %d ms:%n%s", tookMillis, r.stdout());
        assertThat(r.exitCode()).as("trellis-cli repair; stderr: %s", r.stderr()).isZero();
        assertThat(r.stdout()).contains("repair round " + (r0 + 1) + " started on " + address(victim))
                .containsPattern("repair round " + (r0 + 1) + " done in .*: ranges (\\d+)/\\1, .*, 0 failed exchanges");

        for (String key : values.keySet()) {
            assertThat(converged(key)).as("REPLICAS %s after the repair", key).isNull();
            assertThat(replicas(victim, key).get(0).get(2)).as("version of %s", key).isEqualTo(versions.get(key));
        }
        Map<String, String> ae = info(victim, "anti_entropy");
        assertThat(Long.parseLong(ae.get("anti_entropy_keys_streamed_in")) - keysInBefore).as("INFO anti_entropy %s", ae)
                .isEqualTo(KEYS);
        assertThat(ae).containsEntry("anti_entropy_rounds", Long.toString(r0 + 1));

        try (Jedis j = client(victim)) {
            long round = (Long) j.sendCommand(REPAIR);
            assertThat(round).isEqualTo(r0 + 2);
            await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
                Map<String, String> status = status(j);
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
        awaitServing(victim);
        assertThat(selfId(victim)).as("id of the restarted node").isEqualTo(victimId);
        awaitAllAlive();
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (String key : values.keySet()) {
                assertThat(converged(key)).as("REPLICAS %s after the restart", key).isNull();
                assertThat(replicas(victim, key).get(0).get(2)).as("version of %s", key).isEqualTo(versions.get(key));
            }
        });
        assertThat(info(victim, "cluster")).as("streamed back, no REPAIR asked").containsEntry("node_status", "NORMAL");
    }

    /** Null if every replica of {@code key} is alive and holds one version of one kind, else why not. */
    private String converged(String key) {
        List<List<String>> copies = replicas(0, key);
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

    private List<List<String>> replicas(int via, String key) {
        try (Jedis j = client(via)) {
            List<List<String>> out = new ArrayList<>();
            for (Object element : (List<?>) j.sendCommand(REPLICAS, key)) {
                out.add(((List<?>) element).stream().map(RepairIT::text).toList());
            }
            return out;
        }
    }

    private static Map<String, String> status(Jedis j) {
        List<?> flat = (List<?>) j.sendCommand(REPAIR, "STATUS");
        Map<String, String> out = new HashMap<>();
        for (int i = 0; i < flat.size(); i += 2) {
            out.put(text(flat.get(i)), text(flat.get(i + 1)));
        }
        return out;
    }

    private void awaitAllAlive() {
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (int i = 0; i < NODES; i++) {
                assertThat(info(i, "cluster")).as("INFO cluster of %s", address(i))
                        .containsEntry("members_alive", Integer.toString(NODES))
                        .containsEntry("ring_nodes", Integer.toString(NODES));
            }
        });
    }

    private String selfId(int i) {
        try (Jedis j = client(i)) {
            return Members.selfId(Members.of(j));
        }
    }

    private String memberState(int observer, String id) {
        try (Jedis j = client(observer)) {
            String state = Members.stateOf(Members.of(j), id);
            return state == null ? "none" : state;
        }
    }

    private Map<String, String> info(int i, String section) {
        try (Jedis j = client(i)) {
            return InfoFields.parse(j.info(section));
        }
    }

    private Jedis client(int i) {
        return new Jedis(hosts.get(i), ports.get(i), CLIENT_TIMEOUT_MILLIS);
    }

    private String address(int i) {
        return hosts.get(i) + ":" + ports.get(i);
    }

    private static String text(Object reply) {
        return reply instanceof byte[] b ? SafeEncoder.encode(b) : String.valueOf(reply);
    }
}
