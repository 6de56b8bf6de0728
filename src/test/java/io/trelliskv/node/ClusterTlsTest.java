package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Address;
import io.trelliskv.membership.MemberState;
import io.trelliskv.net.peer.PeerTlsConfig;
import io.trelliskv.testing.InfoFields;
import io.trelliskv.testing.SecuredNodes;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Nodes with {@code --tls-cluster yes} form a cluster and replicate over mutual TLS; a node that dials them
 * in plaintext, or presents a certificate another CA signed, never joins, and the plaintext one is counted
 * in the seed's INFO. (That the bytes on the wire are encrypted is {@code net.peer.PeerTlsTest}'s.)
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ClusterTlsTest {

    @TempDir
    Path dir;
    private final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        nodes.forEach(Node::close);
    }

    private Node start(List<Address> seeds, PeerTlsConfig peerTls) throws IOException {
        Node node = SecuredNodes.start(new SecurityConfig(null, null, true, null, null, null, peerTls),
                new ClusterConfig("test", seeds, null, 16, null));
        nodes.add(node);
        return node;
    }

    private static PeerTlsConfig peerTls(Path cert, Path key, Path ca) {
        return new PeerTlsConfig(cert, key, ca, List.of(), List.of());
    }

    private static Map<String, String> info(Node node) {
        try (Jedis j = new Jedis("127.0.0.1", node.address().getPort(), 5000)) {
            return InfoFields.parse(j.info("cluster"));
        }
    }

    private static Address seedOf(Node node) {
        return new Address("127.0.0.1", node.address().getPort());
    }

    @Test
    void nodesUnderTlsReplicateAndPlaintextOrForeignNodesNeverJoin() throws Exception {
        TestCertificates certs = TestCertificates.make(dir, "");
        TestCertificates foreign = TestCertificates.make(dir, "foreign-");
        Node a = start(List.of(), peerTls(certs.serverCert, certs.serverKey, certs.caCert));
        Node b = start(List.of(seedOf(a)), peerTls(certs.clientCert, certs.clientKey, certs.caCert));
        Node c = start(List.of(seedOf(a)), peerTls(certs.serverCert, certs.serverKey, certs.caCert));
        List<Node> members = List.of(a, b, c);
        await().atMost(Duration.ofSeconds(30)).until(() -> members.stream().allMatch(n ->
                n.clusterState().count(MemberState.ALIVE) == 3 && n.clusterState().ring().nodes().size() == 3));

        // N = 3 on three nodes: a QUORUM write on one and a QUORUM read on another meet on a replica.
        try (Jedis ja = new Jedis("127.0.0.1", a.address().getPort(), 5000);
             Jedis jc = new Jedis("127.0.0.1", c.address().getPort(), 5000)) {
            assertThat(ja.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), "QUORUM")).isNotNull();
            assertThat(ja.set("greeting", "over tls")).isEqualTo("OK");
            assertThat(jc.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), "QUORUM")).isNotNull();
            assertThat(jc.get("greeting")).isEqualTo("over tls");
        }
        assertThat(info(a)).containsEntry("peer_tls", "yes").containsEntry("peer_plaintext_refused", "0")
                .containsEntry("peer_tls_handshake_failures", "0");

        Node plaintext = start(List.of(seedOf(a)), null);
        await().atMost(Duration.ofSeconds(20)).until(() ->
                Long.parseLong(info(a).get("peer_plaintext_refused")) >= 1);
        assertThat(info(plaintext)).containsEntry("peer_tls", "no");

        Node outsider = start(List.of(seedOf(a)), peerTls(foreign.serverCert, foreign.serverKey, certs.caCert));
        await().atMost(Duration.ofSeconds(20)).until(() -> Long.parseLong(info(outsider)
                .getOrDefault("peer_request_failures", "0")) >= 2);
        await().atMost(Duration.ofSeconds(20)).alias("the outsider's handshakes, failed at a, counted there")
                .until(() -> Long.parseLong(info(a).get("peer_tls_handshake_failures")) >= 1);

        for (Node n : members) {
            assertThat(n.clusterState().ring().nodes()).as("the members' ring").hasSize(3);
        }
        for (Node n : List.of(plaintext, outsider)) {
            assertThat(n.clusterState().ring().nodes()).as("a refused node never joined a ring").isEmpty();
        }
    }
}
