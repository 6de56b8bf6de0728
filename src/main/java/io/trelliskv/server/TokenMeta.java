package io.trelliskv.server;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The member metadata a node gossips: a format version byte, then (version 2) its {@link NodeStatus}
 * code, then its ring tokens as a count and big-endian longs. Small enough for a datagram (16 tokens:
 * 132 bytes; the limit is 512). Version 1, without the status byte, is still read, as NORMAL.
 *
 * @param status where the node stands in ring ownership
 * @param tokens its ring tokens, empty before it has chosen them
 */
record TokenMeta(NodeStatus status, List<Long> tokens) {

    /** ONLY CHANGE WITH A NEW VERSION: the layout is part of the protocol. */
    static final byte VERSION = 2;
    /** The layout without a status byte: every node was NORMAL. */
    private static final byte VERSION_1 = 1;

    /** No tokens yet, NORMAL: what malformed or unknown metadata reads as. */
    static final TokenMeta NONE = new TokenMeta(NodeStatus.NORMAL, List.of());

    TokenMeta {
        tokens = List.copyOf(tokens);
    }

    /** NORMAL with {@code tokens}. */
    static byte[] encode(List<Long> tokens) {
        return encode(NodeStatus.NORMAL, tokens);
    }

    static byte[] encode(NodeStatus status, List<Long> tokens) {
        ByteBuffer b = ByteBuffer.allocate(1 + 1 + 2 + 8 * tokens.size());
        b.put(VERSION).put((byte) status.code).putShort((short) tokens.size());
        tokens.forEach(b::putLong);
        return b.array();
    }

    /** The tokens in {@code meta}; empty for empty, unknown-version or malformed metadata. */
    static List<Long> decode(byte[] meta) {
        return parse(meta).tokens();
    }

    /** Status and tokens in {@code meta}; {@link #NONE} for empty, unknown-version or malformed metadata. */
    static TokenMeta parse(byte[] meta) {
        if (meta == null || meta.length < 3) {
            return NONE;
        }
        NodeStatus status;
        ByteBuffer b;
        if (meta[0] == VERSION_1) {
            status = NodeStatus.NORMAL;
            b = ByteBuffer.wrap(meta, 1, meta.length - 1);
        } else if (meta[0] == VERSION && meta.length >= 4) {
            status = NodeStatus.fromCode(meta[1] & 0xff);
            if (status == null) {
                return NONE;
            }
            b = ByteBuffer.wrap(meta, 2, meta.length - 2);
        } else {
            return NONE;
        }
        int n = b.getShort() & 0xffff;
        if (b.remaining() != n * 8) {
            return NONE;
        }
        List<Long> tokens = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            tokens.add(b.getLong());
        }
        return new TokenMeta(status, tokens);
    }
}
