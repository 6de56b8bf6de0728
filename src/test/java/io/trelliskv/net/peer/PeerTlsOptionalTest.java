package io.trelliskv.net.peer;

import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.net.RespServer;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code --tls-cluster optional}: the acceptor takes plaintext and TLS peers; the dialer falls back to plaintext
 * for a peer whose handshake failed (a node with {@code no}), and goes back to TLS once that address refuses
 * plaintext (the node restarted with {@code yes}), which the second step of a rolling switch relies on.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PeerTlsOptionalTest {

    private static final PeerHello CALLER = new PeerHello("prod", "127.0.0.1", 1, 1L);

    @TempDir
    Path dir;
    private TestCertificates certs;
    private final List<AutoCloseable> resources = new ArrayList<>();
    /** The payloads the servers were asked, in arrival order. */
    private final List<String> received = new CopyOnWriteArrayList<>();

    @BeforeEach
    void makeCertificates() throws Exception {
        certs = TestCertificates.make(dir, "");
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    private PeerTls tls(boolean optional) {
        return new PeerTls(new PeerTlsConfig(certs.serverCert, certs.serverKey, certs.caCert, List.of(), List.of(),
                optional));
    }

    /** A node answering FORWARD "echo:x" with "x" on {@code port} (0: a free one), its peers under {@code tls}. */
    private RespServer startServer(int port, PeerTls tls) throws IOException {
        NetConfig net = new NetConfig("127.0.0.1", port, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        PeerAcceptor acceptor = new PeerAcceptor(PeerConfig.defaults("prod").withTls(tls),
                new PeerHello("prod", "127.0.0.1", 0, 2L), (type, from, payload) -> {
                    String s = new String(payload, StandardCharsets.UTF_8);
                    received.add(s);
                    return CompletableFuture.completedFuture(s.substring("echo:".length()).getBytes(StandardCharsets.UTF_8));
                });
        RespServer server = new RespServer(net, (connection, args) -> connection.writer().simple("PONG"),
                new ClientRegistry(100), new ManualClock(0), acceptor);
        resources.add(server);
        server.start();
        return server;
    }

    private PeerClient client(PeerTls tls) {
        PeerClient c = new PeerClient(PeerConfig.defaults("prod").withBackoff(Duration.ofMillis(20),
                Duration.ofMillis(100)).withTls(tls), CALLER);
        resources.add(c);
        return c;
    }

    /** Calls until one call is answered; a call on a connection whose handshake failed fails. */
    private static void answeredEventually(PeerClient client, InetSocketAddress to, String text) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).ignoreExceptions().until(() ->
                text.equals(new String(client.call(to, PeerMessageType.FORWARD, ("echo:" + text)
                        .getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS),
                        StandardCharsets.UTF_8)));
    }

    @Test
    void anOptionalAcceptorTakesPlaintextAndTlsPeers() throws Exception {
        PeerTls optional = tls(true);
        InetSocketAddress server = startServer(0, optional).address();

        answeredEventually(client(null), server, "in plaintext");
        answeredEventually(client(tls(false)), server, "under tls");

        assertThat(received).contains("echo:in plaintext", "echo:under tls");
        assertThat(optional.plaintextPeersRefused()).isZero();
    }

    @Test
    void anOptionalDialerFallsBackToPlaintextAndBackToTlsWhenThePeerRequiresIt() throws Exception {
        RespServer plaintextNode = startServer(0, null);
        InetSocketAddress address = plaintextNode.address();
        PeerClient dialer = client(tls(true));

        answeredEventually(dialer, address, "after the fallback");
        assertThat(received).contains("echo:after the fallback");

        plaintextNode.close();
        PeerTls required = tls(false);
        startServer(address.getPort(), required);
        answeredEventually(dialer, address, "under tls again");

        assertThat(received).contains("echo:under tls again");
        assertThat(required.plaintextPeersRefused()).as("it tried plaintext first, was refused, then TLS")
                .isGreaterThanOrEqualTo(1);
    }
}
