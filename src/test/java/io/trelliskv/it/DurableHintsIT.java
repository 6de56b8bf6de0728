package io.trelliskv.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Hints outlive their coordinator: three nodes on 127.0.0.54 … 127.0.0.56 (three replicas, QUORUM), the
 * third SIGKILLed, writes through the first (which keeps hints for the third), then the first SIGKILLed
 * and restarted on its data directory: it still holds every hint, and once the third is back it replays
 * them all, and the third holds every key itself.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DurableHintsIT {

    private static final String CLUSTER_NAME = "durable-hints-it";
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(30);
    private static final int KEYS = 100;

    @TempDir
    Path tempDir;
    private final List<TrellisProcess> processes = new ArrayList<>();

    @AfterEach
    void stopNodes() {
        processes.forEach(TrellisProcess::close);
    }

    @Test
    void hintsSurviveTheirCoordinatorsCrash() throws Exception {
        Path home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        Path logs = ClusterIT.logDir("durable-hints-it-logs");
        List<Endpoint> nodes = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            nodes.add(Endpoint.free("127.0.0." + (54 + i), 10_000));
            dirs.add(Files.createDirectories(tempDir.resolve("data-" + (i + 1))));
        }
        TrellisProcess[] running = new TrellisProcess[3];
        for (int i = 0; i < 3; i++) {
            running[i] = start(home, logs, nodes, dirs, i);
        }
        Endpoint.awaitInfo(nodes, CONVERGE_TIMEOUT, "cluster", Map.of("members_alive", "3", "ring_nodes", "3"));
        Endpoint first = nodes.get(0);
        Endpoint third = nodes.get(2);

        kill(running[2]);
        Endpoint.awaitInfo(List.of(first, nodes.get(1)), CONVERGE_TIMEOUT, "cluster", Map.of("members_alive", "2"));
        try (Jedis j = first.client()) {
            for (int k = 0; k < KEYS; k++) {
                assertThat(j.set("hinted:" + k, "v" + k)).isEqualTo("OK");
            }
        }
        long hinted = Long.parseLong(first.info("replication").get("hints_pending"));
        assertThat(hinted).as("hints the first node keeps for the third").isPositive();

        kill(running[0]);
        running[0] = start(home, logs, nodes, dirs, 0);
        assertThat(running[0].stderr()).as("the first node's start log").contains("Loaded " + hinted + " hints");
        // The node answers INFO before its cluster member has started; the hint counts appear once it has.
        await().atMost(CONVERGE_TIMEOUT).pollInterval(Duration.ofMillis(100))
                .until(() -> first.info("replication").get("hints_pending") != null);
        assertThat(first.info("replication").get("hints_pending")).as("hints after the restart")
                .isEqualTo(Long.toString(hinted));

        running[2] = start(home, logs, nodes, dirs, 2);
        await().atMost(CONVERGE_TIMEOUT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            Map<String, String> replication = first.info("replication");
            assertThat(replication.get("hints_pending")).as("hints left").isEqualTo("0");
            assertThat(Long.parseLong(replication.get("hints_replayed"))).as("hints replayed")
                    .isGreaterThanOrEqualTo(hinted);
        });
        // every key, read at ONE from the third node's own copy (REPLICAS shows each replica's version)
        for (int k = 0; k < KEYS; k++) {
            String key = "hinted:" + k;
            await().atMost(CONVERGE_TIMEOUT).untilAsserted(() -> assertThat(third.replicas(key))
                    .as("replicas of %s", key)
                    .allSatisfy(r -> assertThat(r).as("replica %s", r).contains("value")));
        }
    }

    private TrellisProcess start(Path home, Path logs, List<Endpoint> nodes, List<Path> dirs, int i)
            throws IOException {
        TrellisProcess p = nodes.get(i).start(home, logs, CLUSTER_NAME, i == 0 ? null : nodes.get(0),
                "--replication-factor", "3", "--data-dir", dirs.get(i).toString());
        processes.add(p);
        return p;
    }

    private static void kill(TrellisProcess p) throws InterruptedException {
        p.process().destroyForcibly();
        assertThat(p.process().waitFor(30, TimeUnit.SECONDS)).as("%s killed", p).isTrue();
    }
}
