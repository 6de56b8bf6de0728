package io.trelliskv.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.trelliskv.net.peer.PeerAcceptor;
import io.trelliskv.net.peer.PeerCodec;
import io.trelliskv.net.peer.PeerDecoder;
import io.trelliskv.net.peer.PeerEncoder;
import io.trelliskv.net.peer.PeerServerHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * First handler of every connection on the shared port: looks at the first byte and removes itself.
 * {@link PeerCodec#MAGIC} means a peer: the RESP handlers are taken out (the client connection they
 * registered at accept is ended as if it had closed) and the peer handlers put in their place. Any
 * other byte means a client: the RESP pipeline stays as it is. Either way the bytes already read go on
 * to the new first handler, and from then on the detector costs nothing.
 *
 * <p>The RESP handlers are in place from the accept on because Redis answers a client over
 * {@code maxclients} at once, before it sends anything. So a peer connection counts as a client until
 * its first byte: when the node is full of clients, a peer is refused too.
 */
final class ProtocolDetector extends ByteToMessageDecoder {

    private static final Logger log = LoggerFactory.getLogger(ProtocolDetector.class);

    /** Null when the node accepts no peers. */
    private final PeerAcceptor peers;

    ProtocolDetector(PeerAcceptor peers) {
        this.peers = peers;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!in.isReadable()) {
            return;
        }
        ChannelPipeline p = ctx.pipeline();
        if (in.getByte(in.readerIndex()) == PeerCodec.MAGIC) {
            if (peers == null) {
                log.warn("Closing connection from {}: it speaks the peer protocol, but this node takes no peers",
                        ctx.channel().remoteAddress());
                in.skipBytes(in.readableBytes());
                ctx.close();
                return;
            }
            endClientConnection(p);
            p.addAfter(ctx.name(), ClientPipeline.PEER_DECODER, new PeerDecoder(peers.config().maxFrameLength()));
            p.addAfter(ClientPipeline.PEER_DECODER, ClientPipeline.PEER_ENCODER, PeerEncoder.INSTANCE);
            p.addAfter(ClientPipeline.PEER_ENCODER, ClientPipeline.PEER_HANDLER, new PeerServerHandler(peers));
        }
        p.remove(this);
    }

    private static void endClientConnection(ChannelPipeline p) {
        ChannelHandlerContext client = p.context(ClientPipeline.CLIENT_HANDLER);
        if (client != null) {
            ((ClientHandler) client.handler()).channelInactive(client);
            p.remove(ClientPipeline.CLIENT_HANDLER);
        }
        if (p.get(ClientPipeline.RESP_DECODER) != null) {
            p.remove(ClientPipeline.RESP_DECODER);
        }
    }
}
