package io.trelliskv.net.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The peer wire format, shared by the node port's accepting side and {@link PeerClient}.
 *
 * <h2>Layout</h2>
 * <pre>
 * hello:  [byte MAGIC 0xF7][byte VERSION][u8 n][n bytes cluster name, UTF-8]
 *         [u8 m][m bytes host, UTF-8][u16 port][i64 node id]
 *         and in version {@link #VERSION_WITH_PROOF}: [u8 p][p bytes proof of the cluster secret]
 *         and in version {@link #VERSION_WITH_DEADLINES}: [u8 p][p bytes proof], p = 0 without a proof
 *         and in version {@link #VERSION_WITH_CHALLENGE}: the same
 *         and in version {@link #VERSION_WITH_FEATURES}: the same, then [u8 features]
 * frame:  [i32 length][u8 type][i64 request id][length - 9 bytes payload]
 * </pre>
 * A request with a deadline is a frame of type {@link PeerMessageType#DEADLINE} whose payload is
 * {@code [i64 deadline][u8 the request's type][the request's payload]}.
 * All integers are big-endian; {@code length} counts what follows it (type, request id, payload), so
 * it is at least {@value #FRAME_OVERHEAD} and at most the configured {@link PeerConfig#maxFrameLength()}.
 * Each side sends exactly one hello, first (the connecting side without waiting), then frames.
 *
 * <h2>Why 0xF7</h2>
 * Peers and clients share one TCP port and are told apart by the first byte. A RESP request starts with
 * {@code *} and an inline command with a printable character; 0xF7 is neither ASCII nor ever a byte of
 * valid UTF-8 (0xF5 to 0xFF never are), and unlike 0xFF (telnet's IAC) and 0xEF/0xFE/0xFF (byte order
 * marks) no common tool sends it first. A client typing at the port cannot start a peer connection.
 *
 * <h2>Versions</h2>
 * {@link #VERSION} changes when the layout or the meaning of an existing frame type changes; a node
 * refuses a hello of another version. New frame types are appended to {@link PeerMessageType}.
 * A hello of {@link #VERSION_WITH_DEADLINES} says that its sender reads {@link PeerMessageType#DEADLINE}
 * frames. A node dials with it; the acceptor answers in the same version, or in the earlier ones to a
 * dialer of an earlier build, and only a dialer answered in it sends deadlines. A node of an earlier
 * build refuses the hello by closing the connection; {@link PeerClient} then speaks the earlier version
 * to that peer (until a connect to it fails: it may come back upgraded).
 */
public final class PeerCodec {

    /** The first byte of every peer connection, and of none that speaks RESP. */
    public static final byte MAGIC = (byte) 0xF7;
    /** The protocol version this build speaks, the second byte of a peer connection. */
    public static final byte VERSION = 1;
    /**
     * The same protocol with a proof of the cluster secret in the hello: what a node with
     * {@code --cluster-secret-file} sends. A node without a secret still sends {@link #VERSION}, so nodes of
     * earlier builds keep talking to it.
     */
    public static final byte VERSION_WITH_PROOF = 2;
    /**
     * The hello of a node that reads requests with a deadline ({@link PeerMessageType#DEADLINE}), with or
     * without a proof of the cluster secret (a proof length of 0: none).
     */
    public static final byte VERSION_WITH_DEADLINES = 3;
    /**
     * The hello of a node that proves the cluster secret by challenge and response
     * ({@link io.trelliskv.security.PeerAuthenticator}): as {@link #VERSION_WITH_DEADLINES}, but a dialer's proof is a
     * fresh nonce, the acceptor answers in this version with its proof over it and a nonce of its own, and the
     * dialer's first frame is a {@link PeerMessageType#AUTH_RESPONSE} over both, before any request. Sent only with
     * a cluster secret; a dialer whose hello of this version is refused (an earlier build) dials again in
     * {@link #VERSION_WITH_DEADLINES}.
     */
    public static final byte VERSION_WITH_CHALLENGE = 4;
    /**
     * The hello of a node whose forwarded commands name the client's user ({@link #FEATURE_USERS}): as
     * {@link #VERSION_WITH_DEADLINES}, followed by a byte of feature bits — {@link #FEATURE_CHALLENGE} where
     * {@link #VERSION_WITH_CHALLENGE} would have been sent, {@link #FEATURE_USERS} always from this build. A reader
     * ignores the bits it does not know, so a later feature needs a bit, not a version. A dialer whose hello of this
     * version is refused (an earlier build) dials again in the version before.
     */
    public static final byte VERSION_WITH_FEATURES = 5;
    /** Feature bit: the sender proves the cluster secret by challenge and response, as {@link #VERSION_WITH_CHALLENGE}. */
    public static final int FEATURE_CHALLENGE = 1;
    /**
     * Feature bit: the sender's forwarded commands name the client's user, and it reads such forwards
     * ({@code request.ForwardCodec}). A dialer that offered it writes them from its first frame on: an acceptor
     * either speaks the version offered or refuses the hello before reading any frame.
     */
    public static final int FEATURE_USERS = 2;
    /** Bytes a frame's length counts besides its payload: the type byte and the request id. */
    public static final int FRAME_OVERHEAD = 1 + 8;
    /** Bytes of the length field in front of every frame. */
    public static final int LENGTH_FIELD = 4;

    private PeerCodec() {
    }

    /** The complete hello (magic, version and the sender's identity). */
    public static ByteBuf encodeHello(ByteBufAllocator alloc, PeerHello hello) {
        byte[] cluster = hello.clusterName().getBytes(StandardCharsets.UTF_8);
        byte[] host = hello.host().getBytes(StandardCharsets.UTF_8);
        byte[] proof = hello.proof();
        byte version = hello.version();
        boolean proofField = version != VERSION;
        ByteBuf out = alloc.buffer(2 + 1 + cluster.length + 1 + host.length + 2 + 8
                + (proofField ? 1 + (proof == null ? 0 : proof.length) : 0) + (version == VERSION_WITH_FEATURES ? 1 : 0));
        out.writeByte(MAGIC).writeByte(version);
        out.writeByte(cluster.length).writeBytes(cluster);
        out.writeByte(host.length).writeBytes(host);
        out.writeShort(hello.port()).writeLong(hello.nodeId());
        if (proofField) {
            out.writeByte(proof == null ? 0 : proof.length);
            if (proof != null) {
                out.writeBytes(proof);
            }
        }
        if (version == VERSION_WITH_FEATURES) {
            out.writeByte(hello.features());
        }
        return out;
    }

    /** One frame, header and payload in one buffer (the socket takes it as is: nothing to gather). */
    public static ByteBuf encodeFrame(ByteBufAllocator alloc, PeerFrame frame) {
        byte[] payload = frame.payload();
        ByteBuf buf = alloc.ioBuffer(LENGTH_FIELD + FRAME_OVERHEAD
                + (frame.hasDeadline() ? DEADLINE_HEADER : 0) + payload.length);
        writeHeader(buf, frame.type(), frame.requestId(), frame.deadlineMillis(), payload.length);
        return buf.writeBytes(payload);
    }

    /**
     * A request frame, its payload written straight into the frame's buffer: the same bytes as
     * {@link #encodeFrame} of the {@link PeerFrame} with the payload's bytes.
     *
     * @throws IllegalStateException if the payload does not write the length it announced
     */
    public static ByteBuf encodeRequest(ByteBufAllocator alloc, PeerRequest request) {
        PeerPayload payload = request.payload();
        int length = payload.length();
        ByteBuf buf = alloc.ioBuffer(LENGTH_FIELD + FRAME_OVERHEAD
                + (request.hasDeadline() ? DEADLINE_HEADER : 0) + length);
        try {
            writeHeader(buf, request.type(), request.requestId(), request.deadlineMillis(), length);
            if (payload instanceof PeerPayload.Bytes bytes) {
                return buf.writeBytes(bytes.bytes());
            }
            int at = buf.writerIndex();
            buf.ensureWritable(length);
            ByteBuffer out = buf.nioBuffer(at, length).order(ByteOrder.BIG_ENDIAN);
            payload.writeTo(out);
            if (out.position() != length) {
                throw new IllegalStateException(request.type() + " payload wrote " + out.position()
                        + " bytes (expected: " + length + ")");
            }
            return buf.writerIndex(at + length);
        } catch (RuntimeException e) {
            buf.release();
            throw e;
        }
    }

    /** The length field and the header of a frame of {@code payloadLength} bytes, in its envelope if it has a deadline. */
    private static void writeHeader(ByteBuf buf, PeerMessageType type, long requestId, long deadlineMillis,
                                    int payloadLength) {
        if (deadlineMillis != PeerFrame.NO_DEADLINE) {
            buf.writeInt(FRAME_OVERHEAD + DEADLINE_HEADER + payloadLength);
            buf.writeByte(PeerMessageType.DEADLINE.code()).writeLong(requestId)
                    .writeLong(deadlineMillis).writeByte(type.code());
        } else {
            buf.writeInt(FRAME_OVERHEAD + payloadLength);
            buf.writeByte(type.code()).writeLong(requestId);
        }
    }

    /** Bytes a {@link PeerMessageType#DEADLINE} envelope adds before the request's payload: deadline and type. */
    static final int DEADLINE_HEADER = 8 + 1;
}
