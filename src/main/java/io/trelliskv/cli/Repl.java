package io.trelliskv.cli;

import io.trelliskv.resp.InlineSplitter;
import io.trelliskv.resp.RespFormatter;
import io.trelliskv.resp.RespValue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * The interactive prompt: reads a line, splits it like redis-cli ({@link InlineSplitter}), sends it
 * as one command and prints the reply as redis-cli would.
 *
 * <p>On a terminal it shows {@code host:port> }; with piped input it prints no prompt and works line
 * by line, so {@code trellis-cli host:port < commands.txt} is a script runner. {@code quit},
 * {@code exit} or the end of input ends it.
 *
 * <p>Replies, error replies included, go to stdout in order; problems on this side (bad quoting, lost
 * connection) go to stderr. Nothing ends the session but the user: when the connection drops, the
 * session says so and connects again before the next command.
 */
final class Repl {

    /** The consistency level to set on each connection, or null for the node's defaults. */
    private final String consistency;

    private final Address address;
    private final Duration timeout;
    private final ClientSecurity security;
    private final boolean raw;
    private final StandardStreams streams;
    /** Null while disconnected. */
    private Connection connection;

    Repl(Address address, Duration timeout, ClientSecurity security, String consistency, boolean raw,
            StandardStreams streams) {
        this.security = security;
        this.consistency = consistency;
        this.address = address;
        this.timeout = timeout;
        this.raw = raw;
        this.streams = streams;
    }

    /**
     * Runs until quit or end of input and returns the exit status: 0, or 2 if the first connection
     * cannot be made (a session that never started is a failed invocation).
     */
    int run() {
        PrintStream out = streams.out();
        PrintStream err = streams.err();
        try {
            connection = Connection.open(address, timeout, security, consistency);
        } catch (ConnectionException e) {
            err.println("trellis-cli: " + e.getMessage());
            return ExitCode.ERROR;
        }
        LineReader lines = new LineReader(streams.in());
        try {
            while (true) {
                if (streams.terminal()) {
                    out.print(connection != null ? address + "> " : "not connected> ");
                    out.flush();
                }
                byte[] line = readLine(lines);
                if (line == null) {
                    if (streams.terminal()) {
                        out.println();
                    }
                    return ExitCode.OK;
                }
                byte[][] words = InlineSplitter.split(line);
                if (words == null) {
                    err.println("trellis-cli: invalid argument(s): unbalanced quotes");
                    continue;
                }
                List<byte[]> args = Arrays.asList(words);
                if (args.isEmpty()) {
                    continue;
                }
                if (args.size() == 1 && isQuit(args.get(0))) {
                    return ExitCode.OK;
                }
                execute(args);
                out.flush();
            }
        } finally {
            disconnect();
        }
    }

    private byte[] readLine(LineReader lines) {
        try {
            return lines.next();
        } catch (IOException e) {
            streams.err().println("trellis-cli: cannot read input: " + e.getMessage());
            return null;
        }
    }

    private void execute(List<byte[]> args) {
        try {
            if (connection == null) {
                connection = Connection.open(address, timeout, security, consistency);
            }
            print(connection.call(args));
        } catch (ConnectionException e) {
            streams.err().println("trellis-cli: " + e.getMessage()
                    + (connection != null ? " (will reconnect on the next command)" : ""));
            disconnect();
        }
    }

    private void print(RespValue reply) {
        streams.out().writeBytes(raw ? RespFormatter.formatRaw(reply)
                : RespFormatter.format(reply).getBytes(StandardCharsets.UTF_8));
    }

    private static boolean isQuit(byte[] word) {
        String s = new String(word, StandardCharsets.UTF_8);
        return s.equalsIgnoreCase("quit") || s.equalsIgnoreCase("exit");
    }

    private void disconnect() {
        if (connection != null) {
            connection.close();
            connection = null;
        }
    }
}
