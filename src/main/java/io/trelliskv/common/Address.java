package io.trelliskv.common;

import java.util.Objects;

/**
 * Where a node listens: a host name or IP literal and a port. Members, seeds and trellis-cli's TCP
 * targets are all this one value, written {@code host:port}, with an IPv6 literal in brackets:
 * {@code [::1]:5000}. Parsing is purely syntactic: names are resolved when a connection is opened, so a
 * name that does not resolve is a connection error, not a bad address.
 *
 * @param host a host name or IP literal, without brackets; at most {@link #MAX_HOST_BYTES} UTF-8 bytes
 *             travel in the membership wire format
 * @param port 0..65535 (0 only for an address not yet bound; {@link #parse} wants 1..65535)
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

    /**
     * Parses {@code host:port} or {@code [ipv6]:port}; the port is 1 to 65535, and an IPv6 literal must be
     * in brackets (otherwise its last group could be read as the port).
     *
     * @throws ParseException {@code bad address 'TEXT': } and what was expected
     */
    public static Address parse(String text) {
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) {
                throw bad(text, "missing ']' after IPv6 address");
            }
            host = text.substring(1, close);
            String rest = text.substring(close + 1);
            if (!rest.startsWith(":")) {
                throw bad(text, "expected [ipv6]:port");
            }
            port = rest.substring(1);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) {
                throw bad(text, "expected host:port");
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
            if (host.indexOf(':') >= 0) {
                throw bad(text, "put IPv6 addresses in brackets, e.g. [::1]:5000");
            }
        }
        if (host.isEmpty()) {
            throw bad(text, "missing host");
        }
        return new Address(host, parsePort(text, port));
    }

    private static int parsePort(String text, String port) {
        if (port.isEmpty()) {
            throw bad(text, "missing port");
        }
        int value = 0;
        for (int i = 0; i < port.length(); i++) {
            char c = port.charAt(i);
            if (c < '0' || c > '9' || value > 65535) {
                throw bad(text, "port must be a number from 1 to 65535");
            }
            value = value * 10 + (c - '0');
        }
        if (value < 1 || value > 65535) {
            throw bad(text, "port must be a number from 1 to 65535");
        }
        return value;
    }

    private static ParseException bad(String text, String expected) {
        return new ParseException("bad address '" + text + "': " + expected);
    }

    /** {@code host:port}, with an IPv6 literal in brackets: what {@link #parse} reads back. */
    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
