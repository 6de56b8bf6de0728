package io.trelliskv.repair;

import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads a token range of the local engine in bounded batches, for streaming: the sending side of a
 * bootstrap or removal pull ({@code STREAM_RANGE}) and of a decommission push.
 *
 * <p>A batch scans consecutive slices of the range, each {@link #SLICE_WIDTH} tokens wide (one engine
 * segment), until the entries collected reach the byte budget or the range ends, and reports the token
 * it reached; the next batch starts after it. A cursor is just a token, so a stream that failed resumes
 * where it stopped, from any replica. Slices keep a batch near its budget without sorting a range's
 * keys: a batch exceeds the budget by at most one slice's entries (about 1/4096 of the node's data).
 * Entries written during the stream may or may not be in it; writes reach the receiver anyway (it is a
 * pending replica). Every entry goes, tombstones included, so deletes move with the data.
 */
public final class RangeReader {

    /** Width of one scan slice: 2^52 tokens, the width of one of the engine's 4096 segments. */
    static final long SLICE_WIDTH = 1L << 52;

    private final Engine engine;

    public RangeReader(Engine engine) {
        this.engine = engine;
    }

    /** Entries of {@code (cursor, range.end]} from the first slices, about {@code maxBytes} of them. */
    public StreamCodec.Batch read(TokenRange range, long cursor, int maxBytes) {
        List<Entry> entries = new ArrayList<>();
        if (cursor == range.end()) {
            return new StreamCodec.Batch(entries, 0, cursor, true);
        }
        long[] bytes = {0};
        long at = cursor;
        while (true) {
            long remaining = range.end() - at; // unsigned distance to the end; > 0 here
            long sliceEnd = Long.compareUnsigned(remaining, SLICE_WIDTH) <= 0 ? range.end() : at + SLICE_WIDTH;
            engine.forEachInRange(at, sliceEnd, e -> {
                entries.add(e);
                bytes[0] += ReplicaCodec.entrySize(e);
            });
            at = sliceEnd;
            if (at == range.end()) {
                return new StreamCodec.Batch(entries, bytes[0], at, true);
            }
            if (bytes[0] >= maxBytes) {
                return new StreamCodec.Batch(entries, bytes[0], at, false);
            }
        }
    }

    /** Answers a {@code STREAM_RANGE} request. */
    public byte[] answer(byte[] payload) {
        StreamCodec.Request r = StreamCodec.decodeRequest(payload);
        return StreamCodec.encodeReply(read(r.range(), r.cursor(), r.maxBytes()));
    }
}
