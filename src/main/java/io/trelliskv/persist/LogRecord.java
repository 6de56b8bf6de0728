package io.trelliskv.persist;

import io.trelliskv.common.Key;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;

import java.util.Arrays;
import java.util.Objects;

/**
 * What the log and the snapshots hold: the writes the engine applied, as values independent of its
 * in-memory layout. Replaying records into an engine is {@link io.trelliskv.storage.Engine#merge} for a
 * {@link Write} and {@link io.trelliskv.storage.Engine#flush} for a {@link Flush}; both are last-writer-wins
 * by version, so a record applied twice, or after a newer one, changes nothing.
 *
 * <p>{@link Hint} and {@link HintDone} are the records of hinted handoff's own log
 * ({@code replication.HintLog}, in a directory of its own); they never appear in the engine's log, and
 * the engine's recovery has nothing to apply them to.
 */
public sealed interface LogRecord permits LogRecord.Write, LogRecord.Flush, LogRecord.Hint, LogRecord.HintDone {

    /** The record of an entry the engine stored: {@code e}'s key, value or tombstone, version and expiry. */
    static Write of(Entry e) {
        return new Write(e.key().bytes(), e.value(), e.hlc(), e.nodeId(), e.expireAt(), e.kind());
    }

    /**
     * One key's write: a value, or a tombstone when {@code value} is null.
     *
     * @param key      the key's bytes (shared, not copied)
     * @param value    the value's bytes (shared, not copied); null for a tombstone
     * @param hlc      packed hybrid-logical-clock timestamp of the write
     * @param nodeId   id of the node that stamped it
     * @param expireAt absolute expiry in epoch ms, 0 for none (a tombstone's purge time)
     * @param kind     what the value bytes are ({@link io.trelliskv.storage.ValueKind}); PLAIN for a tombstone
     */
    record Write(byte[] key, byte[] value, long hlc, long nodeId, long expireAt, byte kind) implements LogRecord {

        public Write {
            Objects.requireNonNull(key, "key");
        }

        /** A plain (string) value or a tombstone. */
        public Write(byte[] key, byte[] value, long hlc, long nodeId, long expireAt) {
            this(key, value, hlc, nodeId, expireAt, io.trelliskv.storage.ValueKind.PLAIN);
        }

        public boolean isTombstone() {
            return value == null;
        }

        public Version version() {
            return new Version(hlc, nodeId);
        }

        /** The entry to hand to {@link io.trelliskv.storage.Engine#merge}. */
        public Entry toEntry() {
            return new Entry(Key.of(key), value, hlc, nodeId, expireAt, kind);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Write w && Arrays.equals(key, w.key) && Arrays.equals(value, w.value)
                    && hlc == w.hlc && nodeId == w.nodeId && expireAt == w.expireAt && kind == w.kind;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(key) * 31 + Long.hashCode(hlc);
        }

        @Override
        public String toString() {
            return "Write{" + Key.of(key) + (value == null ? " tombstone" : " " + value.length + "B") + " v="
                    + version() + (expireAt != 0 ? " exp=" + expireAt : "") + "}";
        }
    }

    /** A FLUSHALL: everything older than {@code floor} is gone, and stays refused. */
    record Flush(Version floor) implements LogRecord {
        public Flush {
            Objects.requireNonNull(floor, "floor");
        }
    }

    /**
     * A hint stored: {@code write} is kept for node {@code target} until that node has it. A later hint
     * for the same target and key replaces it if newer (the hint log keeps the newest per target and key).
     *
     * @param storedAtMillis wall-clock time (epoch ms) the hint was stored at: its age for the hint window
     *                       counts from there, across restarts
     */
    record Hint(long target, long storedAtMillis, Write write) implements LogRecord {
        public Hint {
            Objects.requireNonNull(write, "write");
        }

        /** The hint of {@code e} for {@code target}, stored at {@code storedAtMillis}. */
        public static Hint of(long target, long storedAtMillis, Entry e) {
            return new Hint(target, storedAtMillis, LogRecord.of(e));
        }
    }

    /**
     * A hint removed (delivered, refused, dropped or expired): the hint of {@code key} for {@code target},
     * if it is still at {@code version}, is gone.
     *
     * @param key the key's bytes (shared, not copied)
     */
    record HintDone(long target, byte[] key, Version version) implements LogRecord {
        public HintDone {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(version, "version");
        }

        /** The removal of {@code e}'s hint for {@code target}. */
        public static HintDone of(long target, Entry e) {
            return new HintDone(target, e.key().bytes(), e.version());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof HintDone d && target == d.target && Arrays.equals(key, d.key)
                    && version.equals(d.version);
        }

        @Override
        public int hashCode() {
            return (Long.hashCode(target) * 31 + Arrays.hashCode(key)) * 31 + version.hashCode();
        }

        @Override
        public String toString() {
            return "HintDone{target=" + Long.toHexString(target) + " " + Key.of(key) + " v=" + version + "}";
        }
    }
}
