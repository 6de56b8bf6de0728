package io.trelliskv.it;

import io.trelliskv.it.TrellisProcess.Result;
import io.trelliskv.testing.InfoFields;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code --tls-cluster yes} as an operator starts it: refused with one line and exit status 2 without the
 * node's TLS files; with them, two node processes form a cluster over mutual TLS and replicate a write.
 */
class TlsClusterIT {

    @TempDir
    static Path stagingDir;
    private static Path home;

    @TempDir
    Path logs;
    @TempDir
    Path certDir;
    private final List<TrellisProcess> started = new ArrayList<>();

    @BeforeAll
    static void stage() throws IOException {
        home = TrellisProcess.stageHome(stagingDir);
    }

    @AfterEach
    void stop() {
        started.forEach(TrellisProcess::close);
    }

    @Test
    void withoutTheTlsFilesTheNodeDoesNotStart() throws IOException {
        Result r = TrellisProcess.run(home, logs, null, "trellis", "0", "--tls-cluster", "yes",
                "--tls-cert-file", "node.crt");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stderrLines()).containsExactly("trellis: --tls-cluster yes needs --tls-cert-file, --tls-key-file"
                + " and --tls-ca-cert-file (missing: --tls-key-file, --tls-ca-cert-file)");
    }

    private TrellisProcess node(int port, TestCertificates certs, Path cert, Path key, String... more)
            throws IOException {
        List<String> args = new ArrayList<>(List.of(Integer.toString(port), "--appendonly", "no",
                "--data-dir", logs.resolve("data-" + port).toString(), "--tls-cluster", "yes",
                "--tls-cert-file", cert.toString(), "--tls-key-file", key.toString(),
                "--tls-ca-cert-file", certs.caCert.toString(), "--replication-factor", "2"));
        args.addAll(List.of(more));
        TrellisProcess p = TrellisProcess.launch(home, logs, "trellis", args.toArray(String[]::new));
        started.add(p);
        return p.awaitServing(port);
    }

    private static Map<String, String> info(int port) {
        try (Jedis j = new Jedis("127.0.0.1", port, 5000)) {
            return InfoFields.parse(j.info("cluster"));
        }
    }

    @Test
    void twoNodesReplicateOverMutualTls() throws Exception {
        assumeTrue(TrellisProcess.onPath("openssl"), "openssl is not installed");
        TestCertificates certs = TestCertificates.make(certDir, "");
        int a = TrellisProcess.freePort();
        int b = TrellisProcess.freePort();
        node(a, certs, certs.serverCert, certs.serverKey);
        node(b, certs, certs.clientCert, certs.clientKey, "--seeds", "127.0.0.1:" + a);
        await().atMost(Duration.ofSeconds(30)).until(() -> info(a).get("ring_nodes").equals("2")
                && info(b).get("ring_nodes").equals("2"));

        try (Jedis ja = new Jedis("127.0.0.1", a, 5000); Jedis jb = new Jedis("127.0.0.1", b, 5000)) {
            assertThat(ja.set("k", "over mutual tls")).isEqualTo("OK");
            assertThat(jb.get("k")).isEqualTo("over mutual tls");
        }
        assertThat(info(a)).containsEntry("peer_tls", "yes");
    }
}
