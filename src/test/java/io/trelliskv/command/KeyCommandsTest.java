package io.trelliskv.command;

import io.trelliskv.testing.CommandHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static io.trelliskv.command.StringCommandsTest.START_SECONDS;
import static io.trelliskv.testing.CommandHarness.START_MILLIS;
import static io.trelliskv.testing.ExpectedReplies.NIL;
import static io.trelliskv.testing.ExpectedReplies.NOT_INTEGER;
import static io.trelliskv.testing.ExpectedReplies.OK;
import static io.trelliskv.testing.ExpectedReplies.SYNTAX;
import static io.trelliskv.testing.ExpectedReplies.bulk;
import static io.trelliskv.testing.ExpectedReplies.error;
import static io.trelliskv.testing.ExpectedReplies.integer;
import static org.assertj.core.api.Assertions.assertThat;

/** The keyspace commands through the whole command path, asserting Redis 7.0's exact replies. */
class KeyCommandsTest {

    private static final String NO_SUCH_KEY = "-ERR no such key\r\n";
    private static final String NX_CONFLICT =
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    private static final String GT_LT_CONFLICT = "-ERR GT and LT options at the same time are not compatible\r\n";

    private final CommandHarness h = new CommandHarness();

    @AfterEach
    void close() {
        h.close();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "del         | -2 | WRITE          | 1 | -1 | 1",
            "unlink      | -2 | WRITE FAST     | 1 | -1 | 1",
            "exists      | -2 | READONLY FAST  | 1 | -1 | 1",
            "type        |  2 | READONLY FAST  | 1 |  1 | 1",
            "keys        |  2 | READONLY       | 0 |  0 | 0",
            "scan        | -2 | READONLY       | 0 |  0 | 0",
            "randomkey   |  1 | READONLY       | 0 |  0 | 0",
            "rename      |  3 | WRITE          | 1 |  2 | 1",
            "renamenx    |  3 | WRITE FAST     | 1 |  2 | 1",
            "expire      | -3 | WRITE FAST     | 1 |  1 | 1",
            "pexpire     | -3 | WRITE FAST     | 1 |  1 | 1",
            "expireat    | -3 | WRITE FAST     | 1 |  1 | 1",
            "pexpireat   | -3 | WRITE FAST     | 1 |  1 | 1",
            "ttl         |  2 | READONLY FAST  | 1 |  1 | 1",
            "pttl        |  2 | READONLY FAST  | 1 |  1 | 1",
            "expiretime  |  2 | READONLY FAST  | 1 |  1 | 1",
            "pexpiretime |  2 | READONLY FAST  | 1 |  1 | 1",
            "persist     |  2 | WRITE FAST     | 1 |  1 | 1",
    })
    void registersRedisArityFlagsAndKeyPositions(String name, int arity, String flags, int first, int last,
                                                  int step) {
        h.assertRegistered(name, arity, flags, first, last, step);
    }

    // ---- DEL, UNLINK, EXISTS, TYPE ----

    @ParameterizedTest
    @ValueSource(strings = {"DEL", "UNLINK"})
    void delCountsTheKeysRemoved(String command) {
        h.call("MSET", "a", "1", "b", "2", "c", "3");
        assertThat(h.call(command, "a", "b", "missing")).isEqualTo(integer(2));
        assertThat(h.call(command, "a")).isEqualTo(integer(0));
        assertThat(h.call(command, "c", "c")).isEqualTo(integer(1));
        assertThat(h.call("GET", "b")).isEqualTo(NIL);
    }

    @Test
    void existsCountsEveryArgumentIncludingRepeats() {
        h.call("SET", "a", "1");
        assertThat(h.call("EXISTS", "a")).isEqualTo(integer(1));
        assertThat(h.call("EXISTS", "a", "a", "b")).isEqualTo(integer(2));
        assertThat(h.call("EXISTS", "b")).isEqualTo(integer(0));
    }

    @Test
    void typeIsStringOrNone() {
        h.call("SET", "a", "1");
        assertThat(h.call("TYPE", "a")).isEqualTo("+string\r\n");
        assertThat(h.call("TYPE", "b")).isEqualTo("+none\r\n");
    }

    @Test
    void expiredKeysDoNotExist() {
        h.call("SET", "k", "v", "PX", "100");
        h.clock.advanceMillis(101);
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
        assertThat(h.call("TYPE", "k")).isEqualTo("+none\r\n");
        assertThat(h.call("DEL", "k")).isEqualTo(integer(0));
        assertThat(h.call("KEYS", "*")).isEqualTo("*0\r\n");
    }

    // ---- KEYS ----

    @Test
    void keysMatchesGlobs() {
        h.call("MSET", "foo_a", "1", "foo_b", "1", "foo_c", "1", "key_x", "1", "key_y", "1", "key_z", "1");
        assertThat(strings(h.call("KEYS", "foo*"))).containsExactlyInAnyOrder("foo_a", "foo_b", "foo_c");
        assertThat(strings(h.call("KEYS", "*"))).hasSize(6);
        assertThat(strings(h.call("KEYS", "key_[xy]"))).containsExactlyInAnyOrder("key_x", "key_y");
        assertThat(strings(h.call("KEYS", "key_[^x]"))).containsExactlyInAnyOrder("key_y", "key_z");
        assertThat(strings(h.call("KEYS", "???_?"))).hasSize(6);
        assertThat(strings(h.call("KEYS", "*_[a-b]"))).containsExactlyInAnyOrder("foo_a", "foo_b");
        assertThat(h.call("KEYS", "nothing*")).isEqualTo("*0\r\n");
    }

    @Test
    void keysWithEscapes() {
        h.call("MSET", "a*b", "1", "axb", "1", "a?", "1", "ab", "1");
        assertThat(strings(h.call("KEYS", "a\\*b"))).containsExactly("a*b");
        assertThat(strings(h.call("KEYS", "a*b"))).containsExactlyInAnyOrder("a*b", "axb", "ab");
        assertThat(strings(h.call("KEYS", "a\\?"))).containsExactly("a?");
    }

    @Test
    void onlyTheBareStarMatchesTheEmptyKey() {
        h.call("SET", "", "v");
        h.call("SET", "x", "v");
        assertThat(strings(h.call("KEYS", "*"))).containsExactlyInAnyOrder("", "x");
        assertThat(strings(h.call("KEYS", "**"))).containsExactly("x");
        assertThat(scanAll("MATCH", "*")).containsExactlyInAnyOrder("", "x");
    }

    @Test
    void keysAreBinarySafe() {
        h.call("SET", "a\u0000\r\nb", "v");
        assertThat(h.call("KEYS", "a?\r\n*")).isEqualTo("*1\r\n" + bulk("a\u0000\r\nb"));
    }

    // ---- SCAN ----

    @Test
    void scanReturnsEveryKeyOnceWithASmallCount() {
        for (int i = 0; i < 200; i++) {
            h.call("SET", "key:" + i, "v");
        }
        List<String> seen = new ArrayList<>();
        String cursor = "0";
        int calls = 0;
        do {
            List<?> reply = (List<?>) parse(h.call("SCAN", cursor, "COUNT", "3"));
            cursor = (String) reply.get(0);
            ((List<?>) reply.get(1)).forEach(k -> seen.add((String) k));
            calls++;
        } while (!cursor.equals("0"));
        assertThat(calls).isGreaterThan(10);
        assertThat(seen).hasSize(200).doesNotHaveDuplicates().allMatch(k -> k.startsWith("key:"));
    }

    @Test
    void scanReplyShape() {
        h.call("SET", "only", "v");
        assertThat(h.call("SCAN", "0", "COUNT", "1000")).isEqualTo("*2\r\n$1\r\n0\r\n*1\r\n" + bulk("only"));
        h.call("DEL", "only");
        assertThat(h.call("SCAN", "0")).isEqualTo("*2\r\n$1\r\n0\r\n*0\r\n");
    }

    @Test
    void scanMatchFilters() {
        for (int i = 0; i < 50; i++) {
            h.call("MSET", "foo:" + i, "v", "bar:" + i, "v");
        }
        List<String> foos = scanAll("MATCH", "foo:*", "COUNT", "5");
        assertThat(foos).hasSize(50).doesNotHaveDuplicates().allMatch(k -> k.startsWith("foo:"));
        assertThat(scanAll("MATCH", "bar:1?")).hasSize(10);
    }

    @Test
    void scanTypeFiltersButStillIterates() {
        for (int i = 0; i < 50; i++) {
            h.call("SET", "k" + i, "v");
        }
        assertThat(scanAll("TYPE", "string", "COUNT", "5")).hasSize(50);
        assertThat(scanAll("TYPE", "STRING")).hasSize(50);
        List<?> first = (List<?>) parse(h.call("SCAN", "0", "TYPE", "hash", "COUNT", "1"));
        assertThat(first.get(0)).isNotEqualTo("0");
        assertThat((List<?>) first.get(1)).isEmpty();
        assertThat(scanAll("TYPE", "list", "COUNT", "1")).isEmpty();
    }

    @Test
    void scanOptionsRepeatAndCombine() {
        h.call("MSET", "ab", "1", "ac", "1", "b", "1");
        assertThat(scanAll("MATCH", "b", "MATCH", "a*", "COUNT", "1", "TYPE", "string", "count", "100"))
                .containsExactlyInAnyOrder("ab", "ac");
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", " 1", "1 ", "1.5", "0x10", "18446744073709551616", "-", "+", "--1", "1-"})
    void scanRefusesInvalidCursors(String cursor) {
        assertThat(h.call("SCAN", cursor)).isEqualTo("-ERR invalid cursor\r\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "0", "+0", "-0", "00", "18446744073709551615", "-1", "4096", "99999"})
    void scanAcceptsAnyCursorStrtoulReads(String cursor) {
        assertThat(h.call("SCAN", cursor)).startsWith("*2\r\n");
    }

    @Test
    void scanReadsCursorsAsStrtoulDoes() {
        assertThat(KeyCommands.parseCursor(new byte[0])).isZero();
        assertThat(KeyCommands.parseCursor("18446744073709551615".getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1L);
        assertThat(KeyCommands.parseCursor("-1".getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1L);
        assertThat(KeyCommands.parseCursor("+42".getBytes(StandardCharsets.US_ASCII))).isEqualTo(42L);
        assertThat(KeyCommands.parseCursor("-18446744073709551615".getBytes(StandardCharsets.US_ASCII))).isEqualTo(1L);
    }

    @Test
    void scanOptionErrors() {
        assertThat(h.call("SCAN", "0", "COUNT", "0")).isEqualTo(SYNTAX);
        assertThat(h.call("SCAN", "0", "COUNT", "-1")).isEqualTo(SYNTAX);
        assertThat(h.call("SCAN", "0", "COUNT", "x")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("SCAN", "0", "COUNT")).isEqualTo(SYNTAX);
        assertThat(h.call("SCAN", "0", "MATCH")).isEqualTo(SYNTAX);
        assertThat(h.call("SCAN", "0", "TYPE")).isEqualTo(SYNTAX);
        assertThat(h.call("SCAN", "0", "FOO", "bar")).isEqualTo(SYNTAX);
        assertThat(h.call("SCAN", "x", "FOO")).isEqualTo("-ERR invalid cursor\r\n");
        assertThat(h.call("SCAN", "0", "COUNT", "9223372036854775807")).startsWith("*2\r\n");
    }

    // ---- RANDOMKEY ----

    @Test
    void randomkey() {
        assertThat(h.call("RANDOMKEY")).isEqualTo(NIL);
        h.call("SET", "only", "v");
        assertThat(h.call("RANDOMKEY")).isEqualTo(bulk("only"));
        h.call("SET", "other", "v");
        assertThat(h.call("RANDOMKEY")).isIn(bulk("only"), bulk("other"));
    }

    // ---- RENAME, RENAMENX ----

    @Test
    void renameMovesTheValueAndItsTtl() {
        h.call("SET", "a", "v", "EX", "100");
        h.call("SET", "b", "old");
        assertThat(h.call("RENAME", "a", "b")).isEqualTo(OK);
        assertThat(h.call("EXISTS", "a")).isEqualTo(integer(0));
        assertThat(h.call("GET", "b")).isEqualTo(bulk("v"));
        assertThat(h.call("TTL", "b")).isEqualTo(integer(100));
    }

    @Test
    void renameReplacesTheTargetsTtl() {
        h.call("SET", "a", "v");
        h.call("SET", "b", "old", "EX", "100");
        assertThat(h.call("RENAME", "a", "b")).isEqualTo(OK);
        assertThat(h.call("TTL", "b")).isEqualTo(integer(-1));
    }

    @Test
    void renameOfAMissingKeyFails() {
        assertThat(h.call("RENAME", "a", "b")).isEqualTo(NO_SUCH_KEY);
        assertThat(h.call("RENAME", "a", "a")).isEqualTo(NO_SUCH_KEY);
        assertThat(h.call("RENAMENX", "a", "b")).isEqualTo(NO_SUCH_KEY);
        assertThat(h.call("RENAMENX", "a", "a")).isEqualTo(NO_SUCH_KEY);
    }

    @Test
    void renameToItself() {
        h.call("SET", "a", "v", "EX", "100");
        assertThat(h.call("RENAME", "a", "a")).isEqualTo(OK);
        assertThat(h.call("RENAMENX", "a", "a")).isEqualTo(integer(0));
        assertThat(h.call("GET", "a")).isEqualTo(bulk("v"));
        assertThat(h.call("TTL", "a")).isEqualTo(integer(100));
    }

    @Test
    void renamenxOnlyToAFreeName() {
        h.call("SET", "a", "1");
        h.call("SET", "b", "2");
        assertThat(h.call("RENAMENX", "a", "b")).isEqualTo(integer(0));
        assertThat(h.call("MGET", "a", "b")).isEqualTo("*2\r\n" + bulk("1") + bulk("2"));
        assertThat(h.call("RENAMENX", "a", "c")).isEqualTo(integer(1));
        assertThat(h.call("MGET", "a", "c")).isEqualTo("*2\r\n" + NIL + bulk("1"));
    }

    // ---- EXPIRE family ----

    @Test
    void expireSetsATtlAndTheKeyExpiresAfterIt() {
        h.call("SET", "k", "v");
        assertThat(h.call("EXPIRE", "k", "10")).isEqualTo(integer(1));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(10));
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(10_000));
        assertThat(h.call("GET", "k")).isEqualTo(bulk("v"));
        h.clock.advanceMillis(10_001);
        assertThat(h.call("GET", "k")).isEqualTo(NIL);
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-2));
    }

    @Test
    void expireOfAMissingKeyIsZero() {
        assertThat(h.call("EXPIRE", "k", "10")).isEqualTo(integer(0));
        assertThat(h.call("PEXPIREAT", "k", Long.toString(START_MILLIS + 10))).isEqualTo(integer(0));
    }

    @Test
    void pexpireExpireatAndPexpireat() {
        h.call("MSET", "a", "1", "b", "2", "c", "3");
        assertThat(h.call("PEXPIRE", "a", "1500")).isEqualTo(integer(1));
        assertThat(h.call("PTTL", "a")).isEqualTo(integer(1500));
        assertThat(h.call("EXPIREAT", "b", Long.toString(START_SECONDS + 100))).isEqualTo(integer(1));
        assertThat(h.call("TTL", "b")).isEqualTo(integer(100));
        assertThat(h.call("PEXPIREAT", "c", Long.toString(START_MILLIS + 2500))).isEqualTo(integer(1));
        assertThat(h.call("PTTL", "c")).isEqualTo(integer(2500));
    }

    @ParameterizedTest
    @CsvSource({"EXPIRE, 0", "EXPIRE, -1", "PEXPIRE, -100", "EXPIREAT, 1", "PEXPIREAT, " + START_MILLIS,
            "EXPIRE, -9223372036854775", "PEXPIRE, -9223372036854775808"})
    void aTimeNotInTheFutureDeletesTheKey(String command, String time) {
        h.call("SET", "k", "v", "EX", "100");
        assertThat(h.call(command, "k", time)).isEqualTo(integer(1));
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
    }

    @Test
    void ttlRoundsToTheNearestSecond() {
        h.call("SET", "k", "v", "PX", "1500");
        assertThat(h.call("TTL", "k")).isEqualTo(integer(2));
        h.clock.advanceMillis(1000);
        assertThat(h.call("TTL", "k")).isEqualTo(integer(1));
        h.clock.advanceMillis(1);
        assertThat(h.call("TTL", "k")).isEqualTo(integer(0));
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(499));
        h.clock.advanceMillis(499);
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(0));
    }

    @Test
    void ttlOfMissingAndPersistentKeys() {
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-2));
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(-2));
        assertThat(h.call("EXPIRETIME", "k")).isEqualTo(integer(-2));
        assertThat(h.call("PEXPIRETIME", "k")).isEqualTo(integer(-2));
        h.call("SET", "k", "v");
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-1));
        assertThat(h.call("PTTL", "k")).isEqualTo(integer(-1));
        assertThat(h.call("EXPIRETIME", "k")).isEqualTo(integer(-1));
        assertThat(h.call("PEXPIRETIME", "k")).isEqualTo(integer(-1));
    }

    @Test
    void expiretimeIsAbsoluteAndRoundsLikeTtl() {
        h.call("SET", "k", "v", "PXAT", Long.toString(START_MILLIS + 1600));
        assertThat(h.call("PEXPIRETIME", "k")).isEqualTo(integer(START_MILLIS + 1600));
        assertThat(h.call("EXPIRETIME", "k")).isEqualTo(integer(START_SECONDS + 2));
        h.clock.advanceMillis(1000);
        assertThat(h.call("PEXPIRETIME", "k")).isEqualTo(integer(START_MILLIS + 1600));
        h.call("PEXPIREAT", "k", Long.toString(Long.MAX_VALUE));
        assertThat(h.call("PEXPIRETIME", "k")).isEqualTo(integer(Long.MAX_VALUE));
        assertThat(h.call("EXPIRETIME", "k")).isEqualTo(integer(Long.MAX_VALUE / 1000 + 1));
    }

    @Test
    void nxSetsOnlyWithoutATtl() {
        h.call("SET", "k", "v");
        assertThat(h.call("EXPIRE", "k", "100", "NX")).isEqualTo(integer(1));
        assertThat(h.call("EXPIRE", "k", "200", "nx")).isEqualTo(integer(0));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(100));
    }

    @Test
    void xxSetsOnlyOverATtl() {
        h.call("SET", "k", "v");
        assertThat(h.call("EXPIRE", "k", "100", "XX")).isEqualTo(integer(0));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-1));
        h.call("EXPIRE", "k", "100");
        assertThat(h.call("EXPIRE", "k", "200", "XX")).isEqualTo(integer(1));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(200));
    }

    @Test
    void gtTreatsNoTtlAsInfinite() {
        h.call("SET", "k", "v");
        assertThat(h.call("EXPIRE", "k", "100", "GT")).isEqualTo(integer(0));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-1));
        h.call("EXPIRE", "k", "100");
        assertThat(h.call("EXPIRE", "k", "50", "GT")).isEqualTo(integer(0));
        assertThat(h.call("EXPIRE", "k", "100", "GT")).isEqualTo(integer(0));
        assertThat(h.call("EXPIRE", "k", "200", "GT")).isEqualTo(integer(1));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(200));
    }

    @Test
    void ltTreatsNoTtlAsInfinite() {
        h.call("SET", "k", "v");
        assertThat(h.call("EXPIRE", "k", "100", "LT")).isEqualTo(integer(1));
        assertThat(h.call("EXPIRE", "k", "200", "LT")).isEqualTo(integer(0));
        assertThat(h.call("EXPIRE", "k", "100", "LT")).isEqualTo(integer(0));
        assertThat(h.call("EXPIRE", "k", "50", "LT")).isEqualTo(integer(1));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(50));
        assertThat(h.call("PEXPIRE", "k", "-1", "LT")).isEqualTo(integer(1));
        assertThat(h.call("EXISTS", "k")).isEqualTo(integer(0));
    }

    @Test
    void xxCombinesWithGtOrLt() {
        h.call("SET", "k", "v");
        assertThat(h.call("EXPIRE", "k", "100", "XX", "LT")).isEqualTo(integer(0));
        h.call("EXPIRE", "k", "100");
        assertThat(h.call("EXPIRE", "k", "200", "XX", "GT")).isEqualTo(integer(1));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(200));
    }

    @Test
    void incompatibleConditions() {
        h.call("SET", "k", "v");
        assertThat(h.call("EXPIRE", "k", "10", "NX", "XX")).isEqualTo(NX_CONFLICT);
        assertThat(h.call("EXPIRE", "k", "10", "NX", "GT")).isEqualTo(NX_CONFLICT);
        assertThat(h.call("PEXPIRE", "k", "10", "LT", "NX")).isEqualTo(NX_CONFLICT);
        assertThat(h.call("EXPIREAT", "k", "10", "GT", "LT")).isEqualTo(GT_LT_CONFLICT);
        assertThat(h.call("PEXPIREAT", "k", "10", "XX", "GT", "LT")).isEqualTo(GT_LT_CONFLICT);
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-1));
    }

    @Test
    void unknownOptionsAreNamedAsGiven() {
        h.call("SET", "k", "v");
        assertThat(h.call("EXPIRE", "k", "10", "FOO")).isEqualTo(error("ERR Unsupported option FOO"));
        assertThat(h.call("PEXPIRE", "k", "10", "NX", "bar")).isEqualTo(error("ERR Unsupported option bar"));
        assertThat(h.call("EXPIRE", "k", "ten", "FOO")).isEqualTo(error("ERR Unsupported option FOO"));
        assertThat(h.call("EXPIRE", "k", "ten")).isEqualTo(NOT_INTEGER);
        assertThat(h.call("EXPIRE", "k", "1.5")).isEqualTo(NOT_INTEGER);
    }

    @ParameterizedTest
    @CsvSource({"EXPIRE, 9223372036854776", "EXPIRE, 9223372036854775", "EXPIRE, -9223372036854776",
            "PEXPIRE, 9223372036854775807", "EXPIREAT, 9223372036854776", "EXPIREAT, -9223372036854776"})
    void overflowingTimesAreInvalid(String command, String time) {
        String expected = error("ERR invalid expire time in '" + command.toLowerCase(Locale.ROOT) + "' command");
        assertThat(h.call(command, "missing", time)).isEqualTo(expected);
        h.call("SET", "k", "v");
        assertThat(h.call(command, "k", time)).isEqualTo(expected);
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-1));
    }

    @Test
    void changingTheTtlKeepsTheValue() {
        h.call("SET", "k", "a\u0000b");
        h.call("EXPIRE", "k", "100");
        h.call("PEXPIRE", "k", "5000");
        assertThat(h.call("GET", "k")).isEqualTo(bulk("a\u0000b"));
    }

    // ---- PERSIST ----

    @Test
    void persistRemovesTheTtl() {
        assertThat(h.call("PERSIST", "k")).isEqualTo(integer(0));
        h.call("SET", "k", "v");
        assertThat(h.call("PERSIST", "k")).isEqualTo(integer(0));
        h.call("EXPIRE", "k", "100");
        assertThat(h.call("PERSIST", "k")).isEqualTo(integer(1));
        assertThat(h.call("TTL", "k")).isEqualTo(integer(-1));
        h.clock.advanceMillis(200_000);
        assertThat(h.call("GET", "k")).isEqualTo(bulk("v"));
    }

    // ---- helpers ----

    /** Every key a full SCAN with these options returns, in order, repeats kept. */
    private List<String> scanAll(String... options) {
        List<String> keys = new ArrayList<>();
        String cursor = "0";
        do {
            String[] args = new String[2 + options.length];
            args[0] = "SCAN";
            args[1] = cursor;
            System.arraycopy(options, 0, args, 2, options.length);
            List<?> reply = (List<?>) parse(h.call(args));
            cursor = (String) reply.get(0);
            ((List<?>) reply.get(1)).forEach(k -> keys.add((String) k));
        } while (!cursor.equals("0"));
        return keys;
    }

    /** The bulk strings of an array reply. */
    private static List<String> strings(String reply) {
        List<String> out = new ArrayList<>();
        ((List<?>) parse(reply)).forEach(e -> out.add((String) e));
        return out;
    }

    /** Parses one RESP2 reply of arrays, bulk strings and integers (all this class needs). */
    private static Object parse(String reply) {
        byte[] b = reply.getBytes(StandardCharsets.UTF_8);
        int[] pos = {0};
        Object value = parse(b, pos);
        assertThat(pos[0]).as("trailing bytes in %s", reply).isEqualTo(b.length);
        return value;
    }

    private static Object parse(byte[] b, int[] pos) {
        char type = (char) b[pos[0]++];
        int lineEnd = pos[0];
        while (b[lineEnd] != '\r') {
            lineEnd++;
        }
        long n = Long.parseLong(new String(b, pos[0], lineEnd - pos[0], StandardCharsets.US_ASCII));
        pos[0] = lineEnd + 2;
        switch (type) {
            case ':':
                return n;
            case '$': {
                if (n < 0) {
                    return null;
                }
                String s = new String(b, pos[0], (int) n, StandardCharsets.UTF_8);
                pos[0] += (int) n + 2;
                return s;
            }
            case '*': {
                List<Object> items = new ArrayList<>();
                for (long i = 0; i < n; i++) {
                    items.add(parse(b, pos));
                }
                return items;
            }
            default:
                throw new AssertionError("unexpected reply type " + type);
        }
    }
}
