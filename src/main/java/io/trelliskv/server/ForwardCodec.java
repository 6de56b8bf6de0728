package io.trelliskv.server;

import java.nio.ByteBuffer;

/**
 * The payload of a forwarded command: the client's protocol version (the reply must be encoded the
 * way the client negotiated) and the command's arguments as length-prefixed byte strings.
 * Layout: {@code [byte protocol][int argc]([int length][bytes])*}, big-endian.
 */
final class ForwardCodec {

    private ForwardCodec() {
    }

    static byte[] encode(int protocol, byte[][] args) {
        int size = 1 + 4;
        for (byte[] a : args) {
            size += 4 + a.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put((byte) protocol).putInt(args.length);
        for (byte[] a : args) {
            b.putInt(a.length).put(a);
        }
        return b.array();
    }

    /** The decoded command. */
    record Forwarded(int protocol, byte[][] args) {
    }

    /** @throws IllegalArgumentException if the payload is malformed */
    static Forwarded decode(byte[] payload) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        if (b.remaining() < 5) {
            throw new IllegalArgumentException("forwarded command: " + payload.length + " bytes (expected: >= 5)");
        }
        int protocol = b.get();
        int argc = b.getInt();
        if (protocol != 2 && protocol != 3) {
            throw new IllegalArgumentException("forwarded command: protocol " + protocol + " (expected: 2 or 3)");
        }
        if (argc < 1 || argc > b.remaining() / 4) {
            throw new IllegalArgumentException("forwarded command: " + argc + " arguments in "
                    + payload.length + " bytes");
        }
        byte[][] args = new byte[argc][];
        for (int i = 0; i < argc; i++) {
            int len = b.remaining() >= 4 ? b.getInt() : -1;
            if (len < 0 || len > b.remaining()) {
                throw new IllegalArgumentException("forwarded command: argument " + i + " is truncated");
            }
            args[i] = new byte[len];
            b.get(args[i]);
        }
        if (b.hasRemaining()) {
            throw new IllegalArgumentException("forwarded command: " + b.remaining() + " trailing bytes");
        }
        return new Forwarded(protocol, args);
    }
}
