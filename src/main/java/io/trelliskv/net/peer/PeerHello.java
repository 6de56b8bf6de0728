package io.trelliskv.net.peer;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The first thing each side of a peer connection says: who it is. The connecting side sends its hello
 * first and the accepting side answers with its own, so both can check the cluster name, and the
 * accepting side learns the address the caller listens on (a connection's source port is ephemeral).
 *
 * @param clusterName the sender's cluster; peers of another cluster are refused, 1 to 255 UTF-8 bytes
 * @param host        the host the sender listens on (its advertised address), 1 to 255 UTF-8 bytes
 * @param port        the port the sender listens on, TCP for clients and peers and UDP for gossip
 * @param nodeId      the sender's node id
 * @param proof       the sender's proof that it knows the cluster secret ({@link io.trelliskv.security.PeerAuthenticator}),
 *                    or null when the cluster has none
 * @param readsDeadlines whether the sender reads requests with a deadline ({@link PeerMessageType#DEADLINE}):
 *                    true for this build's own hello unless it speaks to a peer of an earlier build; a
 *                    hello of {@link PeerCodec#VERSION} or {@link PeerCodec#VERSION_WITH_PROOF} decodes as false
 * @param challenge   whether the sender proves the cluster secret by challenge and response
 *                    ({@link PeerCodec#VERSION_WITH_CHALLENGE}; implies {@code readsDeadlines}): a dialer's proof is
 *                    then its challenge, a nonce, and it answers the acceptor's with a
 *                    {@link PeerMessageType#AUTH_RESPONSE} frame before any request
 * @param namesUsers  whether the sender's forwarded commands name the client's user, and it reads such forwards
 *                    ({@link PeerCodec#VERSION_WITH_FEATURES}, feature {@link PeerCodec#FEATURE_USERS}; implies
 *                    {@code readsDeadlines})
 */
public record PeerHello(String clusterName, String host, int port, long nodeId, byte[] proof, boolean readsDeadlines,
                        boolean challenge, boolean namesUsers) {

    /** A hello of {@link PeerCodec#VERSION_WITH_CHALLENGE} or earlier: forwards name no user. */
    public PeerHello(String clusterName, String host, int port, long nodeId, byte[] proof, boolean readsDeadlines,
                     boolean challenge) {
        this(clusterName, host, port, nodeId, proof, readsDeadlines, challenge, false);
    }

    /** A hello without challenge and response (a hello of {@link PeerCodec#VERSION_WITH_DEADLINES} or earlier). */
    public PeerHello(String clusterName, String host, int port, long nodeId, byte[] proof, boolean readsDeadlines) {
        this(clusterName, host, port, nodeId, proof, readsDeadlines, false, false);
    }

    /** A hello without a proof: a cluster without a secret. */
    public PeerHello(String clusterName, String host, int port, long nodeId) {
        this(clusterName, host, port, nodeId, null);
    }

    /** A hello of this build, which reads deadlines and forwards that name the client's user. */
    public PeerHello(String clusterName, String host, int port, long nodeId, byte[] proof) {
        this(clusterName, host, port, nodeId, proof, true, false, true);
    }

    /** This hello carrying {@code proof}. */
    public PeerHello withProof(byte[] proof) {
        return new PeerHello(clusterName, host, port, nodeId, proof, readsDeadlines, challenge, namesUsers);
    }

    /**
     * This hello saying whether its sender reads deadlines: false to speak to a peer of an earlier build (which
     * knows no challenge and no users either).
     */
    public PeerHello withDeadlines(boolean reads) {
        return new PeerHello(clusterName, host, port, nodeId, proof, reads, challenge && reads, namesUsers && reads);
    }

    /** This hello saying whether its sender proves the secret by challenge and response (it then reads deadlines). */
    public PeerHello withChallenge(boolean challenge) {
        return new PeerHello(clusterName, host, port, nodeId, proof, readsDeadlines || challenge, challenge,
                namesUsers);
    }

    /** This hello saying whether its sender's forwards name the client's user (it then reads deadlines). */
    public PeerHello withUsers(boolean names) {
        return new PeerHello(clusterName, host, port, nodeId, proof, readsDeadlines || names, challenge, names);
    }

    /** The protocol version this hello is written in ({@link PeerCodec}'s versions). */
    public byte version() {
        return namesUsers ? PeerCodec.VERSION_WITH_FEATURES : challenge ? PeerCodec.VERSION_WITH_CHALLENGE
                : readsDeadlines ? PeerCodec.VERSION_WITH_DEADLINES
                : proof == null ? PeerCodec.VERSION : PeerCodec.VERSION_WITH_PROOF;
    }

    /** The features byte of a hello of {@link PeerCodec#VERSION_WITH_FEATURES}. */
    public int features() {
        return (challenge ? PeerCodec.FEATURE_CHALLENGE : 0) | (namesUsers ? PeerCodec.FEATURE_USERS : 0);
    }

    /** Longest cluster name or host, in UTF-8 bytes: each is written behind one length byte. */
    public static final int MAX_NAME_BYTES = 255;

    public PeerHello {
        Objects.requireNonNull(clusterName, "clusterName");
        Objects.requireNonNull(host, "host");
        checkName("clusterName", clusterName);
        checkName("host", host);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        if (proof != null && (proof.length == 0 || proof.length > 255)) {
            throw new IllegalArgumentException("proof: " + proof.length + " bytes (expected: 1 to 255)");
        }
        if (challenge && !readsDeadlines) {
            throw new IllegalArgumentException("a hello with a challenge reads deadlines (version "
                    + PeerCodec.VERSION_WITH_CHALLENGE + ")");
        }
        if (namesUsers && !readsDeadlines) {
            throw new IllegalArgumentException("a hello that names users reads deadlines (version "
                    + PeerCodec.VERSION_WITH_FEATURES + ")");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PeerHello h && clusterName.equals(h.clusterName) && host.equals(h.host) && port == h.port
                && nodeId == h.nodeId && java.util.Arrays.equals(proof, h.proof) && readsDeadlines == h.readsDeadlines
                && challenge == h.challenge && namesUsers == h.namesUsers;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(clusterName, host, port, nodeId, readsDeadlines, challenge, namesUsers) * 31
                + java.util.Arrays.hashCode(proof);
    }

    @Override
    public String toString() {
        return "PeerHello[clusterName=" + clusterName + ", host=" + host + ", port=" + port + ", nodeId=" + nodeId
                + (proof != null ? ", proof=(" + proof.length + " bytes)" : "") + ", readsDeadlines=" + readsDeadlines
                + (challenge ? ", challenge" : "") + (namesUsers ? ", namesUsers" : "") + "]";
    }

    private static void checkName(String what, String value) {
        int n = value.getBytes(StandardCharsets.UTF_8).length;
        if (n < 1 || n > MAX_NAME_BYTES) {
            throw new IllegalArgumentException(what + ": " + n + " bytes (expected: 1 to " + MAX_NAME_BYTES + ")");
        }
    }

    /** host:port as an operator writes it, for log lines. */
    public String address() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
