package io.trelliskv.storage;

import io.trelliskv.common.Key;
import io.trelliskv.common.Murmur3;

import java.nio.ByteBuffer;

/**
 * An entry read in place: where its key and value bytes lie in a buffer (a peer's frame, as it was
 * received), and its version, expiry and kind. What {@link Engine#merge(EntryView)} takes, so that a
 * replica can store a replicated write by copying its value once, from the frame into the engine's record,
 * without an {@link Entry}, a {@link Key} or a byte array per entry.
 *
 * <p>Mutable and reused: a decoder points one view at each entry of a batch in turn ({@link #set}). The
 * view is valid only while the buffer's bytes are; an engine copies what it keeps before it returns.
 * Offsets are absolute indexes into the buffer; its position and limit are neither used nor changed.
 */
public final class EntryView {

    /** Entries read in place, one after another: {@link Engine#mergeAll} takes them. */
    @FunctionalInterface
    public interface Batch {
        /** The view pointed at the next entry, or null after the last. */
        EntryView next();
    }

    private ByteBuffer buffer;
    private int keyOffset;
    private int keyLength;
    /** Index of the value bytes; meaningless for a tombstone. */
    private int valueOffset;
    /** Bytes of the value, -1 for a tombstone. */
    private int valueLength;
    private long hlc;
    private long nodeId;
    /** Absolute expiry in epoch ms, 0 for none (a tombstone: its purge time, 0 for "now + grace"). */
    private long expireAt;
    private byte kind;

    /**
     * Points this view at an entry of {@code buffer}: {@code valueLength < 0} for a tombstone, whose kind is
     * {@link ValueKind#PLAIN}. The caller has checked that the ranges lie within the buffer.
     */
    public EntryView set(ByteBuffer buffer, int keyOffset, int keyLength, int valueOffset, int valueLength,
                         long hlc, long nodeId, long expireAt, byte kind) {
        if (kind < 0 || kind > ValueKind.MAX || (valueLength < 0 && kind != ValueKind.PLAIN)) {
            throw new IllegalArgumentException("value kind " + kind + (valueLength < 0 ? " for a tombstone" : ""));
        }
        this.buffer = buffer;
        this.keyOffset = keyOffset;
        this.keyLength = keyLength;
        this.valueOffset = valueOffset;
        this.valueLength = valueLength < 0 ? -1 : valueLength;
        this.hlc = hlc;
        this.nodeId = nodeId;
        this.expireAt = expireAt;
        this.kind = kind;
        return this;
    }

    public ByteBuffer buffer() {
        return buffer;
    }

    public int keyOffset() {
        return keyOffset;
    }

    public int keyLength() {
        return keyLength;
    }

    public int valueOffset() {
        return valueOffset;
    }

    /** Bytes of the value, -1 for a tombstone. */
    public int valueLength() {
        return valueLength;
    }

    public boolean isTombstone() {
        return valueLength < 0;
    }

    public long hlc() {
        return hlc;
    }

    public long nodeId() {
        return nodeId;
    }

    public long expireAt() {
        return expireAt;
    }

    public byte kind() {
        return kind;
    }

    /** The key's ring token, hashed from the buffer: {@code key().token()} without the copy. */
    public long token() {
        return Murmur3.hash64(buffer, keyOffset, keyLength);
    }

    /** The key, copied out. */
    public Key key() {
        byte[] bytes = new byte[keyLength];
        buffer.get(keyOffset, bytes);
        return Key.of(bytes);
    }

    /** The entry, key and value copied out. */
    public Entry toEntry() {
        return toEntry(key(), expireAt);
    }

    /** The entry under {@code key} (this view's key) with expiry {@code expireAt}, its value copied out. */
    Entry toEntry(Key key, long expireAt) {
        byte[] value = null;
        if (valueLength >= 0) {
            value = new byte[valueLength];
            buffer.get(valueOffset, value);
        }
        return new Entry(key, value, hlc, nodeId, expireAt, kind);
    }
}
