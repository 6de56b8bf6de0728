package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Clock;
import io.trelliskv.net.NetConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** A node restarted with its data directory comes back as itself: same id, same ring tokens. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NodeIdentityRestartTest {

    private static Node node(Path dir, String cluster) {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        return new Node(new NodeConfig(net, EngineConfig.defaults(),
                new ClusterConfig(cluster, List.of(), null, 16, dir)), Clock.SYSTEM);
    }

    @Test
    void restartKeepsIdAndTokens(@TempDir Path dir) throws IOException {
        long id;
        List<Long> tokens;
        try (Node first = node(dir, "alpha")) {
            first.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> first.clusterState().ring().tokenCount() == 16);
            id = first.nodeId();
            tokens = first.clusterState().ring().tokensOf(id);
        }
        try (Node second = node(dir, "alpha")) {
            assertThat(second.nodeId()).isEqualTo(id);
            second.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> second.clusterState().ring().tokenCount() == 16);
            assertThat(second.clusterState().ring().tokensOf(id)).isEqualTo(tokens);
        }
        assertThatThrownBy(() -> node(dir, "beta")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("belongs to cluster 'alpha'");
    }
}
