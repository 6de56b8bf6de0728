package io.trelliskv.node;

import io.trelliskv.common.ConfigException;
import io.trelliskv.common.ParseException;
import io.trelliskv.net.peer.PeerTlsConfig;
import io.trelliskv.testing.SecuredNodes;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code --tls-cluster}: off by default, and refused at start, with one line naming what is missing, without the node's TLS files. */
class TlsClusterOptionsTest {

    private static NodeConfig config(String... args) {
        Main main = new Main();
        Main.commandLine(main).parseArgs(args);
        return main.config();
    }

    @Test
    void peersArePlaintextByDefault() {
        assertThat(config("0").security().clusterTls()).isNull();
        assertThat(config("0", "--tls-cluster", "no").security().clusterTls()).isNull();
    }

    @Test
    void yesTakesTheNodesTlsFilesWithoutATlsPort() {
        NodeConfig c = config("0", "--tls-cluster", "yes", "--tls-cert-file", "n.crt", "--tls-key-file", "n.key",
                "--tls-ca-cert-file", "ca.crt", "--tls-protocols", "TLSv1.3");
        PeerTlsConfig tls = c.security().clusterTls();
        assertThat(tls.certFile()).isEqualTo(Path.of("n.crt"));
        assertThat(tls.keyFile()).isEqualTo(Path.of("n.key"));
        assertThat(tls.caCertFile()).isEqualTo(Path.of("ca.crt"));
        assertThat(tls.protocols()).containsExactly("TLSv1.3");
        assertThat(c.security().tls()).as("no client TLS port").isNull();
    }

    @Test
    void optionalIsTheTransitionalModeWithTheSameFiles() {
        PeerTlsConfig tls = config("0", "--tls-cluster", "optional", "--tls-cert-file", "n.crt", "--tls-key-file",
                "n.key", "--tls-ca-cert-file", "ca.crt").security().clusterTls();
        assertThat(tls.optional()).isTrue();
        assertThat(tls.certFile()).isEqualTo(Path.of("n.crt"));
        assertThat(config("0", "--tls-cluster", "yes", "--tls-cert-file", "n.crt", "--tls-key-file", "n.key",
                "--tls-ca-cert-file", "ca.crt").security().clusterTls().optional()).isFalse();
    }

    @Test
    void badSettingsAreRefusedNamingWhatIsMissing() {
        assertThatThrownBy(() -> config("0", "--tls-cluster", "yes"))
                .isInstanceOfAny(ParseException.class, ConfigException.class)
                .hasMessage("--tls-cluster yes needs --tls-cert-file, --tls-key-file and --tls-ca-cert-file"
                        + " (missing: --tls-cert-file, --tls-key-file, --tls-ca-cert-file)");
        assertThatThrownBy(() -> config("0", "--tls-cluster", "yes", "--tls-cert-file", "n.crt", "--tls-key-file",
                "n.key"))
                .hasMessage("--tls-cluster yes needs --tls-cert-file, --tls-key-file and --tls-ca-cert-file"
                        + " (missing: --tls-ca-cert-file)");
        assertThatThrownBy(() -> config("0", "--tls-cluster", "maybe"))
                .hasMessage("--tls-cluster: 'maybe' is not yes, no or optional");
        assertThatThrownBy(() -> config("0", "--tls-cluster", "optional"))
                .hasMessage("--tls-cluster optional needs --tls-cert-file, --tls-key-file and --tls-ca-cert-file"
                        + " (missing: --tls-cert-file, --tls-key-file, --tls-ca-cert-file)");
        assertThatThrownBy(() -> config("0", "--tls-cert-file", "n.crt", "--tls-key-file", "n.key"))
                .hasMessage("--tls-cert-file, --tls-key-file and --tls-ca-cert-file need --tls-port or --tls-cluster yes|optional");
    }

    @Test
    void unreadableFilesAreRefusedWhenTheNodeIsBuilt() {
        SecurityConfig security = new SecurityConfig(null, null, true, null, null, null,
                new PeerTlsConfig(Path.of("/nonexistent/n.crt"), Path.of("/nonexistent/n.key"),
                        Path.of("/nonexistent/ca.crt"), List.of(), List.of()));
        assertThatThrownBy(() -> SecuredNodes.start(security))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("--tls-cluster yes: peer TLS: certificate /nonexistent/n.crt");
    }
}
