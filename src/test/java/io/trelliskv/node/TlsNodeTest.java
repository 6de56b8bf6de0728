package io.trelliskv.node;

import io.trelliskv.net.TlsConfig;
import io.trelliskv.net.TlsFiles;
import io.trelliskv.testing.SecuredNodes;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Clients over TLS on a real node: mutual TLS with certificates from a test CA, a pipelined client over
 * TLS, a client without a certificate refused when one is required, and a certificate rotation with
 * CONFIG SET that new connections see while an old connection keeps working.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsNodeTest {

    private final List<AutoCloseable> opened = new ArrayList<>();
    private Node node;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : opened) {
            try {
                c.close();
            } catch (Exception e) {
                // refused on purpose
            }
        }
        if (node != null) {
            node.close();
        }
    }

    private void start(TlsConfig tls) throws Exception {
        node = SecuredNodes.start(new SecurityConfig(null, null, true, tls));
    }

    private Jedis tlsClient(SSLSocketFactory factory) {
        InetSocketAddress a = node.tlsAddress();
        Jedis j = new Jedis(new HostAndPort("127.0.0.1", a.getPort()), DefaultJedisClientConfig.builder()
                .ssl(true).sslSocketFactory(factory).socketTimeoutMillis(5_000).build());
        opened.add(j);
        return j;
    }

    @Test
    void mutualTlsServesPipelinesAndRefusesAClientWithoutACertificate(@TempDir Path dir) throws Exception {
        TestCertificates certs = TestCertificates.make(dir, "");
        start(new TlsConfig(0, certs.serverCert, certs.serverKey, certs.caCert, TlsConfig.ClientAuth.YES, List.of(), List.of()));
        Jedis j = tlsClient(certs.clientSocketFactory(true));
        Pipeline p = j.pipelined();
        List<Response<String>> sets = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            sets.add(p.set("k" + i, "v" + i));
        }
        Response<String> last = p.get("k499");
        p.sync();
        assertThat(sets).allSatisfy(r -> assertThat(r.get()).isEqualTo("OK"));
        assertThat(last.get()).isEqualTo("v499");
        SSLSocketFactory withoutCertificate = certs.clientSocketFactory(false);
        // TLS 1.3: the client learns of the refusal at its first read, as a fatal alert or a closed socket.
        assertThatThrownBy(() -> tlsClient(withoutCertificate).ping()).as("no client certificate")
                .isInstanceOf(redis.clients.jedis.exceptions.JedisConnectionException.class);
        assertThat(j.ping()).isEqualTo("PONG");
    }

    @Test
    void aRotatedCertificateServesNewConnectionsAndABadOneChangesNothing(@TempDir Path dir) throws Exception {
        TestCertificates first = TestCertificates.make(dir, "a-");
        TestCertificates second = TestCertificates.make(dir, "b-");
        start(new TlsConfig(0, first.serverCert, first.serverKey, null, TlsConfig.ClientAuth.NO, List.of(), List.of()));
        Jedis old = tlsClient(first.clientSocketFactory(false));
        assertThat(old.set("k", "1")).isEqualTo("OK");
        assertThatThrownBy(() -> old.configSet("tls-cert-file", dir.resolve("missing.crt").toString()))
                .hasMessageStartingWith("ERR CONFIG SET failed");
        assertThat(tlsClient(first.clientSocketFactory(false)).get("k")).as("still the first certificate").isEqualTo("1");
        // A new certificate without its key (rotated in two commands): refused, where it would fail every handshake.
        assertThatThrownBy(() -> old.configSet("tls-cert-file", second.serverCert.toString()))
                .hasMessageContaining("does not belong to certificate " + second.serverCert);
        assertThat(tlsClient(first.clientSocketFactory(false)).get("k")).as("still the first certificate").isEqualTo("1");
        assertThat(old.configSet("tls-cert-file", second.serverCert.toString(), "tls-key-file", second.serverKey.toString()))
                .isEqualTo("OK");
        assertThat(tlsClient(second.clientSocketFactory(false)).get("k")).isEqualTo("1");
        SSLSocketFactory trustsOnlyTheFirst = first.clientSocketFactory(false);
        assertThatThrownBy(() -> tlsClient(trustsOnlyTheFirst).get("k"))
                .as("a client trusting only the old CA no longer connects")
                .hasStackTraceContaining("unable to find valid certification path");
        assertThat(old.get("k")).as("an open connection keeps its session").isEqualTo("1");
    }

    @Test
    void tlsCiphersChooseTls12CiphersAndLeaveTls13On(@TempDir Path dir) throws Exception {
        TestCertificates certs = TestCertificates.make(dir, "");
        List<String> ciphers = TlsFiles.ciphers("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", null,
                io.netty.handler.ssl.OpenSsl.isAvailable(), () -> List.of());
        start(new TlsConfig(0, certs.serverCert, certs.serverKey, null, TlsConfig.ClientAuth.NO, List.of(), ciphers));
        SSLSocketFactory factory = certs.clientSocketFactory(false);

        assertThat(ping(factory, "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")).isEqualTo("+PONG");
        assertThatThrownBy(() -> ping(factory, "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"))
                .as("a TLS 1.2 cipher not in the list").isInstanceOf(IOException.class);
        assertThat(ping(factory, "TLSv1.3", "TLS_AES_128_GCM_SHA256")).as("TLS 1.3 stays on with its defaults")
                .isEqualTo("+PONG");
        assertThat(tlsClient(factory).configGet("tls-*")).as("CONFIG GET names the settings in force")
                .containsEntry("tls-ciphers", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
                .containsEntry("tls-auth-clients", "no").containsEntry("tls-protocols", "")
                .containsKey("tls-ciphersuites");
    }

    /** PING over a TLS connection limited to one protocol and cipher; the first line of the reply. */
    private String ping(SSLSocketFactory factory, String protocol, String cipher) throws IOException {
        try (SSLSocket socket = (SSLSocket) factory.createSocket("127.0.0.1", node.tlsAddress().getPort())) {
            socket.setSoTimeout(5_000);
            socket.setEnabledProtocols(new String[] {protocol});
            socket.setEnabledCipherSuites(new String[] {cipher});
            socket.startHandshake();
            socket.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII)).readLine();
        }
    }
}
