package io.trelliskv.net.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Decodes the peer protocol of {@link PeerCodec}: first one {@link PeerHello}, then {@link PeerFrame}s.
 * A state machine that waits for whole units without consuming partial input, so a stream split at any
 * byte decodes the same. Any violation (magic, version, name lengths, frame length, unknown type) logs
 * one line naming the peer, closes the connection and discards whatever else arrives.
 */
public final class PeerDecoder extends ByteToMessageDecoder {

    private static final Logger log = LoggerFactory.getLogger(PeerDecoder.class);

    /** Malformed peer traffic is logged at most once a second, over all connections. */
    private static final io.trelliskv.common.LogLimiter MALFORMED = new io.trelliskv.common.LogLimiter(1_000);

    private enum State { HELLO, FRAMES, FAILED }

    private final int maxFrameLength;
    /** The request types handed on as {@link PeerFrameView}s, their payloads not copied. */
    private final Predicate<PeerMessageType> inPlace;
    private State state = State.HELLO;

    /** @param maxFrameLength largest accepted value of a frame's length field, in bytes */
    public PeerDecoder(int maxFrameLength) {
        this(maxFrameLength, type -> false);
    }

    /**
     * @param inPlace the request types to hand on as {@link PeerFrameView}s (views of the read buffer) instead
     *                of {@link PeerFrame}s with a copy of the payload
     */
    public PeerDecoder(int maxFrameLength, Predicate<PeerMessageType> inPlace) {
        this.maxFrameLength = maxFrameLength;
        this.inPlace = Objects.requireNonNull(inPlace, "inPlace");
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        try {
            while (state != State.FAILED && in.isReadable()) {
                Object decoded = state == State.HELLO ? decodeHello(in) : decodeFrame(in);
                if (decoded == null) {
                    return;
                }
                out.add(decoded);
                if (state == State.HELLO) {
                    state = State.FRAMES;
                }
            }
        } catch (PeerProtocolException e) {
            state = State.FAILED;
            // Anyone who reaches the port can send a malformed hello on connection after connection: one line a
            // second at most, saying how many it stands for.
            long held = MALFORMED.admit();
            if (held >= 0) {
                log.warn("Closing peer connection from {}: {}{}", ctx.channel().remoteAddress(), e.getMessage(),
                        io.trelliskv.common.LogLimiter.more(held));
            }
            ctx.close();
        }
        if (state == State.FAILED) {
            in.skipBytes(in.readableBytes());
        }
    }

    private static PeerHello decodeHello(ByteBuf in) {
        int r = in.readerIndex();
        byte magic = in.getByte(r);
        if (magic != PeerCodec.MAGIC) {
            throw new PeerProtocolException(String.format("magic: 0x%02X (expected: 0x%02X)",
                    magic & 0xFF, PeerCodec.MAGIC & 0xFF));
        }
        if (in.readableBytes() < 2) {
            return null;
        }
        byte version = in.getByte(r + 1);
        if (version < PeerCodec.VERSION || version > PeerCodec.VERSION_WITH_FEATURES) {
            throw new PeerProtocolException("protocol version: " + version + " (expected: " + PeerCodec.VERSION
                    + " to " + PeerCodec.VERSION_WITH_FEATURES + ")");
        }
        if (in.readableBytes() < 3) {
            return null;
        }
        int clusterLength = in.getUnsignedByte(r + 2);
        if (in.readableBytes() < 3 + clusterLength + 1) {
            return null;
        }
        int hostLength = in.getUnsignedByte(r + 3 + clusterLength);
        int total = 3 + clusterLength + 1 + hostLength + 2 + 8;
        int proofLength = 0;
        if (version != PeerCodec.VERSION) {
            if (in.readableBytes() < total + 1) {
                return null;
            }
            proofLength = in.getUnsignedByte(r + total);
            if (proofLength == 0 && version == PeerCodec.VERSION_WITH_PROOF) {
                throw new PeerProtocolException("hello: empty proof (expected: 1 to 255 bytes)");
            }
            total += 1 + proofLength; // a proof length of 0 (version 3 and later): no proof
        }
        int proofEnd = total;
        if (version == PeerCodec.VERSION_WITH_FEATURES) {
            total += 1; // the features byte
        }
        if (in.readableBytes() < total) {
            return null;
        }
        if (clusterLength == 0 || hostLength == 0) {
            throw new PeerProtocolException("hello: empty " + (clusterLength == 0 ? "cluster name" : "host")
                    + " (expected: 1 to " + PeerHello.MAX_NAME_BYTES + " bytes)");
        }
        String cluster = in.toString(r + 3, clusterLength, StandardCharsets.UTF_8);
        String host = in.toString(r + 4 + clusterLength, hostLength, StandardCharsets.UTF_8);
        int port = in.getUnsignedShort(r + 4 + clusterLength + hostLength);
        long nodeId = in.getLong(r + 6 + clusterLength + hostLength);
        byte[] proof = null;
        if (proofLength > 0) {
            proof = new byte[proofLength];
            in.getBytes(r + proofEnd - proofLength, proof);
        }
        // Feature bits this build does not know are ignored: a later build adds a bit, not a version.
        int features = version == PeerCodec.VERSION_WITH_FEATURES ? in.getUnsignedByte(r + total - 1) : 0;
        in.skipBytes(total);
        return new PeerHello(cluster, host, port, nodeId, proof, version >= PeerCodec.VERSION_WITH_DEADLINES,
                version == PeerCodec.VERSION_WITH_CHALLENGE || (features & PeerCodec.FEATURE_CHALLENGE) != 0,
                (features & PeerCodec.FEATURE_USERS) != 0);
    }

    /** A {@link PeerFrame}, a {@link PeerFrameView}, or null while the frame is incomplete. */
    private Object decodeFrame(ByteBuf in) {
        if (in.readableBytes() < PeerCodec.LENGTH_FIELD) {
            return null;
        }
        int r = in.readerIndex();
        int length = in.getInt(r);
        if (length < PeerCodec.FRAME_OVERHEAD || length > maxFrameLength) {
            throw new PeerProtocolException("frame length: " + Integer.toUnsignedString(length) + " (expected: "
                    + PeerCodec.FRAME_OVERHEAD + " to " + maxFrameLength + ")");
        }
        if (in.readableBytes() >= PeerCodec.LENGTH_FIELD + 1) {
            int code = in.getUnsignedByte(r + PeerCodec.LENGTH_FIELD);
            if (PeerMessageType.fromCode(code) == null) {
                throw new PeerProtocolException("frame type: " + code + " (expected: one of "
                        + Arrays.toString(PeerMessageType.values()) + ")");
            }
        }
        if (in.readableBytes() < PeerCodec.LENGTH_FIELD + length) {
            return null;
        }
        in.skipBytes(PeerCodec.LENGTH_FIELD);
        PeerMessageType type = PeerMessageType.fromCode(in.readUnsignedByte());
        long requestId = in.readLong();
        if (type == PeerMessageType.DEADLINE) {
            return decodeDeadline(in, requestId, length - PeerCodec.FRAME_OVERHEAD);
        }
        if (type.isRequest() && inPlace.test(type)) {
            return new PeerFrameView(type, requestId, in.readRetainedSlice(length - PeerCodec.FRAME_OVERHEAD),
                    PeerFrame.NO_DEADLINE);
        }
        byte[] payload = new byte[length - PeerCodec.FRAME_OVERHEAD];
        in.readBytes(payload);
        return new PeerFrame(type, requestId, payload);
    }

    /** The request a {@link PeerMessageType#DEADLINE} envelope of {@code bodyLength} bytes wraps, with its deadline. */
    private Object decodeDeadline(ByteBuf in, long requestId, int bodyLength) {
        if (bodyLength < PeerCodec.DEADLINE_HEADER) {
            throw new PeerProtocolException("deadline frame: " + bodyLength + " bytes (expected: at least "
                    + PeerCodec.DEADLINE_HEADER + ")");
        }
        long deadline = in.readLong();
        int code = in.readUnsignedByte();
        PeerMessageType inner = PeerMessageType.fromCode(code);
        if (inner == null || !inner.isRequest() || inner == PeerMessageType.DEADLINE) {
            throw new PeerProtocolException("deadline frame: wrapped type " + code + " (expected: a request type)");
        }
        if (deadline == PeerFrame.NO_DEADLINE) {
            throw new PeerProtocolException("deadline frame: deadline 0 (expected: epoch milliseconds)");
        }
        if (inPlace.test(inner)) {
            return new PeerFrameView(inner, requestId, in.readRetainedSlice(bodyLength - PeerCodec.DEADLINE_HEADER),
                    deadline);
        }
        byte[] payload = new byte[bodyLength - PeerCodec.DEADLINE_HEADER];
        in.readBytes(payload);
        return new PeerFrame(inner, requestId, payload, deadline);
    }
}
