package io.trelliskv.net.peer;

import java.nio.file.Path;
import java.util.List;

/**
 * Mutual TLS on peer connections ({@code --tls-cluster yes}), from the node's TLS material: its certificate
 * and key ({@code --tls-cert-file}, {@code --tls-key-file}, PEM), which it presents both when it dials and
 * when it accepts, and the CA that must have signed every peer's certificate ({@code --tls-ca-cert-file}).
 * The protocols and cipher suites are the client port's ({@code --tls-protocols}, {@code --tls-ciphersuites};
 * empty lists: the TLS engine's defaults).
 *
 * @param optional {@code --tls-cluster optional}, the transitional mode of a rolling switch: plaintext peers are
 *                 accepted beside TLS ones, and a peer whose TLS handshake fails is dialed in plaintext. It gives
 *                 up what TLS is for against anyone who can break a handshake on the path (a downgrade), so it
 *                 is meant only for the time of the switch
 */
public record PeerTlsConfig(Path certFile, Path keyFile, Path caCertFile, List<String> protocols,
                            List<String> ciphersuites, boolean optional) {

    /** Peer TLS required ({@code --tls-cluster yes}). */
    public PeerTlsConfig(Path certFile, Path keyFile, Path caCertFile, List<String> protocols, List<String> ciphersuites) {
        this(certFile, keyFile, caCertFile, protocols, ciphersuites, false);
    }

    public PeerTlsConfig {
        if (certFile == null || keyFile == null || caCertFile == null) {
            throw new IllegalArgumentException("--tls-cluster " + (optional ? "optional" : "yes") + " needs --tls-cert-file, --tls-key-file and"
                    + " --tls-ca-cert-file (missing: " + missing(certFile, keyFile, caCertFile) + ")");
        }
        protocols = List.copyOf(protocols);
        ciphersuites = List.copyOf(ciphersuites);
    }

    /** The same settings with other files (a certificate rotation). */
    public PeerTlsConfig withFiles(Path cert, Path key, Path ca) {
        return new PeerTlsConfig(cert, key, ca, protocols, ciphersuites, optional);
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
