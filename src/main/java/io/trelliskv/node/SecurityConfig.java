package io.trelliskv.node;

import io.trelliskv.net.TlsConfig;
import io.trelliskv.net.peer.PeerTlsConfig;

import java.nio.file.Path;

/**
 * Who may talk to a node: the default user's password ({@code --requirepass} / {@code --requirepass-file}),
 * an ACL file ({@code --aclfile}, Redis's format) and protected mode ({@code --protected-mode}).
 * TLS for clients ({@code --tls-port} and its files) and for peers ({@code --tls-cluster}). {@link #toString()} never shows the password.
 *
 * @param requirePass   the default user's password, or null for none (the default user needs none)
 * @param aclFile       the ACL file to load at start and for {@code ACL LOAD}/{@code ACL SAVE}, or null
 * @param protectedMode refuse clients from other hosts while the default user needs no password and the
 *                      node listens beyond loopback (Redis's protected mode)
 * @param tls           TLS for clients on a port of its own, or null for none
 * @param gossipKeyFile the gossip keyring ({@code --gossip-key-file}: base64 AES keys, one a line, the primary
 *                      first), or null for gossip in the clear
 * @param clusterSecretFile the secret peers prove in their hellos ({@code --cluster-secret-file}), or null for none
 * @param clusterTls    mutual TLS on peer connections ({@code --tls-cluster yes}), or null for plaintext peers
 */
public record SecurityConfig(String requirePass, Path aclFile, boolean protectedMode, TlsConfig tls, Path gossipKeyFile,
                             Path clusterSecretFile, PeerTlsConfig clusterTls) {

    /** Settings with peer connections in plaintext. */
    public SecurityConfig(String requirePass, Path aclFile, boolean protectedMode, TlsConfig tls, Path gossipKeyFile,
                          Path clusterSecretFile) {
        this(requirePass, aclFile, protectedMode, tls, gossipKeyFile, clusterSecretFile, null);
    }

    /** Settings without a gossip keyring or cluster secret. */
    public SecurityConfig(String requirePass, Path aclFile, boolean protectedMode, TlsConfig tls) {
        this(requirePass, aclFile, protectedMode, tls, null, null, null);
    }

    public SecurityConfig {
        if (requirePass != null && aclFile != null) {
            throw new IllegalArgumentException("--requirepass and --aclfile cannot be used together: set the"
                    + " default user's password in the ACL file");
        }
    }

    /** No password, no ACL file, protected mode on: a node as Redis starts by default. */
    public static SecurityConfig defaults() {
        return new SecurityConfig(null, null, true, null, null, null, null);
    }

    @Override
    public String toString() {
        return "SecurityConfig[requirePass=" + (requirePass == null ? "none" : "(set)") + ", aclFile=" + aclFile
                + ", protectedMode=" + protectedMode + ", tls=" + tls + ", gossipKeyFile=" + gossipKeyFile + ", clusterSecretFile=" + clusterSecretFile
                + ", clusterTls=" + clusterTls + "]";
    }
}
