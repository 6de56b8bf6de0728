package io.trelliskv.storage;

import io.trelliskv.common.Key;
import io.trelliskv.version.Version;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A node's local store of entries. Thread-safe: network event loops call it in place.
 *
 * <p>Reads never return expired entries or tombstones. Writes made through this interface are stamped
 * with the engine's hybrid logical clock and node id; writes that arrive from other replicas, already
 * versioned, go through {@link #merge(Entry)}, which keeps the newer version (last writer wins).
 */
public interface Engine extends AutoCloseable {

    /** The live entry for {@code key}, or null; counts as an access for LRU and for hit/miss stats. */
    Entry get(Key key);

    /**
     * GET's read, without a copy: if {@code key} has a live plain value ({@link ValueKind#PLAIN}), hands its
     * bytes to {@code sink} where the engine keeps them, under the key's lock (no write changes them
     * meanwhile), and returns {@link PlainRead#WRITTEN}; {@link PlainRead#ABSENT} where {@link #get} would
     * return null. Either counts as {@link #get} does, for recency and stats. A value of another kind is
     * left alone, nothing counted: {@link PlainRead#OTHER_KIND}, for the caller to read with {@link #get}.
     * A GET's value then goes from the engine's memory into the reply once, with no entry and no array made
     * for it on the way.
     */
    <T> PlainRead readPlain(Key key, ValueSink<T> sink, T target);

    /** What {@link #readPlain} found. */
    enum PlainRead { ABSENT, WRITTEN, OTHER_KIND }

    /** Where {@link #readPlain} writes a value. */
    @FunctionalInterface
    interface ValueSink<T> {
        /**
         * Writes the {@code length} bytes of {@code source} from {@code offset} to {@code target}. The buffer
         * is the engine's and lent for the call only: read it by absolute index, change neither its position
         * nor its limit, keep no reference to it, and take no lock of the engine's.
         */
        void write(T target, ByteBuffer source, int offset, int length);
    }

    /** Like {@link #get} but without touching recency or stats (TYPE, TTL and friends). */
    Entry peek(Key key);

    /**
     * Whatever is stored for {@code key} — a live value, an expired one not yet reclaimed, or a
     * tombstone — or null; for comparing versions between replicas. No recency or stats effect.
     */
    Entry stored(Key key);

    /**
     * Like {@link #stored}, for comparing versions only (a coordinator's read phase): a plain value's bytes
     * are not copied out, {@link #VALUE_NOT_COPIED} standing in for them. Tombstones and values of a kind
     * that joins ({@link ValueKind#joins}), whose rank and join read their bytes, come whole. Such an entry
     * is never data to hand on: read the key with {@link #stored} for that.
     */
    default Entry storedVersion(Key key) {
        return stored(key);
    }

    /** The value of a plain entry from {@link #storedVersion}, whose bytes were not copied out (compare by identity). */
    byte[] VALUE_NOT_COPIED = new byte[0];

    /** Stores a value, replacing whatever was there. {@code expireAt} is epoch ms, 0 for none. */
    Entry put(Key key, byte[] value, long expireAt);

    /** Stores a value of {@code kind} ({@link ValueKind}), replacing whatever was there. */
    Entry put(Key key, byte[] value, byte kind, long expireAt);

    /** Deletes a key; returns true if a live entry was removed. */
    boolean delete(Key key);

    /** Runs {@code body} atomically with respect to every other operation on {@code key}. */
    <R> R atomically(Key key, Function<Txn, R> body);

    /**
     * Runs {@code body} atomically with respect to every other operation on all of {@code keys}
     * (for RENAME, MSETNX and the like). Locks are taken in a fixed order, so this cannot deadlock.
     */
    <R> R atomically(List<Key> keys, Function<Txn, R> body);

    /**
     * Applies a versioned write from elsewhere (a replica, a hint, repair): stored if newer than the
     * current version, ignored if older or equal; a value of a kind that joins ({@link ValueKind#joins}) is
     * joined with a stored live value of the same kind instead, under the newer version (counters are
     * ordered by the state they count from and joined only within one: see {@link ValueKind}). Returns
     * true if
     * anything was stored. The engine's clock
     * observes the version, so later local writes are stamped after it.
     */
    boolean merge(Entry incoming);

    /**
     * Merges the entry {@code incoming} points at exactly as {@link #merge(Entry)} merges it (the same
     * decision, stored record, journal report and stats), read in place: an engine that keeps records of
     * its own copies the key and value straight from the view's buffer. This default copies them into an
     * {@link Entry} and merges that.
     */
    default boolean merge(EntryView incoming) {
        return merge(incoming.toEntry());
    }

    /**
     * Merges each entry of {@code batch} in turn as {@link #merge(EntryView)} does, and returns how many
     * stored anything. An engine that reads its clock for a merge (expiry, idle times) may read it once for
     * the whole batch: a batch is merged within a few milliseconds, and a clock read costs as much as a
     * tenth of a merge.
     */
    default int mergeAll(EntryView.Batch batch) {
        int stored = 0;
        for (EntryView e = batch.next(); e != null; e = batch.next()) {
            if (merge(e)) {
                stored++;
            }
        }
        return stored;
    }

    /**
     * Brings into the processor's cache what merging the keys with these ring tokens will read first (a
     * hint, with no effect on what any operation returns), so that a batch of merges that follows waits for
     * memory once, for all of its keys together, instead of once per key. A replica calls it with the tokens
     * of a write batch before merging the batch. Returns a number computed from what was read, meaningless
     * but for one use: a caller stores it where it can be seen (a field), so the compiler keeps the reads.
     * This default reads nothing and returns 0.
     *
     * @param tokens ring tokens, {@code tokens[0 .. count)}
     */
    default int prefetch(long[] tokens, int count) {
        return 0;
    }

    /**
     * Evicts by the configured policy until accounted memory is under the bound. Returns false if
     * memory is still over the bound (policy noeviction, or nothing left to evict): the caller must
     * refuse the write with an OOM error.
     */
    boolean makeRoom();

    /** The id this engine stamps its writes with: its node's, and a counter's share of the increments it coordinates. */
    long nodeId();

    /** Number of keys held (live and expired-but-not-yet-reclaimed; tombstones excluded). */
    long size();

    /** Number of keys with an expiry time (tombstones excluded). */
    long volatileSize();

    /** Accounted memory of all entries, in bytes (what {@code maxMemoryBytes} bounds; see the engine). */
    long usedMemory();

    /**
     * One step of a cursor-based scan. Every key present for the whole scan is returned at least once;
     * keys added or removed meanwhile may or may not be. Returns the next cursor, 0 when done.
     *
     * @param count  a hint for how many keys to examine in this step
     * @param filter which keys to return; null returns every key
     */
    ScanResult scan(long cursor, int count, Predicate<Key> filter);

    /** All live keys that pass the filter (KEYS); a null filter passes every key. */
    List<Key> keys(Predicate<Key> filter);

    /**
     * Visits every stored entry — live values, expired ones not yet reclaimed and tombstones — whose key's
     * token lies in the ring arc {@code (start, end]} (clockwise, wrapping past {@link Long#MAX_VALUE};
     * {@code start == end} is the whole ring), for Merkle trees and repair. Entries present for the
     * whole call are visited exactly once; entries written meanwhile may or may not be. No recency or
     * stats effect, and no copy of the range: entries are handed over one at a time (an engine that does
     * not keep {@link Entry} objects materializes each), and the visitor runs under the engine's internal
     * lock of the entries it is shown, so it must be quick and must not call the engine. Returns the
     * number of entries visited.
     */
    long forEachInRange(long start, long end, Consumer<Entry> visitor);

    /** A random live entry, or null if there are none. */
    Entry randomEntry();

    /** Removes every entry. */
    void clear();

    /**
     * A versioned flush (FLUSHALL in a cluster): drops every entry — values and tombstones — whose
     * version is older than {@code floor}, and from then on refuses ({@link #merge} returns false)
     * every entry older than the newest floor applied, whatever brings it: a replica write, a hint,
     * read repair, anti-entropy, a stream. The clock observes the floor first, so every local write
     * that is not dropped is newer than it. A floor older than the one in force changes nothing.
     *
     * @return the number of entries dropped
     */
    long flush(Version floor);

    /** The newest floor {@link #flush} applied; {@link Version#ZERO} if none. */
    Version flushFloor();

    /** Entries {@link #merge} refused for being older than the flush floor. */
    long refusedBelowFlushFloor();

    /** Entries {@link #flush} dropped, all flushes together. */
    long flushDroppedEntries();

    /**
     * One cycle of active expiry: reclaims expired entries and purges old tombstones, spending at most
     * about {@code budgetNanos}. Returns the number reclaimed.
     */
    int expireCycle(long budgetNanos);

    EngineStats stats();

    @Override
    void close();

    /** A view of the keys an {@code atomically} body has locked. */
    interface Txn {
        /** The live entry for a locked key, or null. */
        Entry get(Key key);

        Entry put(Key key, byte[] value, long expireAt);

        Entry put(Key key, byte[] value, byte kind, long expireAt);

        /** Returns true if a live entry was removed. */
        boolean delete(Key key);

        /**
         * Whatever is stored for a locked key — a live value, an expired one not yet reclaimed, or a
         * tombstone — or null: the state a counter made now would count from.
         */
        Entry stored(Key key);

    }

    /** The result of one scan step. */
    record ScanResult(long nextCursor, List<Key> keys) {
    }
}
