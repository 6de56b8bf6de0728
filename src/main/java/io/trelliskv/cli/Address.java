package io.trelliskv.cli;

import io.trelliskv.common.ParseException;

import java.nio.file.Path;

/**
 * Where trellis-cli connects: a node's TCP address, written as the nodes write theirs
 * ({@link io.trelliskv.common.Address}: {@code host:port}, IPv6 literals in brackets, {@code [::1]:5000}),
 * or a Unix domain socket written {@code unix:/path/to.sock}.
 *
 * <p>Parsing is purely syntactic: host names are resolved when the connection is opened, so a name
 * that does not resolve is reported as a connection error, not a usage error.
 */
public sealed interface Address {

    /** The prefix that marks a Unix domain socket path. */
    String UNIX_PREFIX = "unix:";

    /**
     * A TCP endpoint; {@code host} is a name or an IP literal without brackets. Its syntax is the nodes'
     * own, {@link io.trelliskv.common.Address}.
     */
    record Tcp(String host, int port) implements Address {

        static Tcp of(io.trelliskv.common.Address address) {
            return new Tcp(address.host(), address.port());
        }

        @Override
        public String toString() {
            return new io.trelliskv.common.Address(host, port).toString();
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
     * @throws ParseException naming the text and what was expected
     */
    static Address parse(String text) {
        if (text.startsWith(UNIX_PREFIX)) {
            String path = text.substring(UNIX_PREFIX.length());
            if (path.isEmpty()) {
                throw bad(text, "missing socket path after 'unix:'");
            }
            return new Unix(Path.of(path));
        }
        if (text.indexOf(':') < 0) {
            throw bad(text, "expected host:port or unix:/path");
        }
        return Tcp.of(io.trelliskv.common.Address.parse(text));
    }

    private static ParseException bad(String text, String expected) {
        return new ParseException("bad address '" + text + "': " + expected);
    }
}
