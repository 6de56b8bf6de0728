package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Address;
import io.trelliskv.common.ParseException;
import io.trelliskv.membership.MemberState;
import io.trelliskv.net.TlsConfig;
import io.trelliskv.testing.InfoFields;
import io.trelliskv.testing.SecuredNodes;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code --tls-clients-only yes}: the plain port answers a client with one error naming the TLS port and closes,
 * while it still takes peers (two such nodes form a cluster through it) and the TLS port serves clients; refused
 * at start without {@code --tls-port}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsClientsOnlyTest {

    @TempDir
    Path dir;
    private final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        nodes.forEach(Node::close);
    }

    private static NodeConfig config(String... args) {
        Main main = new Main();
        Main.commandLine(main).parseArgs(args);
        return main.config();
    }

    private Node start(TestCertificates certs, List<Address> seeds) throws Exception {
        TlsConfig tls = new TlsConfig(0, certs.serverCert, certs.serverKey, certs.caCert, TlsConfig.ClientAuth.YES,
                List.of(), List.of(), true);
        Node node = SecuredNodes.start(new SecurityConfig(null, null, true, tls, null, null),
                new ClusterConfig("test", seeds, null, 16, null));
        nodes.add(node);
        return node;
    }

    /** Everything the plain port sends to a client that typed PING, until it closes the connection. */
    private static String plainPortAnswer(Node node) throws Exception {
        try (Socket s = new Socket("127.0.0.1", node.address().getPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[256];
            for (int n; (n = in.read(buf)) != -1; ) {
                got.write(buf, 0, n);
            }
            return got.toString(StandardCharsets.US_ASCII);
        }
    }

    @Test
    void plainPortRefusesClientsNamingTheTlsPortAndStillTakesPeers() throws Exception {
        TestCertificates certs = TestCertificates.make(dir, "");
        Node a = start(certs, List.of());
        Node b = start(certs, List.of(new Address("127.0.0.1", a.address().getPort())));
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> nodes.stream().allMatch(n ->
                n.clusterState().count(MemberState.ALIVE) == 2 && n.clusterState().ring().nodes().size() == 2));

        assertThat(plainPortAnswer(a)).isEqualTo("-ERR this port serves no plaintext clients (--tls-clients-only yes):"
                + " connect with TLS to port " + a.tlsAddress().getPort() + "\r\n");

        try (Jedis j = new Jedis(new HostAndPort("127.0.0.1", a.tlsAddress().getPort()), DefaultJedisClientConfig
                .builder().ssl(true).sslSocketFactory(certs.clientSocketFactory(true)).socketTimeoutMillis(5000).build())) {
            assertThat(j.set("k", "over tls")).isEqualTo("OK");
            assertThat(j.get("k")).isEqualTo("over tls");
            assertThat(j.configGet("tls-clients-only")).containsEntry("tls-clients-only", "yes");
            Map<String, String> info = InfoFields.parse(j.info());
            assertThat(info).containsEntry("tls_clients_only", "yes").containsEntry("plaintext_clients_refused", "1");
            assertThat(Integer.parseInt(info.get("connected_peers"))).as("b's connections to a").isPositive();
        }
        assertThat(b.clusterState().ring().nodes()).hasSize(2);
    }

    @Test
    void refusedAtStartWithoutATlsPort() {
        assertThatThrownBy(() -> config("0", "--tls-clients-only", "yes"))
                .isInstanceOf(ParseException.class)
                .hasMessage("--tls-clients-only yes needs --tls-port (the port that then serves clients)");
        assertThatThrownBy(() -> config("0", "--tls-clients-only", "maybe"))
                .hasMessage("--tls-clients-only: 'maybe' is not yes or no");
        assertThat(config("0", "--tls-port", "0", "--tls-cert-file", "n.crt", "--tls-key-file", "n.key",
                "--tls-ca-cert-file", "ca.crt", "--tls-clients-only", "yes").security().tls().clientsOnly()).isTrue();
        assertThat(config("0", "--tls-port", "0", "--tls-cert-file", "n.crt", "--tls-key-file", "n.key",
                "--tls-ca-cert-file", "ca.crt").security().tls().clientsOnly()).as("off by default").isFalse();
    }

    @Test
    void tlsOptionsAreCheckedAtStart() {
        assertThatThrownBy(() -> config("7000", "--tls-port", "7000", "--tls-cert-file", "n.crt", "--tls-key-file",
                "n.key", "--tls-ca-cert-file", "ca.crt")).isInstanceOf(ParseException.class)
                .hasMessage("--tls-port 7000 is the port that serves plaintext clients: give TLS a port of its own"
                        + " (0 picks a free one)");
        assertThatThrownBy(() -> config("0", "--tls-port", "0", "--tls-cert-file", "n.crt", "--tls-key-file", "n.key",
                "--tls-ca-cert-file", "ca.crt", "--tls-protocols", "TLSv1.3 TLSv1.4"))
                .hasMessage("--tls-protocols: 'TLSv1.4' is not one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3");
        assertThat(config("0", "--tls-port", "0", "--tls-cert-file", "n.crt", "--tls-key-file", "n.key",
                "--tls-ca-cert-file", "ca.crt", "--tls-protocols", "tlsv1.3").security().tls().protocols())
                .as("any case, as Redis").containsExactly("TLSv1.3");
    }
}
