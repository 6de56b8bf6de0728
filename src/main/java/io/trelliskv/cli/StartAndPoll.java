package io.trelliskv.cli;

import io.trelliskv.resp.RespValue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * The shape of the CLI's long-running admin commands ({@link Repair}, {@link Decommission}): on one
 * connection, send the command that starts the operation on the node, then poll its status command
 * every {@code pollInterval}, printing a progress line to stdout whenever it changes, until the
 * {@link Operation} says it is done. A connection failure (or no reply within the timeout) is reported
 * as {@code trellis-cli: ...} on stderr with exit status {@link ExitCode#ERROR}, as is an interrupt.
 */
final class StartAndPoll {

    /** What a reply means to the loop. */
    sealed interface Step permits Show, Done {
    }

    /**
     * Go on polling. {@code line}, unless null, is printed: always after the start, and after a poll only
     * when it differs from the last line a poll printed.
     */
    record Show(String line) implements Step {
    }

    /** Stop with this exit status; the operation has printed what it had to say. */
    record Done(int exitCode) implements Step {
    }

    /** One run of an operation; it may keep state from one reply to the next. */
    interface Operation {

        /** The command that starts the operation. */
        List<byte[]> startCommand();

        /** The start command's reply: {@link Show} to start polling, {@link Done} to stop at once. */
        Step started(RespValue reply);

        /** The command polled for the operation's status. */
        List<byte[]> statusCommand();

        /** One status reply. */
        Step polled(RespValue reply);

        /**
         * The status poll's connection failed. By default that ends the run as an error; an operation
         * that ends with the node going away answers {@link Done} instead.
         */
        default Step connectionLost(ConnectionException e) throws ConnectionException {
            throw e;
        }
    }

    private final Address address;
    private final Duration timeout;
    private final ClientSecurity security;
    private final Duration pollInterval;
    private final StandardStreams streams;

    StartAndPoll(Address address, Duration timeout, ClientSecurity security, Duration pollInterval, StandardStreams streams) {
        this.security = security;
        this.address = address;
        this.timeout = timeout;
        this.pollInterval = pollInterval;
        this.streams = streams;
    }

    /** Runs {@code operation} to its end and returns the exit status. */
    int run(Operation operation) {
        try (Connection connection = Connection.open(address, timeout, security, null)) {
            Step step = operation.started(connection.call(operation.startCommand()));
            if (step instanceof Done done) {
                return done.exitCode();
            }
            print(((Show) step).line());
            streams.out().flush();
            String last = null;
            while (true) {
                try {
                    step = operation.polled(connection.call(operation.statusCommand()));
                } catch (ConnectionException e) {
                    step = operation.connectionLost(e);
                }
                if (step instanceof Done done) {
                    return done.exitCode();
                }
                String line = ((Show) step).line();
                if (line != null && !line.equals(last)) {
                    print(line);
                    last = line;
                }
                streams.out().flush();
                Thread.sleep(pollInterval.toMillis());
            }
        } catch (ConnectionException e) {
            streams.err().println("trellis-cli: " + e.getMessage());
            return ExitCode.ERROR;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            streams.err().println("trellis-cli: interrupted");
            return ExitCode.ERROR;
        }
    }

    private void print(String line) {
        if (line != null) {
            streams.out().println(line);
        }
    }

    /** A command as the words a user would type, in UTF-8. */
    static List<byte[]> command(String... words) {
        return Arrays.stream(words).map(w -> w.getBytes(StandardCharsets.UTF_8)).toList();
    }
}
