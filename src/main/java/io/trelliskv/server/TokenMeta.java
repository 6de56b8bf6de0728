package io.trelliskv.server;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The member metadata a node gossips: a format version byte, then its ring tokens as a count and
 * big-endian longs. Small enough for a datagram (16 tokens: 131 bytes; the limit is 512).
 */
final class TokenMeta {

    /** ONLY CHANGE WITH A NEW VERSION: the layout is part of the protocol. */
    static final byte VERSION = 1;

    private TokenMeta() {
    }

    static byte[] encode(List<Long> tokens) {
        ByteBuffer b = ByteBuffer.allocate(1 + 2 + 8 * tokens.size());
        b.put(VERSION).putShort((short) tokens.size());
        tokens.forEach(b::putLong);
        return b.array();
    }

    /** The tokens in {@code meta}; empty for empty, unknown-version or malformed metadata. */
    static List<Long> decode(byte[] meta) {
        if (meta == null || meta.length < 3 || meta[0] != VERSION) {
            return List.of();
        }
        ByteBuffer b = ByteBuffer.wrap(meta, 1, meta.length - 1);
        int n = b.getShort() & 0xffff;
        if (b.remaining() != n * 8) {
            return List.of();
        }
        List<Long> tokens = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            tokens.add(b.getLong());
        }
        return tokens;
    }
}
