package io.trelliskv.storage;

import io.trelliskv.common.Key;
import io.trelliskv.version.Version;

/**
 * One stored entry: a key's value (or a tombstone), the version of the write that produced it and its
 * absolute expiry time. Immutable: the exchange type between the engine and its callers. The engine
 * does not keep entries: it stores records in slabs and materializes an entry (copying the value out)
 * when one is asked for, so an entry can be handed to a replica or a client without copying.
 *
 * <p>The version is kept inline as two longs rather than a {@link Version} object: at millions of
 * entries the saved header and pointer are worth the small inconvenience.
 */
public final class Entry {

    final Key key;
    /** The value; {@code null} marks a tombstone (a replicated delete). */
    final byte[] value;
    /** Packed hybrid-logical-clock timestamp of the write, see {@link io.trelliskv.version.Hlc}. */
    final long hlc;
    /** Id of the node that stamped the write. */
    final long nodeId;
    /**
     * Absolute expiry time in epoch ms, or 0 for none. For a tombstone this is the time after which it
     * may be purged (delete time + grace period).
     */
    final long expireAt;
    /** What the value bytes are ({@link ValueKind}): a string, siblings or a counter; PLAIN for a tombstone. */
    final byte kind;

    /** A plain (string) value or a tombstone. */
    public Entry(Key key, byte[] value, long hlc, long nodeId, long expireAt) {
        this(key, value, hlc, nodeId, expireAt, ValueKind.PLAIN);
    }

    public Entry(Key key, byte[] value, long hlc, long nodeId, long expireAt, byte kind) {
        if (kind < 0 || kind > ValueKind.MAX || (value == null && kind != ValueKind.PLAIN)) {
            throw new IllegalArgumentException("value kind " + kind + (value == null ? " for a tombstone" : ""));
        }
        this.key = key;
        this.value = value;
        this.hlc = hlc;
        this.nodeId = nodeId;
        this.expireAt = expireAt;
        this.kind = kind;
    }

    /** What the value bytes are: {@link ValueKind#PLAIN}, {@link ValueKind#VERSIONED} or {@link ValueKind#COUNTER}. */
    public byte kind() {
        return kind;
    }

    public Key key() {
        return key;
    }

    /** The value bytes (shared, do not modify); {@code null} for a tombstone. */
    public byte[] value() {
        return value;
    }

    public long hlc() {
        return hlc;
    }

    public long nodeId() {
        return nodeId;
    }

    public Version version() {
        return new Version(hlc, nodeId);
    }

    /** Absolute expiry in epoch ms, 0 for none. */
    public long expireAt() {
        return expireAt;
    }

    public boolean hasExpiry() {
        return expireAt != 0;
    }

    public boolean isTombstone() {
        return value == null;
    }

    /** True once {@code nowMillis} is past the expiry time (as in Redis, a key expires after its time). */
    public boolean isExpired(long nowMillis) {
        return expireAt != 0 && nowMillis > expireAt;
    }

    /** True if this entry's version wins over the other's under last-writer-wins. */
    public boolean newerThan(Entry other) {
        return Version.compare(hlc, nodeId, other.hlc, other.nodeId) > 0;
    }

    @Override
    public String toString() {
        return "Entry{" + key + (value == null ? " tombstone" : " " + value.length + "B" + (kind != ValueKind.PLAIN ? " " + ValueKind.name(kind) : "")) + " v="
                + version() + (expireAt != 0 ? " exp=" + expireAt : "") + "}";
    }
}
