package io.trelliskv.cli;

import io.trelliskv.net.TlsConfig;
import io.trelliskv.node.Node;
import io.trelliskv.node.SecurityConfig;
import io.trelliskv.testing.SecuredNodes;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** trellis-cli against a node that wants TLS with client certificates and a password, as an operator runs it. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TrellisCliSecurityTest {

    private Node node;

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    /** What one run printed and returned. */
    private record Run(int status, String out, String err) {
    }

    private static Run cli(Map<String, String> env, List<String> args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        StandardStreams streams = new StandardStreams(new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                false, env);
        int status = TrellisCli.run(args.toArray(new String[0]), streams);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void tlsWithAClientCertificateAndAPasswordFromTheEnvironment(@TempDir Path dir) throws Exception {
        TestCertificates certs = TestCertificates.make(dir, "");
        TlsConfig tls = new TlsConfig(0, certs.serverCert, certs.serverKey, certs.caCert, TlsConfig.ClientAuth.YES,
                List.of(), List.of());
        node = SecuredNodes.start(new SecurityConfig("pw", null, true, tls));
        String address = "127.0.0.1:" + node.tlsAddress().getPort();
        List<String> tlsArgs = List.of("--tls", "--cacert", certs.caCert.toString(), "--cert", certs.clientCert.toString(),
                "--key", certs.clientKey.toString());

        List<String> put = new ArrayList<>(tlsArgs);
        put.addAll(List.of(address, "put", "k", "hello"));
        Run run = cli(Map.of(ClientSecurity.PASSWORD_VARIABLE, "pw"), put);
        assertThat(run.status()).as(run.err()).isEqualTo(0);

        List<String> get = new ArrayList<>(tlsArgs);
        get.addAll(List.of("--pass", "pw", address, "get", "k"));
        run = cli(Map.of(), get);
        assertThat(run.status()).as(run.err()).isEqualTo(0);
        assertThat(run.out()).contains("hello");

        List<String> wrong = new ArrayList<>(tlsArgs);
        wrong.addAll(List.of("--pass", "nope", address, "get", "k"));
        run = cli(Map.of(), wrong);
        assertThat(run.status()).isEqualTo(ExitCode.ERROR);
        assertThat(run.err()).contains("refused the login: WRONGPASS");

        run = cli(Map.of(), List.of("--tls", "--cacert", certs.caCert.toString(), "--pass", "pw", address, "get", "k"));
        assertThat(run.status()).as("no client certificate").isEqualTo(ExitCode.ERROR);

        run = cli(Map.of(), List.of("--cacert", certs.caCert.toString(), address, "get", "k"));
        assertThat(run.err()).contains("--cacert, --cert and --key need --tls");
    }
}
