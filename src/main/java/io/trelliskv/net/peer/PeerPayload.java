package io.trelliskv.net.peer;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The body of a request this node sends, written straight into the frame's buffer when the frame is
 * encoded, on the connection's event loop: a sender that builds its body from objects (a batch of
 * replicated writes) encodes it once, into the buffer the socket takes, with no byte array in between.
 * The bytes it writes must not depend on when it is written: what it encodes must not change until the
 * call completes.
 */
public interface PeerPayload {

    /** Bytes {@link #writeTo} writes; the same on every call. */
    int length();

    /**
     * Writes exactly {@link #length()} bytes at {@code out}'s position (big-endian, {@code out} has at least
     * that much room), advancing it. May be called more than once (a body sent to several peers).
     */
    void writeTo(ByteBuffer out);

    /**
     * This body as a peer of an earlier build takes it, one that does not read the client's user in a forwarded
     * command ({@link PeerCodec#FEATURE_USERS}): the same body unless it names one.
     */
    default PeerPayload withoutUser() {
        return this;
    }

    /** The body as a byte array: for transports that carry bytes, not buffers. */
    default byte[] toBytes() {
        ByteBuffer out = ByteBuffer.allocate(length());
        writeTo(out);
        if (out.hasRemaining()) {
            throw new IllegalStateException("payload wrote " + out.position() + " bytes (expected: " + length() + ")");
        }
        return out.array();
    }

    /** A body already encoded. */
    static PeerPayload of(byte[] bytes) {
        return new Bytes(bytes);
    }

    /** A body already encoded: the array is copied into the frame's buffer as it is. */
    record Bytes(byte[] bytes) implements PeerPayload {

        public Bytes {
            Objects.requireNonNull(bytes, "bytes");
        }

        @Override
        public int length() {
            return bytes.length;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(bytes);
        }

        @Override
        public byte[] toBytes() {
            return bytes;
        }
    }
}
