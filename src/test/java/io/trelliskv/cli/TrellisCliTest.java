package io.trelliskv.cli;

import io.trelliskv.common.Durations;
import static io.trelliskv.cli.FakeRespServer.command;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * trellis-cli end to end, in process: arguments in, exit status and output out, against a fake RESP
 * server that records the exact bytes it receives.
 */
class TrellisCliTest {

    /** Canned replies of the fake server, by command words joined with spaces, the name upper-cased. */
    private static final Map<String, String> REPLIES = Map.ofEntries(
            Map.entry("SET k v", "+OK\r\n"),
            Map.entry("GOSSIPKEY INSTALL a2V5LW9uLXN0ZGlu", "+OK\r\n"),
            Map.entry("GOSSIPKEY USE a2V5LW9uLXN0ZGlu", "+OK\r\n"),
            Map.entry("SET k v PX 10000", "+OK\r\n"),
            Map.entry("SET k -5", "+OK\r\n"),
            Map.entry("GET k", "$5\r\nhello\r\n"),
            Map.entry("GET bin", "$3\r\n\u0000\u00ff\n\r\n"),
            Map.entry("GET missing", "$-1\r\n"),
            Map.entry("DEL k", ":1\r\n"),
            Map.entry("DEL missing", ":0\r\n"),
            Map.entry("PTTL k", ":9998\r\n"),
            Map.entry("PTTL forever", ":-1\r\n"),
            Map.entry("PTTL long", ":90061001\r\n"),
            Map.entry("PTTL missing", ":-2\r\n"),
            Map.entry("INFO", bulk("# Server\r\ntrellis_version:0.1.0\r\n\r\n")),
            Map.entry("INFO memory", bulk("# Memory\r\nused_memory:1024\r\n\r\n")),
            Map.entry("DBSIZE", ":3\r\n"),
            Map.entry("KEYS *", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
            Map.entry("SET a b", "+OK\r\n"),
            Map.entry("GET a", "$1\r\nb\r\n"),
            Map.entry("GET nokey", "$-1\r\n"),
            Map.entry("HANG", FakeRespServer.SILENCE),
            Map.entry("DROP", FakeRespServer.CLOSE));

    private FakeRespServer server;

    private static String bulk(String s) {
        return "$" + s.length() + "\r\n" + s + "\r\n";
    }

    @AfterEach
    void stopServer() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    private record Result(int status, String out, String err) {
    }

    private static Result run(String stdin, boolean terminal, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        StandardStreams streams = new StandardStreams(new ByteArrayInputStream(stdin.getBytes(UTF_8)),
                new PrintStream(out, true, UTF_8), new PrintStream(err, true, UTF_8), terminal);
        int status = TrellisCli.run(args, streams);
        return new Result(status, out.toString(ISO_8859_1), err.toString(UTF_8));
    }

    private static Result run(String... args) {
        return run("", false, args);
    }

    private String startServer() throws IOException {
        server = FakeRespServer.tcp(words -> {
            if (words.equals(List.of("SHUTDOWN"))) {
                server.stopAccepting();
                return FakeRespServer.CLOSE;
            }
            String name = words.get(0).toUpperCase(Locale.ROOT);
            List<String> args = words.subList(1, words.size());
            String reply = REPLIES.get(args.isEmpty() ? name : name + " " + String.join(" ", args));
            return reply != null ? reply : "-ERR unknown command '" + words.get(0) + "'\r\n";
        });
        return server.address();
    }

    /** A loopback port with nothing listening on it. */
    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void assertUsageError(Result r, String message) {
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("trellis-cli: " + message + " (see trellis-cli --help)\n");
    }

    @Nested
    class Arguments {

        @Test
        void helpDescribesUsageAndExitsZero() {
            Result r = run("--help");

            assertThat(r.status()).isZero();
            assertThat(r.out()).contains("Usage: trellis-cli", "ADDRESS", "--timeout=DURATION", "--raw",
                    "put KEY VALUE [--ttl DURATION]", "Exit status");
            assertThat(r.err()).isEmpty();
        }

        @Test
        void versionNamesTheTool() {
            Result r = run("--version");

            assertThat(r.status()).isZero();
            assertThat(r.out()).startsWith("trellis-cli ");
        }

        @Test
        void missingAddressIsAUsageError() {
            assertUsageError(run(), "Missing required parameter: 'ADDRESS'");
        }

        @Test
        void unknownOptionIsAUsageError() {
            assertUsageError(run("--bogus", "localhost:5000"), "Unknown option: '--bogus'");
        }

        @Test
        void unknownConsistencyLevelIsAUsageError() {
            assertUsageError(run("--consistency", "TWO", "localhost:5000", "get", "k"),
                    "--consistency: unknown level 'TWO' (expected: ONE, QUORUM or ALL)");
        }

        @Test
        void badAddressIsAUsageError() {
            assertUsageError(run("localhost:notaport", "get", "k"),
                    "bad address 'localhost:notaport': port must be a number from 1 to 65535");
        }

        @Test
        void badTimeoutIsAUsageError() {
            assertUsageError(run("--timeout", "5x", "localhost:5000"),
                    "Invalid value for option '--timeout': bad duration '5x' (" + Durations.EXPECTED + ")");
        }

        @Test
        void optionAfterTheAddressIsRefusedWithAHint() {
            assertUsageError(run("localhost:5000", "--raw", "get", "k"),
                    "'--raw' is not a command; options go before the address");
        }

        @Test
        void badTtlIsAUsageErrorWithoutConnecting() throws IOException {
            assertUsageError(run("127.0.0.1:" + closedPort(), "put", "k", "v", "--ttl", "soon"),
                    "put: --ttl: bad duration 'soon' (" + Durations.EXPECTED + ")");
        }

        @Test
        void wrongNumberOfArgumentsIsAUsageErrorWithoutConnecting() throws IOException {
            String address = "127.0.0.1:" + closedPort();

            assertUsageError(run(address, "put", "k"), "put: missing VALUE (usage: put KEY VALUE [--ttl DURATION])");
            assertUsageError(run(address, "put", "k", "v", "--ttl"),
                    "put: --ttl needs a DURATION (usage: put KEY VALUE [--ttl DURATION])");
            assertUsageError(run(address, "put", "k", "v", "w"),
                    "put: unexpected argument 'w' (usage: put KEY VALUE [--ttl DURATION])");
            assertUsageError(run(address, "get"), "get: missing KEY (usage: get KEY)");
            assertUsageError(run(address, "delete", "a", "b"), "delete: unexpected argument 'b' (usage: delete KEY)");
            assertUsageError(run(address, "ttl"), "ttl: missing KEY (usage: ttl KEY)");
            assertUsageError(run(address, "info", "a", "b"), "info: unexpected argument 'b' (usage: info [SECTION])");
            assertUsageError(run(address, "raw"), "raw: missing command (usage: raw CMD [ARG...])");
        }

        @Test
        void connectionRefusedIsOneLineAndExitTwo() throws IOException {
            int port = closedPort();

            Result r = run("127.0.0.1:" + port, "get", "k");

            assertThat(r.status()).isEqualTo(2);
            assertThat(r.out()).isEmpty();
            assertThat(r.err()).isEqualTo("trellis-cli: cannot connect to 127.0.0.1:" + port + ": Connection refused\n");
        }

        @Test
        void missingUnixSocketIsOneLineAndExitTwo(@TempDir Path dir) {
            Path socket = dir.resolve("absent.sock");

            Result r = run("unix:" + socket, "get", "k");

            assertThat(r.status()).isEqualTo(2);
            assertThat(r.err()).startsWith("trellis-cli: cannot connect to unix:" + socket + ": ").hasLineCount(1);
        }
    }

    @Nested
    class Commands {

        @Test
        void gossipKeyReadsTheKeyFromStandardInputNotTheCommandLine() throws IOException {
            String address = startServer();
            Result r = run("a2V5LW9uLXN0ZGlu\n", false, address, "gossipkey", "install");
            Result dash = run("a2V5LW9uLXN0ZGlu\n", false, address, "gossipkey", "USE", "-");

            assertThat(r).isEqualTo(new Result(0, "OK\n", ""));
            assertThat(dash).isEqualTo(new Result(0, "OK\n", ""));
            assertThat(server.received()).containsExactly(command("GOSSIPKEY", "INSTALL", "a2V5LW9uLXN0ZGlu"),
                    command("GOSSIPKEY", "USE", "a2V5LW9uLXN0ZGlu"));
            assertUsageError(run("", false, address, "gossipkey", "remove"), "gossipkey remove: no key on standard"
                    + " input (usage: gossipkey list | gossipkey install|use|remove [KEY | -], the key read from"
                    + " standard input when - or left out)");
        }

        @Test
        void putSendsSetAndPrintsOk() throws IOException {
            Result r = run(startServer(), "put", "k", "v");

            assertThat(r).isEqualTo(new Result(0, "OK\n", ""));
            assertThat(server.received()).containsExactly(command("SET", "k", "v"));
        }

        @ParameterizedTest
        @ValueSource(strings = {"10s", "10", "10000ms"})
        void putWithTtlSendsPxInMilliseconds(String ttl) throws IOException {
            Result r = run(startServer(), "put", "k", "v", "--ttl", ttl);

            assertThat(r).isEqualTo(new Result(0, "OK\n", ""));
            assertThat(server.received()).containsExactly(
                    "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nPX\r\n$5\r\n10000\r\n");
        }

        @Test
        void putAcceptsTtlWithEqualsSign() throws IOException {
            run(startServer(), "put", "k", "v", "--ttl=10s");

            assertThat(server.received()).containsExactly(command("SET", "k", "v", "PX", "10000"));
        }

        @Test
        void valuesThatLookLikeOptionsAreData() throws IOException {
            Result r = run(startServer(), "put", "k", "-5");

            assertThat(r.status()).isZero();
            assertThat(server.received()).containsExactly(command("SET", "k", "-5"));
        }

        @Test
        void commandWordsAreCaseInsensitive() throws IOException {
            String address = startServer();

            assertThat(run(address, "PUT", "k", "v").status()).isZero();
            assertThat(run(address, "Get", "k").out()).isEqualTo("hello\n");
            assertThat(server.received()).containsExactly(command("SET", "k", "v"), command("GET", "k"));
        }

        @Test
        void getPrintsTheValueRaw() throws IOException {
            Result r = run(startServer(), "get", "k");

            assertThat(r).isEqualTo(new Result(0, "hello\n", ""));
            assertThat(server.received()).containsExactly(command("GET", "k"));
        }

        @Test
        void getPrintsBinaryValuesByteForByte() throws IOException {
            Result r = run(startServer(), "get", "bin");

            assertThat(r.out().getBytes(ISO_8859_1)).containsExactly(0x00, 0xff, '\n', '\n');
        }

        @Test
        void getOfAMissingKeyPrintsNilToStderrAndExitsOne() throws IOException {
            assertThat(run(startServer(), "get", "missing")).isEqualTo(new Result(1, "", "(nil)\n"));
        }

        @Test
        void deleteSaysWhetherTheKeyWasThere() throws IOException {
            String address = startServer();

            assertThat(run(address, "delete", "k")).isEqualTo(new Result(0, "deleted\n", ""));
            assertThat(run(address, "delete", "missing")).isEqualTo(new Result(1, "", "not found\n"));
            assertThat(server.received()).containsExactly(command("DEL", "k"), command("DEL", "missing"));
        }

        @Test
        void ttlPrintsTimeLeftForPeople() throws IOException {
            String address = startServer();

            assertThat(run(address, "ttl", "k")).isEqualTo(new Result(0, "9.998s\n", ""));
            assertThat(run(address, "ttl", "long")).isEqualTo(new Result(0, "1d 1h 1m 1.001s\n", ""));
            assertThat(run(address, "ttl", "forever")).isEqualTo(new Result(0, "no expiry\n", ""));
            assertThat(run(address, "ttl", "missing")).isEqualTo(new Result(1, "", "not found\n"));
            assertThat(server.received()).first().isEqualTo(command("PTTL", "k"));
        }

        @Test
        void ttlWithRawPrintsMilliseconds() throws IOException {
            String address = startServer();

            assertThat(run("--raw", address, "ttl", "k")).isEqualTo(new Result(0, "9998\n", ""));
            assertThat(run("--raw", address, "ttl", "forever")).isEqualTo(new Result(0, "-1\n", ""));
        }

        @Test
        void infoPrintsTheTextWithUnixLineEnds() throws IOException {
            String address = startServer();

            assertThat(run(address, "info")).isEqualTo(new Result(0, "# Server\ntrellis_version:0.1.0\n\n", ""));
            assertThat(run(address, "info", "memory")).isEqualTo(new Result(0, "# Memory\nused_memory:1024\n\n", ""));
            assertThat(server.received()).containsExactly(command("INFO"), command("INFO", "memory"));
        }

        @Test
        void rawSendsAnyCommandAndPrintsLikeRedisCli() throws IOException {
            String address = startServer();

            assertThat(run(address, "raw", "KEYS", "*")).isEqualTo(new Result(0, "1) \"a\"\n2) \"b\"\n", ""));
            assertThat(run(address, "raw", "GET", "k")).isEqualTo(new Result(0, "\"hello\"\n", ""));
            assertThat(run(address, "raw", "GET", "missing")).isEqualTo(new Result(0, "(nil)\n", ""));
            assertThat(server.received()).containsExactly(command("KEYS", "*"), command("GET", "k"),
                    command("GET", "missing"));
        }

        @Test
        void anyOtherWordIsSentAsTyped() throws IOException {
            Result r = run(startServer(), "DBSIZE");

            assertThat(r).isEqualTo(new Result(0, "(integer) 3\n", ""));
            assertThat(server.received()).containsExactly(command("DBSIZE"));
        }

        @Test
        void rawOptionPrintsRepliesWithoutDecoration() throws IOException {
            String address = startServer();

            assertThat(run("--raw", address, "GET", "k")).isEqualTo(new Result(0, "hello\n", ""));
            assertThat(run("--raw", address, "KEYS", "*")).isEqualTo(new Result(0, "a\nb\n", ""));
            assertThat(run("--raw", address, "DBSIZE")).isEqualTo(new Result(0, "3\n", ""));
        }

        @Test
        void errorReplyGoesToStderrWithExitTwo() throws IOException {
            Result r = run(startServer(), "FLY", "away");

            assertThat(r).isEqualTo(new Result(2, "", "(error) ERR unknown command 'FLY'\n"));
        }

        @Test
        void silentServerTimesOutWithOneLine() throws IOException {
            String address = startServer();

            Result r = run("--timeout", "200ms", address, "HANG");

            assertThat(r).isEqualTo(new Result(2, "", "trellis-cli: no reply from " + address + " within 200ms\n"));
        }

        @Test
        void serverClosingTheConnectionIsOneLine() throws IOException {
            String address = startServer();

            Result r = run(address, "DROP");

            assertThat(r).isEqualTo(new Result(2, "", "trellis-cli: connection to " + address
                    + " closed by the server\n"));
        }

        @Test
        void malformedReplyIsOneLine() throws IOException {
            server = FakeRespServer.tcp(words -> "?what\r\n");

            Result r = run(server.address(), "DBSIZE");

            assertThat(r).isEqualTo(new Result(2, "", "trellis-cli: connection to " + server.address()
                    + " failed: malformed reply: unknown reply type '?'\n"));
        }

        @Test
        void silentServerOnAUnixSocketTimesOutToo(@TempDir Path dir) throws IOException {
            server = FakeRespServer.unix(dir.resolve("silent.sock"), words -> FakeRespServer.SILENCE);

            Result r = run("--timeout", "200ms", server.address(), "DBSIZE");

            assertThat(r).isEqualTo(new Result(2, "", "trellis-cli: no reply from " + server.address()
                    + " within 200ms\n"));
        }

        @Test
        void worksOverAUnixSocket(@TempDir Path dir) throws IOException {
            server = FakeRespServer.unix(dir.resolve("trellis.sock"),
                    words -> words.equals(List.of("GET", "k")) ? "$5\r\nhello\r\n" : "+OK\r\n");

            assertThat(run(server.address(), "put", "k", "hello", "--ttl", "1m"))
                    .isEqualTo(new Result(0, "OK\n", ""));
            assertThat(run(server.address(), "get", "k")).isEqualTo(new Result(0, "hello\n", ""));
            assertThat(server.received()).containsExactly(command("SET", "k", "hello", "PX", "60000"),
                    command("GET", "k"));
        }
    }

    @Nested
    class Interactive {

        @Test
        void pipedInputRunsLineByLineWithoutPrompt() throws IOException {
            String address = startServer();

            Result r = run("SET a b\nGET a\nget nokey\nDBSIZE\n", false, address);

            assertThat(r).isEqualTo(new Result(0, "OK\n\"b\"\n(nil)\n(integer) 3\n", ""));
            assertThat(server.received()).containsExactly(command("SET", "a", "b"), command("GET", "a"),
                    command("get", "nokey"), command("DBSIZE"));
        }

        @Test
        void terminalShowsThePromptAndQuitEnds() throws IOException {
            String address = startServer();

            Result r = run("DBSIZE\nquit\nDBSIZE\n", true, address);

            assertThat(r).isEqualTo(new Result(0, address + "> (integer) 3\n" + address + "> ", ""));
            assertThat(server.received()).containsExactly(command("DBSIZE"));
        }

        @Test
        void endOfInputEndsTheSessionOnAFreshLine() throws IOException {
            String address = startServer();

            assertThat(run("", true, address)).isEqualTo(new Result(0, address + "> \n", ""));
        }

        @Test
        void exitEndsTheSessionInAnyCase() throws IOException {
            assertThat(run("EXIT\nDBSIZE\n", false, startServer()).out()).isEmpty();
            assertThat(server.received()).isEmpty();
        }

        @Test
        void argumentsAreSplitLikeRedisCli() throws IOException {
            run("set \"my key\" \"a\\x00\\n\"\r\nset 'it\\'s'\n  \n", false, startServer());

            assertThat(server.received()).containsExactly(
                    "*3\r\n$3\r\nset\r\n$6\r\nmy key\r\n$3\r\na\u0000\n\r\n",
                    command("set", "it's"));
        }

        @Test
        void errorsAreReportedAndTheSessionGoesOn() throws IOException {
            String address = startServer();

            Result r = run("FLY\nset \"open\nDBSIZE\n", false, address);

            assertThat(r.status()).isZero();
            assertThat(r.out()).isEqualTo("(error) ERR unknown command 'FLY'\n(integer) 3\n");
            assertThat(r.err()).isEqualTo("trellis-cli: invalid argument(s): unbalanced quotes\n");
        }

        @Test
        void reconnectsAfterTheConnectionDrops() throws IOException {
            String address = startServer();

            Result r = run("DROP\nDBSIZE\n", false, address);

            assertThat(r.out()).isEqualTo("(integer) 3\n");
            assertThat(r.err()).isEqualTo("trellis-cli: connection to " + address
                    + " closed by the server (will reconnect on the next command)\n");
            assertThat(server.connections()).isEqualTo(2);
        }

        @Test
        void failedReconnectIsReportedAndTheSessionGoesOn() throws IOException {
            String address = startServer();

            Result r = run("SHUTDOWN\nDBSIZE\nDBSIZE\n", false, address);

            assertThat(r.status()).isZero();
            assertThat(r.out()).isEmpty();
            assertThat(r.err()).isEqualTo("trellis-cli: connection to " + address
                    + " closed by the server (will reconnect on the next command)\n"
                    + "trellis-cli: cannot connect to " + address + ": Connection refused\n"
                    + "trellis-cli: cannot connect to " + address + ": Connection refused\n");
        }

        @Test
        void promptSaysWhenNotConnected() throws IOException {
            String address = startServer();

            Result r = run("SHUTDOWN\n", true, address);

            assertThat(r.out()).isEqualTo(address + "> not connected> \n");
        }

        @Test
        void sessionThatCannotConnectAtAllExitsTwo() throws IOException {
            int port = closedPort();

            Result r = run("DBSIZE\n", false, "127.0.0.1:" + port);

            assertThat(r).isEqualTo(new Result(2, "", "trellis-cli: cannot connect to 127.0.0.1:" + port
                    + ": Connection refused\n"));
        }

        @Test
        void worksOverAUnixSocket(@TempDir Path dir) throws IOException {
            server = FakeRespServer.unix(dir.resolve("t.sock"), words -> ":7\r\n");

            Result r = run("DBSIZE\n", true, server.address());

            assertThat(r).isEqualTo(new Result(0, server.address() + "> (integer) 7\n" + server.address() + "> \n", ""));
        }
    }
}
