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
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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
    private static final ProtocolCommand REPLICAS = () -> SafeEncoder.encode("REPLICAS");
    private static final ProtocolCommand CONSISTENCY = () -> SafeEncoder.encode("CONSISTENCY");
    private static final ProtocolCommand STATUS = () -> SafeEncoder.encode("STATUS");

    @TempDir
    static Path tempDir;
    private Path home;
    private Path logs;
    /** Slots: 0..3 on 127.0.0.61..64; slot 4 is a second node on 127.0.0.63 after the first left. */
    private final String[] hosts = new String[5];
    private final int[] ports = new int[5];
    private final TrellisProcess[] processes = new TrellisProcess[5];
    /** Acknowledged writes: key to value. */
    private final Map<String, String> acked = new ConcurrentHashMap<>();

    @BeforeAll
    void startCluster() throws IOException {
        home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        logs = ClusterIT.logDir("rebalance-it-logs");
        for (int i = 0; i < 4; i++) {
            hosts[i] = "127.0.0." + (61 + i);
            ports[i] = ClusterIT.freePort(hosts[i]);
        }
        hosts[4] = hosts[2];
        ports[4] = ClusterIT.freePort(hosts[4]);
        for (int i = 0; i < 3; i++) {
            start(i);
            int ringNodes = i + 1;
            await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> assertThat(info(0))
                    .containsEntry("ring_nodes", Integer.toString(ringNodes)));
        }
    }

    private void start(int i) throws IOException {
        List<String> args = new ArrayList<>(List.of(Integer.toString(ports[i])));
        if (i != 0) {
            args.add(address(0));
        }
        args.addAll(List.of("--host", hosts[i], "--cluster-name", CLUSTER_NAME, "--replication-factor", "3",
                "--data-dir", Files.createDirectories(tempDir.resolve("data-" + i)).toString(),
                "--anti-entropy-interval", "0"));
        processes[i] = TrellisProcess.launch(home, logs, ClusterIT.LAUNCHER, args.toArray(String[]::new));
        await().atMost(TrellisProcess.START_TIMEOUT).pollInterval(POLL).until(() -> {
            Process p = processes[i].process();
            if (!p.isAlive()) {
                throw new AssertionError(address(i) + " exited with status " + p.exitValue() + "; stderr:\n"
                        + processes[i].stderr());
            }
            return ClusterIT.answersPing(hosts[i], ports[i]);
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
    void joinDecommissionAndRemovalUnderLoadKeepEveryAcknowledgedWriteOnThreeReplicas() throws Exception {
        try (Jedis j = client(0)) {
            for (int k = 0; k < PRELOAD; k++) {
                assertThat(j.set("pre:" + k, "v" + k)).isEqualTo("OK");
                acked.put("pre:" + k, "v" + k);
            }
        }

        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger failed = new AtomicInteger();
        Thread writer = new Thread(() -> {
            int k = 0;
            Jedis j = client(0);
            while (writing.get()) {
                String key = "load:" + k++;
                try {
                    if ("OK".equals(j.set(key, "w" + k))) {
                        acked.put(key, "w" + k);
                    }
                } catch (JedisException e) {
                    failed.incrementAndGet(); // not acknowledged: may or may not be applied
                    j.close();
                    j = client(0);
                }
            }
            j.close();
        }, "rebalance-it-writer");
        writer.start();

        // Join: the fourth node bootstraps while the writer goes on.
        start(3);
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            assertThat(info(0)).containsEntry("ring_nodes", "4").containsEntry("ring_future_nodes", "4");
            assertThat(info(3)).containsEntry("node_status", "NORMAL");
        });
        String joinStatus = status(3);
        assertThat(joinStatus).containsPattern("bootstrap from .*: done, ranges (\\d+)/\\1, keys [1-9]");
        System.out.printf("RebalanceIT: STATUS of the joined node:%n%s", joinStatus);

        // Decommission: the third node streams its ranges away, leaves and exits.
        Result r = TrellisProcess.run(home, logs, null, "trellis-cli", address(2), "decommission");
        assertThat(r.exitCode()).as("trellis-cli decommission; stdout %s stderr %s", r.stdout(), r.stderr()).isZero();
        assertThat(r.stdout()).contains("decommission of " + address(2) + " started")
                .contains(address(2) + " left the ring");
        System.out.printf("RebalanceIT: trellis-cli decommission:%n%s", r.stdout());
        assertThat(processes[2].process().waitFor(20, TimeUnit.SECONDS)).as("decommissioned node exits").isTrue();
        assertThat(processes[2].process().exitValue()).isZero();
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() ->
                assertThat(info(0)).containsEntry("ring_nodes", "3").containsEntry("ring_future_nodes", "3"));

        writing.set(false);
        writer.join();
        System.out.printf("RebalanceIT: %d writes acknowledged, %d failed%n", acked.size(), failed.get());
        assertThat(acked.size()).isGreaterThan(PRELOAD + 500);

        int[] live = {0, 1, 3};
        assertEveryAckedKeyOnThreeReplicas(live, "after the join and the decommission");

        // Removal: a fresh node joins on the freed address, then the second node dies and is removed.
        start(4);
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            assertThat(info(0)).containsEntry("ring_nodes", "4");
            assertThat(info(4)).containsEntry("node_status", "NORMAL");
        });
        String victimId = selfId(1);
        processes[1].process().destroyForcibly();
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() ->
                assertThat(memberState(0, victimId)).isEqualTo("DEAD"));
        Result removed = TrellisProcess.run(home, logs, null, "trellis-cli", address(0), "removenode", victimId);
        assertThat(removed.exitCode()).as("trellis-cli removenode; stderr %s", removed.stderr()).isZero();
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (int i : new int[] {0, 3, 4}) {
                assertThat(info(i)).containsEntry("ring_nodes", "3");
            }
        });
        assertEveryAckedKeyOnThreeReplicas(new int[] {0, 3, 4}, "after the removal");
        String removalStatus = status(0) + status(3) + status(4);
        assertThat(removalStatus).contains("restore from");
    }

    /** Every acknowledged key reads back at ALL, and REPLICAS shows three live copies of one version. */
    private void assertEveryAckedKeyOnThreeReplicas(int[] live, String when) {
        try (Jedis j = client(live[0])) {
            assertThat(SafeEncoder.encode((byte[]) j.sendCommand(CONSISTENCY, "ALL"))).isEqualTo("OK");
            for (Map.Entry<String, String> e : acked.entrySet()) {
                assertThat(j.get(e.getKey())).as("GET %s at ALL %s", e.getKey(), when).isEqualTo(e.getValue());
            }
        }
        await().atMost(CONVERGE_TIMEOUT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            try (Jedis j = client(live[0])) {
                for (String key : acked.keySet()) {
                    assertThat(converged(j, key)).as("REPLICAS %s %s", key, when).isNull();
                }
            }
        });
    }

    /** Null if the key has three live replicas holding one version, else why not. */
    private static String converged(Jedis j, String key) {
        List<List<String>> copies = new ArrayList<>();
        for (Object element : (List<?>) j.sendCommand(REPLICAS, key)) {
            copies.add(((List<?>) element).stream().map(RebalanceIT::text).toList());
        }
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

    private String status(int i) {
        try (Jedis j = client(i)) {
            return text(j.sendCommand(STATUS));
        }
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

    private Map<String, String> info(int i) {
        try (Jedis j = client(i)) {
            return InfoFields.parse(j.info("cluster"));
        }
    }

    private Jedis client(int i) {
        return new Jedis(hosts[i], ports[i], CLIENT_TIMEOUT_MILLIS);
    }

    private String address(int i) {
        return hosts[i] + ":" + ports[i];
    }

    private static String text(Object reply) {
        return reply instanceof byte[] b ? SafeEncoder.encode(b) : String.valueOf(reply);
    }
}
