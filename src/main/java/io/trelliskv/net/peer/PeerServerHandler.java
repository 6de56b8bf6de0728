package io.trelliskv.net.peer;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.security.PeerAuthenticator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * The accepting side of one peer connection, after {@link PeerDecoder}: checks the caller's hello,
 * answers with this node's, then hands each request frame to the {@link PeerService} and writes its
 * answer with the request's id. Requests are answered as they complete, not necessarily in order; the
 * caller matches answers by id.
 */
public final class PeerServerHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(PeerServerHandler.class);
    /** Longest error message sent back, in bytes: enough for an operator, bounded for a malicious cause. */
    static final int MAX_ERROR_BYTES = 1024;

    private final PeerAcceptor acceptor;
    /** The caller's hello; null until it has arrived (and, under challenge and response, the response checked out). */
    private PeerHello peer;
    /** Under challenge and response: the caller's hello, until its response arrives; else null. */
    private PeerHello challenged;
    /** The proof this side's answering hello carried, which the caller's response must cover. */
    private byte[] answeredProof;
    /** Inside a read: answers ready now are written and flushed together when the read completes. */
    private boolean reading;
    /** Replies written but not yet flushed. */
    private boolean unflushed;

    public PeerServerHandler(PeerAcceptor acceptor) {
        this.acceptor = acceptor;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        reading = true;
        if (msg instanceof PeerHello hello) {
            onHello(ctx, hello);
        } else if (msg instanceof PeerFrame frame) {
            onFrame(ctx, frame);
        } else if (msg instanceof PeerFrameView view) {
            try {
                onFrameInPlace(ctx, view);
            } finally {
                view.release(); // the service has read what it needs
            }
        }
    }

    private void onHello(ChannelHandlerContext ctx, PeerHello hello) {
        String cluster = acceptor.self().clusterName();
        if (!hello.clusterName().equals(cluster)) {
            // Logged once per address, whatever cluster name it sends: names chosen by the sender must not make
            // one line each. They are printed escaped, so that no control character reaches the log.
            if (acceptor.firstRefusal(hostOf(ctx.channel().remoteAddress()), "another cluster")) {
                log.warn("Refusing peer {} (node {}, from {}): it is in cluster '{}', this node in '{}'",
                        printable(hello.address()), Long.toHexString(hello.nodeId()), ctx.channel().remoteAddress(),
                        printable(hello.clusterName()), cluster);
            }
            ctx.close();
            return;
        }
        PeerAuthenticator auth = acceptor.config().authenticator();
        if (auth != null && hello.nodeId() == acceptor.self().nodeId()) {
            // Its proof would check out: it is this node's own, sent back by whoever recorded it. A node never
            // needs to dial itself (its own address is left out of its seeds).
            String from = hostOf(ctx.channel().remoteAddress());
            auth.failed(from);
            if (acceptor.firstRefusal(from, "own id")) {
                log.warn("Refusing peer {} (from {}): its hello carries this node's own id, a hello of this node's"
                        + " sent back to it", printable(hello.address()), ctx.channel().remoteAddress());
            }
            ctx.close();
            return;
        }
        // A dialer of an earlier build refuses a hello of a later version: answer in the one it speaks.
        PeerHello answer = acceptor.self().withDeadlines(hello.readsDeadlines()).withUsers(hello.namesUsers());
        if (auth != null) {
            String from = hostOf(ctx.channel().remoteAddress());
            if (!auth.mayTry(from)) {
                if (acceptor.firstRefusal(from, "throttled")) {
                    log.warn("Refusing peer hellos from {} unchecked for a while: too many failed proofs of the"
                            + " cluster secret", ctx.channel().remoteAddress());
                }
                ctx.close();
                return;
            }
            if (hello.challenge()) {
                // Challenge and response: answer with a proof over the caller's nonce and one of this side's, and
                // handle nothing until the caller's response covers both.
                if (hello.proof() == null || hello.proof().length != PeerAuthenticator.CHALLENGE_BYTES) {
                    refuseDialer(ctx, auth, from, hello, hello.proof() == null ? "it has no cluster secret"
                            : "its challenge is malformed");
                    return;
                }
                answer = answer.withChallenge(true).withProof(auth.acceptorProof(answer.clusterName(),
                        answer.nodeId(), hello.proof()));
                challenged = hello;
                answeredProof = answer.proof();
                ctx.writeAndFlush(answer);
                return;
            }
            if (!auth.acceptDialer(hello.clusterName(), hello.nodeId(), hello.proof())) {
                refuseDialer(ctx, auth, from, hello, hello.proof() == null ? "it has no cluster secret"
                        : "its proof of the cluster secret is wrong or replayed");
                return;
            }
            answer = answer.withProof(auth.acceptorProof(answer.clusterName(), answer.nodeId(), hello.proof()));
        }
        peer = hello;
        ctx.writeAndFlush(answer);
    }

    /** Closes the connection of a caller whose proof failed, counting it and logging once per address. */
    private void refuseDialer(ChannelHandlerContext ctx, PeerAuthenticator auth, String from, PeerHello hello,
                              String why) {
        auth.failed(from);
        if (acceptor.firstRefusal(from, why)) {
            log.warn("Refusing peer {} (node {}, from {}): {}", printable(hello.address()),
                    Long.toHexString(hello.nodeId()), ctx.channel().remoteAddress(), why);
        }
        ctx.close();
    }

    /**
     * Under challenge and response, the caller's first frame: its response ({@code payload}; null for a frame read in
     * place, which is never one). True if the connection is through with it (the response checked out, and the caller
     * is a peer from now on; or it failed and the connection is closing); false if no response is awaited.
     */
    private boolean awaitedResponse(ChannelHandlerContext ctx, PeerMessageType type, byte[] payload) {
        if (challenged == null) {
            return false;
        }
        PeerHello caller = challenged;
        challenged = null;
        PeerAuthenticator auth = acceptor.config().authenticator();
        String from = hostOf(ctx.channel().remoteAddress());
        if (type != PeerMessageType.AUTH_RESPONSE) {
            refuseDialer(ctx, auth, from, caller, "it sent " + type + " before answering the challenge");
        } else if (!auth.acceptResponse(caller.clusterName(), caller.nodeId(), acceptor.self().nodeId(),
                caller.proof(), answeredProof, payload)) {
            refuseDialer(ctx, auth, from, caller, "its answer to the challenge is wrong");
        } else {
            peer = caller;
        }
        return true;
    }

    private void onFrame(ChannelHandlerContext ctx, PeerFrame frame) {
        if (awaitedResponse(ctx, frame.type(), frame.payload())) {
            return;
        }
        if (!accepts(ctx, frame.type())) {
            return;
        }
        CompletableFuture<byte[]> answer;
        try {
            answer = acceptor.service().handle(frame.type(), peer, frame.payload(), frame.deadlineMillis());
        } catch (RuntimeException e) {
            answer = failed(frame.type(), e);
        }
        answer(ctx, frame.requestId(), answer);
    }

    /** As {@link #onFrame}, for a request the service reads in place; the caller releases the view after. */
    private void onFrameInPlace(ChannelHandlerContext ctx, PeerFrameView view) {
        if (awaitedResponse(ctx, view.type(), null)) {
            return;
        }
        if (!accepts(ctx, view.type())) {
            return;
        }
        CompletableFuture<byte[]> answer;
        try {
            ByteBuffer payload = view.content().nioBuffer().order(ByteOrder.BIG_ENDIAN);
            answer = acceptor.service().handleInPlace(view.type(), peer, payload, view.deadlineMillis());
        } catch (RuntimeException e) {
            answer = failed(view.type(), e);
        }
        answer(ctx, view.requestId(), answer);
    }

    /** Whether a frame of {@code type} is a request to answer now; closes the connection at a frame that is not one. */
    private boolean accepts(ChannelHandlerContext ctx, PeerMessageType type) {
        if (peer == null) {
            return false; // refused at hello; the connection is closing
        }
        if (!type.isRequest()) {
            log.warn("Closing connection from peer {}: unexpected {} frame (expected: a request)", peer.address(), type);
            ctx.close();
            return false;
        }
        return true;
    }

    /** The answer to a request whose handling threw: a malformed payload, or a bug in the answering code. */
    private CompletableFuture<byte[]> failed(PeerMessageType type, RuntimeException e) {
        if (!(e instanceof MalformedMessageException)) {
            // A bug in the answering code: the peer gets one error reply, the connection and node go on.
            log.error("Answering {} from peer {} failed", type, peer.address(), e);
        }
        return CompletableFuture.failedFuture(e);
    }

    /** Writes the answer to request {@code id} once it completes. */
    private void answer(ChannelHandlerContext ctx, long id, CompletableFuture<byte[]> answer) {
        answer.whenComplete((reply, failure) -> {
            if (!ctx.channel().isActive()) {
                return;
            }
            PeerFrame out;
            if (failure == null && reply != null && reply.length > acceptor.config().maxFrameLength()
                    - PeerCodec.FRAME_OVERHEAD) {
                // The caller would refuse the frame and drop the connection, failing every other request on it.
                out = new PeerFrame(PeerMessageType.ERROR_REPLY, id, errorBytes("reply of " + reply.length
                        + " bytes is larger than a peer frame may carry (" + acceptor.config().maxFrameLength() + ")"));
            } else if (failure == null && reply != null) {
                out = new PeerFrame(PeerMessageType.REPLY, id, reply);
            } else {
                String message = failure == null ? "no reply" : describe(failure);
                out = new PeerFrame(PeerMessageType.ERROR_REPLY, id, errorBytes(message));
            }
            if (reading && ctx.executor().inEventLoop()) {
                ctx.write(out); // answered during this read: flushed once, when the read completes
                unflushed = true;
            } else {
                ctx.writeAndFlush(out);
            }
        });
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        reading = false;
        if (unflushed) {
            unflushed = false;
            ctx.flush();
        }
        var outbound = ctx.channel().unsafe().outboundBuffer();
        long pending = outbound == null ? 0 : outbound.totalPendingWriteBytes();
        if (pending > 2L * acceptor.config().maxFrameLength()) {
            log.warn("Closing connection from peer {}: {} bytes of replies not taken", peer != null ? peer.address()
                    : ctx.channel().remoteAddress(), pending);
            ctx.close();
        }
        ctx.fireChannelReadComplete();
    }

    /** A caller that does not take its replies is not read from until it does. */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.warn("Closing connection from peer {}: {}", peer != null ? peer.address() : ctx.channel().remoteAddress(),
                cause.toString());
        ctx.close();
    }

    private static String describe(Throwable failure) {
        Throwable t = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    static byte[] errorBytes(String message) {
        byte[] b = message.getBytes(StandardCharsets.UTF_8);
        return b.length <= MAX_ERROR_BYTES ? b : Arrays.copyOf(b, MAX_ERROR_BYTES);
    }

    private static String hostOf(SocketAddress address) {
        return address instanceof InetSocketAddress a ? a.getHostString() : String.valueOf(address);
    }

    /** {@code text} as it may go into a log line: control characters (a sender's CR/LF among them) as {@code \\uXXXX}. */
    public static String printable(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c)) {
                out.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
