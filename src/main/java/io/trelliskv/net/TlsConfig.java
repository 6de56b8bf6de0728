package io.trelliskv.net;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * TLS for clients, with Redis's option names: a port of its own ({@code --tls-port}) beside the plain one,
 * the node's certificate and key ({@code --tls-cert-file}, {@code --tls-key-file}, PEM), the CA that signs
 * client certificates ({@code --tls-ca-cert-file}), whether clients must present one
 * ({@code --tls-auth-clients yes|no|optional}, default yes as in Redis), and the protocols and cipher
 * suites allowed (empty lists: the TLS engine's defaults).
 *
 * @param port         the TLS port; 0 picks a free one
 * @param caCertFile   the CA bundle for client certificates; required unless {@code authClients} is NO
 * @param clientsOnly  {@code --tls-clients-only yes}: the plain TCP port serves peers only, and answers a RESP
 *                     client with one error naming the TLS port and closes (the Unix socket, local, still serves)
 */
public record TlsConfig(int port, Path certFile, Path keyFile, Path caCertFile, ClientAuth authClients,
                        List<String> protocols, List<String> ciphersuites, boolean clientsOnly) {

    /** Clients served on both ports ({@code --tls-clients-only no}). */
    public TlsConfig(int port, Path certFile, Path keyFile, Path caCertFile, ClientAuth authClients,
                     List<String> protocols, List<String> ciphersuites) {
        this(port, certFile, keyFile, caCertFile, authClients, protocols, ciphersuites, false);
    }

    /** Whether a client must present a certificate signed by the CA. */
    public enum ClientAuth {
        NO, YES, OPTIONAL;

        /** {@code yes}, {@code no} or {@code optional}, as Redis spells them. */
        public static ClientAuth parse(String text) {
            for (ClientAuth a : values()) {
                if (a.name().equalsIgnoreCase(text)) {
                    return a;
                }
            }
            throw new IllegalArgumentException("--tls-auth-clients: '" + text + "' is not yes, no or optional");
        }
    }

    public TlsConfig {
        Objects.requireNonNull(certFile, "--tls-cert-file is needed with --tls-port");
        Objects.requireNonNull(keyFile, "--tls-key-file is needed with --tls-port");
        Objects.requireNonNull(authClients, "authClients");
        if (authClients != ClientAuth.NO && caCertFile == null) {
            throw new IllegalArgumentException("--tls-ca-cert-file is needed to check client certificates"
                    + " (or --tls-auth-clients no)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--tls-port: " + port + " (expected: 0 to 65535)");
        }
        protocols = List.copyOf(protocols);
        ciphersuites = List.copyOf(ciphersuites);
    }

    /** The same settings with other files (a certificate rotation). */
    public TlsConfig withFiles(Path cert, Path key, Path ca) {
        return new TlsConfig(port, cert, key, ca, authClients, protocols, ciphersuites, clientsOnly);
    }
}
