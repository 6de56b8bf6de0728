package io.trelliskv.cli;

import java.nio.file.Path;

/**
 * Where trellis-cli connects: a TCP endpoint written {@code host:port} (IPv6 literals in brackets,
 * {@code [::1]:5000}) or a Unix domain socket written {@code unix:/path/to.sock}.
 *
 * <p>Parsing is purely syntactic: host names are resolved when the connection is opened, so a name
 * that does not resolve is reported as a connection error, not a usage error.
 */
public sealed interface Address {

    /** The prefix that marks a Unix domain socket path. */
    String UNIX_PREFIX = "unix:";

    /** A TCP endpoint; {@code host} is a name or an IP literal without brackets. */
    record Tcp(String host, int port) implements Address {
        @Override
        public String toString() {
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
        }
    }

    /** A Unix domain socket. */
    record Unix(Path path) implements Address {
        @Override
        public String toString() {
            return UNIX_PREFIX + path;
        }
    }

    /**
     * Parses {@code host:port}, {@code [ipv6]:port} or {@code unix:/path}.
     *
     * @throws IllegalArgumentException naming the text and what was expected
     */
    static Address parse(String text) {
        if (text.startsWith(UNIX_PREFIX)) {
            String path = text.substring(UNIX_PREFIX.length());
            if (path.isEmpty()) {
                throw bad(text, "missing socket path after 'unix:'");
            }
            return new Unix(Path.of(path));
        }
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
                throw bad(text, "expected host:port or unix:/path");
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
        return new Tcp(host, parsePort(text, port));
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

    private static IllegalArgumentException bad(String text, String expected) {
        return new IllegalArgumentException("bad address '" + text + "': " + expected);
    }
}
