package io.trelliskv.repair;

import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.Entry;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Wire layout of the range stream (peer message {@code STREAM_RANGE}), big-endian. Malformed input
 * throws {@link MalformedMessageException} saying what was wrong.
 *
 * <pre>
 * request := [long start][long end][long cursor][int maxBytes]   send the entries of (cursor, end] of range (start, end]
 * reply   := [byte done][long next] write                        write as ReplicaCodec's, the entries of (cursor, next]
 * </pre>
 * The asker continues with {@code (next, end]} until {@code done} is 1.
 */
public final class StreamCodec {

    private static final int REQUEST_LENGTH = 8 + 8 + 8 + 4;

    private StreamCodec() {
    }

    /** A decoded request. */
    public record Request(TokenRange range, long cursor, int maxBytes) {
    }

    /**
     * One batch of a range: its entries, their encoded size, the token up to which the range has been
     * sent, and whether that is the range's end.
     */
    public record Batch(List<Entry> entries, long bytes, long next, boolean done) {
    }

    public static byte[] encodeRequest(TokenRange range, long cursor, int maxBytes) {
        return ByteBuffer.allocate(REQUEST_LENGTH).putLong(range.start()).putLong(range.end()).putLong(cursor)
                .putInt(maxBytes).array();
    }

    public static Request decodeRequest(byte[] payload) {
        if (payload.length != REQUEST_LENGTH) {
            throw new MalformedMessageException("stream request: " + payload.length + " bytes (expected: "
                    + REQUEST_LENGTH + ")");
        }
        ByteBuffer b = ByteBuffer.wrap(payload);
        TokenRange range = new TokenRange(b.getLong(), b.getLong());
        long cursor = b.getLong();
        int maxBytes = b.getInt();
        if (range.isFullRing()) {
            throw new MalformedMessageException("stream request: the whole ring (expected: a range with start != end)");
        }
        if (cursor != range.start() && !range.contains(cursor)) {
            throw new MalformedMessageException("stream request: cursor " + cursor + " (expected: within " + range + ")");
        }
        if (maxBytes < 1) {
            throw new MalformedMessageException("stream request: maxBytes " + maxBytes + " (expected: >= 1)");
        }
        return new Request(range, cursor, maxBytes);
    }

    public static byte[] encodeReply(Batch batch) {
        byte[] write = ReplicaCodec.encodeWrite(batch.entries());
        ByteBuffer b = ByteBuffer.allocate(1 + 8 + write.length);
        b.put((byte) (batch.done() ? 1 : 0)).putLong(batch.next()).put(write);
        return b.array();
    }

    public static Batch decodeReply(byte[] payload) {
        if (payload.length < 1 + 8 + 4) {
            throw new MalformedMessageException("stream reply: " + payload.length + " bytes (expected: >= 13)");
        }
        ByteBuffer b = ByteBuffer.wrap(payload);
        byte done = b.get();
        if (done != 0 && done != 1) {
            throw new MalformedMessageException("stream reply: done flag " + done + " (expected: 0 or 1)");
        }
        long next = b.getLong();
        List<Entry> entries = ReplicaCodec.decodeWrite(Arrays.copyOfRange(payload, 9, payload.length));
        return new Batch(entries, payload.length - 9, next, done == 1);
    }
}
