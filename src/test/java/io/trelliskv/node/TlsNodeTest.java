package io.trelliskv.node;

import io.trelliskv.net.TlsConfig;
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

import javax.net.ssl.SSLSocketFactory;
import java.net.InetSocketAddress;
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
        assertThat(old.configSet("tls-cert-file", second.serverCert.toString(), "tls-key-file", second.serverKey.toString()))
                .isEqualTo("OK");
        assertThat(tlsClient(second.clientSocketFactory(false)).get("k")).isEqualTo("1");
        SSLSocketFactory trustsOnlyTheFirst = first.clientSocketFactory(false);
        assertThatThrownBy(() -> tlsClient(trustsOnlyTheFirst).get("k"))
                .as("a client trusting only the old CA no longer connects")
                .hasStackTraceContaining("unable to find valid certification path");
        assertThat(old.get("k")).as("an open connection keeps its session").isEqualTo("1");
    }
}
