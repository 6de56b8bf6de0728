package io.trelliskv.membership;

import java.util.Objects;

/**
 * Where a member listens: a host name or IP literal and a port. Probes go to this address over the
 * transport's packet channel and push-pull exchanges over its stream channel; in TrellisKV both use the
 * node's one port number (UDP and TCP).
 */
public record Address(String host, int port) {

    /** Longest host, in UTF-8 bytes, the wire format carries (DNS names are at most 253). */
    public static final int MAX_HOST_BYTES = 255;

    public Address {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host: empty (expected: a host name or IP literal)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
    }

    /** Parses {@code host:port}; an IPv6 literal is written in brackets, {@code [::1]:7000}. */
    public static Address parse(String s) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException("address: '" + s + "' (expected: host:port)");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("address: '" + s + "' (expected: host:port with a numeric port)");
        }
        return new Address(host, port);
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
