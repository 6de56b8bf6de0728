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
 */
public record PeerHello(String clusterName, String host, int port, long nodeId) {

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
