package io.trelliskv.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.trelliskv.net.peer.PeerAcceptor;
import io.trelliskv.net.peer.PeerCodec;
import io.trelliskv.net.peer.PeerEncoder;
import io.trelliskv.net.peer.PeerServerHandler;
import io.trelliskv.net.peer.PeerTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * First handler of every connection on the shared port: looks at the first bytes and removes itself.
 * {@link PeerCodec#MAGIC} means a peer: the RESP handlers are taken out (the client connection they
 * registered at accept is ended as if it had closed) and the peer handlers put in their place. Any
 * other byte means a client: the RESP pipeline stays as it is (on a plain port that serves no clients,
 * {@code --tls-clients-only yes}, the client gets one error naming the TLS port and is closed). Either way the bytes already read go on
 * to the new first handler, and from then on the detector costs nothing.
 *
 * <p><b>Peers under TLS</b> ({@code --tls-cluster yes}, {@link PeerTls}). A TLS ClientHello (a handshake
 * record: {@code 0x16}, then version {@code 0x03 0x01..0x04}; neither a RESP type byte nor the start of an
 * inline command) means a peer dialing with TLS: a server TLS handler that requires the peer's certificate
 * goes in after this detector, and a second detector after it looks at the decrypted bytes, where only a
 * peer is accepted. On such a node a peer hello outside TLS is refused: the connection is closed, counted
 * ({@link PeerTls#plaintextPeersRefused()}) and logged once per address; with {@code --tls-cluster optional}
 * (the middle step of a rolling switch) it is accepted. A node without peer TLS closes a
 * ClientHello on its plain port with one warning per address (a peer with {@code --tls-cluster yes}
 * dialing a node without it). Clients never meet any of this: they speak RESP from their first byte.
 *
 * <p>The RESP handlers are in place from the accept on because Redis answers a client over
 * {@code maxclients} at once, before it sends anything. A peer connection counts as a client until its
 * first byte and as a peer from then on ({@link ClientRegistry}): clients and peers share the limit, as
 * Redis's clients and replicas do. A connection refused at accept waits for its first byte (briefly, see
 * {@link ClientHandler}), and if that shows a peer it is counted as a refused peer and logged once per
 * address.
 */
final class ProtocolDetector extends ByteToMessageDecoder {

    private static final Logger log = LoggerFactory.getLogger(ProtocolDetector.class);
    /** The first byte of a TLS handshake record (a ClientHello on a new connection). */
    static final byte TLS_HANDSHAKE = 0x16;
    /** Bytes that tell a ClientHello: the record type and the two bytes of its version. */
    private static final int TLS_RECORD_PREFIX = 3;

    /** Null when the node accepts no peers. */
    private final PeerAcceptor peers;
    /** Where a peer connection keeps its place under {@code --maxclients}. */
    private final ClientRegistry registry;
    /** Whether this detector reads the bytes decrypted by a peer TLS handler (so only a peer is accepted). */
    private final boolean decrypted;
    /** On a plain port that serves no clients ({@code --tls-clients-only yes}), the error they get; else null. */
    private final String plaintextRefusal;

    /** @param plaintextRefusal the error a RESP client gets before it is closed ({@code --tls-clients-only}); null to serve it */
    ProtocolDetector(PeerAcceptor peers, ClientRegistry registry, String plaintextRefusal) {
        this(peers, registry, false, plaintextRefusal);
    }

    private ProtocolDetector(PeerAcceptor peers, ClientRegistry registry, boolean decrypted, String plaintextRefusal) {
        this.peers = peers;
        this.registry = registry;
        this.decrypted = decrypted;
        this.plaintextRefusal = plaintextRefusal;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!in.isReadable()) {
            return;
        }
        ChannelPipeline p = ctx.pipeline();
        byte first = in.getByte(in.readerIndex());
        if (!decrypted && first == TLS_HANDSHAKE) {
            if (in.readableBytes() < TLS_RECORD_PREFIX) {
                return; // wait for the version bytes
            }
            if (isClientHello(in)) {
                if (refusedPeer(ctx, in)) {
                    return;
                }
                startPeerTls(ctx, in);
                return;
            }
        }
        if (first == PeerCodec.MAGIC) {
            if (peers == null) {
                log.warn("Closing connection from {}: it speaks the peer protocol, but this node takes no peers",
                        ctx.channel().remoteAddress());
                close(ctx, in);
                return;
            }
            if (!decrypted && refusedPeer(ctx, in)) {
                return;
            }
            PeerTls tls = peers.config().tls();
            if (tls != null && !decrypted && !tls.config().optional()) {
                tls.plaintextRefused();
                if (peers.firstRefusal(hostOf(ctx.channel().remoteAddress()), "plaintext")) {
                    log.warn("Refusing peer connection from {}: it is not under TLS, and this node has --tls-cluster"
                            + " yes", ctx.channel().remoteAddress());
                }
                close(ctx, in);
                return;
            }
            endClientConnection(p, registry);
            p.addAfter(ctx.name(), ClientPipeline.PEER_DECODER, peers.newDecoder());
            p.addAfter(ClientPipeline.PEER_DECODER, ClientPipeline.PEER_ENCODER, PeerEncoder.INSTANCE);
            p.addAfter(ClientPipeline.PEER_ENCODER, ClientPipeline.PEER_HANDLER, new PeerServerHandler(peers));
        } else if (decrypted) {
            log.warn("Closing connection from {}: under peer TLS it does not speak the peer protocol",
                    ctx.channel().remoteAddress());
            close(ctx, in);
            return;
        } else if (plaintextRefusal != null) {
            refusePlaintextClient(ctx, in);
            return;
        }
        p.remove(this);
    }

    /**
     * A RESP client on a plain port that serves none ({@code --tls-clients-only yes}): one error naming the TLS
     * port, then the connection closes, counted (nothing it sent is run). A client refused at accept already
     * has its error.
     */
    private void refusePlaintextClient(ChannelHandlerContext ctx, ByteBuf in) {
        in.skipBytes(in.readableBytes());
        ChannelHandlerContext client = ctx.pipeline().context(ClientPipeline.CLIENT_HANDLER);
        if (client != null && ((ClientHandler) client.handler()).refused()) {
            ((ClientHandler) client.handler()).closeRefused();
            return;
        }
        registry.refusedPlaintextClient();
        ByteBuf error = ctx.alloc().buffer();
        error.writeCharSequence("-ERR " + plaintextRefusal + "\r\n", StandardCharsets.US_ASCII);
        ctx.writeAndFlush(error).addListener(ChannelFutureListener.CLOSE);
    }

    /** A TLS record of type handshake, versions SSL 3.1 (TLS 1.0) to 3.4, as every ClientHello starts. */
    private static boolean isClientHello(ByteBuf in) {
        int at = in.readerIndex();
        byte minor = in.getByte(at + 2);
        return in.getByte(at + 1) == 0x03 && minor >= 0x01 && minor <= 0x04;
    }

    /** Puts the peer TLS handler and a detector of the decrypted bytes after this one, which leaves. */
    private void startPeerTls(ChannelHandlerContext ctx, ByteBuf in) {
        PeerTls tls = peers == null ? null : peers.config().tls();
        if (tls == null) {
            String from = hostOf(ctx.channel().remoteAddress());
            if (peers == null || peers.firstRefusal(from, "tls")) {
                log.warn("Closing connection from {}: it starts TLS on the plain port, which this node serves in"
                        + " plaintext only (a peer with --tls-cluster yes or optional, and this node with no?)",
                        ctx.channel().remoteAddress());
            }
            close(ctx, in);
            return;
        }
        ChannelPipeline p = ctx.pipeline();
        p.addAfter(ctx.name(), ClientPipeline.PEER_TLS, tls.serverHandler(ctx.alloc()));
        p.addAfter(ClientPipeline.PEER_TLS, ClientPipeline.PEER_TLS_DETECTOR, new ProtocolDetector(peers, registry, true, null));
        p.remove(this);
    }

    /** A peer whose handshake failed (no certificate, or one the CA did not sign) is logged once per address. */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (decrypted && evt instanceof SslHandshakeCompletionEvent done && !done.isSuccess()) {
            PeerTls tls = peers.config().tls();
            if (tls != null) {
                tls.handshakeFailed();
            }
            if (peers.firstRefusal(hostOf(ctx.channel().remoteAddress()), "tls handshake")) {
                log.warn("Refusing peer connection from {}: TLS handshake failed: {}", ctx.channel().remoteAddress(),
                        done.cause().getMessage());
            }
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    /** Under peer TLS, a failed handshake is reported by {@link #userEventTriggered}; the connection just closes. */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
        if (decrypted) {
            ctx.close();
            return;
        }
        super.exceptionCaught(ctx, cause);
    }

    private static void close(ChannelHandlerContext ctx, ByteBuf in) {
        in.skipBytes(in.readableBytes());
        ctx.close();
    }

    private static String hostOf(SocketAddress address) {
        return address instanceof InetSocketAddress a ? a.getHostString() : String.valueOf(address);
    }

    /**
     * A peer on a connection refused at accept ({@code --maxclients} reached): counted, logged once per
     * address, and closed once the refusal is written. False for a connection that was not refused.
     */
    private boolean refusedPeer(ChannelHandlerContext ctx, ByteBuf in) {
        ChannelHandlerContext client = ctx.pipeline().context(ClientPipeline.CLIENT_HANDLER);
        if (client == null || !((ClientHandler) client.handler()).refused()) {
            return false;
        }
        registry.rejectedPeer();
        if (peers == null || peers.firstRefusal(hostOf(ctx.channel().remoteAddress()), "maxclients")) {
            log.warn("Refusing peer connection from {}: {} connections (clients and peers) are open, the most"
                    + " --maxclients allows", ctx.channel().remoteAddress(), registry.maxClients());
        }
        in.skipBytes(in.readableBytes());
        ((ClientHandler) client.handler()).closeRefused();
        return true;
    }

    /** The client handlers leave; the connection keeps its place under {@code --maxclients} as a peer. */
    private static void endClientConnection(ChannelPipeline p, ClientRegistry registry) {
        ChannelHandlerContext client = p.context(ClientPipeline.CLIENT_HANDLER);
        if (client != null) {
            ClientHandler handler = (ClientHandler) client.handler();
            if (handler.connection() != null) {
                handler.becamePeer();
                p.channel().closeFuture().addListener(f -> registry.peerClosed());
            }
            p.remove(ClientPipeline.CLIENT_HANDLER);
        }
        if (p.get(ClientPipeline.RESP_DECODER) != null) {
            p.remove(ClientPipeline.RESP_DECODER);
        }
    }
}
