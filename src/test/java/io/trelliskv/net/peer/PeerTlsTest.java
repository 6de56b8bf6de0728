package io.trelliskv.net.peer;

import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.net.RespServer;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.testing.RecordingRelay;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Peer connections under mutual TLS ({@code --tls-cluster yes}) on the shared port: the bytes on the wire
 * are encrypted (a recording relay between the nodes never sees the payload, and does see it in
 * plaintext, which shows the check can fail), a plaintext peer is refused and counted, and a peer whose
 * certificate the cluster's CA did not sign is refused.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PeerTlsTest {

    private static final String SECRET_VALUE = "value-that-must-not-be-seen-7f3a";
    private static final PeerHello CALLER = new PeerHello("prod", "127.0.0.1", 1, 1L);

    @TempDir
    Path dir;
    private TestCertificates certs;
    private final List<AutoCloseable> resources = new ArrayList<>();
    /** The payloads the server was asked, in arrival order. */
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

    private PeerTls tls(Path cert, Path key, Path ca) {
        return new PeerTls(new PeerTlsConfig(cert, key, ca, List.of(), List.of()));
    }

    /** This side's node TLS: the server certificate, trusting the test CA. */
    private PeerTls serverTls() {
        return tls(certs.serverCert, certs.serverKey, certs.caCert);
    }

    /** Another node's TLS: the client certificate, signed by the same CA. */
    private PeerTls dialerTls() {
        return tls(certs.clientCert, certs.clientKey, certs.caCert);
    }

    /** A node answering FORWARD "echo:x" with "x", on a free loopback port. */
    private InetSocketAddress startServer(PeerTls tls) throws IOException {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
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
        return server.address();
    }

    private PeerClient client(PeerTls tls) {
        PeerClient c = new PeerClient(PeerConfig.defaults("prod").withBackoff(Duration.ofMillis(20),
                Duration.ofMillis(100)).withTls(tls), CALLER);
        resources.add(c);
        return c;
    }

    private RecordingRelay relay(InetSocketAddress to) throws IOException {
        RecordingRelay relay = new RecordingRelay(to);
        resources.add(relay);
        return relay;
    }

    private static CompletableFuture<byte[]> echo(PeerClient client, InetSocketAddress to, String text) {
        return client.call(to, PeerMessageType.FORWARD, ("echo:" + text).getBytes(StandardCharsets.UTF_8),
                Duration.ofSeconds(10));
    }

    private static String text(CompletableFuture<byte[]> f) throws Exception {
        return new String(f.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8);
    }

    private static Throwable failureOf(CompletableFuture<byte[]> f) {
        Throwable t = catchThrowable(() -> f.get(10, TimeUnit.SECONDS));
        assertThat(t).isInstanceOf(ExecutionException.class);
        return t.getCause();
    }

    private static boolean contains(byte[] haystack, String needle) {
        return new String(haystack, StandardCharsets.ISO_8859_1).contains(needle);
    }

    @Test
    void peerBytesUnderTlsAreEncrypted() throws Exception {
        RecordingRelay tap = relay(startServer(serverTls()));

        assertThat(text(echo(client(dialerTls()), tap.address(), SECRET_VALUE))).isEqualTo(SECRET_VALUE);

        assertThat(received).containsExactly("echo:" + SECRET_VALUE);
        assertThat(tap.seen()).as("the relay carried the call").hasSizeGreaterThan(2 * SECRET_VALUE.length());
        assertThat(contains(tap.seen(), SECRET_VALUE)).as("the payload is not on the wire in the clear").isFalse();
        assertThat(contains(tap.seen(), "prod")).as("nor the hello's cluster name").isFalse();
    }

    @Test
    void plaintextPeerBytesAreVisibleOnTheWire() throws Exception {
        // The control of the test above: the same call without TLS shows the relay does see payloads.
        RecordingRelay tap = relay(startServer(null));

        assertThat(text(echo(client(null), tap.address(), SECRET_VALUE))).isEqualTo(SECRET_VALUE);

        assertThat(contains(tap.seen(), SECRET_VALUE)).isTrue();
    }

    @Test
    void aPlaintextPeerIsRefusedAndCounted() throws Exception {
        PeerTls tls = serverTls();
        InetSocketAddress server = startServer(tls);

        Throwable failure = failureOf(echo(client(null), server, "not served"));

        assertThat(failure).isInstanceOf(PeerUnavailableException.class);
        assertThat(received).isEmpty();
        assertThat(tls.plaintextPeersRefused()).isEqualTo(1);
    }

    @Test
    void aPeerWhoseCertificateTheCaDidNotSignIsRefused() throws Exception {
        TestCertificates other = TestCertificates.make(dir, "other-");
        InetSocketAddress server = startServer(serverTls());
        // It trusts the cluster's CA, so it would accept the server; its own certificate is another CA's.
        PeerClient outsider = client(tls(other.clientCert, other.clientKey, certs.caCert));

        Throwable failure = failureOf(echo(outsider, server, "not served"));

        assertThat(failure).isInstanceOf(PeerUnavailableException.class);
        assertThat(received).isEmpty();
    }

    @Test
    void aNodeWhoseCertificateTheCaDidNotSignIsNotDialed() throws Exception {
        TestCertificates other = TestCertificates.make(dir, "other-");
        InetSocketAddress impostor = startServer(tls(other.serverCert, other.serverKey, certs.caCert));

        Throwable failure = failureOf(echo(client(dialerTls()), impostor, SECRET_VALUE));

        assertThat(failure).isInstanceOf(PeerUnavailableException.class);
        assertThat(received).as("the hello and the request wait for a handshake that fails").isEmpty();
    }

    @Test
    void aTlsPeerDialingANodeWithoutPeerTlsIsClosed() throws Exception {
        InetSocketAddress plain = startServer(null);

        Throwable failure = failureOf(echo(client(dialerTls()), plain, "not served"));

        assertThat(failure).isInstanceOf(PeerUnavailableException.class);
        assertThat(received).isEmpty();
    }
}
