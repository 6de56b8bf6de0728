package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Address;
import io.trelliskv.membership.MemberState;
import io.trelliskv.testing.InfoFields;
import io.trelliskv.testing.SecuredNodes;
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
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Nodes with a cluster secret and a gossip key form a cluster; a node with the wrong ones, pointed at the
 * same seed, cannot join: its peer hellos are refused, and the members never count it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClusterSecurityTest {

    @TempDir
    Path dir;
    private final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        nodes.forEach(Node::close);
    }

    private Node start(List<Address> seeds, Path secret, Path gossipKeys) throws IOException {
        Node node = SecuredNodes.start(new SecurityConfig(null, null, true, null, gossipKeys, secret),
                new ClusterConfig("test", seeds, null, 16, null));
        nodes.add(node);
        return node;
    }

    private Path file(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void aNodeWithoutTheSecretCannotJoin() throws IOException {
        Path secret = file("secret", "the right cluster secret\n");
        Path keys = file("keys", Base64.getEncoder().encodeToString(new byte[32]) + "\n");
        byte[] otherKey = new byte[32];
        otherKey[0] = 7;
        Path wrongSecret = file("wrong-secret", "not the cluster's secret\n");
        Path wrongKeys = file("wrong-keys", Base64.getEncoder().encodeToString(otherKey) + "\n");

        Node a = start(List.of(), secret, keys);
        Address seed = new Address("127.0.0.1", a.address().getPort());
        Node b = start(List.of(seed), secret, keys);
        await().atMost(Duration.ofSeconds(20)).until(() -> a.clusterState().count(MemberState.ALIVE) == 2
                && b.clusterState().count(MemberState.ALIVE) == 2 && a.clusterState().ring().nodes().size() == 2
                && b.clusterState().ring().nodes().size() == 2);

        Node impostor = start(List.of(seed), wrongSecret, wrongKeys);
        // The impostor's join reaches the seed and is refused: wait until it has failed a few times
        // (its INFO counts the failed peer requests; forged gossip is GossipTransportTest's).
        try (Jedis j = new Jedis("127.0.0.1", impostor.address().getPort(), 5000)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> Long.parseLong(InfoFields.parse(j.info("cluster"))
                    .getOrDefault("peer_request_failures", "0")) >= 2);
        }
        assertThat(a.clusterState().count(MemberState.ALIVE)).isEqualTo(2);
        assertThat(a.clusterState().ring().nodes()).hasSize(2);
        assertThat(b.clusterState().ring().nodes()).hasSize(2);
        assertThat(impostor.clusterState().ring().nodes()).as("the impostor never joined a ring").isEmpty();
        assertThat(impostor.clusterState().count(MemberState.ALIVE)).as("and knows no member but itself").isEqualTo(1);
    }
}
