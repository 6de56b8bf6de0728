package io.trelliskv.cli;

import io.trelliskv.common.Durations;
import io.trelliskv.common.Sizes;
import io.trelliskv.resp.RespValue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code trellis-cli HOST:PORT repair}: starts an anti-entropy round on the node ({@code REPAIR}, which
 * answers with the round's number), then polls {@code REPAIR STATUS} every {@link #POLL_INTERVAL} and
 * prints a progress line to stdout whenever the figures change, until that round is done; then a
 * summary. Exit status 0 if every exchange succeeded, 2 if some failed (the peers they were with were
 * unreachable or refused; another repair retries them) or on any error.
 */
final class Repair {

    /** How often the status is polled. */
    static final Duration POLL_INTERVAL = Duration.ofMillis(500);

    private final Address address;
    private final Duration timeout;
    private final ClientSecurity security;
    private final Duration pollInterval;
    private final StandardStreams streams;

    Repair(Address address, Duration timeout, Duration pollInterval, StandardStreams streams) {
        this(address, timeout, ClientSecurity.NONE, pollInterval, streams);
    }

    Repair(Address address, Duration timeout, ClientSecurity security, Duration pollInterval, StandardStreams streams) {
        this.security = security;
        this.address = address;
        this.timeout = timeout;
        this.pollInterval = pollInterval;
        this.streams = streams;
    }

    int run() {
        return new StartAndPoll(address, timeout, security, pollInterval, streams).run(new Round());
    }

    /** One repair: the round REPAIR started, then its progress in REPAIR STATUS. */
    private final class Round implements StartAndPoll.Operation {

        private long round;
        private boolean waitingShown;

        @Override
        public List<byte[]> startCommand() {
            return StartAndPoll.command("REPAIR");
        }

        @Override
        public StartAndPoll.Step started(RespValue reply) {
            if (!(reply instanceof RespValue.Integer started)) {
                return new StartAndPoll.Done(unexpected(reply));
            }
            round = started.value();
            return new StartAndPoll.Show("repair round " + round + " started on " + address);
        }

        @Override
        public List<byte[]> statusCommand() {
            return StartAndPoll.command("REPAIR", "STATUS");
        }

        @Override
        public StartAndPoll.Step polled(RespValue reply) {
            Map<String, String> status = fields(reply);
            if (status == null) {
                return new StartAndPoll.Done(unexpected(reply));
            }
            long current = Long.parseLong(status.get("round"));
            if (current < round) {
                if (waitingShown) {
                    return new StartAndPoll.Show(null);
                }
                waitingShown = true;
                return new StartAndPoll.Show("waiting for round " + current + " (" + status.get("trigger")
                        + ") to finish first");
            }
            if (current > round || "done".equals(status.get("state"))) {
                return new StartAndPoll.Done(summary(round, status, current > round));
            }
            return new StartAndPoll.Show("round " + round + ": " + figures(status));
        }
    }

    private int summary(long round, Map<String, String> status, boolean overtaken) {
        if (overtaken) {
            // A later round started before this poll saw the end of ours; its figures are not ours.
            streams.out().println("repair round " + round + " done");
            return ExitCode.OK;
        }
        long failures = Long.parseLong(status.get("failures"));
        streams.out().println("repair round " + round + " done in " + Durations.formatMillis(
                Long.parseLong(status.get("elapsed_ms"))) + ": " + figures(status) + ", " + failures
                + " failed exchange" + (failures == 1 ? "" : "s"));
        if (failures > 0) {
            streams.err().println("trellis-cli: " + failures + " exchange" + (failures == 1 ? "" : "s")
                    + " with peers failed (see the node's log); run repair again once they are reachable");
            return ExitCode.ERROR;
        }
        return ExitCode.OK;
    }

    private static String figures(Map<String, String> s) {
        return "ranges " + s.get("ranges_done") + "/" + s.get("ranges_total")
                + ", keys compared " + s.get("keys_compared")
                + ", streamed in " + s.get("keys_streamed_in") + " out " + s.get("keys_streamed_out")
                + ", bytes sent " + Sizes.human(Long.parseLong(s.get("bytes_sent")))
                + " received " + Sizes.human(Long.parseLong(s.get("bytes_received")));
    }

    /** REPAIR STATUS's map (RESP3) or flat array of pairs (RESP2) as strings; null if it is neither. */
    static Map<String, String> fields(RespValue reply) {
        Map<String, String> out = new HashMap<>();
        if (reply instanceof RespValue.Map map) {
            for (RespValue.Map.Entry e : map.entries()) {
                out.put(text(e.key()), text(e.value()));
            }
        } else if (reply instanceof RespValue.Array array && array.elements().size() % 2 == 0) {
            List<RespValue> el = array.elements();
            for (int i = 0; i < el.size(); i += 2) {
                out.put(text(el.get(i)), text(el.get(i + 1)));
            }
        } else {
            return null;
        }
        for (String field : List.of("round", "state", "ranges_done", "ranges_total", "keys_compared",
                "keys_streamed_in", "keys_streamed_out", "bytes_sent", "bytes_received", "failures", "elapsed_ms")) {
            if (out.get(field) == null) {
                return null;
            }
        }
        return out;
    }

    private static String text(RespValue v) {
        if (v instanceof RespValue.BulkString b) {
            return new String(b.value(), StandardCharsets.UTF_8);
        }
        if (v instanceof RespValue.SimpleString s) {
            return s.value();
        }
        if (v instanceof RespValue.Integer i) {
            return Long.toString(i.value());
        }
        return null;
    }

    private int unexpected(RespValue reply) {
        if (reply instanceof RespValue.Error error) {
            streams.err().println("(error) " + error.message());
        } else {
            streams.err().println("trellis-cli: unexpected reply to REPAIR: " + reply);
        }
        return ExitCode.ERROR;
    }
}
