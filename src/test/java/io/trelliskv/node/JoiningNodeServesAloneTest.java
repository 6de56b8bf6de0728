package io.trelliskv.node;

import io.trelliskv.common.Address;
import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Clock;
import io.trelliskv.net.NetConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Regression test for a bug the fault-injection harness found (docs/TESTING.md, "a restarted node
 * serves alone"): a node started with seeds — typically restarted after a crash, with its data
 * directory — served keyed commands from the moment its port was bound, while its ring held only
 * itself. For those ~100 ms a SET at QUORUM was acknowledged by that node alone (effective replication
 * factor 1) and never reached the key's real replicas: an acknowledged write lost; a GET found nothing
 * (read-your-writes broken). Now keyed commands get {@code -TRYAGAIN} until a seed has answered.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class JoiningNodeServesAloneTest {

    private static Node node(Path dir, List<Address> seeds) {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        return new Node(new NodeConfig(net, EngineConfig.defaults(),
                new ClusterConfig("alpha", seeds, null, 16, dir)), Clock.SYSTEM);
    }

    @Test
    void keyedCommandsWaitUntilASeedAnswers(@TempDir Path dir) throws IOException {
        int silentSeed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            silentSeed = s.getLocalPort(); // nothing listens there once closed
        }
        try (Node joining = node(dir.resolve("joining"), List.of(new Address("127.0.0.1", silentSeed)))) {
            joining.start();
            try (Jedis j = new Jedis("127.0.0.1", joining.address().getPort(), 2_000)) {
                assertThat(j.ping()).isEqualTo("PONG");
                assertThatThrownBy(() -> j.set("k", "v")).isInstanceOf(JedisDataException.class)
                        .hasMessageStartingWith("TRYAGAIN this node has not joined its cluster yet");
                assertThatThrownBy(() -> j.get("k")).isInstanceOf(JedisDataException.class)
                        .hasMessageStartingWith("TRYAGAIN");
                assertThat(joining.engine().size()).as("nothing written locally").isZero();
            }
        }
    }

    @Test
    void keyedCommandsAreServedOnceJoined(@TempDir Path dir) throws IOException {
        try (Node seed = node(dir.resolve("seed"), List.of())) {
            seed.start();
            try (Node joining = node(dir.resolve("joining"), List.of(new Address("127.0.0.1", seed.address().getPort())))) {
                joining.start();
                try (Jedis j = new Jedis("127.0.0.1", joining.address().getPort(), 2_000)) {
                    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                            .until(() -> "OK".equals(j.set("k", "v")));
                    assertThat(j.get("k")).isEqualTo("v");
                }
            }
        }
    }
}
