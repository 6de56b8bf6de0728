package io.trelliskv.it;

import io.trelliskv.it.TrellisProcess.Result;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.awaitility.Awaitility.await;

/**
 * A node started as an operator secures it — the password in a file, TLS with client certificates on
 * its own port — and driven by the real redis-cli (with {@code --tls}) and by trellis-cli: a client
 * without credentials gets NOAUTH, a wrong password WRONGPASS, an ACL user cannot touch keys outside
 * its patterns, and the password never appears in the node's output.
 */
class SecurityIT {

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

    /** True once the plain port answers a PING with Redis's NOAUTH: the node is up and wants a password. */
    private static boolean wantsPassword(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            s.setSoTimeout(1000);
            s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            return new String(in.readNBytes(7), StandardCharsets.US_ASCII).equals("-NOAUTH");
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void redisCliOverTlsWithAPasswordAndAnAclUser() throws Exception {
        String redisCli = TrellisProcess.which("redis-cli").map(Path::toString).orElse(null);
        assumeTrue(redisCli != null, "redis-cli is not installed");
        assumeTrue(TrellisProcess.onPath("openssl"), "openssl is not installed");
        TestCertificates certs = TestCertificates.make(certDir, "");
        Path passFile = certDir.resolve("pass");
        Files.writeString(passFile, "Sup3r-secret\n");
        int port = TrellisProcess.freePort();
        int tlsPort = TrellisProcess.freePort();
        TrellisProcess node = TrellisProcess.launch(home, logs, "trellis", Integer.toString(port), "--appendonly", "no",
                "--requirepass-file", passFile.toString(), "--tls-port", Integer.toString(tlsPort),
                "--tls-cert-file", certs.serverCert.toString(), "--tls-key-file", certs.serverKey.toString(),
                "--tls-ca-cert-file", certs.caCert.toString());
        started.add(node);
        await().atMost(TrellisProcess.START_TIMEOUT).pollInterval(Duration.ofMillis(100)).until(() -> {
            assertThat(node.process().isAlive()).as("node alive; stderr: %s", node.stderr()).isTrue();
            return wantsPassword(port);
        });
        List<String> tls = List.of(redisCli, "-p", Integer.toString(tlsPort), "--tls", "--cacert", certs.caCert.toString(),
                "--cert", certs.clientCert.toString(), "--key", certs.clientKey.toString());

        assertThat(cli(List.of(redisCli, "-p", Integer.toString(port), "get", "k")).stdout())
                .contains("NOAUTH Authentication required.");
        Result wrong = cli(with(tls, "-a", "wrong", "--no-auth-warning", "get", "k"));
        assertThat(wrong.stderr()).as("redis-cli reports the failed AUTH").contains(
                "WRONGPASS invalid username-password pair or user is disabled.");
        assertThat(wrong.stdout()).contains("NOAUTH Authentication required.");
        assertThat(cli(with(tls, "-a", "Sup3r-secret", "--no-auth-warning", "set", "app:1", "v")).stdout()).isEqualTo("OK\n");
        assertThat(cli(with(tls, "-a", "Sup3r-secret", "--no-auth-warning", "ACL", "SETUSER", "app", "on", ">apppw",
                "~app:*", "+@all")).stdout()).isEqualTo("OK\n");
        assertThat(cli(with(tls, "--user", "app", "--pass", "apppw", "--no-auth-warning", "get", "app:1")).stdout())
                .isEqualTo("v\n");
        assertThat(cli(with(tls, "--user", "app", "--pass", "apppw", "--no-auth-warning", "set", "other", "x")).stdout())
                .contains("NOPERM this user has no permissions to access one of the keys used as arguments");
        Result noCert = TrellisProcess.runCommand(logs, null, List.of(redisCli, "-p", Integer.toString(tlsPort), "--tls",
                "--cacert", certs.caCert.toString(), "-a", "Sup3r-secret", "--no-auth-warning", "ping"));
        assertThat(noCert.stdout() + noCert.stderr()).as("no client certificate").doesNotContain("PONG");

        Result trellisCli = TrellisProcess.run(home, logs, null, "trellis-cli", "--tls", "--cacert", certs.caCert.toString(),
                "--cert", certs.clientCert.toString(), "--key", certs.clientKey.toString(), "--user", "app", "--pass", "apppw",
                "127.0.0.1:" + tlsPort, "get", "app:1");
        assertThat(trellisCli.exitCode()).as("trellis-cli: %s", trellisCli.stderr()).isZero();
        assertThat(trellisCli.stdout()).contains("v");

        assertThat(node.stdout() + node.stderr()).as("the node's output").doesNotContain("Sup3r-secret", "apppw")
                .contains("Serving RESP over TLS");
    }

    private static List<String> with(List<String> base, String... more) {
        List<String> all = new ArrayList<>(base);
        all.addAll(List.of(more));
        return all;
    }

    private Result cli(List<String> command) throws IOException {
        return TrellisProcess.runCommand(logs, null, command);
    }
}
