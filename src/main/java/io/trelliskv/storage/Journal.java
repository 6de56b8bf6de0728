package io.trelliskv.storage;

import io.trelliskv.version.Version;

/**
 * Where the engine reports every change a restart must reproduce: the write-ahead log, when the node
 * keeps its data on disk. The engine calls it for each entry it stores — its own stamped writes and
 * deletes, and every versioned entry {@link Engine#merge} accepts, whatever brought it (a replica write,
 * a hint, read repair, anti-entropy, a stream) — and for each flush floor it applies.
 *
 * <p>What is <em>not</em> reported is what replaying the reported entries reproduces by itself: expiry
 * (an entry carries its absolute expiry time), the purge of tombstones, and eviction (local memory
 * management: a key evicted before a restart may come back from the log, as repair may bring it back).
 *
 * <p>{@link #stored} runs under the key's lock, so one key's entries are reported in the order they were
 * stored; it must be quick and must not block (an append to a queue).
 */
public interface Journal {

    /** Reports nothing: a node that keeps its data in memory only. */
    Journal NONE = new Journal() {
        @Override
        public void stored(Entry entry) {
        }

        @Override
        public void flushed(Version floor) {
        }

        @Override
        public boolean records() {
            return false;
        }
    };

    /**
     * False while this journal reports nothing (a node that keeps its data in memory only), so that the engine
     * need not make the {@link Entry} it would report: a replica write merged in place
     * ({@link Engine#merge(EntryView)}) has none of its own. True unless a journal says otherwise.
     */
    default boolean records() {
        return true;
    }

    /**
     * An entry the engine stored (a tombstone for a delete, even when the engine keeps none); called
     * under the key's lock.
     */
    void stored(Entry entry);

    /** A flush floor the engine applied ({@link Engine#flush}). */
    void flushed(Version floor);
}
