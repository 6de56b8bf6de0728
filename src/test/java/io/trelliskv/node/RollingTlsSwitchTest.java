package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Address;
import io.trelliskv.membership.MemberState;
import io.trelliskv.net.peer.PeerTlsConfig;
import io.trelliskv.testing.InfoFields;
import io.trelliskv.testing.SecuredNodes;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.SafeEncoder;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The rolling switch to peer TLS (no, then optional on every node, then yes on every node): in each step's mixed
 * cluster every node reaches every other. A write at ALL through each node needs all three directed pairs of it
 * (with N = 3 on three nodes each node coordinates its own blind writes), so one write per node covers every
 * pair; a QUORUM read on the next node then finds it. In the first step the {@code optional} nodes reach the
 * {@code no} node only by falling back to plaintext after their TLS handshake fails.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RollingTlsSwitchTest {

    /** Writes through each node once the cluster has formed. */
    private static final int WRITES_PER_NODE = 20;

    @TempDir
    Path dir;
    private TestCertificates certs;
    private final List<Node> nodes = new ArrayList<>();

    @BeforeEach
    void makeCertificates() throws Exception {
        certs = TestCertificates.make(dir, "");
    }

    @AfterEach
    void stop() {
        nodes.forEach(Node::close);
    }

    private enum Mode { NO, OPTIONAL, YES }

    private Node start(List<Address> seeds, Mode mode) throws Exception {
        PeerTlsConfig peerTls = mode == Mode.NO ? null : new PeerTlsConfig(certs.serverCert, certs.serverKey,
                certs.caCert, List.of(), List.of(), mode == Mode.OPTIONAL);
        Node node = SecuredNodes.start(new SecurityConfig(null, null, true, null, null, null, peerTls),
                new ClusterConfig("test", seeds, null, 16, null));
        nodes.add(node);
        return node;
    }

    private static Address seedOf(Node node) {
        return new Address("127.0.0.1", node.address().getPort());
    }

    private void formsAClusterThatReplicatesEverywhere(Mode first, Mode second, Mode third) throws Exception {
        Node a = start(List.of(), first);
        start(List.of(seedOf(a)), second);
        start(List.of(seedOf(a)), third);
        await().atMost(Duration.ofSeconds(30)).until(() -> nodes.stream().allMatch(n ->
                n.clusterState().count(MemberState.ALIVE) == 3 && n.clusterState().ring().nodes().size() == 3));

        for (int i = 0; i < nodes.size(); i++) {
            Node writer = nodes.get(i);
            Node reader = nodes.get((i + 1) % nodes.size());
            try (Jedis w = new Jedis("127.0.0.1", writer.address().getPort(), 5000);
                 Jedis r = new Jedis("127.0.0.1", reader.address().getPort(), 5000)) {
                w.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), "ALL");
                r.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), "QUORUM");
                // A connection that met a failed handshake fails the calls made on it; once the first write
                // went through, every pair is known and none may fail.
                await().atMost(Duration.ofSeconds(20)).ignoreException(JedisException.class)
                        .until(() -> "OK".equals(w.set("warm-" + writer.address().getPort(), "up")));
                for (int k = 0; k < WRITES_PER_NODE; k++) {
                    String key = "k-" + writer.address().getPort() + "-" + k;
                    assertThat(w.set(key, "v" + k)).as("write %s at ALL through %s", key, writer.address())
                            .isEqualTo("OK");
                    assertThat(r.get(key)).as("read at QUORUM through %s", reader.address()).isEqualTo("v" + k);
                }
            }
        }
        for (Node n : nodes) {
            try (Jedis j = new Jedis("127.0.0.1", n.address().getPort(), 5000)) {
                assertThat(InfoFields.parse(j.info("cluster"))).as("node %s", n.address())
                        .containsEntry("peer_plaintext_refused", "0");
            }
        }
    }

    @Test
    void firstStepNoBesideOptional() throws Exception {
        formsAClusterThatReplicatesEverywhere(Mode.NO, Mode.OPTIONAL, Mode.OPTIONAL);
        assertThat(info(nodes.get(1))).containsEntry("peer_tls", "optional");
    }

    @Test
    void secondStepOptionalBesideYes() throws Exception {
        formsAClusterThatReplicatesEverywhere(Mode.OPTIONAL, Mode.YES, Mode.OPTIONAL);
        assertThat(info(nodes.get(1))).containsEntry("peer_tls", "yes");
    }

    private static java.util.Map<String, String> info(Node node) {
        try (Jedis j = new Jedis("127.0.0.1", node.address().getPort(), 5000)) {
            return InfoFields.parse(j.info("cluster"));
        }
    }
}
