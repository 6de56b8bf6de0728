package io.trelliskv.net.peer;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;

import java.util.List;

/** Encodes a {@link PeerHello}, a {@link PeerFrame} or a {@link PeerRequest} as {@link PeerCodec} lays them out. Stateless, shared. */
@ChannelHandler.Sharable
public final class PeerEncoder extends MessageToMessageEncoder<Object> {

    public static final PeerEncoder INSTANCE = new PeerEncoder();

    private PeerEncoder() {
    }

    @Override
    public boolean acceptOutboundMessage(Object msg) {
        return msg instanceof PeerFrame || msg instanceof PeerRequest || msg instanceof PeerHello;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) {
        if (msg instanceof PeerRequest r) {
            out.add(PeerCodec.encodeRequest(ctx.alloc(), r));
        } else if (msg instanceof PeerFrame f) {
            out.add(PeerCodec.encodeFrame(ctx.alloc(), f));
        } else {
            out.add(PeerCodec.encodeHello(ctx.alloc(), (PeerHello) msg));
        }
    }
}
