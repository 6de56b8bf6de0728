package io.trelliskv.request;

import io.trelliskv.common.Key;
import io.trelliskv.testing.CommandHarness;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.trelliskv.testing.ExpectedReplies.NIL;
import static io.trelliskv.testing.ExpectedReplies.NOT_INTEGER;
import static io.trelliskv.testing.ExpectedReplies.OK;
import static io.trelliskv.testing.ExpectedReplies.SYNTAX;
import static io.trelliskv.testing.ExpectedReplies.bulk;
import static io.trelliskv.testing.ExpectedReplies.error;
import static io.trelliskv.testing.ExpectedReplies.integer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * MULTI, EXEC, DISCARD, WATCH and UNWATCH on a standalone node through the whole command path,
 * asserting Redis 7.0's exact replies (checked against redis-server 7.0.15), except where
 * {@link Transactions} documents a difference: keyless keyspace and admin commands are refused while
 * queuing. "Another client" is a second connection to the same node.
 */
class TransactionsTest {

    static final String QUEUED = "+QUEUED\r\n";
    static final String EXECABORT = error("EXECABORT Transaction discarded because of previous errors.");
    static final String EXEC_WITHOUT_MULTI = error("ERR EXEC without MULTI");
    static final String DISCARD_WITHOUT_MULTI = error("ERR DISCARD without MULTI");
    /** EXEC's reply when a watched key changed: the null array (RESP2). */
    static final String ABORTED = "*-1\r\n";
    /** EXEC's reply when a watched key changed, in RESP3: the null. */
    static final String ABORTED_RESP3 = "_\r\n";

    private final CommandHarness h = new CommandHarness();

    @AfterEach
    void close() {
        h.close();
    }

    static String array(String... elements) {
        return "*" + elements.length + "\r\n" + String.join("", elements);
    }

    // ---- queuing and EXEC ----

    @Test
    void queuedCommandsRunAtExecAndTheirRepliesFormItsArray() {
        assertThat(h.call("MULTI")).isEqualTo(OK);
        assertThat(h.call("SET", "a", "1")).isEqualTo(QUEUED);
        assertThat(h.call("INCR", "b")).isEqualTo(QUEUED);
        assertThat(h.call("GET", "a")).isEqualTo(QUEUED);
        assertThat(h.call("MSET", "c", "3", "d", "4")).isEqualTo(QUEUED);
        assertThat(h.call("MGET", "c", "d", "missing")).isEqualTo(QUEUED);
        assertThat(h.call("DEL", "c")).isEqualTo(QUEUED);
        assertThat(h.call("PING")).isEqualTo(QUEUED);
        assertThat(h.call("ECHO", "hi")).isEqualTo(QUEUED);
        assertThat(h.call("UNWATCH")).isEqualTo(QUEUED);
        assertThat(h.call("EXEC")).isEqualTo(array(OK, integer(1), bulk("1"), OK,
                array(bulk("3"), bulk("4"), NIL), integer(1), "+PONG\r\n", bulk("hi"), OK));
    }

    @Test
    void timeMayBeQueued() {
        h.call("MULTI");
        assertThat(h.call("TIME")).isEqualTo(QUEUED);
        assertThat(h.call("EXEC")).isEqualTo(array(
                array(bulk(Long.toString(CommandHarness.START_MILLIS / 1000)), bulk("0"))));
    }

    @Test
    void nothingRunsUntilExecAndEverythingIsVisibleAfterIt() {
        CommandHarness.Client other = h.connect();
        h.call("MULTI");
        h.call("SET", "a", "1");
        h.call("SET", "b", "2");
        h.call("INCR", "n");
        assertThat(other.call("MGET", "a", "b", "n")).isEqualTo(array(NIL, NIL, NIL));
        assertThat(h.call("EXEC")).isEqualTo(array(OK, OK, integer(1)));
        assertThat(other.call("MGET", "a", "b", "n")).isEqualTo(array(bulk("1"), bulk("2"), bulk("1")));
        assertThat(h.call("MGET", "a", "b", "n")).isEqualTo(array(bulk("1"), bulk("2"), bulk("1")));
    }

    @Test
    void execWithNoCommandsIsTheEmptyArray() {
        assertThat(h.call("MULTI")).isEqualTo(OK);
        assertThat(h.call("EXEC")).isEqualTo("*0\r\n");
    }

    @Test
    void aRuntimeErrorTakesItsPlaceInTheArrayAndTheOtherCommandsStillRun() {
        h.call("SET", "s", "foo");
        h.call("MULTI");
        h.call("SET", "a", "1");
        h.call("INCR", "s");
        h.call("SET", "t", "x");
        h.call("SET", "u", "1", "BADOPTION");
        h.call("INCR", "a");
        assertThat(h.call("EXEC")).isEqualTo(array(OK, NOT_INTEGER, OK, SYNTAX, integer(2)));
        assertThat(h.call("MGET", "a", "s", "t", "u")).isEqualTo(array(bulk("2"), bulk("foo"), bulk("x"), NIL));
    }

    @Test
    void repliesInsideExecFollowTheConnectionsProtocol() {
        h.call("HELLO", "3");
        h.call("MULTI");
        h.call("GET", "missing");
        h.call("SET", "a", "1");
        assertThat(h.call("EXEC")).isEqualTo(array("_\r\n", OK));
    }

    @Test
    void afterExecTheConnectionIsOutOfTheTransaction() {
        h.call("MULTI");
        h.call("SET", "a", "1");
        h.call("EXEC");
        assertThat(h.call("GET", "a")).isEqualTo(bulk("1"));
        assertThat(h.call("EXEC")).isEqualTo(EXEC_WITHOUT_MULTI);
    }

    // ---- errors while queuing ----

    @Test
    void execAndDiscardWithoutMulti() {
        assertThat(h.call("EXEC")).isEqualTo(EXEC_WITHOUT_MULTI);
        assertThat(h.call("DISCARD")).isEqualTo(DISCARD_WITHOUT_MULTI);
    }

    @Test
    void anUnknownCommandWhileQueuingAbortsTheWholeTransaction() {
        h.call("MULTI");
        assertThat(h.call("SET", "a", "1")).isEqualTo(QUEUED);
        assertThat(h.call("FOO", "bar")).isEqualTo(error("ERR unknown command 'FOO', with args beginning with: 'bar' "));
        assertThat(h.call("SET", "b", "2")).isEqualTo(QUEUED);
        assertThat(h.call("EXEC")).isEqualTo(EXECABORT);
        assertThat(h.call("MGET", "a", "b")).isEqualTo(array(NIL, NIL));
        assertThat(h.call("EXEC")).isEqualTo(EXEC_WITHOUT_MULTI);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "GET        | get",
            "GET a b    | get",
            "SET k      | set",
            "MULTI x    | multi",
            "WATCH      | watch",
            "UNWATCH x  | unwatch",
    })
    void aWrongArityWhileQueuingAbortsTheWholeTransaction(String command, String name) {
        h.call("MULTI");
        h.call("SET", "a", "1");
        assertThat(h.call(command.split(" "))).isEqualTo(error("ERR wrong number of arguments for '" + name
                + "' command"));
        assertThat(h.call("EXEC")).isEqualTo(EXECABORT);
        assertThat(h.call("GET", "a")).isEqualTo(NIL);
    }

    /**
     * Redis 7.0 ends the transaction at once when EXEC itself has the wrong arity, with an EXECABORT
     * that names the reason.
     */
    @Test
    void execWithArgumentsAbortsTheTransactionAtOnce() {
        h.call("MULTI");
        h.call("SET", "a", "1");
        assertThat(h.call("EXEC", "x")).isEqualTo(
                error("EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"));
        assertThat(h.call("GET", "a")).isEqualTo(NIL);
        assertThat(h.call("EXEC")).isEqualTo(EXEC_WITHOUT_MULTI);
    }

    /** Redis 7.0: DISCARD with arguments is an arity error that marks the transaction, like any other. */
    @Test
    void discardWithArgumentsIsAQueuingError() {
        h.call("MULTI");
        h.call("SET", "a", "1");
        assertThat(h.call("DISCARD", "x")).isEqualTo(error("ERR wrong number of arguments for 'discard' command"));
        assertThat(h.call("EXEC")).isEqualTo(EXECABORT);
        assertThat(h.call("GET", "a")).isEqualTo(NIL);
    }

    /** A documented difference from Redis: keyless keyspace and admin commands cannot be queued. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "KEYS *             | keys",
            "SCAN 0             | scan",
            "RANDOMKEY          | randomkey",
            "DBSIZE             | dbsize",
            "FLUSHALL           | flushall",
            "FLUSHDB            | flushdb",
            "CONFIG GET maxmemory | config",
            "CONSISTENCY        | consistency",
            "INFO               | info",
    })
    void keylessKeyspaceAndAdminCommandsAreRefusedWhileQueuing(String command, String name) {
        h.call("SET", "keep", "me");
        h.call("MULTI");
        h.call("SET", "a", "1");
        assertThat(h.call(command.split(" "))).isEqualTo(error("ERR '" + name + "' is not allowed in a transaction: "
                + "a transaction runs on the coordinator of its keys, and this command is not about keys"));
        assertThat(h.call("EXEC")).isEqualTo(EXECABORT);
        assertThat(h.call("MGET", "a", "keep")).isEqualTo(array(NIL, bulk("me")));
    }

    @Test
    void multiInsideMultiIsRefusedButDoesNotAbort() {
        h.call("MULTI");
        h.call("SET", "a", "1");
        assertThat(h.call("MULTI")).isEqualTo(error("ERR MULTI calls can not be nested"));
        assertThat(h.call("EXEC")).isEqualTo(array(OK));
        assertThat(h.call("GET", "a")).isEqualTo(bulk("1"));
    }

    @Test
    void watchInsideMultiIsRefusedButDoesNotAbort() {
        h.call("MULTI");
        h.call("SET", "a", "1");
        assertThat(h.call("WATCH", "a")).isEqualTo(error("ERR WATCH inside MULTI is not allowed"));
        assertThat(h.call("EXEC")).isEqualTo(array(OK));
        assertThat(h.call("GET", "a")).isEqualTo(bulk("1"));
    }

    @Test
    void aQueuingErrorWinsOverAChangedWatchedKey() {
        h.call("WATCH", "w");
        h.call("SET", "w", "changed");
        h.call("MULTI");
        h.call("FOO");
        assertThat(h.call("EXEC")).isEqualTo(EXECABORT);
    }

    // ---- DISCARD and QUIT ----

    @Test
    void discardDropsTheQueue() {
        h.call("MULTI");
        h.call("SET", "a", "1");
        h.call("INCR", "n");
        assertThat(h.call("DISCARD")).isEqualTo(OK);
        assertThat(h.call("MGET", "a", "n")).isEqualTo(array(NIL, NIL));
        assertThat(h.call("EXEC")).isEqualTo(EXEC_WITHOUT_MULTI);
        assertThat(h.call("DISCARD")).isEqualTo(DISCARD_WITHOUT_MULTI);
    }

    @Test
    void discardForgetsTheWatchedKeys() {
        h.call("WATCH", "w");
        h.call("MULTI");
        h.call("DISCARD");
        h.call("SET", "w", "changed");
        h.call("MULTI");
        h.call("GET", "w");
        assertThat(h.call("EXEC")).isEqualTo(array(bulk("changed")));
    }

    @Test
    void quitInsideMultiRepliesAndCloses() {
        h.call("MULTI");
        h.call("SET", "a", "1");
        assertThat(h.call("QUIT")).isEqualTo(OK);
        assertThat(h.isOpen()).isFalse();
        assertThat(h.connect().call("GET", "a")).isEqualTo(NIL);
    }

    // ---- WATCH ----

    @Test
    void watchRepliesOk() {
        assertThat(h.call("WATCH", "a", "b", "c")).isEqualTo(OK);
        assertThat(h.call("WATCH")).isEqualTo(error("ERR wrong number of arguments for 'watch' command"));
        assertThat(h.call("UNWATCH")).isEqualTo(OK);
    }

    @Test
    void anUndisturbedWatchLetsExecRun() {
        h.call("SET", "w", "1");
        h.call("WATCH", "w", "absent");
        h.call("SET", "other", "x");
        h.call("GET", "w");
        h.call("MULTI");
        h.call("INCR", "w");
        assertThat(h.call("EXEC")).isEqualTo(array(integer(2)));
    }

    @Test
    void aWatchedKeyChangedByTheSameConnectionAbortsExec() {
        h.call("SET", "w", "1");
        h.call("WATCH", "w");
        h.call("SET", "w", "2");
        h.call("MULTI");
        h.call("SET", "a", "1");
        assertThat(h.call("EXEC")).isEqualTo(ABORTED);
        assertThat(h.call("GET", "a")).isEqualTo(NIL);
        assertThat(h.call("EXEC")).isEqualTo(EXEC_WITHOUT_MULTI);
    }

    @Test
    void anAbortedExecIsTheNullInResp3() {
        h.call("HELLO", "3");
        h.call("WATCH", "w");
        h.call("SET", "w", "2");
        h.call("MULTI");
        h.call("PING");
        assertThat(h.call("EXEC")).isEqualTo(ABORTED_RESP3);
    }

    @Test
    void aWatchedKeyChangedByAnotherClientAbortsExec() {
        CommandHarness.Client other = h.connect();
        h.call("SET", "w", "1");
        h.call("WATCH", "w");
        h.call("MULTI");
        h.call("INCR", "w");
        assertThat(other.call("SET", "w", "10")).isEqualTo(OK);
        assertThat(h.call("EXEC")).isEqualTo(ABORTED);
        assertThat(h.call("GET", "w")).isEqualTo(bulk("10"));
    }

    @Test
    void aWatchedKeyDeletedByAnotherClientAbortsExec() {
        CommandHarness.Client other = h.connect();
        h.call("SET", "w", "1");
        h.call("WATCH", "w");
        other.call("DEL", "w");
        h.call("MULTI");
        h.call("SET", "a", "1");
        assertThat(h.call("EXEC")).isEqualTo(ABORTED);
        assertThat(h.call("GET", "a")).isEqualTo(NIL);
    }

    @Test
    void aWatchedKeyWrittenStraightIntoTheEngineAbortsExec() {
        h.call("SET", "w", "1");
        h.call("WATCH", "w");
        h.node.engine().put(Key.of("w"), "1".getBytes(StandardCharsets.US_ASCII), 0);
        h.call("MULTI");
        h.call("SET", "a", "1");
        assertThat(h.call("EXEC")).isEqualTo(ABORTED);
    }

    @Test
    void aWatchedAbsentKeyCreatedByAnotherClientAbortsExec() {
        CommandHarness.Client other = h.connect();
        h.call("WATCH", "w");
        other.call("SET", "w", "new");
        h.call("MULTI");
        h.call("SET", "w", "mine");
        assertThat(h.call("EXEC")).isEqualTo(ABORTED);
        assertThat(h.call("GET", "w")).isEqualTo(bulk("new"));
    }

    /** Redis 7.0 does not abort for a watched key that merely expired (and was not reclaimed since). */
    @Test
    void aWatchedKeyThatExpiresDoesNotAbortExec() {
        h.call("SET", "w", "v", "PX", "100");
        h.call("WATCH", "w");
        h.clock.advanceMillis(200);
        h.call("MULTI");
        h.call("PING");
        assertThat(h.call("EXEC")).isEqualTo(array("+PONG\r\n"));
    }

    @Test
    void unwatchCancelsTheWatch() {
        h.call("WATCH", "w");
        assertThat(h.call("UNWATCH")).isEqualTo(OK);
        h.connect().call("SET", "w", "1");
        h.call("MULTI");
        h.call("GET", "w");
        assertThat(h.call("EXEC")).isEqualTo(array(bulk("1")));
    }

    @Test
    void execForgetsTheWatchedKeys() {
        h.call("WATCH", "w");
        h.call("MULTI");
        h.call("PING");
        h.call("EXEC");
        h.call("SET", "w", "1");
        h.call("MULTI");
        h.call("PING");
        assertThat(h.call("EXEC")).isEqualTo(array("+PONG\r\n"));
    }

    @Test
    void anAbortedExecForgetsTheWatchedKeysToo() {
        h.call("WATCH", "w");
        h.call("SET", "w", "1");
        h.call("MULTI");
        assertThat(h.call("EXEC")).isEqualTo(ABORTED);
        h.call("SET", "w", "2");
        h.call("MULTI");
        h.call("GET", "w");
        assertThat(h.call("EXEC")).isEqualTo(array(bulk("2")));
    }

    @Test
    void aWatchedKeyWrittenByTheTransactionItselfDoesNotAbortIt() {
        h.call("WATCH", "w");
        h.call("MULTI");
        h.call("SET", "w", "1");
        h.call("INCR", "w");
        assertThat(h.call("EXEC")).isEqualTo(array(OK, integer(2)));
    }

    @Test
    void watchersOnTwoConnectionsEachSeeTheOthersWrite() {
        CommandHarness.Client other = h.connect();
        h.call("SET", "w", "0");
        h.call("WATCH", "w");
        other.call("WATCH", "w");
        h.call("MULTI");
        h.call("INCR", "w");
        other.call("MULTI");
        other.call("INCR", "w");
        assertThat(h.call("EXEC")).isEqualTo(array(integer(1)));
        assertThat(other.call("EXEC")).isEqualTo(ABORTED);
        assertThat(other.call("GET", "w")).isEqualTo(bulk("1"));
    }

    // ---- Transaction.Unit, as it travels to a coordinator ----

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[][] args(String... s) {
        byte[][] out = new byte[s.length][];
        for (int i = 0; i < s.length; i++) {
            out[i] = b(s[i]);
        }
        return out;
    }

    private static List<String> strings(byte[][] args) {
        List<String> out = new ArrayList<>();
        for (byte[] a : args) {
            out.add(new String(a, StandardCharsets.UTF_8));
        }
        return out;
    }

    @Test
    void aUnitSurvivesEncodingAndDecoding() {
        Transaction.Unit unit = new Transaction.Unit(
                List.of(b("w1"), b("absent"), b("w:3")),
                Arrays.asList(new Version(123_456_789L, -42L), null, new Version(0, Long.MAX_VALUE)),
                List.of(args("SET", "k", "v"), args("INCR", "n"), args("PING"), args("SET", "", ""),
                        args("MSET", "a", "1", "b", "2")));
        byte[][] encoded = unit.encode();
        assertThat(strings(encoded)).containsExactly("exec", "3", "w1", "123456789:-42", "absent", "", "w:3",
                "0:" + Long.MAX_VALUE, "5", "3", "SET", "k", "v", "2", "INCR", "n", "1", "PING", "3", "SET", "", "",
                "5", "MSET", "a", "1", "b", "2");
        Transaction.Unit decoded = Transaction.Unit.decode(encoded);
        assertThat(decoded.watchedKeys()).map(k -> new String(k, StandardCharsets.UTF_8))
                .containsExactly("w1", "absent", "w:3");
        assertThat(decoded.watchedVersions()).containsExactly(new Version(123_456_789L, -42L), null,
                new Version(0, Long.MAX_VALUE));
        assertThat(decoded.commands()).map(TransactionsTest::strings).containsExactly(
                List.of("SET", "k", "v"), List.of("INCR", "n"), List.of("PING"), List.of("SET", "", ""),
                List.of("MSET", "a", "1", "b", "2"));
    }

    @Test
    void anEmptyUnitSurvivesEncodingAndDecoding() {
        Transaction.Unit unit = new Transaction.Unit(List.of(), List.of(), List.of());
        assertThat(strings(unit.encode())).containsExactly("exec", "0", "0");
        Transaction.Unit decoded = Transaction.Unit.decode(unit.encode());
        assertThat(decoded.watchedKeys()).isEmpty();
        assertThat(decoded.commands()).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "exec",
            "exec 0",
            "exec x 0",
            "exec -1 0",
            "exec 1 k",
            "exec 1 k 12 0",
            "exec 1 k a:b 0",
            "exec 1 k 1:b 0",
            "exec 0 1",
            "exec 0 1 0",
            "exec 0 1 -1 GET",
            "exec 0 1 3 GET k",
            "exec 0 1 2 GET k extra",
            "exec 0 0 trailing",
            "exec 0 2147483647",
            "exec 2147483647 0",
    })
    void malformedEncodingsAreRefused(String encoding) {
        assertThatThrownBy(() -> Transaction.Unit.decode(args(encoding.split(" "))))
                .isInstanceOf(io.trelliskv.common.MalformedMessageException.class);
    }

    @Test
    void aUnitsKeysAreTheWatchedThenTheTouchedEachOnce() {
        Transaction.Unit unit = new Transaction.Unit(List.of(b("w"), b("a")), Arrays.asList(null, null),
                List.of(args("SET", "a", "1"), args("MSET", "b", "1", "w", "2", "c", "3"), args("PING"),
                        args("GET", "b"), args("RENAME", "c", "d")));
        assertThat(unit.keys(h.node.dispatcher().table())).map(k -> new String(k.bytes(), StandardCharsets.UTF_8))
                .containsExactly("w", "a", "b", "c", "d");
    }

    /**
     * A command refused at EXEC (its user's rules changed since it was queued) travels in its transaction when the
     * transaction is forwarded to its keys' coordinator, and answers its error there in its place; the others run.
     */
    @Test
    void aCommandRefusedAtExecAnswersItsErrorInPlaceWhereTheTransactionRuns() {
        Transaction.Unit unit = new Transaction.Unit(List.of(), List.of(), List.of(args("SET", "k", "v"),
                Transactions.refused("NOPERM ACLs rules changed (the test's reason)"), args("GET", "k")));
        byte[] reply = h.node.dispatcher().executeForwarded(1, new ForwardCodec.Request(2, null, null, 0, null,
                Transaction.Unit.decode(unit.encode()).encode())).join().resp();
        assertThat(new String(reply, StandardCharsets.UTF_8))
                .isEqualTo("*3\r\n+OK\r\n-NOPERM ACLs rules changed (the test's reason)\r\n$1\r\nv\r\n");
    }
}
