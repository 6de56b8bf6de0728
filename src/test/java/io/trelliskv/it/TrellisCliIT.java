package io.trelliskv.it;

import io.trelliskv.it.TrellisProcess.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/trellis-cli} as a process against a real node started from {@code bin/trellis}, over TCP
 * and a Unix socket: what scripts see (stdout, stderr, exit status) for each command. One node serves
 * the whole class; each test uses keys of its own.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TrellisCliIT {

    @TempDir
    static Path dir;
    private static Path home;
    private static TrellisProcess node;
    private static String address;
    private static Path unixSocket;

    @BeforeAll
    static void startNode() throws IOException {
        home = TrellisProcess.stageHome(dir.resolve("home"));
        unixSocket = dir.resolve("trellis.sock");
        int port = TrellisProcess.freePort();
        address = "127.0.0.1:" + port;
        node = TrellisProcess.launch(home, dir, "trellis", Integer.toString(port),
                "--unix-socket", unixSocket.toString());
        node.awaitServing(port); // if this fails, @AfterAll still stops the process
    }

    @AfterAll
    static void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    private static Result cli(String... args) throws IOException {
        return TrellisProcess.run(home, dir, null, "trellis-cli", args);
    }

    private static Result cliWithInput(String stdin, String... args) throws IOException {
        return TrellisProcess.run(home, dir, stdin, "trellis-cli", args);
    }

    @Test
    void putThenGet() throws IOException {
        assertThat(cli(address, "put", "mykey", "hello")).isEqualTo(new Result(0, "OK\n", ""));

        assertThat(cli(address, "get", "mykey")).isEqualTo(new Result(0, "hello\n", ""));
    }

    @Test
    void getOfAMissingKeyExitsOneWithNilOnStderr() throws IOException {
        assertThat(cli(address, "get", "missing")).isEqualTo(new Result(1, "", "(nil)\n"));
    }

    @Test
    void deleteSaysWhetherTheKeyWasThere() throws IOException {
        cli(address, "put", "doomed", "v");

        assertThat(cli(address, "delete", "doomed")).isEqualTo(new Result(0, "deleted\n", ""));
        assertThat(cli(address, "delete", "doomed")).isEqualTo(new Result(1, "", "not found\n"));
        assertThat(cli(address, "get", "doomed").exitCode()).isEqualTo(1);
    }

    @Test
    void ttlAfterPutWithTtl() throws IOException {
        assertThat(cli(address, "put", "expiring", "v", "--ttl", "10s")).isEqualTo(new Result(0, "OK\n", ""));
        cli(address, "put", "durable", "v");

        Result r = cli(address, "ttl", "expiring");

        assertThat(r.exitCode()).isZero();
        Matcher m = Pattern.compile("(\\d+(?:\\.\\d+)?)s\n").matcher(r.stdout());
        assertThat(m.matches()).as("ttl output '%s'", r.stdout()).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isGreaterThan(0).isLessThanOrEqualTo(10);
        assertThat(cli(address, "ttl", "durable")).isEqualTo(new Result(0, "no expiry\n", ""));
        assertThat(cli(address, "ttl", "missing")).isEqualTo(new Result(1, "", "not found\n"));
    }

    @Test
    void infoKeyspacePrintsTheSection() throws IOException {
        cli(address, "put", "counted", "v");

        Result r = cli(address, "info", "keyspace");

        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).startsWith("# Keyspace\n").containsPattern("\ndb0:keys=\\d+,").doesNotContain("\r");
        assertThat(r.stderr()).isEmpty();
    }

    @Test
    void rawSendsAnyCommand() throws IOException {
        cli(address, "put", "rawkey", "rawvalue");

        Result dbsize = cli(address, "raw", "DBSIZE");

        assertThat(dbsize.exitCode()).isZero();
        assertThat(dbsize.stdout()).matches("\\(integer\\) [1-9]\\d*\n");
        assertThat(cli(address, "raw", "GET", "rawkey")).isEqualTo(new Result(0, "\"rawvalue\"\n", ""));
    }

    @Test
    void errorReplyExitsTwoOnStderr() throws IOException {
        assertThat(cli(address, "raw", "NOSUCH", "x")).isEqualTo(
                new Result(2, "", "(error) ERR unknown command 'NOSUCH', with args beginning with: 'x' \n"));
    }

    @Test
    void connectionRefusedIsOneLineWithoutStackTrace() throws IOException {
        int closed = TrellisProcess.freePort();

        Result r = cli("127.0.0.1:" + closed, "get", "k");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stdout()).isEmpty();
        assertThat(r.stderrLines()).containsExactly("trellis-cli: cannot connect to 127.0.0.1:" + closed
                + ": Connection refused");
        assertThat(r.stderr()).doesNotContain("Exception", "\tat ");
    }

    @Test
    void unixSocketAddress() throws IOException {
        String unix = "unix:" + unixSocket;

        assertThat(cli(unix, "put", "via-unix", "yes")).isEqualTo(new Result(0, "OK\n", ""));

        assertThat(cli(unix, "get", "via-unix")).isEqualTo(new Result(0, "yes\n", ""));
        assertThat(cli(address, "get", "via-unix")).isEqualTo(new Result(0, "yes\n", ""));
    }

    @Test
    void interactiveModeReadsCommandsFromPipedStdin() throws IOException {
        Result r = cliWithInput("SET a 1\nGET a\nINCR a\n", address);

        assertThat(r).isEqualTo(new Result(0, "OK\n\"1\"\n(integer) 2\n", ""));
    }
}
