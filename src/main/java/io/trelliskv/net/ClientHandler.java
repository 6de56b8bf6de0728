package io.trelliskv.net;

import io.netty.buffer.ByteBuf;
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

/**
 * Serves one client connection: hands each decoded command to the {@link CommandSink} and batches the
 * replies of one read into a single buffer, flushed when the read completes (so a pipeline of 16
 * commands costs one write system call, not 16).
 *
 * <p>Back-pressure: when the client does not read its replies and the channel's outbound buffer passes
 * the high water mark, the channel turns unwritable and this handler stops reading from it until the
 * client catches up. A client whose pending replies pass the hard limit anyway (one huge reply) is
 * disconnected, as Redis does for its output buffer limits.
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
        if (connection == null || connection.closeAfterReplyRequested()) {
            return; // refused at accept, or QUIT already seen: drop what follows
        }
        if (pending == null) {
            pending = ctx.alloc().ioBuffer();
            connection.writer().target(pending);
        }
        sink.execute(connection, (byte[][]) msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        flushPending(ctx);
        if (connection != null && connection.closeAfterReplyRequested()) {
            ctx.close();
            return;
        }
        if (config.outputBufferHardBytes() > 0 && connection != null
                && connection.pendingOutputBytes() > config.outputBufferHardBytes()) {
            log.warn("Closing client id={} addr={}: {} bytes of replies pending, over the output buffer limit",
                    connection.id(), connection.remoteAddress(), connection.pendingOutputBytes());
            ctx.close();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // Stop reading requests from a client that is not reading its replies; resume when it has.
        ctx.channel().config().setAutoRead(ctx.channel().isWritable());
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
            pending.writeCharSequence("-ERR " + protocolError.getMessage() + "\r\n", StandardCharsets.UTF_8);
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
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }
}
