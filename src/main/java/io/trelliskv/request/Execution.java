package io.trelliskv.request;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.FastThreadLocal;
import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandFlag;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.persist.Durability;
import io.trelliskv.persist.LogWriteFailedException;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.storage.Engine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Consumer;

/**
 * The last stage of a request's path: runs a command's handler on this node's engine. It refuses a
 * write while the node's log cannot write ({@code -MISCONF ...}, as Redis while its AOF fails) and one
 * that would take memory over the bound (after trying to evict), turns {@link CommandException}s
 * into error replies, and counts the command in INFO's per-command statistics. This is the one place
 * where a handler runs and where its errors become RESP errors.
 *
 * <p>If a handler fails unexpectedly, whatever part of its reply it wrote is discarded and replaced by
 * one error reply, so the connection's reply stream stays well-formed and the node keeps serving.
 *
 * <p>A command runs either into a client's connection ({@link #run}: the reply goes straight into the
 * connection's output, as on a single node) or detached ({@link #runDetached}: for a peer's forwarded
 * command, a coordinator's replicated write, a share of a split command, a command of a transaction),
 * whose raw reply bytes the stages above pass on.
 */
public final class Execution {

    private static final Logger log = LoggerFactory.getLogger(Execution.class);

    private final Engine engine;
    private final Clock clock;
    /** Whether a memory bound is configured; when not, the OOM check is skipped entirely. */
    private final boolean memoryBounded;
    private final RequestStats stats;
    /** The node's log: whether writes may be applied now. */
    private final Durability durability;

    Execution(Engine engine, Clock clock, boolean memoryBounded, RequestStats stats, Durability durability) {
        this.engine = engine;
        this.durability = durability;
        this.clock = clock;
        this.memoryBounded = memoryBounded;
        this.stats = stats;
    }

    /** Runs an admitted command (found, arity checked) here, writing its reply to the client. */
    void run(ClientConnection client, CommandSpec spec, byte[][] args) {
        RespWriter out = client.writer();
        CommandSpec.Stats counters = spec.stats();
        if (spec.has(CommandFlag.WRITE)) {
            try {
                durability.checkWritable();
            } catch (LogWriteFailedException e) {
                counters.rejected.increment();
                stats.errorReplied();
                out.error(e.getMessage());
                return;
            }
        }
        if (memoryBounded && spec.has(CommandFlag.DENYOOM) && !engine.makeRoom()) {
            counters.rejected.increment();
            stats.errorReplied();
            out.error(CommandException.OOM);
            return;
        }
        int mark = out.target().writerIndex();
        long start = clock.nanos();
        try {
            spec.handler().handle(client, args, out);
        } catch (CommandException e) {
            out.target().writerIndex(mark);
            counters.failed.increment();
            stats.errorReplied();
            out.error(e.getMessage());
        } catch (RuntimeException e) {
            out.target().writerIndex(mark);
            counters.failed.increment();
            stats.errorReplied();
            log.error("Command '{}' failed for client id={} addr={}", spec.name(), client.id(),
                    client.remoteAddress(), e);
            out.error("ERR internal error while running '" + spec.name() + "': " + e.getClass().getSimpleName());
        }
        counters.nanos.add(clock.nanos() - start);
        counters.calls.increment();
    }

    /** Runs an admitted command here for no client of this node: its raw reply in {@code protocol}. */
    byte[] runDetached(int protocol, CommandSpec spec, byte[][] args) {
        Scratch scratch = SCRATCH.get();
        if (scratch.busy) { // a detached run within one (a command of a transaction): a connection of its own
            return detached(protocol, connection -> run(connection, spec, args));
        }
        scratch.busy = true;
        try {
            RespWriter writer = scratch.connection.writer();
            writer.protocol(protocol);
            writer.target(scratch.buf);
            run(scratch.connection, spec, args);
            return ByteBufUtil.getBytes(scratch.buf);
        } finally {
            scratch.reset();
        }
    }

    /**
     * Runs {@code count} admitted commands here for no client of this node, one after the other ({@link ReadRun}):
     * their raw replies in {@code protocol}, one after the other. A command's entry in {@code routedKeys} is the key
     * it was routed by, or null; a command whose entry in {@code errors} (when not null) is not null is not run: that
     * error reply is its reply.
     */
    byte[] runDetached(int protocol, CommandSpec[] specs, byte[][][] args, Key[] routedKeys, byte[][] errors,
                       int count) {
        Scratch scratch = SCRATCH.get();
        if (scratch.busy) {
            return detached(protocol, connection -> {
                for (int i = 0; i < count; i++) {
                    if (errors != null && errors[i] != null) {
                        connection.writer().target().writeBytes(errors[i]);
                    } else {
                        run(connection, specs[i], args[i]);
                    }
                }
            });
        }
        scratch.busy = true;
        try {
            ClientConnection connection = scratch.connection;
            RespWriter writer = connection.writer();
            writer.protocol(protocol);
            writer.target(scratch.buf);
            for (int i = 0; i < count; i++) {
                if (errors != null && errors[i] != null) {
                    scratch.buf.writeBytes(errors[i]);
                    continue;
                }
                connection.routedKey(routedKeys[i]);
                try {
                    run(connection, specs[i], args[i]);
                } finally {
                    connection.routedKey(null);
                }
            }
            return ByteBufUtil.getBytes(scratch.buf);
        } finally {
            scratch.reset();
        }
    }

    /** Runs {@code body} against a connection of no client, in {@code protocol}: what it wrote. */
    byte[] detached(int protocol, Consumer<ClientConnection> body) {
        ClientConnection connection = ClientConnection.detached(clock.millis());
        connection.writer().protocol(protocol);
        ByteBuf buf = ByteBufAllocator.DEFAULT.heapBuffer();
        try {
            connection.writer().target(buf);
            body.accept(connection);
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    /**
     * Per thread, the detached connection and the buffer a {@link #runDetached} writes its reply into, kept
     * from one run to the next: a command run after its read phase (on a peer connection's thread) then
     * allocates its reply alone, not a connection, a writer and a buffer besides. A keyed command's handler
     * reads nothing of the connection but its writer, so one detached connection serves them all.
     */
    private static final FastThreadLocal<Scratch> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected Scratch initialValue() {
            return new Scratch();
        }
    };

    /** A thread's reused detached connection and reply buffer; see {@link #SCRATCH}. */
    private static final class Scratch {
        /** A buffer grown past this (a large reply) is dropped after the run rather than kept. */
        static final int KEPT_CAPACITY = 64 * 1024;

        final ClientConnection connection = ClientConnection.detached(0);
        ByteBuf buf = Unpooled.buffer(256);
        /** True while a run uses this; a nested run makes its own connection. */
        boolean busy;

        void reset() {
            busy = false;
            connection.writer().target(null);
            if (buf.capacity() > KEPT_CAPACITY) {
                buf = Unpooled.buffer(256);
            } else {
                buf.clear();
            }
        }
    }
}
