package io.trelliskv.request;

import io.trelliskv.command.CommandSpec;
import io.trelliskv.command.CommandTable;
import io.trelliskv.command.StringCommands;
import io.trelliskv.common.ManualClock;
import io.trelliskv.persist.Durability;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Detached runs ({@link Execution#runDetached}), which reuse one connection and buffer per thread: each
 * run's reply is its own, whatever ran before it, within it or after it.
 */
class ExecutionTest {

    private final ManualClock clock = new ManualClock(1_700_000_000_000L);
    private final MemoryEngine engine = new MemoryEngine(EngineConfig.unbounded(), clock, new Hlc(clock), 1);
    private final CommandTable table = new CommandTable();
    private final Execution execution = new Execution(engine, clock, false, new RequestStats(), Durability.NONE);

    ExecutionTest() {
        new StringCommands(engine, clock, RespLimits.DEFAULTS.maxBulkLength()).registerInto(table);
    }

    @AfterEach
    void close() {
        engine.close();
    }

    private byte[] run(int protocol, String... args) {
        byte[][] argv = new byte[args.length][];
        for (int i = 0; i < args.length; i++) {
            argv[i] = args[i].getBytes(StandardCharsets.UTF_8);
        }
        return execution.runDetached(protocol, table.find(argv[0]), argv);
    }

    private static String text(byte[] reply) {
        return new String(reply, StandardCharsets.UTF_8);
    }

    @Test
    void eachRunsReplyIsItsOwnAndInItsProtocol() {
        byte[] set = run(2, "set", "k", "v1");
        byte[] first = run(2, "get", "k");
        run(2, "set", "k", "a-longer-value");
        byte[] second = run(2, "get", "k");
        byte[] missing = run(3, "get", "nothing");

        assertThat(text(set)).isEqualTo("+OK\r\n");
        assertThat(text(first)).as("not overwritten by later runs").isEqualTo("$2\r\nv1\r\n");
        assertThat(text(second)).isEqualTo("$14\r\na-longer-value\r\n");
        assertThat(text(missing)).as("RESP3's null").isEqualTo("_\r\n");
        assertThat(text(run(2, "get", "nothing"))).as("back to RESP2").isEqualTo("$-1\r\n");
    }

    @Test
    void aLargeReplyIsWholeAndTheNextRunStartsEmpty() {
        String large = "x".repeat(200_000);
        run(2, "set", "big", large);

        assertThat(text(run(2, "get", "big"))).isEqualTo("$200000\r\n" + large + "\r\n");
        assertThat(text(run(2, "get", "nothing"))).isEqualTo("$-1\r\n");
    }

    @Test
    void anErrorReplacesOnlyItsOwnRunsReply() {
        run(2, "set", "k", "v");

        assertThat(text(run(2, "incr", "k"))).startsWith("-ERR");
        assertThat(text(run(2, "get", "k"))).isEqualTo("$1\r\nv\r\n");
    }

    @Test
    void aRunWithinADetachedRunHasItsOwnReply() {
        run(2, "set", "k", "inner");
        CommandSpec get = table.find("get".getBytes(StandardCharsets.UTF_8));
        byte[][] args = {"get".getBytes(StandardCharsets.UTF_8), "k".getBytes(StandardCharsets.UTF_8)};
        byte[][] inner = new byte[1][];

        byte[] outer = execution.detached(2, connection -> {
            connection.writer().simple("before");
            inner[0] = execution.runDetached(2, get, args);
            connection.writer().simple("after");
        });
        byte[] nested = nestedInRunDetached(get, args);

        assertThat(text(inner[0])).isEqualTo("$5\r\ninner\r\n");
        assertThat(text(outer)).isEqualTo("+before\r\n+after\r\n");
        assertThat(text(nested)).isEqualTo("$5\r\ninner\r\n+OK\r\n");
    }

    /**
     * A handler that itself runs a command detached, as a transaction's commands run inside its own: the
     * outer reply keeps its bytes around the inner run's.
     */
    private byte[] nestedInRunDetached(CommandSpec get, byte[][] args) {
        table.register("nested", 1, Set.of(), (client, a, out) -> {
            out.target().writeBytes(execution.runDetached(2, get, args));
            out.ok();
        });
        return run(2, "nested");
    }
}
