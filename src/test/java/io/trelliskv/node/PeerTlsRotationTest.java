package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Address;
import io.trelliskv.membership.MemberState;
import io.trelliskv.net.peer.PeerTlsConfig;
import io.trelliskv.testing.SecuredNodes;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.util.SafeEncoder;

import javax.net.ssl.SSLSocket;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Peer TLS material rotates without a restart: a three-node cluster under {@code --tls-cluster yes} moves to new
 * certificates signed by the same CA ({@code CONFIG SET tls-cert-file ... tls-key-file ...} on every node) while
 * QUORUM writes go on, and none fails; a peer connection opened afterwards is shown the new certificate.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PeerTlsRotationTest {

    /** Writes made after the last node rotated, so that the new contexts carry traffic. */
    private static final int WRITES_AFTER = 200;
    /** Bound on the writer's loop. */
    private static final int MAX_WRITES = 100_000;

    @TempDir
    Path dir;
    private final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        nodes.forEach(Node::close);
    }

    private Node start(List<Address> seeds, TestCertificates certs) throws Exception {
        PeerTlsConfig peerTls = new PeerTlsConfig(certs.serverCert, certs.serverKey, certs.caCert, List.of(), List.of());
        Node node = SecuredNodes.start(new SecurityConfig(null, null, true, null, null, null, peerTls),
                new ClusterConfig("test", seeds, null, 16, null));
        nodes.add(node);
        return node;
    }

    private static Address seedOf(Node node) {
        return new Address("127.0.0.1", node.address().getPort());
    }

    private static BigInteger serialOf(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return ((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in)).getSerialNumber();
        }
    }

    /** The serial of the certificate a node shows a peer dialing its shared port with TLS now. */
    private static BigInteger shownToANewPeer(Node node, TestCertificates certs) throws Exception {
        try (SSLSocket s = (SSLSocket) certs.clientSocketFactory(true).createSocket("127.0.0.1", node.address().getPort())) {
            s.setSoTimeout(5000);
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    @Test
    void certificatesRotateOnEveryNodeWhileQuorumWritesGoOn() throws Exception {
        TestCertificates certs = TestCertificates.make(dir, "");
        TestCertificates rotated = certs.reissue("rotated-");
        Node a = start(List.of(), certs);
        Node b = start(List.of(seedOf(a)), certs);
        Node c = start(List.of(seedOf(a)), certs);
        await().atMost(Duration.ofSeconds(30)).until(() -> nodes.stream().allMatch(n ->
                n.clusterState().count(MemberState.ALIVE) == 3 && n.clusterState().ring().nodes().size() == 3));

        AtomicBoolean rotatedEverywhere = new AtomicBoolean();
        AtomicInteger written = new AtomicInteger();
        List<String> failures = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try (Jedis j = new Jedis("127.0.0.1", a.address().getPort(), 5000)) {
                j.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), "QUORUM");
                int afterRotation = 0;
                for (int i = 0; i < MAX_WRITES && afterRotation < WRITES_AFTER; i++) {
                    boolean rotatedBefore = rotatedEverywhere.get();
                    try {
                        String reply = j.set("key-" + (i % 64), "value-" + i);
                        if (!"OK".equals(reply)) {
                            failures.add("write " + i + ": " + reply);
                        }
                    } catch (RuntimeException e) {
                        failures.add("write " + i + ": " + e.getMessage());
                    }
                    written.incrementAndGet();
                    if (rotatedBefore) {
                        afterRotation++;
                    }
                }
            }
        });
        await().atMost(Duration.ofSeconds(20)).until(() -> written.get() >= 50);

        for (Node n : nodes) {
            try (Jedis j = new Jedis("127.0.0.1", n.address().getPort(), 5000)) {
                assertThat(j.configSet("tls-cert-file", rotated.serverCert.toString(),
                        "tls-key-file", rotated.serverKey.toString())).isEqualTo("OK");
                assertThat(j.configGet("tls-cert-file")).containsEntry("tls-cert-file", rotated.serverCert.toString());
            }
        }
        rotatedEverywhere.set(true);
        writer.get(60, TimeUnit.SECONDS);

        assertThat(failures).as("writes that failed during the rotation").isEmpty();
        BigInteger newSerial = serialOf(rotated.serverCert);
        assertThat(newSerial).isNotEqualTo(serialOf(certs.serverCert));
        for (Node n : nodes) {
            assertThat(shownToANewPeer(n, rotated)).as("node %s", n.address()).isEqualTo(newSerial);
        }
        try (Jedis j = new Jedis("127.0.0.1", c.address().getPort(), 5000)) {
            j.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), "QUORUM");
            assertThat(j.get("key-0")).startsWith("value-");
        }
        assertThat(b.clusterState().count(MemberState.ALIVE)).isEqualTo(3);
    }
}
