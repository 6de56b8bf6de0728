package io.trelliskv.command;

import io.trelliskv.common.Key;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.testing.CommandHarness;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.CounterState;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.PnCounter;
import io.trelliskv.version.Version;
import io.trelliskv.version.VersionVector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static io.trelliskv.testing.ExpectedReplies.NIL;
import static io.trelliskv.testing.ExpectedReplies.NOT_INTEGER;
import static io.trelliskv.testing.ExpectedReplies.OK;
import static io.trelliskv.testing.ExpectedReplies.bulk;
import static io.trelliskv.testing.ExpectedReplies.error;
import static io.trelliskv.testing.ExpectedReplies.integer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every string and key command on a convergent counter (made by the INCR family) and on a versioned key
 * (siblings), on one node: what each reads, and what each leaves the key as.
 */
class CounterAndVersionedCommandsTest {

    private static final String SIBLINGS_2 = error(
            "ERR the key has 2 concurrent values (siblings): read them with VGET, or replace them with SET");

    private final CommandHarness h = new CommandHarness();
    private final Engine engine = h.node.engine();

    @AfterEach
    void close() {
        h.close();
    }

    private Entry entry(String key) {
        return engine.peek(Key.of(key.getBytes(StandardCharsets.UTF_8)));
    }

    private byte kind(String key) {
        return entry(key).kind();
    }

    /** Makes {@code key} a counter of value 15, counted by this node. */
    private void counter15(String key) {
        assertThat(h.call("INCRBY", key, "20")).isEqualTo(integer(20));
        assertThat(h.call("DECRBY", key, "5")).isEqualTo(integer(15));
        assertThat(kind(key)).isEqualTo(ValueKind.COUNTER);
    }

    /** Stores a versioned value with the given siblings (concurrent writes by different nodes). */
    private void versioned(String key, String... siblings) {
        DvvSet<byte[]> set = DvvSet.empty();
        for (int i = 0; i < siblings.length; i++) {
            set = set.update(VersionVector.EMPTY, siblings[i].getBytes(StandardCharsets.UTF_8), 100 + i);
        }
        engine.put(Key.of(key.getBytes(StandardCharsets.UTF_8)), CausalCodec.encode(set), ValueKind.VERSIONED, 0);
    }

    // ---- counters ----

    @Test
    void theIncrFamilyMakesACounterThatKeepsItsEpochAndCountsThisNodesShare() {
        counter15("n");
        Entry first = entry("n");
        assertThat(h.call("INCR", "n")).isEqualTo(integer(16));
        assertThat(h.call("DECR", "n")).isEqualTo(integer(15));
        Entry later = entry("n");
        assertThat(later.version()).as("every increment is a new write").isGreaterThan(first.version());
        CounterState state = CausalCodec.decodeCounterState(later.value());
        assertThat(state.epoch()).as("made from a missing key").isEqualTo(Version.ZERO);
        assertThat(state.base()).isZero();
        assertThat(state.increments().size()).isEqualTo(1);
        assertThat(state.increments().node(0)).isEqualTo(engine.nodeId());
        assertThat(state.increments().up(0)).isEqualTo(21);
        assertThat(state.increments().down(0)).isEqualTo(6);
    }

    @Test
    void incrOfAPlainIntegerCountsFromItUnderItsVersion() {
        h.call("SET", "n", "40");
        Entry plain = entry("n");
        assertThat(h.call("INCRBY", "n", "2")).isEqualTo(integer(42));
        Entry counter = entry("n");
        assertThat(counter.kind()).isEqualTo(ValueKind.COUNTER);
        assertThat(counter.version()).isGreaterThan(plain.version());
        assertThat(CausalCodec.decodeCounterState(counter.value()).epoch()).isEqualTo(plain.version());
        assertThat(CausalCodec.decodeCounterState(counter.value()).base()).isEqualTo(40);
    }

    @Test
    void readsSeeTheCountersValueAsAString() {
        counter15("n");
        assertThat(h.call("GET", "n")).isEqualTo(bulk("15"));
        assertThat(h.call("STRLEN", "n")).isEqualTo(integer(2));
        assertThat(h.call("GETRANGE", "n", "1", "-1")).isEqualTo(bulk("5"));
        assertThat(h.call("MGET", "n", "nope")).isEqualTo("*2\r\n" + bulk("15") + NIL);
        assertThat(h.call("TYPE", "n")).isEqualTo("+string\r\n");
        assertThat(h.call("EXISTS", "n")).isEqualTo(integer(1));
        assertThat(h.call("SETNX", "n", "1")).isEqualTo(integer(0));
        assertThat(h.call("SCAN", "0", "TYPE", "string", "COUNT", "1000")).contains("$1\r\nn\r\n");
        assertThat(h.call("SCAN", "0", "TYPE", "versioned", "COUNT", "1000")).doesNotContain("$1\r\nn\r\n");
        assertThat(kind("n")).isEqualTo(ValueKind.COUNTER);
    }

    @Test
    void writesOfAValueReplaceTheCounterWithAPlainStringUnderANewVersion() {
        String[][] writes = {
                {"SET", "n", "7"}, {"SET", "n", "7", "GET"}, {"GETSET", "n", "7"}, {"APPEND", "n", "x"},
                {"SETRANGE", "n", "0", "9"}, {"INCRBYFLOAT", "n", "0.5"}, {"MSET", "n", "7"},
        };
        String[] replies = {OK, bulk("15"), bulk("15"), integer(3), integer(2), bulk("15.5"), OK};
        String[] after = {"7", "7", "7", "15x", "95", "15.5", "7"};
        for (int i = 0; i < writes.length; i++) {
            h.call("DEL", "n");
            counter15("n");
            Entry counter = entry("n");
            assertThat(h.call(writes[i])).as(String.join(" ", writes[i])).isEqualTo(replies[i]);
            assertThat(kind("n")).as(writes[i][0]).isEqualTo(ValueKind.PLAIN);
            assertThat(entry("n").version()).as(writes[i][0]).isGreaterThan(counter.version());
            assertThat(h.call("GET", "n")).as(writes[i][0]).isEqualTo(bulk(after[i]));
        }
    }

    @Test
    void aResetCounterCountsFromTheResetValue() {
        counter15("n");
        h.call("SET", "n", "100");
        assertThat(h.call("INCR", "n")).isEqualTo(integer(101));
        h.call("DEL", "n");
        assertThat(h.call("GET", "n")).isEqualTo(NIL);
        assertThat(h.call("INCR", "n")).isEqualTo(integer(1));
        assertThat(h.call("GETDEL", "n")).isEqualTo(bulk("1"));
        assertThat(h.call("EXISTS", "n")).isEqualTo(integer(0));
    }

    @Test
    void expiryKeepsTheCounterAsItIsAndRenameMakesOneAtTheNewName() {
        counter15("n");
        Entry before = entry("n");
        assertThat(h.call("EXPIRE", "n", "10")).isEqualTo(integer(1));
        assertThat(kind("n")).isEqualTo(ValueKind.COUNTER);
        assertThat(entry("n").version()).isGreaterThan(before.version());
        assertThat(CausalCodec.decodeCounterState(entry("n").value()).increments())
                .isEqualTo(CausalCodec.decodeCounterState(before.value()).increments());
        assertThat(h.call("INCR", "n")).as("an increment keeps the TTL").isEqualTo(integer(16));
        assertThat(h.call("PTTL", "n")).isEqualTo(integer(10_000));
        assertThat(h.call("GETEX", "n", "EX", "20")).isEqualTo(bulk("16"));
        assertThat(kind("n")).isEqualTo(ValueKind.COUNTER);
        assertThat(h.call("PERSIST", "n")).isEqualTo(integer(1));
        assertThat(kind("n")).isEqualTo(ValueKind.COUNTER);
        h.call("SET", "m", "old");
        Entry replaced = entry("m");
        assertThat(h.call("RENAME", "n", "m")).isEqualTo(OK);
        assertThat(kind("m")).isEqualTo(ValueKind.COUNTER);
        assertThat(CausalCodec.decodeCounterState(entry("m").value()).epoch())
                .as("counts from what the new name held").isEqualTo(replaced.version());
        assertThat(h.call("GET", "m")).isEqualTo(bulk("16"));
        assertThat(h.call("INCR", "m")).isEqualTo(integer(17));

        assertThat(h.call("PEXPIRE", "m", "100")).isEqualTo(integer(1));
        h.clock.advanceMillis(101);
        assertThat(h.call("GET", "m")).isEqualTo(NIL);
        assertThat(h.call("INCR", "m")).as("an expired counter is gone").isEqualTo(integer(1));
        assertThat(h.call("TTL", "m")).isEqualTo(integer(-1));
    }

    @Test
    void anIncrementThatWouldOverflowThisNodesShareStartsANewEpochAtTheSum() {
        assertThat(h.call("INCRBY", "n", Long.toString(Long.MAX_VALUE))).isEqualTo(integer(Long.MAX_VALUE));
        assertThat(h.call("DECRBY", "n", Long.toString(Long.MAX_VALUE))).isEqualTo(integer(0));
        Entry before = entry("n");
        assertThat(CausalCodec.decodeCounterState(before.value()).epoch()).isEqualTo(Version.ZERO);
        assertThat(h.call("INCRBY", "n", "1")).as("up share past 2^63-1").isEqualTo(integer(1));
        CounterState rebased = CausalCodec.decodeCounterState(entry("n").value());
        assertThat(rebased.epoch()).isEqualTo(before.version());
        assertThat(rebased.base()).isEqualTo(1);
        assertThat(rebased.increments().size()).isZero();
        assertThat(h.call("INCRBY", "n", Long.toString(Long.MAX_VALUE))).isEqualTo(
                error("ERR increment or decrement would overflow"));
        assertThat(h.call("GET", "n")).isEqualTo(bulk("1"));
    }

    @Test
    void aCounterWhoseConcurrentIncrementsAddUpPast64BitsIsAnErrorUntilReset() {
        // Two nodes' shares that each fit, joined: a value no single node could check.
        CounterState joined = CounterState.of(Long.MAX_VALUE, Version.ZERO,
                PnCounter.ZERO.add(101, 1).add(102, 1));
        engine.put(Key.of("n".getBytes()), CausalCodec.encode(joined), ValueKind.COUNTER, 0);
        String outOfRange = error("ERR counter value is out of the 64-bit range (concurrent increments"
                + " added up past it); SET or DEL resets it");
        assertThat(h.call("GET", "n")).isEqualTo(outOfRange);
        assertThat(h.call("INCR", "n")).isEqualTo(outOfRange);
        assertThat(h.call("MGET", "n")).isEqualTo("*1\r\n" + NIL);
        assertThat(h.call("SET", "n", "1")).isEqualTo(OK);
        assertThat(h.call("INCR", "n")).isEqualTo(integer(2));
    }

    // ---- versioned keys ----

    @Test
    void aVersionedKeyWithOneSiblingReadsAsThatSibling() {
        versioned("v", "hello");
        assertThat(h.call("GET", "v")).isEqualTo(bulk("hello"));
        assertThat(h.call("STRLEN", "v")).isEqualTo(integer(5));
        assertThat(h.call("GETRANGE", "v", "0", "1")).isEqualTo(bulk("he"));
        assertThat(h.call("MGET", "v")).isEqualTo("*1\r\n" + bulk("hello"));
        assertThat(h.call("TYPE", "v")).isEqualTo("+versioned\r\n");
        assertThat(h.call("SCAN", "0", "TYPE", "versioned", "COUNT", "1000")).contains("$1\r\nv\r\n");
        assertThat(h.call("SCAN", "0", "TYPE", "string", "COUNT", "1000")).doesNotContain("$1\r\nv\r\n");
        assertThat(h.call("APPEND", "v", "!")).isEqualTo(integer(6));
        assertThat(kind("v")).as("an edit writes a plain value").isEqualTo(ValueKind.PLAIN);
        assertThat(h.call("GET", "v")).isEqualTo(bulk("hello!"));

        versioned("i", "41");
        Entry before = entry("i");
        assertThat(h.call("INCR", "i")).isEqualTo(integer(42));
        assertThat(kind("i")).isEqualTo(ValueKind.COUNTER);
        assertThat(CausalCodec.decodeCounterState(entry("i").value()).epoch()).isEqualTo(before.version());
    }

    @Test
    void aVersionedKeyWithSeveralSiblingsRefusesEveryStringReadAndEditNamingVget() {
        String[][] refused = {
                {"GET", "v"}, {"STRLEN", "v"}, {"GETRANGE", "v", "0", "-1"}, {"APPEND", "v", "x"},
                {"SETRANGE", "v", "0", "x"}, {"INCR", "v"}, {"DECRBY", "v", "2"}, {"INCRBYFLOAT", "v", "1"},
                {"GETSET", "v", "x"}, {"GETDEL", "v"}, {"GETEX", "v", "EX", "5"}, {"SET", "v", "x", "GET"},
        };
        versioned("v", "a", "b");
        Entry before = entry("v");
        for (String[] command : refused) {
            assertThat(h.call(command)).as(command[0]).isEqualTo(SIBLINGS_2);
            assertThat(entry("v").version()).as(command[0] + " wrote nothing").isEqualTo(before.version());
            assertThat(entry("v").value()).isEqualTo(before.value());
        }
        assertThat(h.call("MGET", "v", "nope")).as("MGET answers nil, as Redis for a non-string")
                .isEqualTo("*2\r\n" + NIL + NIL);
        assertThat(h.call("TYPE", "v")).isEqualTo("+versioned\r\n");
        assertThat(h.call("EXPIRE", "v", "100")).isEqualTo(integer(1));
        assertThat(kind("v")).isEqualTo(ValueKind.VERSIONED);
        assertThat(h.call("SET", "v", "one")).as("SET replaces every sibling").isEqualTo(OK);
        assertThat(kind("v")).isEqualTo(ValueKind.PLAIN);
        assertThat(h.call("GET", "v")).isEqualTo(bulk("one"));
        assertThat(h.call("TTL", "v")).isEqualTo(integer(-1));
    }

    @Test
    void aVersionedKeyWithNoSiblingReadsAsNil() {
        versioned("v");
        assertThat(h.call("GET", "v")).isEqualTo(NIL);
        assertThat(h.call("INCR", "v")).isEqualTo(integer(1));
        versioned("w", "not a number");
        assertThat(h.call("INCR", "w")).isEqualTo(NOT_INTEGER);
    }
}
