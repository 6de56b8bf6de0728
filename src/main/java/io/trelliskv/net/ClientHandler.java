package io.trelliskv.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.trelliskv.common.Clock;
import io.trelliskv.resp.RespProtocolException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Serves one client connection: hands each decoded command to the {@link CommandSink} and batches the
 * replies of one read into a single buffer, flushed when the read completes (so a pipeline of 16
 * commands costs one write system call, not 16).
 *
 * <h2>Back-pressure</h2>
 * A short pipeline can ask for far more reply bytes than it sent (2,000 GETs of a large value), so the
 * limit is applied between commands, not only between reads. When the replies of the current read
 * pass the soft limit they are flushed at once; when the client does not take them and the channel
 * turns unwritable, the commands still to run are parked (they are already in memory, and reading
 * stops) and run when the client has caught up. A client whose pending replies pass the hard limit
 * anyway (one huge reply) is disconnected, as Redis does for its output buffer limits.
 *
 * <h2>Deferred replies, in request order</h2>
 * A command may reserve its reply's place and fill it later from another thread
 * ({@link ClientConnection#deferReply()}, for a command forwarded to another node). Replies must still
 * reach the client in request order, so from the first deferred reply that is not complete, everything
 * after it is held back: {@link #held} is the queue of what waits, in order — buffers of replies
 * written in place and the deferred slots. Whenever the queue's head is ready (a buffer, or a slot
 * whose reply came) it is written, so the completed prefix of the stream always goes out. With no
 * deferred reply waiting the queue is empty and the path above is unchanged: no extra work or
 * allocation per command. Held bytes count as pending output for both limits; commands are parked
 * while {@value #MAX_DEFERRED} deferred replies are outstanding or the held bytes pass the soft limit,
 * and run again as replies complete. QUIT (and a protocol error) closes the connection only after
 * every earlier reply, deferred or not, is written. A reply that completes after the connection has
 * closed is released and dropped.
 *
 * <h2>Held replies</h2>
 * The layer above may hold back the replies written from a point on ({@link ClientConnection#holdReplies}: a run
 * of pipelined writes whose replies wait for the replicas' acks, which it sends as one write). Its release runs
 * before the output is flushed, a slot is reserved or the connection ends, and it may take the held bytes out
 * of the output and reserve a slot for them, so they keep their place in the reply stream.
 */
final class ClientHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(ClientHandler.class);
    private static final VarHandle HELD_BYTES;

    static {
        try {
            HELD_BYTES = MethodHandles.lookup().findVarHandle(ClientHandler.class, "heldBytes", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Deferred replies a connection may have outstanding; at this many, further commands are parked. */
    static final int MAX_DEFERRED = 1024;
    /** Longest a connection refused at accept waits for its first byte before it is closed. */
    static final long REFUSED_LINGER_MILLIS = 1000;

    private final CommandSink sink;
    private final ClientRegistry registry;
    private final NetConfig config;
    private final Clock clock;
    private final boolean lingerWhenRefused;
    /** Set at accept when the client limit was reached: the connection gets the error and is closed. */
    private boolean refused;
    /** The write of the refusal's error, when the connection lingers after it; null otherwise. */
    private ChannelFuture refusal;
    private ChannelHandlerContext ctx;
    private ClientConnection connection;
    /** Replies produced during the current read, not yet written to the channel; null when none. */
    private ByteBuf pending;
    /** Commands decoded while the channel was unwritable, run in order once it is writable again. */
    private final ArrayDeque<byte[][]> parked = new ArrayDeque<>();
    /**
     * Replies held back behind a deferred reply that is not complete, in request order: {@link ByteBuf}s
     * of replies written in place and {@link DeferredReply} slots. Empty whenever nothing waits.
     */
    private final ArrayDeque<Object> held = new ArrayDeque<>();
    /** Deferred replies reserved and not yet complete; all of them are in {@link #held}. */
    private int deferredWaiting;
    /**
     * Bytes of the ready replies in {@link #held}. Read and written on the event loop, and read by CLIENT
     * LIST from any thread: the loop stores it opaquely ({@link #addHeld}), so another thread reads a whole
     * and recent value, without the fence a volatile store costs on every reply that completes.
     */
    private long heldBytes;
    /** True while the sink runs a command: a deferred reply completing then is written after it. */
    private boolean inCommand;
    /**
     * Releases the replies held since {@link #holdReplies}; null when none are. Run (and cleared) before a reply
     * slot is reserved, the output is flushed or the connection ends. Event loop only.
     */
    private Runnable hold;
    /** A task is queued on the event loop to write the deferred replies completed in this turn. */
    private boolean writeScheduled;
    /** That task: one object per connection rather than one per burst of completed replies. */
    private final Runnable writeCompletedTask = this::writeCompleted;

    ClientHandler(CommandSink sink, ClientRegistry registry, NetConfig config, Clock clock) {
        this(sink, registry, config, clock, false);
    }

    /**
     * @param lingerWhenRefused on a node that accepts peers, a connection refused at accept stays open until
     *                          its first byte (at most {@link #REFUSED_LINGER_MILLIS}), so that a refused peer
     *                          is known as one
     */
    ClientHandler(CommandSink sink, ClientRegistry registry, NetConfig config, Clock clock, boolean lingerWhenRefused) {
        this.sink = sink;
        this.registry = registry;
        this.config = config;
        this.clock = clock;
        this.lingerWhenRefused = lingerWhenRefused;
    }

    /** Whether this connection was refused at accept ({@code --maxclients} reached). */
    boolean refused() {
        return refused;
    }

    /** Closes a connection refused at accept once its error is written. */
    void closeRefused() {
        if (refusal != null) {
            refusal.addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** The client this connection was registered as; null when refused or not yet active. */
    ClientConnection connection() {
        return connection;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        connection = registry.register(ctx.channel(), clock.millis());
        if (connection == null) {
            refused = true;
            ByteBuf msg = ctx.alloc().buffer();
            msg.writeCharSequence("-ERR max number of clients reached\r\n", StandardCharsets.US_ASCII);
            if (lingerWhenRefused) {
                // The first byte (a peer's hello comes at once) lets ProtocolDetector count a refused peer; it
                // or any byte closes the connection, and so does the linger's end.
                refusal = ctx.writeAndFlush(msg);
                ctx.executor().schedule(this::closeRefused, REFUSED_LINGER_MILLIS, TimeUnit.MILLISECONDS);
            } else {
                ctx.writeAndFlush(msg).addListener(ChannelFutureListener.CLOSE);
            }
            return;
        }
        connection.handler(this);
        sink.connected(connection);
        ctx.fireChannelActive();
    }

    /**
     * The connection turned out to be a peer's ({@code ProtocolDetector}): the client it was registered as
     * ends, and its place under the client limit passes to the peer count.
     */
    void becamePeer() {
        releasePending();
        ClientConnection c = connection;
        connection = null;
        registry.clientBecamePeer(c);
        sink.disconnected(c);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releasePending();
        if (connection != null) {
            registry.unregister(connection);
            sink.disconnected(connection);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            closeRefused(); // refused at accept: nothing is read
            return;
        }
        if (connection == null || !ctx.channel().isActive() || connection.closeAfterReplyRequested()) {
            return; // closed, or QUIT already seen: drop what follows
        }
        byte[][] args = (byte[][]) msg;
        if (!parked.isEmpty() || mustWait(ctx.channel())) {
            parked.add(args);
            ctx.channel().config().setAutoRead(false);
            return;
        }
        run(ctx, args);
    }

    /** Whether commands must wait: the client is not taking its replies, or too many are held back. */
    private boolean mustWait(Channel ch) {
        return !ch.isWritable() || !held.isEmpty()
                && (deferredWaiting >= MAX_DEFERRED || heldBytes >= config.outputBufferSoftBytes());
    }

    private void run(ChannelHandlerContext ctx, byte[][] args) {
        if (pending == null) {
            pending = ctx.alloc().ioBuffer();
            connection.writer().target(pending);
        }
        inCommand = true;
        try {
            sink.execute(connection, args);
        } finally {
            inCommand = false;
        }
        if (pending != null && pending.readableBytes() >= config.outputBufferSoftBytes()) {
            flushPending(ctx); // may turn the channel unwritable, parking what follows
            closeIfOverHardLimit(ctx);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        flushPending(ctx);
        if (closeIfRequested(ctx)) {
            return;
        }
        closeIfOverHardLimit(ctx);
    }

    /** Closes once every reply is written if QUIT asked for it; true if it did (closing, or waiting to). */
    private boolean closeIfRequested(ChannelHandlerContext ctx) {
        if (connection == null || !connection.closeAfterReplyRequested()) {
            return false;
        }
        if (held.isEmpty()) {
            // Close after the socket has taken every reply written so far, not before.
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        return true;
    }

    private void closeIfOverHardLimit(ChannelHandlerContext ctx) {
        if (config.outputBufferHardBytes() > 0 && connection != null && ctx.channel().isActive()
                && connection.pendingOutputBytes() > config.outputBufferHardBytes()) {
            log.warn("Closing client id={} addr={}: {} bytes of replies pending, over the output buffer limit",
                    connection.id(), connection.remoteAddress(), connection.pendingOutputBytes());
            parked.clear();
            ctx.close();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (resume(ctx)) {
            ctx.fireChannelWritabilityChanged();
        }
    }

    /**
     * Runs what was parked, as long as the client keeps up and the held replies stay under their
     * bounds, then flushes; reads more requests only once nothing is parked. False if the connection
     * is closing.
     */
    private boolean resume(ChannelHandlerContext ctx) {
        Channel ch = ctx.channel();
        while (!parked.isEmpty() && ch.isActive() && !mustWait(ch) && !connection.closeAfterReplyRequested()) {
            run(ctx, parked.poll());
        }
        flushPending(ctx);
        if (closeIfRequested(ctx)) {
            return false;
        }
        ch.config().setAutoRead(!mustWait(ch) && parked.isEmpty());
        return true;
    }

    // ---- deferred replies ----

    /** {@link ClientConnection#holdReplies}. */
    void holdReplies(Runnable release) {
        if (hold != null) {
            throw new IllegalStateException("replies are held already");
        }
        hold = release;
    }

    /** Runs the held replies' release, once, if any are held. */
    void releaseHold() {
        Runnable release = hold;
        if (release != null) {
            hold = null;
            release.run();
        }
    }

    /**
     * {@link ClientConnection#releaseReplies}: a running command releases the held replies and then writes its own
     * reply, after them, into an output of its own if the release took the connection's.
     */
    void releaseReplies() {
        releaseHold();
        if (pending == null && connection != null) {
            pending = ctx.alloc().ioBuffer();
            connection.writer().target(pending);
        }
    }

    /** {@link ClientConnection#deferReply()}: the replies written so far go before the slot, the rest after. */
    DeferredReply deferReply() {
        releaseHold(); // held replies go before the slot: the release may reserve one of its own first
        if (pending != null) {
            if (pending.isReadable()) {
                hold(pending);
            } else {
                pending.release();
            }
            pending = null;
            connection.writer().target(null); // a command that defers writes no reply of its own
        }
        DeferredReply slot = new DeferredReply(this, ctx.executor());
        held.add(slot);
        deferredWaiting++;
        return slot;
    }

    /** A deferred reply arrived, on the event loop: write whatever prefix of the stream is now ready. */
    void deferredCompleted(DeferredReply slot, ByteBuf reply) {
        if (slot.settled) {
            reply.release(); // completed twice, or the connection closed first
            return;
        }
        slot.reply = reply;
        settled(slot, reply.readableBytes());
    }

    /** As above, for a reply given as bytes. */
    void deferredCompleted(DeferredReply slot, byte[] reply) {
        if (slot.settled) {
            return; // completed twice, or the connection closed first
        }
        slot.replyBytes = reply;
        settled(slot, reply.length);
    }

    private void settled(DeferredReply slot, int bytes) {
        slot.settled = true;
        deferredWaiting--;
        addHeld(bytes);
        if (inCommand || !ctx.channel().isActive()) {
            return; // written when the running command's read completes
        }
        if (!writeScheduled) {
            // Deferred replies complete in bursts (a peer's batch of answers, read in one go): write
            // them once that burst is over, in one flush, rather than one system call each.
            writeScheduled = true;
            ctx.executor().execute(writeCompletedTask);
        }
    }

    /** On the event loop, after the deferred replies that completed in one turn of it: writes them. */
    private void writeCompleted() {
        writeScheduled = false;
        if (inCommand || !ctx.channel().isActive()) {
            return;
        }
        flushPending(ctx);
        if (closeIfRequested(ctx)) {
            return;
        }
        closeIfOverHardLimit(ctx);
        if (!parked.isEmpty() || !ctx.channel().config().isAutoRead()) {
            resume(ctx);
        }
    }

    long heldBytes() {
        return (long) HELD_BYTES.getOpaque(this);
    }

    /** Adds {@code delta} to {@link #heldBytes}; on the event loop. */
    private void addHeld(long delta) {
        HELD_BYTES.setOpaque(this, heldBytes + delta);
    }

    private void hold(ByteBuf replies) {
        held.add(replies);
        addHeld(replies.readableBytes());
    }

    /**
     * Writes the ready prefix of {@link #held}, then flushes if anything was written. Consecutive replies
     * given as bytes go out copied into one buffer.
     */
    private void writeReady(ChannelHandlerContext ctx) {
        boolean wrote = false;
        ByteBuf copied = null; // replies given as bytes, not yet written
        for (Object head; (head = held.peek()) != null; ) {
            if (head instanceof DeferredReply slot && slot.replyBytes != null) {
                byte[] bytes = slot.replyBytes;
                slot.replyBytes = null;
                held.poll();
                addHeld(-bytes.length);
                if (copied == null) {
                    copied = ctx.alloc().ioBuffer();
                }
                copied.writeBytes(bytes);
                continue;
            }
            ByteBuf buf;
            if (head instanceof DeferredReply slot) {
                if (slot.reply == null) {
                    break;
                }
                buf = slot.reply;
                slot.reply = null;
            } else {
                buf = (ByteBuf) head;
            }
            held.poll();
            addHeld(-buf.readableBytes());
            if (copied != null) {
                ctx.write(copied, ctx.voidPromise());
                copied = null;
            }
            ctx.write(buf, ctx.voidPromise());
            wrote = true;
        }
        if (copied != null) {
            ctx.write(copied, ctx.voidPromise());
            wrote = true;
        }
        if (wrote) {
            ctx.flush();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        RespProtocolException protocolError = protocolError(cause);
        if (protocolError != null) {
            // Reply to what was decoded before the error, then the error itself, then close.
            releaseHold(); // the error goes after the held replies, not into them
            if (pending == null) {
                pending = ctx.alloc().ioBuffer();
            }
            // ISO-8859-1: an offending byte quoted in the text goes back as that one byte, as Redis sends it.
            pending.writeCharSequence("-ERR " + protocolError.getMessage() + "\r\n", StandardCharsets.ISO_8859_1);
            if (!held.isEmpty()) {
                connection.closeAfterReply(); // the error and the close wait behind the deferred replies
                flushPending(ctx);
                return;
            }
            ByteBuf buf = pending;
            pending = null;
            ctx.writeAndFlush(buf).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (cause instanceof IOException) {
            log.debug("Client connection error: {}", cause.toString());
        } else if (cause.getCause() instanceof javax.net.ssl.SSLException tls) {
            // A client that does not trust us, or that we do not trust: the client's problem, one line.
            log.info("TLS handshake with {} failed: {}", connection.remoteAddress(), tls.getMessage());
        } else {
            log.warn("Closing client connection after an unexpected error", cause);
        }
        ctx.close();
    }

    private static RespProtocolException protocolError(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof RespProtocolException p) {
                return p;
            }
            if (!(t instanceof DecoderException)) {
                break;
            }
        }
        return null;
    }

    private void flushPending(ChannelHandlerContext ctx) {
        releaseHold();
        if (!held.isEmpty()) {
            if (pending != null) {
                if (pending.isReadable()) {
                    hold(pending);
                } else {
                    pending.release();
                }
                pending = null;
            }
            writeReady(ctx);
            return;
        }
        ByteBuf buf = pending;
        if (buf == null) {
            return;
        }
        pending = null;
        if (buf.isReadable()) {
            ctx.writeAndFlush(buf, ctx.voidPromise());
        } else {
            buf.release();
        }
    }

    private void releasePending() {
        releaseHold(); // what the held replies wait for still goes out (to the replicas); their slot is dropped below
        parked.clear();
        if (pending != null) {
            pending.release();
            pending = null;
        }
        for (Object o : held) {
            if (o instanceof DeferredReply slot) {
                slot.settled = true; // a reply still to come is released when it arrives
                slot.replyBytes = null;
                if (slot.reply != null) {
                    slot.reply.release();
                    slot.reply = null;
                }
            } else {
                ((ByteBuf) o).release();
            }
        }
        held.clear();
        HELD_BYTES.setOpaque(this, 0L);
        deferredWaiting = 0;
    }
}
