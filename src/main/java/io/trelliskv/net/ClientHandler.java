package io.trelliskv.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.trelliskv.common.Clock;
import io.trelliskv.resp.RespProtocolException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * Serves one client connection: hands each decoded command to the {@link CommandSink} and batches the
 * replies of one read into a single buffer, flushed when the read completes (so a pipeline of 16
 * commands costs one write system call, not 16).
 *
 * <p>Back-pressure: a short pipeline can ask for far more reply bytes than it sent (2,000 GETs of a
 * large value), so the limit is applied between commands, not only between reads. When the replies
 * of the current read pass the soft limit they are flushed at once; when the client does not take
 * them and the channel turns unwritable, the commands still to run are parked (they are already in
 * memory, and reading stops) and run when the client has caught up. A client whose pending replies
 * pass the hard limit anyway (one huge reply) is disconnected, as Redis does for its output buffer
 * limits.
 */
final class ClientHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(ClientHandler.class);

    private final CommandSink sink;
    private final ClientRegistry registry;
    private final NetConfig config;
    private final Clock clock;
    private ClientConnection connection;
    /** Replies produced during the current read, not yet written to the channel; null when none. */
    private ByteBuf pending;
    /** Commands decoded while the channel was unwritable, run in order once it is writable again. */
    private final ArrayDeque<byte[][]> parked = new ArrayDeque<>();

    ClientHandler(CommandSink sink, ClientRegistry registry, NetConfig config, Clock clock) {
        this.sink = sink;
        this.registry = registry;
        this.config = config;
        this.clock = clock;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        connection = registry.register(ctx.channel(), clock.millis());
        if (connection == null) {
            ByteBuf msg = ctx.alloc().buffer();
            msg.writeCharSequence("-ERR max number of clients reached\r\n", StandardCharsets.US_ASCII);
            ctx.writeAndFlush(msg).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        sink.connected(connection);
        ctx.fireChannelActive();
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
        if (connection == null || !ctx.channel().isActive() || connection.closeAfterReplyRequested()) {
            return; // refused at accept, closed, or QUIT already seen: drop what follows
        }
        byte[][] args = (byte[][]) msg;
        if (!parked.isEmpty() || !ctx.channel().isWritable()) {
            parked.add(args);
            ctx.channel().config().setAutoRead(false);
            return;
        }
        run(ctx, args);
    }

    private void run(ChannelHandlerContext ctx, byte[][] args) {
        if (pending == null) {
            pending = ctx.alloc().ioBuffer();
            connection.writer().target(pending);
        }
        sink.execute(connection, args);
        if (pending.readableBytes() >= config.outputBufferSoftBytes()) {
            flushPending(ctx); // may turn the channel unwritable, parking what follows
            closeIfOverHardLimit(ctx);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        flushPending(ctx);
        if (connection != null && connection.closeAfterReplyRequested()) {
            ctx.close();
            return;
        }
        closeIfOverHardLimit(ctx);
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
        Channel ch = ctx.channel();
        // Run what was parked while the client was not reading, as long as it keeps up.
        while (ch.isWritable() && ch.isActive() && !parked.isEmpty() && !connection.closeAfterReplyRequested()) {
            run(ctx, parked.poll());
        }
        flushPending(ctx);
        if (connection != null && connection.closeAfterReplyRequested()) {
            ctx.close();
            return;
        }
        // Read more requests only once the client takes its replies and nothing is parked.
        ch.config().setAutoRead(ch.isWritable() && parked.isEmpty());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        RespProtocolException protocolError = protocolError(cause);
        if (protocolError != null) {
            // Reply to what was decoded before the error, then the error itself, then close.
            if (pending == null) {
                pending = ctx.alloc().ioBuffer();
            }
            // ISO-8859-1: an offending byte quoted in the text goes back as that one byte, as Redis sends it.
            pending.writeCharSequence("-ERR " + protocolError.getMessage() + "\r\n", StandardCharsets.ISO_8859_1);
            ByteBuf buf = pending;
            pending = null;
            ctx.writeAndFlush(buf).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (cause instanceof IOException) {
            log.debug("Client connection error: {}", cause.toString());
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
        parked.clear();
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }
}
