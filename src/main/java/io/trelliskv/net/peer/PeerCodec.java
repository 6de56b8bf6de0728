package io.trelliskv.net.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;

/**
 * The peer wire format, shared by the node port's accepting side and {@link PeerClient}.
 *
 * <h2>Layout</h2>
 * <pre>
 * hello:  [byte MAGIC 0xF7][byte VERSION][u8 n][n bytes cluster name, UTF-8]
 *         [u8 m][m bytes host, UTF-8][u16 port][i64 node id]
 *         and in version {@link #VERSION_WITH_PROOF} only: [u8 p][p bytes proof of the cluster secret]
 * frame:  [i32 length][u8 type][i64 request id][length - 9 bytes payload]
 * </pre>
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
        ByteBuf out = alloc.buffer(2 + 1 + cluster.length + 1 + host.length + 2 + 8 + (proof == null ? 0 : 1 + proof.length));
        out.writeByte(MAGIC).writeByte(proof == null ? VERSION : VERSION_WITH_PROOF);
        out.writeByte(cluster.length).writeBytes(cluster);
        out.writeByte(host.length).writeBytes(host);
        out.writeShort(hello.port()).writeLong(hello.nodeId());
        if (proof != null) {
            out.writeByte(proof.length).writeBytes(proof);
        }
        return out;
    }

    /**
     * One frame: a small header buffer followed by the payload wrapped without copying (the caller must
     * not change the array until the write completes).
     */
    public static ByteBuf encodeFrame(ByteBufAllocator alloc, PeerFrame frame) {
        byte[] payload = frame.payload();
        // One buffer for header and payload: the socket takes it as is, where a composite of two would be
        // gathered (and a heap payload copied to direct memory) on every write.
        ByteBuf buf = alloc.ioBuffer(LENGTH_FIELD + FRAME_OVERHEAD + payload.length);
        buf.writeInt(FRAME_OVERHEAD + payload.length).writeByte(frame.type().code()).writeLong(frame.requestId());
        return buf.writeBytes(payload);
    }
}
