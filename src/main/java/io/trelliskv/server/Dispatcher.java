package io.trelliskv.server;

import io.trelliskv.common.Clock;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.net.CommandSink;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.storage.Engine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.LongAdder;

/**
 * Runs each client command: finds it in the {@link CommandTable}, checks its arity, refuses writes
 * that would take memory over the bound (after trying to evict), runs the handler, and turns
 * {@link CommandException}s into error replies. This is the one place where command errors become RESP
 * errors and where INFO's command statistics are counted.
 *
 * <p>If a handler fails unexpectedly, whatever part of its reply it wrote is discarded and replaced by
 * one error reply, so the connection's reply stream stays well-formed and the node keeps serving.
 */
public final class Dispatcher implements CommandSink {

    private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);

    private final CommandTable table;
    private final Engine engine;
    private final Clock clock;
    /** Whether a memory bound is configured; when not, the OOM check is skipped entirely. */
    private final boolean memoryBounded;
    private final LongAdder commandsProcessed = new LongAdder();
    private final LongAdder unknownCommands = new LongAdder();
    private final LongAdder errorReplies = new LongAdder();

    public Dispatcher(CommandTable table, Engine engine, Clock clock, boolean memoryBounded) {
        this.table = table;
        this.engine = engine;
        this.clock = clock;
        this.memoryBounded = memoryBounded;
    }

    @Override
    public void execute(ClientConnection client, byte[][] args) {
        RespWriter out = client.writer();
        commandsProcessed.increment();
        CommandSpec spec = table.find(args[0]);
        if (spec == null) {
            unknownCommands.increment();
            errorReplies.increment();
            out.error(unknownCommand(args));
            return;
        }
        client.commandStarted(spec.name(), clock.millis());
        CommandSpec.Stats stats = spec.stats();
        if (!spec.arityAccepts(args.length)) {
            stats.rejected.increment();
            errorReplies.increment();
            out.error("ERR wrong number of arguments for '" + spec.name() + "' command");
            return;
        }
        if (memoryBounded && spec.has(CommandFlag.DENYOOM) && !engine.makeRoom()) {
            stats.rejected.increment();
            errorReplies.increment();
            out.error(CommandException.OOM);
            return;
        }
        int mark = out.target().writerIndex();
        long start = clock.nanos();
        try {
            spec.handler().handle(client, args, out);
        } catch (CommandException e) {
            out.target().writerIndex(mark);
            stats.failed.increment();
            errorReplies.increment();
            out.error(e.getMessage());
        } catch (RuntimeException e) {
            out.target().writerIndex(mark);
            stats.failed.increment();
            errorReplies.increment();
            log.error("Command '{}' failed for client id={} addr={}", spec.name(), client.id(),
                    client.remoteAddress(), e);
            out.error("ERR internal error while running '" + spec.name() + "': " + e.getClass().getSimpleName());
        }
        stats.nanos.add(clock.nanos() - start);
        stats.calls.increment();
    }

    /** Redis's text: {@code ERR unknown command 'x', with args beginning with: 'a' 'b' }. */
    static String unknownCommand(byte[][] args) {
        StringBuilder sb = new StringBuilder("ERR unknown command '")
                .append(truncate(args[0], 128)).append("', with args beginning with: ");
        int budget = 128;
        for (int i = 1; i < args.length && budget > 0; i++) {
            String arg = truncate(args[i], budget);
            sb.append('\'').append(arg).append("' ");
            budget -= arg.length() + 3;
        }
        return sb.toString();
    }

    private static String truncate(byte[] b, int max) {
        return new String(b, 0, Math.min(b.length, max), StandardCharsets.UTF_8);
    }

    public CommandTable table() {
        return table;
    }

    public long commandsProcessed() {
        return commandsProcessed.sum();
    }

    public long unknownCommands() {
        return unknownCommands.sum();
    }

    public long errorReplies() {
        return errorReplies.sum();
    }

    /** CONFIG RESETSTAT. */
    public void resetStats() {
        commandsProcessed.reset();
        unknownCommands.reset();
        errorReplies.reset();
        table.all().forEach(spec -> spec.stats().reset());
    }
}
