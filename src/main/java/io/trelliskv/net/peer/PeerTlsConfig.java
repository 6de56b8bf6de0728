package io.trelliskv.net.peer;

import java.nio.file.Path;
import java.util.List;

/**
 * Mutual TLS on peer connections ({@code --tls-cluster yes}), from the node's TLS material: its certificate
 * and key ({@code --tls-cert-file}, {@code --tls-key-file}, PEM), which it presents both when it dials and
 * when it accepts, and the CA that must have signed every peer's certificate ({@code --tls-ca-cert-file}).
 * The protocols and cipher suites are the client port's ({@code --tls-protocols}, {@code --tls-ciphersuites};
 * empty lists: the TLS engine's defaults).
 */
public record PeerTlsConfig(Path certFile, Path keyFile, Path caCertFile, List<String> protocols,
                            List<String> ciphersuites) {

    public PeerTlsConfig {
        if (certFile == null || keyFile == null || caCertFile == null) {
            throw new IllegalArgumentException("--tls-cluster yes needs --tls-cert-file, --tls-key-file and"
                    + " --tls-ca-cert-file (missing: " + missing(certFile, keyFile, caCertFile) + ")");
        }
        protocols = List.copyOf(protocols);
        ciphersuites = List.copyOf(ciphersuites);
    }

    /** The same settings with other files (a certificate rotation). */
    public PeerTlsConfig withFiles(Path cert, Path key, Path ca) {
        return new PeerTlsConfig(cert, key, ca, protocols, ciphersuites);
    }

    private static String missing(Path cert, Path key, Path ca) {
        StringBuilder sb = new StringBuilder();
        if (cert == null) {
            sb.append("--tls-cert-file");
        }
        if (key == null) {
            sb.append(sb.isEmpty() ? "" : ", ").append("--tls-key-file");
        }
        if (ca == null) {
            sb.append(sb.isEmpty() ? "" : ", ").append("--tls-ca-cert-file");
        }
        return sb.toString();
    }
}
