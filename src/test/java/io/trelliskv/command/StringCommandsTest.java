package io.trelliskv.command;

import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.testing.CommandHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;

import static io.trelliskv.testing.CommandHarness.START_MILLIS;
import static io.trelliskv.testing.ExpectedReplies.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The string commands through the whole command path, asserting Redis 7.0's exact replies. */
public class StringCommandsTest {

    /** START_MILLIS in seconds: the harness's clock starts on a whole second. */
    static final long START_SECONDS = START_MILLIS / 1000;

    private final CommandHarness h = new CommandHarness();

    @AfterEach
    void close() {
        h.close();
    }

    // ---- registration ----

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "get         |  2 | READONLY FAST        | 1 |  1 | 1",
            "set         | -3 | WRITE DENYOOM        | 1 |  1 | 1",
            "setnx       |  3 | WRITE DENYOOM FAST   | 1 |  1 | 1",
            "setex       |  4 | WRITE DENYOOM        | 1 |  1 | 1",
            "psetex      |  4 | WRITE DENYOOM        | 1 |  1 | 1",
            "getset      |  3 | WRITE DENYOOM FAST   | 1 |  1 | 1",
            "getdel      |  2 | WRITE FAST           | 1 |  1 | 1",
            "getex       | -2 | WRITE FAST           | 1 |  1 | 1",
            "mget        | -2 | READONLY FAST        | 1 | -1 | 1",
            "mset        | -3 | WRITE DENYOOM        | 1 | -1 | 2",
            "msetnx      | -3 | WRITE DENYOOM        | 1 | -1 | 2",
            "strlen      |  2 | READONLY FAST        | 1 |  1 | 1",
            "append      |  3 | WRITE DENYOOM FAST   | 1 |  1 | 1",
            "incr        |  2 | WRITE DENYOOM FAST   | 1 |  1 | 1",
            "decr        |  2 | WRITE DENYOOM FAST   | 1 |  1 | 1",
            "incrby      |  3 | WRITE DENYOOM FAST   | 1 |  1 | 1",
            "decrby      |  3 | WRITE DENYOOM FAST   | 1 |  1 | 1",
            "incrbyfloat |  3 | WRITE DENYOOM FAST   | 1 |  1 | 1",
            "getrange    |  4 | READONLY             | 1 |  1 | 1",
            "setrange    |  4 | WRITE DENYOOM        | 1 |  1 | 1",
    })
    void registersRedisArityFlagsAndKeyPositions(String name, int arity, String flags, int first, int last,
                                                  int step) {
        h.assertRegistered(name, arity, flags, first, last, step);
    }

    @Test
    void wrongArityNamesTheCommand() {
        assertThat(h.call("SET", "k")).isEqualTo(error("ERR wrong number of arguments for 'set' command"));
        assertThat(h.call("GET")).isEqualTo(error("ERR wrong number of arguments for 'get' command"));
        assertThat(h.call("GETRANGE", "k", "0"))
                .isEqualTo(error("ERR wrong number of arguments for 'getrange' command"));
    }

    // ---- GET and SET ----

    @Test
    void getOfAMissingKeyIsTheNullBulk() {
        assertThat(h.call("GET", "nope")).isEqualTo(NIL);
    }

    @Test
    void setThenGet() {
        assertThat(h.call("SET", "k", "hello")).isEqualTo(OK);
        assertThat(h.call("GET", "k")).isEqualTo(bulk("hello"));
        assertThat(h.call("SET", "k", "")).isEqualTo(OK);
        assertThat(h.call("GET", "k")).isEqualTo(EMPTY);
    }

    @Test
    void valuesAndKeysAreBinarySafe() {
        String value = "a\u0000b\r\nc\u00e9\r\n";
        String key = "k\u0000\r\n";
        assertThat(h.call("SET", key, value)).isEqualTo(OK);
        assertThat(h.call("GET", key)).isEqualTo(bulk(value));
        assertThat(h.call("GET", "k")).isEqualTo(NIL);
        assertThat(h.call("STRLEN", key)).isEqualTo(integer(value.getBytes(StandardCharsets.UTF_8).length));
    }

    @Test
    void setWithoutKeepttlClearsTheTtl() {
        h.call("SET", "k", "v", "EX", "100");
        assertThat(h.call("SET", "k", "w")).isEqualTo(OK);
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-1));
    }

    @Test
    void setExExpiresAfterItsTime() {
        assertThat(h.call("SET", "k", "v", "EX", "10")).isEqualTo(OK);
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(10_000));
        h.clock.advanceMillis(10_000);
        assertThat(h.call("GET", "k")).isEqualTo(bulk("v"));
        h.clock.advanceMillis(1);
        assertThat(h.call("GET", "k")).isEqualTo(NIL);
    }

    @Test
    void setPxExatPxat() {
        assertThat(h.call("SET", "px", "v", "PX", "1500")).isEqualTo(OK);
        assertThat(h.call("PTTL", "px")).isEqualTo(integer(1500));
        assertThat(h.call("SET", "exat", "v", "EXAT", Long.toString(START_SECONDS + 100))).isEqualTo(OK);
        assertThat(h.call("PTTL", "exat")).isEqualTo(integer(100_000));
        assertThat(h.call("SET", "pxat", "v", "PXAT", Long.toString(START_MILLIS + 2500))).isEqualTo(OK);
        assertThat(h.call("PTTL", "pxat")).isEqualTo(integer(2500));
        h.clock.advanceMillis(1501);
        assertThat(h.call("GET", "px")).isEqualTo(NIL);
        assertThat(h.call("GET", "pxat")).isEqualTo(bulk("v"));
    }

    @Test
    void setWithAnAbsoluteTimeInThePastLeavesNoKey() {
        assertThat(h.call("SET", "k", "v", "PXAT", Long.toString(START_MILLIS - 1))).isEqualTo(OK);
        assertThat(h.call("GET", "k")).isEqualTo(NIL);
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
    }

    @Test
    void setAcceptsTheLargestAbsoluteTime() {
        assertThat(h.call("SET", "k", "v", "PXAT", Long.toString(Long.MAX_VALUE))).isEqualTo(OK);
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(Long.MAX_VALUE - START_MILLIS));
    }

    @Test
    void setNx() {
        assertThat(h.call("SET", "k", "v", "NX")).isEqualTo(OK);
        assertThat(h.call("SET", "k", "w", "NX")).isEqualTo(NIL);
        assertThat(h.call("GET", "k")).isEqualTo(bulk("v"));
    }

    @Test
    void setXx() {
        assertThat(h.call("SET", "k", "v", "XX")).isEqualTo(NIL);
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
        h.call("SET", "k", "v");
        assertThat(h.call("SET", "k", "w", "xx")).isEqualTo(OK);
        assertThat(h.call("GET", "k")).isEqualTo(bulk("w"));
    }

    @Test
    void setNxOnAKeyThatExpiredWrites() {
        h.call("SET", "k", "v", "PX", "10");
        h.clock.advanceMillis(11);
        assertThat(h.call("SET", "k", "w", "NX")).isEqualTo(OK);
        assertThat(h.call("GET", "k")).isEqualTo(bulk("w"));
    }

    @Test
    void setGetRepliesWithTheOldValue() {
        assertThat(h.call("SET", "k", "v", "GET")).isEqualTo(NIL);
        assertThat(h.call("SET", "k", "w", "GET")).isEqualTo(bulk("v"));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("w"));
    }

    @Test
    void setNxGetIsAllowedAsInRedis7() {
        assertThat(h.call("SET", "k", "v", "NX", "GET")).isEqualTo(NIL);
        assertThat(h.call("SET", "k", "w", "NX", "GET")).isEqualTo(bulk("v"));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("v"));
    }

    @Test
    void setXxGetOnAMissingKeyWritesNothing() {
        assertThat(h.call("SET", "k", "v", "XX", "GET")).isEqualTo(NIL);
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
        h.call("SET", "k", "v");
        assertThat(h.call("SET", "k", "w", "GET", "XX")).isEqualTo(bulk("v"));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("w"));
    }

    @Test
    void keepttlKeepsTheTtl() {
        h.call("SET", "k", "v", "EX", "100");
        h.clock.advanceMillis(1000);
        assertThat(h.call("SET", "k", "w", "KEEPTTL")).isEqualTo(OK);
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(99_000));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("w"));
        assertThat(h.call("SET", "fresh", "v", "keepttl")).isEqualTo(OK);
        assertThat(h.call("TTL", "fresh")).isEqualTo(integer(-1));
    }

    @Test
    void aRepeatedExpiryOptionTakesTheLastValue() {
        assertThat(h.call("SET", "k", "v", "EX", "10", "ex", "20")).isEqualTo(OK);
        assertThat(h.call("TTL", "k")).isEqualTo(integer(20));
    }

    @ParameterizedTest
    @ValueSource(strings = {"NX XX", "XX NX", "EX 10 PX 10", "PX 10 EX 10", "EX 10 EXAT 10", "PXAT 10 EXAT 10",
            "EX 10 KEEPTTL", "KEEPTTL EX 10", "KEEPTTL PXAT 10", "EX", "PX", "FOO", "PERSIST", "NX NX XX",
            "GET EX", "EXX 10"})
    void conflictingOrUnknownSetOptionsAreASyntaxError(String options) {
        String[] args = ("SET k v " + options).split(" ");
        assertThat(h.call(args)).isEqualTo(SYNTAX);
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"EX 0", "EX -1", "PX 0", "PX -100", "EXAT 0", "PXAT -5",
            "EX 9223372036854776", "EX 9223372036854775", "PX 9223372036854775807", "EXAT 9223372036854776"})
    void nonPositiveOrOverflowingExpiryIsInvalid(String options) {
        String[] args = ("SET k v " + options).split(" ");
        assertThat(h.call(args)).isEqualTo(error("ERR invalid expire time in 'set' command"));
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
    }

    @Test
    void aNonIntegerExpiryIsNotAnInteger() {
        assertThat(h.call("SET", "k", "v", "EX", "abc")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("SET", "k", "v", "PX", "1.5")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("SET", "k", "v", "EX", " 1")).isEqualTo(NOT_INTEGER);
    }

    @Test
    void optionsAreCheckedBeforeTheExpiryAndTheExpiryBeforeGet() {
        h.call("SET", "k", "old");
        assertThat(h.call("SET", "k", "v", "EX", "0", "NX", "XX")).isEqualTo(SYNTAX);
        assertThat(h.call("SET", "k", "v", "GET", "EX", "0"))
                .isEqualTo(error("ERR invalid expire time in 'set' command"));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("old"));
    }

    // ---- SETNX, SETEX, PSETEX ----

    @Test
    void setnx() {
        assertThat(h.call("SETNX", "k", "v")).isEqualTo(integer(1));
        assertThat(h.call("SETNX", "k", "w")).isEqualTo(integer(0));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("v"));
    }

    @Test
    void setexAndPsetex() {
        assertThat(h.call("SETEX", "k", "10", "v")).isEqualTo(OK);
        assertThat(h.call("TTL", "k")).isEqualTo(integer(10));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("v"));
        assertThat(h.call("PSETEX", "p", "1500", "v")).isEqualTo(OK);
        assertThat(h.call("PTTL", "p")).isEqualTo(integer(1500));
        h.clock.advanceMillis(1501);
        assertThat(h.call("GET", "p")).isEqualTo(NIL);
    }

    @Test
    void setexErrorsNameTheirCommand() {
        assertThat(h.call("SETEX", "k", "0", "v")).isEqualTo(error("ERR invalid expire time in 'setex' command"));
        assertThat(h.call("SETEX", "k", "-1", "v")).isEqualTo(error("ERR invalid expire time in 'setex' command"));
        assertThat(h.call("PSETEX", "k", "0", "v")).isEqualTo(error("ERR invalid expire time in 'psetex' command"));
        assertThat(h.call("PSETEX", "k", "9223372036854775807", "v"))
                .isEqualTo(error("ERR invalid expire time in 'psetex' command"));
        assertThat(h.call("SETEX", "k", "ten", "v")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
    }

    // ---- GETSET, GETDEL, GETEX ----

    @Test
    void getsetRepliesWithTheOldValueAndClearsTheTtl() {
        assertThat(h.call("GETSET", "k", "v")).isEqualTo(NIL);
        h.call("EXPIRE", "k", "100");
        assertThat(h.call("GETSET", "k", "w")).isEqualTo(bulk("v"));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("w"));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-1));
    }

    @Test
    void getdel() {
        h.call("SET", "k", "v");
        assertThat(h.call("GETDEL", "k")).isEqualTo(bulk("v"));
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
        assertThat(h.call("GETDEL", "k")).isEqualTo(NIL);
    }

    @Test
    void getexWithoutOptionsIsGet() {
        h.call("SET", "k", "v", "EX", "100");
        assertThat(h.call("GETEX", "k")).isEqualTo(bulk("v"));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(100));
        assertThat(h.call("GETEX", "missing")).isEqualTo(NIL);
    }

    @Test
    void getexSetsTheTtl() {
        h.call("SET", "k", "v");
        assertThat(h.call("GETEX", "k", "EX", "10")).isEqualTo(bulk("v"));
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(10_000));
        assertThat(h.call("GETEX", "k", "PX", "1500")).isEqualTo(bulk("v"));
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(1500));
        assertThat(h.call("GETEX", "k", "EXAT", Long.toString(START_SECONDS + 50))).isEqualTo(bulk("v"));
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(50_000));
        assertThat(h.call("GETEX", "k", "PXAT", Long.toString(START_MILLIS + 700))).isEqualTo(bulk("v"));
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(700));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("v"));
    }

    @Test
    void getexPersistRemovesTheTtl() {
        h.call("SET", "k", "v", "EX", "100");
        assertThat(h.call("GETEX", "k", "PERSIST")).isEqualTo(bulk("v"));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-1));
        assertThat(h.call("GETEX", "k", "persist")).isEqualTo(bulk("v"));
    }

    @Test
    void getexWithAnAbsoluteTimeNotInTheFutureDeletesTheKey() {
        h.call("SET", "k", "v");
        assertThat(h.call("GETEX", "k", "PXAT", Long.toString(START_MILLIS))).isEqualTo(bulk("v"));
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
        h.call("SET", "k", "v");
        assertThat(h.call("GETEX", "k", "EXAT", "1")).isEqualTo(bulk("v"));
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
    }

    @Test
    void getexValidatesTheTimeOnlyForAnExistingKey() {
        assertThat(h.call("GETEX", "missing", "EX", "-1")).isEqualTo(NIL);
        h.call("SET", "k", "v", "EX", "100");
        assertThat(h.call("GETEX", "k", "EX", "-1")).isEqualTo(error("ERR invalid expire time in 'getex' command"));
        assertThat(h.call("GETEX", "k", "PX", "0")).isEqualTo(error("ERR invalid expire time in 'getex' command"));
        assertThat(h.call("GETEX", "k", "EX", "x")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("TTL", "k")).isEqualTo(integer(100));
    }

    @ParameterizedTest
    @ValueSource(strings = {"NX", "XX", "GET", "KEEPTTL", "EX 10 PERSIST", "PERSIST EX 10", "EX 10 PX 10", "EX",
            "PXAT", "FOO"})
    void getexRefusesSetOnlyAndConflictingOptions(String options) {
        h.call("SET", "k", "v");
        String[] args = ("GETEX k " + options).split(" ");
        assertThat(h.call(args)).isEqualTo(SYNTAX);
        assertThat(h.call("GETEX", "missing", "NX")).isEqualTo(SYNTAX);
    }

    // ---- MGET, MSET, MSETNX ----

    @Test
    void mgetRepliesNullForMissingKeys() {
        h.call("SET", "a", "1");
        h.call("SET", "c", "3");
        assertThat(h.call("MGET", "a", "b", "c", "a")).isEqualTo("*4\r\n" + bulk("1") + NIL + bulk("3") + bulk("1"));
    }

    @Test
    void msetSetsEveryPairAndClearsTtls() {
        h.call("SET", "a", "old", "EX", "100");
        assertThat(h.call("MSET", "a", "1", "b", "2", "a", "3")).isEqualTo(OK);
        assertThat(h.call("MGET", "a", "b")).isEqualTo("*2\r\n" + bulk("3") + bulk("2"));
        assertThat(h.call("TTL", "a")).isEqualTo(integer(-1));
    }

    @Test
    void msetWithAnUnpairedKeyIsAnArityError() {
        assertThat(h.call("MSET", "a", "1", "b")).isEqualTo(error("ERR wrong number of arguments for 'mset' command"));
        assertThat(h.call("MSET", "a")).isEqualTo(error("ERR wrong number of arguments for 'mset' command"));
        assertThat(h.call("MSETNX", "a", "1", "b"))
                .isEqualTo(error("ERR wrong number of arguments for 'msetnx' command"));
        assertThat(h.call("EXISTS", "a")).isEqualTo(integer(0));
    }

    @Test
    void msetnxSetsAllOrNothing() {
        assertThat(h.call("MSETNX", "a", "1", "b", "2")).isEqualTo(integer(1));
        assertThat(h.call("MSETNX", "c", "3", "b", "x")).isEqualTo(integer(0));
        assertThat(h.call("MGET", "a", "b", "c")).isEqualTo("*3\r\n" + bulk("1") + bulk("2") + NIL);
    }

    // ---- STRLEN, APPEND ----

    @Test
    void strlen() {
        assertThat(h.call("STRLEN", "k")).isEqualTo(integer(0));
        h.call("SET", "k", "hello");
        assertThat(h.call("STRLEN", "k")).isEqualTo(integer(5));
    }

    @Test
    void appendCreatesOrExtendsAndKeepsTheTtl() {
        assertThat(h.call("APPEND", "k", "Hello")).isEqualTo(integer(5));
        h.call("EXPIRE", "k", "100");
        assertThat(h.call("APPEND", "k", " World")).isEqualTo(integer(11));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("Hello World"));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(100));
    }

    @Test
    void appendOfNothingToAMissingKeyCreatesAnEmptyString() {
        assertThat(h.call("APPEND", "k", "")).isEqualTo(integer(0));
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(1));
    }

    @Test
    void appendIsBinarySafe() {
        h.call("SET", "k", "a\u0000");
        assertThat(h.call("APPEND", "k", "\r\n\u0000")).isEqualTo(integer(5));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("a\u0000\r\n\u0000"));
    }

    // ---- INCR family ----

    @Test
    void incrAndDecr() {
        assertThat(h.call("INCR", "n")).isEqualTo(integer(1));
        assertThat(h.call("INCR", "n")).isEqualTo(integer(2));
        assertThat(h.call("DECR", "n")).isEqualTo(integer(1));
        assertThat(h.call("INCRBY", "n", "10")).isEqualTo(integer(11));
        assertThat(h.call("DECRBY", "n", "20")).isEqualTo(integer(-9));
        assertThat(h.call("INCRBY", "n", "-1")).isEqualTo(integer(-10));
        assertThat(h.call("GET", "n")).isEqualTo(bulk("-10"));
        assertThat(h.call("DECR", "fresh")).isEqualTo(integer(-1));
    }

    @Test
    void countersKeepTheTtl() {
        h.call("SET", "n", "1", "EX", "100");
        assertThat(h.call("INCR", "n")).isEqualTo(integer(2));
        assertThat(h.call("DECRBY", "n", "5")).isEqualTo(integer(-3));
        assertThat(h.call("TTL", "n")).isEqualTo(integer(100));
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", " 1", "1 ", "01", "+1", "-0", "1.5", "", "99999999999999999999",
            "9223372036854775808"})
    void incrOfANonIntegerValueFails(String value) {
        h.call("SET", "n", value);
        assertThat(h.call("INCR", "n")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("DECRBY", "n", "1")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("GET", "n")).isEqualTo(bulk(value));
    }

    @Test
    void incrbyOfANonIntegerIncrementFails() {
        assertThat(h.call("INCRBY", "n", "one")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("DECRBY", "n", "1.0")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("EXISTS", "n")).isEqualTo(integer(0));
    }

    @Test
    void overflowIsRefusedAndChangesNothing() {
        h.call("SET", "n", "9223372036854775807");
        assertThat(h.call("INCR", "n")).isEqualTo(error("ERR increment or decrement would overflow"));
        assertThat(h.call("GET", "n")).isEqualTo(bulk("9223372036854775807"));
        h.call("SET", "n", "-9223372036854775808");
        assertThat(h.call("DECR", "n")).isEqualTo(error("ERR increment or decrement would overflow"));
        assertThat(h.call("INCRBY", "n", "-1")).isEqualTo(error("ERR increment or decrement would overflow"));
        assertThat(h.call("INCRBY", "n", "9223372036854775807")).isEqualTo(integer(-1));
    }

    @Test
    void decrbyOfTheSmallestLongWouldOverflow() {
        assertThat(h.call("DECRBY", "n", "-9223372036854775808")).isEqualTo(error("ERR decrement would overflow"));
        assertThat(h.call("INCRBY", "n", "-9223372036854775808")).isEqualTo(integer(Long.MIN_VALUE));
    }

    // ---- INCRBYFLOAT ----

    @Test
    void incrbyfloatRepliesWithABulkString() {
        assertThat(h.call("INCRBYFLOAT", "f", "1")).isEqualTo(bulk("1"));
        assertThat(h.call("INCRBYFLOAT", "f", "0.25")).isEqualTo(bulk("1.25"));
        assertThat(h.call("GET", "f")).isEqualTo(bulk("1.25"));
    }

    @ParameterizedTest
    @CsvSource({
            "10.50, 0.1, 10.6",
            "10.6, -5, 5.6",
            "5.0e3, 2.0e2, 5200",
            "0.1, 0.2, 0.3",
            "1.5, 1.5, 3",
            "17179869184, 1.5, 17179869185.5",
            "17179869184, 17179869184, 34359738368",
            "1, -1.1, -0.1",
            "0.024390243902439025, -0.024390243902439025, 0",
            "0, 0.333333333333333333333, 0.33333333333333333",
            "0, 0.000000000000000001, 0",
            "-1, 0.5, -0.5",
            "1., .5, 1.5",
            "+1.5, 1E2, 101.5",
            "12345678901234567890, 1, 12345678901234567891",
            "1e20, 0, 100000000000000000000",
            "3, -3.000, 0",
    })
    void incrbyfloatAddsExactlyAndPrintsSeventeenDecimals(String value, String increment, String result) {
        h.call("SET", "f", value);
        assertThat(h.call("INCRBYFLOAT", "f", increment)).isEqualTo(bulk(result));
        assertThat(h.call("GET", "f")).isEqualTo(bulk(result));
    }

    @Test
    void incrbyfloatNeverLeavesANegativeZero() {
        // Redis's "No negative zero" test: the first sum is stored rounded to 17 decimals.
        assertThat(h.call("INCRBYFLOAT", "f", "0.024390243902439025")).isEqualTo(bulk("0.02439024390243902"));
        assertThat(h.call("INCRBYFLOAT", "f", "-0.024390243902439025")).isEqualTo(bulk("0"));
    }

    @Test
    void incrbyfloatKeepsTheTtl() {
        h.call("SET", "f", "1", "EX", "100");
        h.call("INCRBYFLOAT", "f", "0.5");
        assertThat(h.call("TTL", "f")).isEqualTo(integer(100));
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", " 11", "11 ", " 11 ", "", "1\u00002", "nan", "NaN", "-nan", "1e", "1e+",
            ".", "-", "+", "e5", "1.2.3", "0x10", "1_000", "1e5000", "-1e5000", "1e-5000", "infinit", "١"})
    void incrbyfloatRejectsValuesThatAreNotFloats(String value) {
        h.call("SET", "f", value);
        assertThat(h.call("INCRBYFLOAT", "f", "1")).isEqualTo(NOT_FLOAT);
        assertThat(h.call("GET", "f")).isEqualTo(bulk(value));
        assertThat(h.call("INCRBYFLOAT", "g", value)).isEqualTo(NOT_FLOAT);
        assertThat(h.call("EXISTS", "g")).isEqualTo(integer(0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"inf", "+inf", "-inf", "INF", "Infinity", "-infinity"})
    void incrbyfloatNeverProducesInfinity(String increment) {
        h.call("SET", "f", "0");
        assertThat(h.call("INCRBYFLOAT", "f", increment))
                .isEqualTo(error("ERR increment would produce NaN or Infinity"));
        assertThat(h.call("GET", "f")).isEqualTo(bulk("0"));
    }

    @Test
    void incrbyfloatOverflowingALongDoubleWouldProduceInfinity() {
        h.call("SET", "f", "1.1e4932");
        assertThat(h.call("INCRBYFLOAT", "f", "1.1e4932"))
                .isEqualTo(error("ERR increment would produce NaN or Infinity"));
        h.call("SET", "f", "inf");
        assertThat(h.call("INCRBYFLOAT", "f", "-inf"))
                .isEqualTo(error("ERR increment would produce NaN or Infinity"));
        assertThat(h.call("INCRBYFLOAT", "f", "x")).isEqualTo(NOT_FLOAT);
    }

    @Test
    void floatsAreReadAndPrintedAsRedisDoes() {
        assertThat(StringCommands.parseLongDouble("1e-4950".getBytes(StandardCharsets.US_ASCII)))
                .isEqualByComparingTo(new BigDecimal("1e-4950"));
        assertThat(StringCommands.parseLongDouble("-Infinity".getBytes(StandardCharsets.US_ASCII))).isNull();
        assertThatThrownBy(() -> StringCommands.parseLongDouble("1".repeat(5120).getBytes(StandardCharsets.US_ASCII)))
                .hasMessage(CommandException.NOT_FLOAT);
        assertThat(new String(StringCommands.formatLongDouble(new BigDecimal("-0.000000000000000001")),
                StandardCharsets.US_ASCII)).isEqualTo("0");
        assertThat(new String(StringCommands.formatLongDouble(new BigDecimal("1E+3")), StandardCharsets.US_ASCII))
                .isEqualTo("1000");
    }

    // ---- GETRANGE, SETRANGE ----

    @Test
    void getrangeCountsNegativeIndexesFromTheEnd() {
        h.call("SET", "k", "Hello World");
        assertThat(h.call("GETRANGE", "k", "0", "3")).isEqualTo(bulk("Hell"));
        assertThat(h.call("GETRANGE", "k", "0", "-1")).isEqualTo(bulk("Hello World"));
        assertThat(h.call("GETRANGE", "k", "-4", "-1")).isEqualTo(bulk("orld"));
        assertThat(h.call("GETRANGE", "k", "5", "3")).isEqualTo(EMPTY);
        assertThat(h.call("GETRANGE", "k", "5", "5000")).isEqualTo(bulk(" World"));
        assertThat(h.call("GETRANGE", "k", "-5000", "10000")).isEqualTo(bulk("Hello World"));
        assertThat(h.call("GETRANGE", "k", "-1", "-5")).isEqualTo(EMPTY);
        assertThat(h.call("GETRANGE", "k", "0", "-100")).isEqualTo(bulk("H"));
        assertThat(h.call("GETRANGE", "k", "11", "20")).isEqualTo(EMPTY);
        assertThat(h.call("GETRANGE", "k", "-9223372036854775808", "9223372036854775807"))
                .isEqualTo(bulk("Hello World"));
    }

    @Test
    void getrangeOfAMissingKeyIsEmpty() {
        assertThat(h.call("GETRANGE", "k", "0", "-1")).isEqualTo(EMPTY);
        h.call("SET", "e", "");
        assertThat(h.call("GETRANGE", "e", "0", "-1")).isEqualTo(EMPTY);
    }

    @Test
    void getrangeIndexesMustBeIntegers() {
        h.call("SET", "k", "v");
        assertThat(h.call("GETRANGE", "k", "a", "1")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("GETRANGE", "k", "0", "1.0")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("GETRANGE", "missing", "0", "x")).isEqualTo(NOT_INTEGER);
    }

    @Test
    void setrangeOnAMissingKey() {
        assertThat(h.call("SETRANGE", "k", "0", "foo")).isEqualTo(integer(3));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("foo"));
        assertThat(h.call("SETRANGE", "empty", "0", "")).isEqualTo(integer(0));
        assertThat(h.call("SETRANGE", "empty", "5", "")).isEqualTo(integer(0));
        assertThat(h.call("EXISTS", "empty")).isEqualTo(integer(0));
        assertThat(h.call("SETRANGE", "padded", "1", "foo")).isEqualTo(integer(4));
        assertThat(h.call("GET", "padded")).isEqualTo(bulk("\u0000foo"));
    }

    @Test
    void setrangeOnAnExistingKeyKeepsTheTtl() {
        h.call("SET", "k", "foo", "EX", "100");
        assertThat(h.call("SETRANGE", "k", "0", "b")).isEqualTo(integer(3));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("boo"));
        assertThat(h.call("SETRANGE", "k", "0", "")).isEqualTo(integer(3));
        assertThat(h.call("SETRANGE", "k", "1", "a")).isEqualTo(integer(3));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("bao"));
        assertThat(h.call("SETRANGE", "k", "5", "bar")).isEqualTo(integer(8));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("bao\u0000\u0000bar"));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(100));
    }

    @Test
    void setrangeRefusesNegativeOffsets() {
        assertThat(h.call("SETRANGE", "k", "-1", "x")).isEqualTo(error("ERR offset is out of range"));
        assertThat(h.call("SETRANGE", "k", "x", "x")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
    }

    @Test
    void setrangeAndAppendRefuseValuesOverTheBulkLimit() {
        try (CommandHarness small = new CommandHarness(EngineConfig.unbounded(), new RespLimits(32, 1024, 1024))) {
            assertThat(small.call("SETRANGE", "k", "28", "world")).isEqualTo(TOO_BIG);
            assertThat(small.call("SETRANGE", "k", "9223372036854775807", "x")).isEqualTo(TOO_BIG);
            assertThat(small.call("EXISTS", "k")).isEqualTo(integer(0));
            assertThat(small.call("SETRANGE", "k", "27", "world")).isEqualTo(integer(32));
            assertThat(small.call("SETRANGE", "k", "32", "x")).isEqualTo(TOO_BIG);
            assertThat(small.call("SETRANGE", "k", "32", "")).isEqualTo(integer(32));
            assertThat(small.call("STRLEN", "k")).isEqualTo(integer(32));

            String thirty = "0123456789".repeat(3);
            assertThat(small.call("SET", "a", thirty)).isEqualTo(OK);
            assertThat(small.call("APPEND", "a", "xyz")).isEqualTo(TOO_BIG);
            assertThat(small.call("GET", "a")).isEqualTo(bulk(thirty));
            assertThat(small.call("APPEND", "a", "xy")).isEqualTo(integer(32));
        }
    }
}
