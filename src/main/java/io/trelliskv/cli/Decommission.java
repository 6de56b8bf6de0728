package io.trelliskv.cli;

import io.trelliskv.resp.RespValue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
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
    private final ClientSecurity security;
    private final Duration pollInterval;
    private final StandardStreams streams;

    Decommission(Address address, Duration timeout, Duration pollInterval, StandardStreams streams) {
        this(address, timeout, ClientSecurity.NONE, pollInterval, streams);
    }

    Decommission(Address address, Duration timeout, ClientSecurity security, Duration pollInterval, StandardStreams streams) {
        this.security = security;
        this.address = address;
        this.timeout = timeout;
        this.pollInterval = pollInterval;
        this.streams = streams;
    }

    int run() {
        return new StartAndPoll(address, timeout, security, pollInterval, streams).run(new StartAndPoll.Operation() {
            @Override
            public List<byte[]> startCommand() {
                return StartAndPoll.command("DECOMMISSION");
            }

            @Override
            public StartAndPoll.Step started(RespValue reply) {
                if (reply instanceof RespValue.Error error) {
                    streams.err().println("(error) " + error.message());
                    return new StartAndPoll.Done(ExitCode.ERROR);
                }
                return new StartAndPoll.Show("decommission of " + address + " started");
            }

            @Override
            public List<byte[]> statusCommand() {
                return StartAndPoll.command("STATUS");
            }

            @Override
            public StartAndPoll.Step polled(RespValue reply) {
                return new StartAndPoll.Show(decommissionLine(reply));
            }

            @Override
            public StartAndPoll.Step connectionLost(ConnectionException e) {
                // The node exited: it left the ring.
                streams.out().println(address + " left the ring");
                return new StartAndPoll.Done(ExitCode.OK);
            }
        });
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
}
