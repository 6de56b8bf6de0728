package io.trelliskv.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Regression: four nodes that join through one seed at the same moment must all end up on every
 * node's ring.
 *
 * <p>Each joiner takes its tokens with {@code TokenAllocator} against the ring it learned from the seed.
 * The allocator is deterministic for a given ring (only an empty ring's rotation is seeded), so joiners
 * that saw the same ring choose the same tokens; {@code TokenRing.of} then rejects the ring ("token T is
 * claimed by nodes A and B"), {@code ClusterState.rebuildRing} throws out of the membership listener on
 * every later event, and each node's ring stays at the nodes it had before the collision (ring_nodes 2
 * of 5, with all five ALIVE). {@link ClusterIT} joins its nodes one at a time to stay clear of this.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConcurrentJoinIT {

    private static final int NODES = 5;
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(20);

    @TempDir
    Path stagingDir;
    private final List<TrellisProcess> started = new ArrayList<>();

    @AfterEach
    void stopNodes() {
        started.forEach(TrellisProcess::close);
    }

    @Test
    @Disabled("Product bug: nodes joining at once take the same tokens from the deterministic TokenAllocator, and "
            + "ClusterState.rebuildRing then fails on every event (ring_nodes stays below the member count)")
    void nodesJoiningAtOnceAllTakeDistinctTokens() throws IOException {
        Path home = ClusterIT.stageSmallNodeHome(stagingDir.resolve("home"));
        Path logs = ClusterIT.logDir("concurrent-join-it-logs");
        List<String> addresses = new ArrayList<>();
        for (int i = 0; i < NODES; i++) {
            String host = "127.0.0." + (21 + i);
            int port = ClusterIT.freePort(host);
            List<String> args = new ArrayList<>(List.of(Integer.toString(port), "--host", host));
            if (i > 0) {
                args.add(addresses.get(0));
            }
            started.add(TrellisProcess.launch(home, logs, ClusterIT.LAUNCHER, args.toArray(String[]::new)));
            addresses.add(host + ":" + port);
            if (i == 0) {
                await().atMost(TrellisProcess.START_TIMEOUT).until(() -> ClusterIT.answersPing(host, port));
            }
        }

        await().atMost(CONVERGE_TIMEOUT).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            for (String address : addresses) {
                String[] hostPort = address.split(":");
                try (Jedis j = new Jedis(hostPort[0], Integer.parseInt(hostPort[1]), 3_000)) {
                    assertThat(TrellisNodeIT.parseInfo(j.info("cluster"))).as("INFO cluster of %s", address)
                            .containsEntry("members_alive", "5").containsEntry("ring_nodes", "5");
                }
            }
        });
    }
}
