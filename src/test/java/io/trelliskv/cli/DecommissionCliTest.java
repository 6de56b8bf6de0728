package io.trelliskv.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code trellis-cli ADDRESS decommission} against a fake node that streams, then goes away. */
class DecommissionCliTest {

    private FakeRespServer server;

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    private record Result(int status, String out, String err) {
    }

    private Result decommission() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        StandardStreams streams = new StandardStreams(new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, UTF_8), new PrintStream(err, true, UTF_8), false);
        int status = new Decommission(Address.parse(server.address()), Duration.ofSeconds(5), Duration.ofMillis(1),
                streams).run();
        return new Result(status, out.toString(UTF_8), err.toString(UTF_8));
    }

    private static String bulk(String text) {
        return "$" + text.getBytes(UTF_8).length + "\r\n" + text + "\r\n";
    }

    private static String status(String stream) {
        return bulk("node  address  state  status  tokens\nabc  127.0.0.1:1  ALIVE  LEAVING  16 (this node)\n"
                + "streams:\n" + stream + "\n");
    }

    @Test
    void showsTheStreamsProgressUntilTheNodeHasGone() throws IOException {
        AtomicInteger polls = new AtomicInteger();
        List<String> statuses = List.of(
                status("decommission to b: running, ranges 0/8, keys 0, bytes 0, failures 0, elapsed 5 ms"),
                status("decommission to b: running, ranges 0/8, keys 0, bytes 0, failures 0, elapsed 5 ms"),
                status("decommission to b: running, ranges 4/8, keys 100, bytes 4000, failures 0, elapsed 9 ms"),
                FakeRespServer.CLOSE);
        server = FakeRespServer.tcp(words -> words.equals(List.of("DECOMMISSION")) ? "+OK\r\n"
                : statuses.get(Math.min(polls.getAndIncrement(), statuses.size() - 1)));

        Result r = decommission();

        assertThat(r.err()).isEmpty();
        assertThat(r.status()).isZero();
        assertThat(r.out().lines().toList()).containsExactly(
                "decommission of " + server.address() + " started",
                "decommission to b: running, ranges 0/8, keys 0, bytes 0, failures 0, elapsed 5 ms",
                "decommission to b: running, ranges 4/8, keys 100, bytes 4000, failures 0, elapsed 9 ms",
                server.address() + " left the ring");
    }

    @Test
    void aRefusalIsReported() throws IOException {
        server = FakeRespServer.tcp(words -> "-ERR this is the only node on the ring: nobody to hand its ranges to\r\n");

        Result r = decommission();

        assertThat(r).isEqualTo(new Result(ExitCode.ERROR, "",
                "(error) ERR this is the only node on the ring: nobody to hand its ranges to\n"));
    }
}
