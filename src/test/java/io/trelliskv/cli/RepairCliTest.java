package io.trelliskv.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code trellis-cli ADDRESS repair} against a fake node whose REPAIR STATUS advances per poll. */
class RepairCliTest {

    private FakeRespServer server;

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    private record Result(int status, String out, String err) {
    }

    private Result repair() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        StandardStreams streams = new StandardStreams(new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, UTF_8), new PrintStream(err, true, UTF_8), false);
        int status = new Repair(Address.parse(server.address()), Duration.ofSeconds(5), Duration.ofMillis(1), streams)
                .run();
        return new Result(status, out.toString(UTF_8), err.toString(UTF_8));
    }

    /** A REPAIR STATUS reply in RESP2: a flat array of field, value. */
    private static String status(long round, String state, int rangesDone, long compared, long failures) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("round", round);
        f.put("requested", round);
        f.put("trigger", "manual");
        f.put("state", state);
        f.put("ranges_done", (long) rangesDone);
        f.put("ranges_total", 4L);
        f.put("keys_compared", compared);
        f.put("keys_streamed_in", 10L);
        f.put("keys_streamed_out", 2L);
        f.put("bytes_sent", 2048L);
        f.put("bytes_received", 1_500_000L);
        f.put("failures", failures);
        f.put("elapsed_ms", 1500L);
        StringBuilder sb = new StringBuilder("*" + f.size() * 2 + "\r\n");
        f.forEach((k, v) -> {
            sb.append("$").append(k.length()).append("\r\n").append(k).append("\r\n");
            if (v instanceof Long n) {
                sb.append(":").append(n).append("\r\n");
            } else {
                sb.append("$").append(v.toString().length()).append("\r\n").append(v).append("\r\n");
            }
        });
        return sb.toString();
    }

    @Test
    void showsProgressUntilItsRoundIsDone() throws IOException {
        AtomicInteger polls = new AtomicInteger();
        List<String> statuses = List.of(status(2, "running", 3, 7, 0), // the round before ours
                status(3, "running", 1, 5, 0), status(3, "running", 1, 5, 0), status(3, "running", 2, 9, 0),
                status(3, "done", 4, 12, 0));
        server = FakeRespServer.tcp(words -> words.equals(List.of("REPAIR")) ? ":3\r\n"
                : statuses.get(Math.min(polls.getAndIncrement(), statuses.size() - 1)));

        Result r = repair();

        assertThat(r.err()).isEmpty();
        assertThat(r.status()).isZero();
        assertThat(r.out().lines().toList()).containsExactly(
                "repair round 3 started on " + server.address(),
                "waiting for round 2 (manual) to finish first",
                "round 3: ranges 1/4, keys compared 5, streamed in 10 out 2, bytes sent 2.00K received 1.43M",
                "round 3: ranges 2/4, keys compared 9, streamed in 10 out 2, bytes sent 2.00K received 1.43M",
                "repair round 3 done in 1.5s: ranges 4/4, keys compared 12, streamed in 10 out 2, bytes sent 2.00K"
                        + " received 1.43M, 0 failed exchanges");
    }

    @Test
    void failedExchangesExitWithTwo() throws IOException {
        server = FakeRespServer.tcp(words -> words.equals(List.of("REPAIR")) ? ":1\r\n" : status(1, "done", 4, 12, 3));

        Result r = repair();

        assertThat(r.status()).isEqualTo(ExitCode.ERROR);
        assertThat(r.out()).endsWith("3 failed exchanges\n");
        assertThat(r.err()).isEqualTo("trellis-cli: 3 exchanges with peers failed (see the node's log); run repair"
                + " again once they are reachable\n");
    }

    @Test
    void anErrorReplyIsReported() throws IOException {
        server = FakeRespServer.tcp(words -> "-ERR anti-entropy has not started yet\r\n");

        Result r = repair();

        assertThat(r).isEqualTo(new Result(ExitCode.ERROR, "", "(error) ERR anti-entropy has not started yet\n"));
    }
}
