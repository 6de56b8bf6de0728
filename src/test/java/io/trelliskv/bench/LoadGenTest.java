package io.trelliskv.bench;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.trelliskv.bench.LoadGen.Config;
import io.trelliskv.bench.LoadGen.Report;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

class LoadGenTest {

    /**
     * Coordinated omission avoided: 1000 requests/s for 1 s on one connection with one request in flight,
     * and the server stalls 200 ms before answering the 300th command. About 200 requests were due during
     * the stall; none could be sent, and each is counted from when it was due, so about a fifth of the
     * latencies lie between 0 and 200 ms: p99 near 190 ms, max near 200 ms. Measured from the actual
     * send (the service time, what a closed-loop tool reports) the stall is one slow request out of 1000,
     * invisible at p99. The schedule is fixed, so exactly 1000 requests are counted.
     */
    @Test
    void aStallShowsInTheLatencyOfEveryRequestDueDuringIt() throws Exception {
        try (SlowRespServer server = new SlowRespServer(300, 200, "+OK\r\n")) {
            Report report = LoadGen.run(Config.of(server.target(), 1000, Duration.ofSeconds(1))
                    .withWorkload(100, 0.99, 0.5, 7));

            assertThat(report.errors()).isEmpty();
            assertThat(report.requests()).isEqualTo(1000);
            assertThat(Report.maxMs(report.latency())).isBetween(195.0, 1000.0);
            assertThat(Report.ms(report.latency(), 99)).isGreaterThan(150.0);
            assertThat(Report.ms(report.latency(), 90)).isGreaterThan(50.0);
            assertThat(Report.ms(report.latency(), 50)).isLessThan(50.0);
            assertThat(Report.maxMs(report.service())).isGreaterThan(195.0); // the stalled request itself
            assertThat(Report.ms(report.service(), 99)).isLessThan(100.0);
            assertThat(report.lateSends()).isGreaterThan(150);
            assertThat(report.table()).contains("from the intended send time").contains("errors: none");
        }
    }

    /**
     * The same seed gives the same commands in the same order (open loop, so the same number of them);
     * errors are counted by their first word, and only SETs fail here.
     */
    @Test
    void sameSeedSameCommandsAndErrorsByPrefix() throws Exception {
        List<List<String>> runs = new ArrayList<>();
        Report last = null;
        for (int run = 0; run < 2; run++) {
            try (SlowRespServer server = new SlowRespServer(0, 0, "-READONLY You can't write against a replica.\r\n")) {
                last = LoadGen.run(Config.of(server.target(), 2000, Duration.ofMillis(200))
                        .withWorkload(50, 1.1, 0.7, 42));
                runs.add(server.commands());
            }
        }
        assertThat(runs.get(0)).hasSize(400).isEqualTo(runs.get(1));
        long sets = runs.get(0).stream().filter(c -> c.startsWith("SET ")).count();
        assertThat(sets).isBetween(80L, 160L); // 30 % of 400
        assertThat(runs.get(0)).allMatch(c -> c.matches("(GET|SET) key:([0-9]|[1-4][0-9])"));
        assertThat(last.errors()).containsExactly(java.util.Map.entry("READONLY", sets));
        assertThat(last.gets().getTotalCount()).isEqualTo(400 - sets);
        assertThat(last.misses()).isEqualTo(400 - sets); // the fake server has no values
        assertThat(last.json()).contains("\"errors\":{\"READONLY\":" + sets + "}").contains("\"requests\":400");
    }

    /**
     * A server slower than the rate: 1000 requests/s for 1 s on one connection, each command answered after 2 ms
     * (at most ~500 a second). Every request is sent and answered, late, so all 1000 count, and the throughput is
     * what the server did over the time the replies took, not the rate asked for.
     */
    @Test
    void throughputIsTheServersWhenItFallsBehindTheRate() throws Exception {
        try (SlowRespServer server = new SlowRespServer(0, 0, "+OK\r\n", 2)) {
            Report report = LoadGen.run(Config.of(server.target(), 1000, Duration.ofSeconds(1)));

            assertThat(report.requests()).isEqualTo(1000);
            assertThat(report.unsent()).isZero();
            assertThat(report.elapsedNanos()).isGreaterThan(Duration.ofMillis(1600).toNanos());
            assertThat(report.throughput()).isBetween(50.0, 620.0);
            assertThat(report.table()).contains("the last replies came after the measured window");
        }
    }

    /**
     * A connection more than --timeout behind its schedule stops: at 1000 requests/s against a server that answers
     * one command per 5 ms, the connection is 300 ms behind within half a second, and gives the rest up then, not at
     * the end of the run. What was sent is counted and what was not is reported as never sent: together the
     * schedule's 2000. No request waits much beyond the 300 ms.
     */
    @Test
    void aConnectionTooFarBehindItsScheduleStops() throws Exception {
        try (SlowRespServer server = new SlowRespServer(0, 0, "+OK\r\n", 5)) {
            Config c = Config.of(server.target(), 1000, Duration.ofSeconds(2));
            Config config = new Config(c.targets(), 1, 1, c.rate(), c.duration(), c.warmup(), c.keys(), c.zipf(),
                    c.readRatio(), c.valueSize(), c.keyPrefix(), c.seed(), false, Duration.ofMillis(300), 2);
            Report report = LoadGen.run(config);

            assertThat(report.unsent()).isGreaterThan(1000);
            assertThat(report.requests() + report.unsent()).isEqualTo(2000);
            assertThat(report.errors()).isEmpty();
            assertThat(Report.maxMs(report.latency())).isLessThan(1000.0); // before: up to end + timeout, ~1.8 s
            assertThat(report.table()).contains("never sent").contains("the percentiles leave out");
        }
    }

    /** Two targets, two connections each: both get load, and the same seed sends each the same commands. */
    @Test
    void connectionsSpreadEvenlyOverTheTargets() throws Exception {
        List<List<String>> first = null;
        for (int run = 0; run < 2; run++) {
            try (SlowRespServer a = new SlowRespServer(0, 0, "+OK\r\n");
                 SlowRespServer b = new SlowRespServer(0, 0, "+OK\r\n")) {
                Config c = Config.of(a.target(), 2000, Duration.ofMillis(200)).withWorkload(50, 0, 0.5, 3);
                Config two = new Config(List.of(a.target(), b.target()), 4, 1, c.rate(), c.duration(), c.warmup(),
                        c.keys(), c.zipf(), c.readRatio(), c.valueSize(), c.keyPrefix(), c.seed(), false, c.timeout(), 2);
                Report report = LoadGen.run(two);
                assertThat(report.requests()).isEqualTo(400);
                assertThat(a.commands()).hasSize(200);
                assertThat(b.commands()).hasSize(200);
                List<List<String>> both = List.of(sorted(a.commands()), sorted(b.commands()));
                if (first == null) {
                    first = both;
                } else {
                    assertThat(both).isEqualTo(first);
                }
            }
        }
    }

    private static List<String> sorted(List<String> commands) {
        List<String> s = new ArrayList<>(commands);
        Collections.sort(s); // two connections per server interleave in any order; each one's sequence is fixed
        return s;
    }

    @Test
    void optionsThatCannotWorkAreRefused() {
        Config c = Config.of("a:1", 1000, Duration.ofSeconds(1));
        assertThatThrownBy(() -> new Config(List.of("a:1", "b:2", "c:3"), 4, 1, 0, c.duration(), c.warmup(), 10, 0,
                0.5, 10, "k", 1, false, c.timeout(), 2))
                .hasMessage("--connections 4 does not spread evenly over 3 targets: give a multiple of 3");
        assertThatThrownBy(() -> new Config(List.of("a:1"), 1, 1, 0, c.duration(), c.warmup(), 10, 0, 0.5, 10, "k", 1,
                false, Duration.ZERO, 2)).hasMessage("--timeout must be positive");
        assertThatThrownBy(() -> new Config(List.of("a:1"), 1, 1, 0, c.duration(), c.warmup(), 10, 0, 0.5, 10, "k", 1,
                false, c.timeout(), 1)).hasMessage("--io-threads must be at least 2 (Lettuce's least)");
    }

    @Test
    void commandLineOptions() {
        LoadGen gen = new LoadGen();
        new CommandLine(gen).parseArgs("--targets", "a:1,b:2", "--rate", "5000", "--warmup", "0",
                "--duration", "500ms", "--zipf", "0.99", "--read-ratio", "0.5");
        assertThat(gen.targets).containsExactly("a:1", "b:2");
        assertThat(gen.warmup).isZero();
        assertThat(gen.duration).isEqualTo(Duration.ofMillis(500));
        assertThat(gen.zipf).isEqualTo(0.99);
        assertThat(LoadGen.uri("127.0.0.1:6380").getPort()).isEqualTo(6380);
    }

    /**
     * A tiny RESP server: answers GET with a nil, SET with a canned reply, anything else (the client's
     * handshake) with +OK; records each GET and SET as "GET key"; before answering the stallAt-th GET or
     * SET (counted from 1 over all connections; 0 for never) it waits stallMillis, as a server stalled
     * by a pause would.
     */
    static final class SlowRespServer implements AutoCloseable {
        private final ServerSocket socket;
        private final long stallAt;
        private final long stallMillis;
        private final byte[] setReply;
        private final AtomicLong count = new AtomicLong();
        private final List<String> commands = Collections.synchronizedList(new ArrayList<>());
        private final List<Socket> clients = new CopyOnWriteArrayList<>();
        /** Milliseconds every GET and SET takes before its reply: a server slower than the load. */
        private final long perCommandMillis;

        SlowRespServer(long stallAt, long stallMillis, String setReply) throws IOException {
            this(stallAt, stallMillis, setReply, 0);
        }

        SlowRespServer(long stallAt, long stallMillis, String setReply, long perCommandMillis) throws IOException {
            this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.stallAt = stallAt;
            this.stallMillis = stallMillis;
            this.perCommandMillis = perCommandMillis;
            this.setReply = setReply.getBytes(UTF_8);
            Thread acceptor = new Thread(this::accept, "slow-resp-accept");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        String target() {
            return "127.0.0.1:" + socket.getLocalPort();
        }

        List<String> commands() {
            synchronized (commands) {
                return List.copyOf(commands);
            }
        }

        private void accept() {
            try {
                while (true) {
                    Socket s = socket.accept();
                    s.setTcpNoDelay(true);
                    clients.add(s);
                    Thread t = new Thread(() -> serve(s), "slow-resp-conn");
                    t.setDaemon(true);
                    t.start();
                }
            } catch (IOException closed) {
                // the server was closed
            }
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = new BufferedInputStream(s.getInputStream());
                OutputStream out = s.getOutputStream();
                while (true) {
                    List<String> words = readCommand(in);
                    String name = words.get(0).toUpperCase(java.util.Locale.ROOT);
                    byte[] reply;
                    if (name.equals("GET") || name.equals("SET")) {
                        commands.add(name + " " + words.get(1));
                        if (count.incrementAndGet() == stallAt) {
                            Thread.sleep(stallMillis); // the simulated stall, not synchronisation
                        }
                        if (perCommandMillis > 0) {
                            Thread.sleep(perCommandMillis); // the simulated service time, not synchronisation
                        }
                        reply = name.equals("GET") ? "$-1\r\n".getBytes(UTF_8) : setReply;
                    } else {
                        reply = name.equals("PING") ? "+PONG\r\n".getBytes(UTF_8) : "+OK\r\n".getBytes(UTF_8);
                    }
                    out.write(reply);
                    if (in.available() == 0) {
                        out.flush();
                    }
                }
            } catch (IOException | InterruptedException closed) {
                // the client or the server went away
            }
        }

        private static List<String> readCommand(InputStream in) throws IOException {
            String header = line(in);
            if (!header.startsWith("*")) {
                throw new IOException("expected an array, got " + header);
            }
            int n = Integer.parseInt(header.substring(1));
            List<String> words = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                String len = line(in);
                byte[] data = in.readNBytes(Integer.parseInt(len.substring(1)) + 2);
                if (data.length < 2) {
                    throw new EOFException();
                }
                words.add(new String(data, 0, data.length - 2, UTF_8));
            }
            return words;
        }

        private static String line(InputStream in) throws IOException {
            StringBuilder sb = new StringBuilder();
            int b;
            while ((b = in.read()) != '\n') {
                if (b < 0) {
                    throw new EOFException();
                }
                if (b != '\r') {
                    sb.append((char) b);
                }
            }
            return sb.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
            for (Socket s : clients) {
                s.close();
            }
        }
    }
}
