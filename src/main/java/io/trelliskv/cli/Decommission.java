package io.trelliskv.cli;

import io.trelliskv.resp.RespValue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * {@code trellis-cli HOST:PORT decommission}: asks the node to hand its ranges over and leave
 * ({@code DECOMMISSION}), then polls {@code STATUS} every {@link #POLL_INTERVAL} and prints the
 * decommission stream's line whenever it changes, until the node has gone (its connection closes or
 * refuses: it left the ring and exited). Exit status 0 when the node has gone, 2 on an error reply.
 */
final class Decommission {

    static final Duration POLL_INTERVAL = Duration.ofMillis(500);

    private final Address address;
    private final Duration timeout;
    private final Duration pollInterval;
    private final StandardStreams streams;

    Decommission(Address address, Duration timeout, Duration pollInterval, StandardStreams streams) {
        this.address = address;
        this.timeout = timeout;
        this.pollInterval = pollInterval;
        this.streams = streams;
    }

    int run() {
        try (Connection connection = Connection.open(address, timeout, null)) {
            RespValue started = connection.call(command("DECOMMISSION"));
            if (started instanceof RespValue.Error error) {
                streams.err().println("(error) " + error.message());
                return ExitCode.ERROR;
            }
            streams.out().println("decommission of " + address + " started");
            streams.out().flush();
            String last = null;
            while (true) {
                RespValue reply;
                try {
                    reply = connection.call(command("STATUS"));
                } catch (ConnectionException e) {
                    break; // the node exited
                }
                String line = decommissionLine(reply);
                if (line != null && !line.equals(last)) {
                    streams.out().println(line);
                    streams.out().flush();
                    last = line;
                }
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
        streams.out().println(address + " left the ring");
        return ExitCode.OK;
    }

    /** The newest "decommission ..." line of a STATUS reply, or null. */
    static String decommissionLine(RespValue reply) {
        String text = reply instanceof RespValue.BulkString b ? new String(b.value(), StandardCharsets.UTF_8)
                : reply instanceof RespValue.Verbatim v ? v.text() : null;
        if (text == null) {
            return null;
        }
        String found = null;
        for (String line : text.split("\n")) {
            if (line.startsWith("decommission ")) {
                found = line;
            }
        }
        return found;
    }

    private static List<byte[]> command(String... words) {
        return Arrays.stream(words).map(w -> w.getBytes(StandardCharsets.UTF_8)).toList();
    }
}
