package io.trelliskv.command;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.resp.RespReplyReader;
import io.trelliskv.resp.RespValue;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.testing.CommandHarness;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.VersionVector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * VGET, VSET and VDEL on one node: siblings from concurrent writes, contexts that supersede exactly what
 * they saw, deletes that keep concurrent siblings, the sibling limit and bad input. The handlers run on
 * a real engine and their replies are read back as RESP, so contexts stay binary.
 */
class VersionedCommandsTest {

    private static final long NODE = 0x1234L;
    private static final long GRACE = 60_000;

    private final ManualClock clock = new ManualClock(1_700_000_000_000L);
    private MemoryEngine engine;
    private VersionedCommands commands;
    private final CommandTable table = new CommandTable();

    private void start(int maxSiblings, long graceMillis) {
        engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, graceMillis, 5), clock, new Hlc(clock), NODE);
        commands = new VersionedCommands(engine, clock, NODE, maxSiblings, graceMillis);
        commands.registerInto(table);
    }

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    @Test
    void twoWritesThatSawNothingAreSiblingsAndAWriteWithTheirContextSupersedesBoth() {
        start(64, GRACE);
        call("vset", "k", "", "a");
        call("vset", "k", "", "b");
        List<RespValue> read = array(call("vget", "k"));
        assertThat(values(read)).containsExactlyInAnyOrder("a", "b");

        call(b("vset"), b("k"), bytes(read.get(0)), b("c"));

        assertThat(values(array(call("vget", "k")))).containsExactly("c");
    }

    @Test
    void theContextVsetAnswersCoversTheWriteItselfAndNotAConcurrentOne() {
        start(64, GRACE);
        byte[] mine = bytes(call("vset", "k", "", "a1"));
        call("vset", "k", "", "other");

        call(b("vset"), b("k"), mine, b("a2"));

        assertThat(values(array(call("vget", "k")))).containsExactlyInAnyOrder("a2", "other");
    }

    @Test
    void vdelRemovesWhatItsContextSawAndKeepsAConcurrentSibling() {
        start(64, GRACE);
        call("vset", "k", "", "x");
        byte[] sawX = bytes(array(call("vget", "k")).get(0));
        call("vset", "k", "", "y");

        assertThat(call(b("vdel"), b("k"), sawX)).isEqualTo(new RespValue.Integer(1));

        assertThat(values(array(call("vget", "k")))).containsExactly("y");
    }

    @Test
    void aKeyWithNoSiblingLeftReadsAsMissingAndKeepsItsHistoryForTheGracePeriod() {
        start(64, GRACE);
        call("vset", "k", "", "x");
        byte[] sawX = bytes(array(call("vget", "k")).get(0));

        assertThat(call(b("vdel"), b("k"), sawX)).isEqualTo(new RespValue.Integer(1));

        assertThat(array(call("vget", "k"))).isEmpty();
        Entry history = engine.stored(Key.of(b("k")));
        assertThat(history.kind()).isEqualTo(ValueKind.VERSIONED);
        assertThat(history.expireAt()).isEqualTo(clock.millis() + GRACE);
        // A later write that saw nothing does not bring the deleted value back.
        call("vset", "k", "", "z");
        assertThat(values(array(call("vget", "k")))).containsExactly("z");
        assertThat(call(b("vdel"), b("missing"), sawX)).isEqualTo(new RespValue.Integer(0));
    }

    @Test
    void aConcurrentSiblingJoinedIntoTheKeptHistoryOutlivesTheGracePeriod() {
        start(64, GRACE);
        Entry concurrent = new Entry(Key.of(b("k")), CausalCodec.encode(DvvSet.<byte[]>empty()
                .update(VersionVector.EMPTY, b("a"), NODE + 1)), Hlc.pack(clock.millis(), 0), NODE + 1, 0,
                ValueKind.VERSIONED);
        clock.advanceMillis(1);
        call("vset", "k", "", "x");
        byte[] sawX = bytes(array(call("vget", "k")).get(0));
        call(b("vdel"), b("k"), sawX);

        assertThat(engine.merge(concurrent)).as("a replica's sibling the delete had not seen").isTrue();
        assertThat(values(array(call("vget", "k")))).containsExactly("a");

        clock.advanceMillis(3 * GRACE);
        assertThat(values(array(call("vget", "k")))).as("the sibling's own write set no expiry").containsExactly("a");
    }

    @Test
    void withoutAGracePeriodTheLastSiblingsDeleteRemovesTheKey() {
        start(64, 0);
        call("vset", "k", "", "x");
        byte[] sawX = bytes(array(call("vget", "k")).get(0));

        call(b("vdel"), b("k"), sawX);

        assertThat(engine.stored(Key.of(b("k")))).isNull();
    }

    @Test
    void aWriteThatWouldLeaveMoreSiblingsThanTheLimitIsRefusedAndCounted() {
        start(2, GRACE);
        call("vset", "k", "", "a");
        call("vset", "k", "", "b");

        RespValue refused = call("vset", "k", "", "c");

        assertThat(refused).isInstanceOf(RespValue.Error.class);
        assertThat(((RespValue.Error) refused).message()).startsWith("ERR too many siblings: the write would leave 3 (max-siblings 2)");
        assertThat(commands.siblingLimitRefused()).isEqualTo(1);
        assertThat(values(array(call("vget", "k")))).containsExactlyInAnyOrder("a", "b");
        // A write that resolves them is within the limit.
        call(b("vset"), b("k"), bytes(array(call("vget", "k")).get(0)), b("resolved"));
        assertThat(values(array(call("vget", "k")))).containsExactly("resolved");
    }

    @Test
    void expiryOptionsSetAnAbsoluteExpiry() {
        start(64, GRACE);
        call("vset", "k", "", "a", "EX", "10");
        assertThat(engine.stored(Key.of(b("k"))).expireAt()).isEqualTo(clock.millis() + 10_000);
        call("vset", "p", "", "a", "px", "1500");
        assertThat(engine.stored(Key.of(b("p"))).expireAt()).isEqualTo(clock.millis() + 1500);
    }

    @Test
    void badInputGetsAClearErrorAndWritesNothing() {
        start(64, GRACE);
        engine.put(Key.of(b("plain")), b("v"), 0);

        assertThat(error(call(b("vset"), b("k"), new byte[] {9, 9}, b("v")))).startsWith("ERR invalid causal context: not base64url");
        assertThat(error(call("vdel", "k", "AQ"))).startsWith("ERR invalid causal context: context truncated");
        assertThat(error(call("vdel", "k", "CQ"))).isEqualTo("ERR invalid causal context: unknown context format 9");
        assertThat(error(call("vset", "k", "", "v", "EX"))).isEqualTo(CommandException.SYNTAX);
        assertThat(error(call("vset", "k", "", "v", "KEEPTTL", "1"))).isEqualTo(CommandException.SYNTAX);
        assertThat(error(call("vset", "k", "", "v", "EX", "0"))).isEqualTo("ERR invalid expire time in 'vset' command");
        assertThat(error(call("vset", "k", "", "v", "EX", "x"))).isEqualTo(CommandException.NOT_INTEGER);
        assertThat(engine.stored(Key.of(b("k")))).isNull();
        assertThat(error(call("vget", "plain"))).startsWith("WRONGTYPE");
        assertThat(error(call("vset", "plain", "", "v"))).startsWith("WRONGTYPE");
        assertThat(error(call("vdel", "plain", ""))).startsWith("WRONGTYPE");
        assertThat(engine.stored(Key.of(b("plain"))).value()).isEqualTo(b("v"));
    }

    @Test
    void aMissingKeyReadsAsAnEmptyArray() {
        start(64, GRACE);
        assertThat(array(call("vget", "nothing"))).isEmpty();
    }

    /** Registration, arity errors, CONFIG GET and INFO through a whole node's command path. */
    @Test
    void theNodeRegistersTheCommandsWithTheirLimitAndCounter() {
        try (CommandHarness h = new CommandHarness()) {
            h.assertRegistered("vget", 2, "READONLY FAST", 1, 1, 1);
            h.assertRegistered("vset", -4, "WRITE DENYOOM", 1, 1, 1);
            h.assertRegistered("vdel", 3, "WRITE FAST", 1, 1, 1);
            assertThat(h.call("vset", "k", "")).isEqualTo("-ERR wrong number of arguments for 'vset' command\r\n");
            assertThat(h.call("vdel", "k")).isEqualTo("-ERR wrong number of arguments for 'vdel' command\r\n");
            assertThat(h.call("config", "get", "max-siblings")).isEqualTo("*2\r\n$12\r\nmax-siblings\r\n$2\r\n64\r\n");
            for (int i = 0; i <= VersionedCommands.DEFAULT_MAX_SIBLINGS; i++) {
                h.call("vset", "k", "", "v" + i);
            }
            assertThat(h.call("info", "stats")).contains("\r\nversioned_sibling_limit_refused:1\r\n");
            assertThat(h.call("acl", "cat", "write")).contains("vset").contains("vdel").doesNotContain("vget");
        }
    }

    // ---- helpers ----

    private RespValue call(String... args) {
        byte[][] a = new byte[args.length][];
        for (int i = 0; i < args.length; i++) {
            a[i] = b(args[i]);
        }
        return call(a);
    }

    private RespValue call(byte[]... args) {
        CommandSpec spec = table.find(args[0]);
        assertThat(spec.arityAccepts(args.length)).as("arity of %s", spec.name()).isTrue();
        ByteBuf buf = Unpooled.buffer();
        RespWriter out = new RespWriter();
        out.target(buf);
        try {
            spec.handler().handle(ClientConnection.detached(0), args, out);
        } catch (CommandException e) {
            buf.clear();
            out.error(e.getMessage());
        }
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        buf.release();
        try {
            return new RespReplyReader(new ByteArrayInputStream(bytes)).read();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<RespValue> array(RespValue v) {
        assertThat(v).isInstanceOf(RespValue.Array.class);
        return ((RespValue.Array) v).elements();
    }

    private static byte[] bytes(RespValue v) {
        assertThat(v).isInstanceOf(RespValue.BulkString.class);
        return ((RespValue.BulkString) v).value();
    }

    private static String error(RespValue v) {
        assertThat(v).isInstanceOf(RespValue.Error.class);
        return ((RespValue.Error) v).message();
    }

    /** The siblings of a VGET reply (everything after the context), as text. */
    private static List<String> values(List<RespValue> reply) {
        List<String> out = new ArrayList<>();
        for (RespValue v : reply.subList(1, reply.size())) {
            out.add(new String(bytes(v), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
