package io.trelliskv.net.peer;

import io.trelliskv.resp.RespLimits;
import io.trelliskv.security.PeerAuthenticator;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

import static io.trelliskv.common.ConfigException.require;

/**
 * Settings of the peer network: frames on the shared TCP port, the client's connection pools, and
 * gossip datagrams.
 *
 * @param clusterName        peers whose hello names another cluster are refused; 1 to 255 UTF-8 bytes
 * @param maxFrameLength     largest frame accepted, in bytes of its length field (type, request id,
 *                           payload); must hold a forwarded client command, so at least the client bulk
 *                           limit plus some slack ({@link #frameLengthFor})
 * @param connectionsPerPeer connections {@link PeerClient} keeps to each peer, used round-robin; 1 to 64
 * @param connectTimeout     how long a TCP connect to a peer may take
 * @param backoffMin         wait before reconnecting after the first failed connect; doubles per
 *                           further failure up to {@code backoffMax}; calls during the wait fail fast
 * @param backoffMax         longest wait between connect attempts
 * @param maxDatagramBytes   largest gossip datagram sent; larger ones are dropped and counted (1400
 *                           fits an Ethernet MTU with IP and UDP headers)
 * @param authenticator      proves and checks knowledge of the cluster secret in peer hellos; null when
 *                           the cluster has none
 * @param tls                mutual TLS on every peer connection, dialed and accepted ({@code --tls-cluster
 *                           yes}); null for peer connections in plaintext
 */
public record PeerConfig(String clusterName, int maxFrameLength, int connectionsPerPeer, Duration connectTimeout,
                         Duration backoffMin, Duration backoffMax, int maxDatagramBytes, PeerAuthenticator authenticator,
                         PeerTls tls) {

    /** Room for a forwarded command's framing and arguments besides its largest bulk: 1 MiB. */
    public static final int FRAME_SLACK = 1 << 20;
    public static final int DEFAULT_CONNECTIONS_PER_PEER = 2;
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    public static final Duration DEFAULT_BACKOFF_MIN = Duration.ofMillis(100);
    public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(5);
    public static final int DEFAULT_MAX_DATAGRAM_BYTES = 1400;

    public PeerConfig {
        Objects.requireNonNull(clusterName, "clusterName");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(backoffMin, "backoffMin");
        Objects.requireNonNull(backoffMax, "backoffMax");
        int nameBytes = clusterName.getBytes(StandardCharsets.UTF_8).length;
        require(nameBytes >= 1 && nameBytes <= PeerHello.MAX_NAME_BYTES, "clusterName", nameBytes + " bytes",
                "1 to " + PeerHello.MAX_NAME_BYTES + " bytes");
        require(maxFrameLength >= 1024, "maxFrameLength", maxFrameLength, ">= 1024");
        require(connectionsPerPeer >= 1 && connectionsPerPeer <= 64, "connectionsPerPeer", connectionsPerPeer,
                "1 to 64");
        require(connectTimeout.toMillis() >= 1, "connectTimeout", connectTimeout, ">= 1 ms");
        require(backoffMin.toMillis() >= 1, "backoffMin", backoffMin, ">= 1 ms");
        require(backoffMax.compareTo(backoffMin) >= 0, "backoffMax", backoffMax, ">= backoffMin " + backoffMin);
        require(maxDatagramBytes >= 64 && maxDatagramBytes <= 65_507, "maxDatagramBytes", maxDatagramBytes,
                "64 to 65507");
    }

    /** The defaults for a cluster whose clients send bulks up to {@link RespLimits#DEFAULTS}. */
    public static PeerConfig defaults(String clusterName) {
        return new PeerConfig(clusterName, frameLengthFor(RespLimits.DEFAULTS), DEFAULT_CONNECTIONS_PER_PEER,
                DEFAULT_CONNECT_TIMEOUT, DEFAULT_BACKOFF_MIN, DEFAULT_BACKOFF_MAX, DEFAULT_MAX_DATAGRAM_BYTES, null,
                null);
    }

    /** A frame length that carries any request the client limits admit: the bulk limit plus {@link #FRAME_SLACK}. */
    public static int frameLengthFor(RespLimits limits) {
        return (int) Math.min(Integer.MAX_VALUE - 8, limits.maxBulkLength() + FRAME_SLACK);
    }

    public PeerConfig withMaxFrameLength(int bytes) {
        return new PeerConfig(clusterName, bytes, connectionsPerPeer, connectTimeout, backoffMin, backoffMax,
                maxDatagramBytes, authenticator, tls);
    }

    public PeerConfig withBackoff(Duration min, Duration max) {
        return new PeerConfig(clusterName, maxFrameLength, connectionsPerPeer, connectTimeout, min, max,
                maxDatagramBytes, authenticator, tls);
    }

    public PeerConfig withConnectionsPerPeer(int n) {
        return new PeerConfig(clusterName, maxFrameLength, n, connectTimeout, backoffMin, backoffMax,
                maxDatagramBytes, authenticator, tls);
    }

    /** The same settings with {@code authenticator} proving and checking the cluster secret (null: none). */
    public PeerConfig withAuthenticator(PeerAuthenticator authenticator) {
        return new PeerConfig(clusterName, maxFrameLength, connectionsPerPeer, connectTimeout, backoffMin, backoffMax,
                maxDatagramBytes, authenticator, tls);
    }

    public PeerConfig withMaxDatagramBytes(int bytes) {
        return new PeerConfig(clusterName, maxFrameLength, connectionsPerPeer, connectTimeout, backoffMin,
                backoffMax, bytes, authenticator, tls);
    }

    /** The same settings with mutual TLS on peer connections ({@code tls}), or in plaintext (null). */
    public PeerConfig withTls(PeerTls tls) {
        return new PeerConfig(clusterName, maxFrameLength, connectionsPerPeer, connectTimeout, backoffMin, backoffMax,
                maxDatagramBytes, authenticator, tls);
    }
}
