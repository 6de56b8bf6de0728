package io.trelliskv.replication;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.persist.AppendFsync;
import io.trelliskv.persist.WalConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Hinted handoff's memory: writes a coordinator could not deliver to a replica, kept until the replica
 * is back and {@link HintReplayer} has delivered them.
 *
 * <h2>One hint per key and target</h2>
 * Replicas merge by last-writer-wins, so only a target's newest version of a key matters: an older
 * hint would be overwritten the moment the newer one arrived. {@link #add} therefore keeps the newest
 * entry per (target, key); a newer write replaces the hint (it does not add a second one) and an older
 * or equal one is ignored. Each target's hints are a {@link LinkedHashMap} in the order they were
 * stored, oldest first; a replacement is moved to the young end, because its age (for the window)
 * counts from when it was stored.
 *
 * <h2>Bounds and the window</h2>
 * {@link HintConfig#maxHints()} and {@link HintConfig#maxBytes()} bound all targets together; a hint
 * that would pass either is refused and counted as dropped (the write stays durable on the replicas
 * that took it, and repair brings the missing one up to date). A hint older than
 * {@link HintConfig#windowMillis()} is dropped as expired: past the window repair is cheaper than
 * replaying hours of writes. Age is measured on the clock's monotonic time, so a wall-clock step
 * neither expires every hint nor keeps them forever. Since each target's order is the storage order,
 * expiry pops from the old end: lazily in {@link #next}, for all targets in {@link #expire()} (which
 * the replayer calls every tick), and before refusing a hint for lack of room.
 *
 * <h2>Delivery</h2>
 * {@link #next} hands out the oldest hints without removing them; {@link #acknowledged} and
 * {@link #discard} remove each one only if the hint still held for its key is that same version. A
 * newer write stored while the older one was on the wire is therefore kept and replayed in turn.
 *
 * <h2>Durability</h2>
 * {@link #open} gives a store backed by a {@link HintLog} in a directory of its own: every hint stored
 * or replaced is appended to it, every hint removed (acknowledged, discarded, dropped with its target or
 * under a flush floor, expired) is recorded as removed, and the next {@link #open} of the directory
 * loads the hints still pending. Appends only queue the record for the log's writer thread; no method
 * waits for the disk. Loaded hints count as stored. Their age for the window goes on from where it was:
 * the log records each hint's wall-clock time (the monotonic time of the previous process means nothing
 * to this one), and a hint loaded past the window is expired at once, so that a replayed hint still
 * cannot outlive the tombstone grace. A wall-clock step while the node was down shifts that age (one
 * stepped back counts as age 0, never negative). The log compacts itself (see {@link HintLog});
 * {@link #close()} writes what is queued and closes it. The constructor gives a store in memory only,
 * as before.
 *
 * <h2>Concurrency</h2>
 * Coordinators add hints from network threads while the replayer reads and removes them; every method
 * takes the store's monitor. Each holds it for work proportional to its arguments, its result or the
 * hints it drops, so one lock is enough. A compaction of the log encodes every live hint under it, but
 * only after at least as many bytes were appended since the last one.
 */
public final class HintStore implements AutoCloseable {

    /**
     * Bytes charged per hint on top of its key and value bytes, for the objects that hold it, with
     * compressed oops (12-byte headers, 4-byte references, 8-byte alignment):
     * <pre>
     *   LinkedHashMap.Entry  12 header + hash 4 + key, value, next, before, after 5 x 4   = 36 -> 40
     *   table slot           a 4-byte reference at 1.33 to 2.67 slots per hint             ~      8
     *   Hint                 12 header + entry reference 4 + stored-at 8                       24
     *   Entry                12 header + key, value 2 x 4 + hlc, nodeId, expireAt 3 x 8
     *                        + lru 4                                                           48
     *   Key                  12 header + bytes reference 4 + token 8                           24
     *   byte array headers   key and value, 12 header + 4 length each                          32
     *                                                                                         ---
     *                                                                                         176
     * </pre>
     * An upper estimate: an entry hinted for two targets shares its Entry, Key and arrays, and a
     * tombstone has no value array, but both are charged in full.
     */
    public static final int HINT_OVERHEAD = 40 + 8 + 24 + 48 + 24 + 32;

    private final HintConfig config;
    private final Clock clock;
    /** Each target's hints, oldest first; a target with no hints has no map. */
    private final Map<Long, LinkedHashMap<Key, Hint>> targets = new HashMap<>();
    /** The durable log, or null for a store in memory only (or once closed); guarded by the monitor. */
    private HintLog log;
    /** Hints held, all targets. */
    private int pending;
    /** Sum of {@link #sizeOf} over the hints held, all targets. */
    private long pendingBytes;
    /** Told, on the storing thread and outside this store's monitor, when a hint is stored while none was held. */
    private volatile Runnable onFirstHint;

    private long stored;
    private long dropped;
    private long expired;
    private long replayed;
    private long refused;

    /** A store in memory only: its hints are lost when the process ends. */
    public HintStore(HintConfig config, Clock clock) {
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * A store whose hints survive a restart: backed by the hints log in {@code dir} (created if absent;
     * the hints' own directory, such as {@code <data-dir>/hints}, never the engine's log directory),
     * whose pending hints it loads first. With {@code dir} null, a store in memory only. A damaged hints
     * log is dropped with one WARN and the store starts empty; a torn tail is cut with one WARN.
     *
     * @param clock  also the log's: its periodic force ({@code everysec}) and its retries after a write
     *               error are timed on it
     * @param fsync  when the log forces its appends ({@code everysec} is the usual choice)
     * @throws IOException if the directory cannot be read or written (or holds an engine's log)
     */
    public static HintStore open(HintConfig config, Clock clock, Path dir, AppendFsync fsync) throws IOException {
        Objects.requireNonNull(fsync, "fsync");
        return open(config, clock, dir, WalConfig.of(fsync), HintLog.DEFAULT_COMPACT_BYTES);
    }

    /**
     * As {@link #open(HintConfig, Clock, Path, AppendFsync)}, with the log's settings and the bytes
     * appended below which it never compacts (for tests).
     */
    static HintStore open(HintConfig config, Clock clock, Path dir, WalConfig wal, long compactBytes)
            throws IOException {
        HintStore store = new HintStore(config, clock);
        if (dir == null) {
            return store;
        }
        HintLog.Opened opened = HintLog.open(dir, wal, clock, compactBytes);
        synchronized (store) {
            long nowMillis = clock.millis();
            long nowNanos = clock.nanos();
            for (HintLog.Recovered h : opened.hints()) {
                // past the window is past it by how much: clamped, so that no age overflows
                long ageMillis = Math.min(Math.max(0, nowMillis - h.storedAtMillis()), config.windowMillis() + 1);
                store.add(h.target(), h.entry(), nowNanos - ageMillis * 1_000_000L);
            }
            store.expireAll();
            store.log = opened.log();
            opened.log().rewrite(store::forEachHint);
        }
        return store;
    }

    /** Hands every hint held to {@code sink}, each target's oldest first, with its wall-clock time. */
    private void forEachHint(HintLog.HintSink sink) {
        long nowMillis = clock.millis();
        long nowNanos = clock.nanos();
        targets.forEach((target, hints) -> hints.values().forEach(
                h -> sink.hint(target, h.entry, nowMillis - (nowNanos - h.storedAtNanos) / 1_000_000L)));
    }

    /** Compacts the log if it asks for it; called at the end of every method that changes the store. */
    private void maybeCompact() {
        if (log != null && log.compactionDue()) {
            log.compact(this::forEachHint);
        }
    }

    /** Bytes a hint of {@code entry} is charged: its key and value bytes plus {@link #HINT_OVERHEAD}. */
    public static long sizeOf(Entry entry) {
        return HINT_OVERHEAD + entry.key().length() + (entry.isTombstone() ? 0 : entry.value().length);
    }

    /**
     * Keeps {@code entry} for {@code target} unless a hint at least as new is already held for its key.
     *
     * @return false if the hint was refused because it would pass {@link HintConfig#maxHints()} or
     *         {@link HintConfig#maxBytes()} (counted as dropped); true if it is stored or superseded
     */
    public boolean add(long target, Entry entry) {
        boolean first;
        boolean kept;
        synchronized (this) {
            first = pending == 0;
            kept = add(target, entry, clock.nanos());
            first &= pending > 0;
        }
        Runnable listener = onFirstHint;
        if (first && listener != null) {
            listener.run();
        }
        return kept;
    }

    /**
     * Sets who is told when the store goes from holding no hint to holding one: the replayer, which sleeps while
     * there is nothing to replay.
     */
    public void onFirstHint(Runnable listener) {
        this.onFirstHint = listener;
    }

    /** {@link #add}, for a hint stored at {@code storedAtNanos} (monotonic). */
    private boolean add(long target, Entry entry, long storedAtNanos) {
        Objects.requireNonNull(entry, "entry");
        LinkedHashMap<Key, Hint> hints = targets.get(target);
        Hint held = hints == null ? null : hints.get(entry.key());
        if (held != null && !entry.newerThan(held.entry)) {
            return true;
        }
        if (!fits(held, entry)) {
            expireAll();
            hints = targets.get(target);
            held = hints == null ? null : hints.get(entry.key());
            if (!fits(held, entry)) {
                dropped++;
                return false;
            }
        }
        if (hints == null) {
            hints = new LinkedHashMap<>();
            targets.put(target, hints);
        }
        if (held != null) {
            hints.remove(entry.key());
            pending--;
            pendingBytes -= sizeOf(held.entry);
        }
        hints.put(entry.key(), new Hint(entry, storedAtNanos));
        pending++;
        pendingBytes += sizeOf(entry);
        stored++;
        if (log != null) {
            log.stored(target, entry, held == null ? null : held.entry,
                    clock.millis() - (clock.nanos() - storedAtNanos) / 1_000_000L);
            maybeCompact();
        }
        return true;
    }

    /** True if replacing {@code held} (null if none) by {@code entry} stays within the bounds. */
    private boolean fits(Hint held, Entry entry) {
        int count = pending + (held == null ? 1 : 0);
        long bytes = pendingBytes + sizeOf(entry) - (held == null ? 0 : sizeOf(held.entry));
        return count <= config.maxHints() && bytes <= config.maxBytes();
    }

    /**
     * Up to {@code max} of {@code target}'s hints, oldest first, still held until acknowledged or
     * discarded. Drops the target's expired hints first.
     */
    public synchronized List<Entry> next(long target, int max) {
        if (max < 0) {
            throw new IllegalArgumentException("max: " + max + " (expected: >= 0)");
        }
        LinkedHashMap<Key, Hint> hints = targets.get(target);
        if (hints == null) {
            return List.of();
        }
        expire(target, hints, clock.nanos());
        maybeCompact();
        List<Entry> out = new ArrayList<>(Math.min(max, hints.size()));
        for (Iterator<Hint> it = hints.values().iterator(); it.hasNext() && out.size() < max; ) {
            out.add(it.next().entry);
        }
        return out;
    }

    /**
     * Removes the hints {@code target} has applied, each only if the hint held for its key is still
     * that version; counts them as replayed.
     */
    public synchronized void acknowledged(long target, List<Entry> delivered) {
        replayed += remove(target, delivered);
        maybeCompact();
    }

    /**
     * Removes hints {@code target} refused (it would refuse them again), each only if the hint held for
     * its key is still that version; counts them as refused.
     */
    public synchronized void discard(long target, List<Entry> entries) {
        refused += remove(target, entries);
        maybeCompact();
    }

    private int remove(long target, List<Entry> entries) {
        LinkedHashMap<Key, Hint> hints = targets.get(target);
        if (hints == null) {
            return 0;
        }
        int removed = 0;
        for (Entry e : entries) {
            Hint held = hints.get(e.key());
            if (held != null && sameVersion(held.entry, e)) {
                hints.remove(e.key());
                forget(target, held);
                removed++;
            }
        }
        if (hints.isEmpty()) {
            targets.remove(target);
        }
        return removed;
    }

    private static boolean sameVersion(Entry a, Entry b) {
        return a == b || (a.hlc() == b.hlc() && a.nodeId() == b.nodeId());
    }

    /** Forgets every hint for {@code target}, a node removed from the cluster. Counts nothing. */
    public synchronized void dropTarget(long target) {
        LinkedHashMap<Key, Hint> hints = targets.remove(target);
        if (hints != null) {
            for (Hint h : hints.values()) {
                forget(target, h);
            }
            maybeCompact();
        }
    }

    /** Accounts for {@code h}, already taken out of {@code target}'s map, as removed. */
    private void forget(long target, Hint h) {
        pending--;
        pendingBytes -= sizeOf(h.entry);
        if (log != null) {
            log.removed(target, h.entry);
        }
    }

    /**
     * Drops every hint whose entry is older than {@code floor} (a FLUSHALL): its target must not get
     * it back. Counts them as dropped.
     *
     * @return how many were dropped
     */
    public synchronized int dropOlderThan(Version floor) {
        int n = 0;
        for (Iterator<Map.Entry<Long, LinkedHashMap<Key, Hint>>> targetIt = targets.entrySet().iterator();
             targetIt.hasNext(); ) {
            Map.Entry<Long, LinkedHashMap<Key, Hint>> t = targetIt.next();
            LinkedHashMap<Key, Hint> hints = t.getValue();
            for (Iterator<Hint> it = hints.values().iterator(); it.hasNext(); ) {
                Hint h = it.next();
                if (Version.compare(h.entry.hlc(), h.entry.nodeId(), floor.hlc(), floor.nodeId()) < 0) {
                    it.remove();
                    forget(t.getKey(), h);
                    n++;
                }
            }
            if (hints.isEmpty()) {
                targetIt.remove();
            }
        }
        dropped += n;
        maybeCompact();
        return n;
    }

    /**
     * Drops the hints of every target that are older than the window.
     *
     * @return how many were dropped
     */
    public synchronized int expire() {
        int n = expireAll();
        maybeCompact();
        return n;
    }

    private int expireAll() {
        long now = clock.nanos();
        int n = 0;
        for (Iterator<Map.Entry<Long, LinkedHashMap<Key, Hint>>> it = targets.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, LinkedHashMap<Key, Hint>> t = it.next();
            n += expireOldest(t.getKey(), t.getValue(), now);
            if (t.getValue().isEmpty()) {
                it.remove();
            }
        }
        return n;
    }

    private void expire(long target, LinkedHashMap<Key, Hint> hints, long now) {
        expireOldest(target, hints, now);
        if (hints.isEmpty()) {
            targets.remove(target);
        }
    }

    private int expireOldest(long target, LinkedHashMap<Key, Hint> hints, long now) {
        long windowNanos = config.windowMillis() * 1_000_000L;
        int n = 0;
        for (Iterator<Hint> it = hints.values().iterator(); it.hasNext(); ) {
            Hint h = it.next();
            if (now - h.storedAtNanos <= windowNanos) {
                break;
            }
            it.remove();
            forget(target, h);
            n++;
        }
        expired += n;
        return n;
    }

    /** Hints held for {@code target}, expired ones included until something drops them. */
    public synchronized int pending(long target) {
        LinkedHashMap<Key, Hint> hints = targets.get(target);
        return hints == null ? 0 : hints.size();
    }

    /** Hints held, all targets. */
    public synchronized int pending() {
        return pending;
    }

    /** Bytes charged for the hints held, all targets. */
    public synchronized long pendingBytes() {
        return pendingBytes;
    }

    /**
     * Hints held per target, for targets that have any, in the unsigned order of node ids (the order
     * of their hex form). A copy.
     */
    public synchronized Map<Long, Integer> pendingByTarget() {
        TreeMap<Long, Integer> out = new TreeMap<>(Long::compareUnsigned);
        targets.forEach((target, hints) -> out.put(target, hints.size()));
        return Collections.unmodifiableMap(out);
    }

    public synchronized HintStats stats() {
        return new HintStats(stored, dropped, expired, replayed, refused, pending, pendingBytes);
    }

    /** The log, or null for a store in memory only or closed; for tests. */
    synchronized HintLog log() {
        return log;
    }

    /**
     * Writes and forces the log's queued records and closes it; the store goes on in memory only. Does
     * nothing for a store in memory only, or a second time.
     */
    @Override
    public void close() {
        HintLog closing;
        synchronized (this) {
            closing = log;
            log = null;
            if (closing != null) {
                closing.stop();
            }
        }
        if (closing != null) {
            closing.close();
        }
    }

    /**
     * @param storedAtNanos monotonic time ({@link Clock#nanos()}) at which the hint was stored; its age
     *                      for the window counts from here
     */
    private record Hint(Entry entry, long storedAtNanos) {
    }
}
