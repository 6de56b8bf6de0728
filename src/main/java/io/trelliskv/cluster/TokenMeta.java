package io.trelliskv.cluster;

import io.trelliskv.version.Version;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The member metadata a node gossips: a format version byte, then (version 2) its {@link NodeStatus}
 * code, then its ring tokens as a count and big-endian longs, then (version 3) the newest FLUSHALL it
 * has applied, as a version (hlc, node id; zeros for none). Small enough for a datagram (16 tokens:
 * 148 bytes; the limit is 512). Versions 1 (without the status byte: NORMAL) and 2 (no flush) are
 * still read.
 *
 * <p>The flush travels here so that a node that was down or cut off when a FLUSHALL ran applies it
 * as soon as it hears from any member that has, before anti-entropy or read repair could bring the
 * flushed data back through it.
 *
 * @param status  where the node stands in ring ownership
 * @param tokens  its ring tokens, empty before it has chosen them
 * @param flushed the newest flush it applied; {@link Version#ZERO} for none
 */
record TokenMeta(NodeStatus status, List<Long> tokens, Version flushed) {

    /** ONLY CHANGE WITH A NEW VERSION: the layout is part of the protocol. */
    static final byte VERSION = 3;
    /** The layout without a flush. */
    private static final byte VERSION_2 = 2;
    /** The layout without a status byte: every node was NORMAL. */
    private static final byte VERSION_1 = 1;

    /** No tokens yet, NORMAL: what malformed or unknown metadata reads as. */
    static final TokenMeta NONE = new TokenMeta(NodeStatus.NORMAL, List.of(), Version.ZERO);

    TokenMeta {
        tokens = List.copyOf(tokens);
    }

    TokenMeta(NodeStatus status, List<Long> tokens) {
        this(status, tokens, Version.ZERO);
    }

    /** NORMAL with {@code tokens}. */
    static byte[] encode(List<Long> tokens) {
        return encode(NodeStatus.NORMAL, tokens, Version.ZERO);
    }

    static byte[] encode(NodeStatus status, List<Long> tokens, Version flushed) {
        ByteBuffer b = ByteBuffer.allocate(1 + 1 + 2 + 8 * tokens.size() + 16);
        b.put(VERSION).put((byte) status.code).putShort((short) tokens.size());
        tokens.forEach(b::putLong);
        b.putLong(flushed.hlc()).putLong(flushed.nodeId());
        return b.array();
    }

    byte[] encode() {
        return encode(status, tokens, flushed);
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
        } else if ((meta[0] == VERSION || meta[0] == VERSION_2) && meta.length >= 4) {
            status = NodeStatus.fromCode(meta[1] & 0xff);
            if (status == null) {
                return NONE;
            }
            b = ByteBuffer.wrap(meta, 2, meta.length - 2);
        } else {
            return NONE;
        }
        int n = b.getShort() & 0xffff;
        int flushBytes = meta[0] == VERSION ? 16 : 0;
        if (b.remaining() != n * 8 + flushBytes) {
            return NONE;
        }
        List<Long> tokens = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            tokens.add(b.getLong());
        }
        Version flushed = flushBytes == 0 ? Version.ZERO : new Version(b.getLong(), b.getLong());
        return new TokenMeta(status, tokens, flushed);
    }
}
