package io.trelliskv.replication;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;

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
 * <h2>Concurrency</h2>
 * Coordinators add hints from network threads while the replayer reads and removes them; every method
 * takes the store's monitor. Each holds it for work proportional to its arguments, its result or the
 * hints it drops, so one lock is enough.
 */
public final class HintStore {

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
    /** Hints held, all targets. */
    private int pending;
    /** Sum of {@link #sizeOf} over the hints held, all targets. */
    private long pendingBytes;

    private long stored;
    private long dropped;
    private long expired;
    private long replayed;
    private long refused;

    public HintStore(HintConfig config, Clock clock) {
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
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
    public synchronized boolean add(long target, Entry entry) {
        Objects.requireNonNull(entry, "entry");
        LinkedHashMap<Key, Hint> hints = targets.get(target);
        Hint held = hints == null ? null : hints.get(entry.key());
        if (held != null && !entry.newerThan(held.entry)) {
            return true;
        }
        if (!fits(held, entry)) {
            expire();
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
        hints.put(entry.key(), new Hint(entry, clock.nanos()));
        pending++;
        pendingBytes += sizeOf(entry);
        stored++;
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
    }

    /**
     * Removes hints {@code target} refused (it would refuse them again), each only if the hint held for
     * its key is still that version; counts them as refused.
     */
    public synchronized void discard(long target, List<Entry> entries) {
        refused += remove(target, entries);
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
                pending--;
                pendingBytes -= sizeOf(held.entry);
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
                pending--;
                pendingBytes -= sizeOf(h.entry);
            }
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
        for (Iterator<LinkedHashMap<Key, Hint>> targetIt = targets.values().iterator(); targetIt.hasNext(); ) {
            LinkedHashMap<Key, Hint> hints = targetIt.next();
            for (Iterator<Hint> it = hints.values().iterator(); it.hasNext(); ) {
                Hint h = it.next();
                if (Version.compare(h.entry.hlc(), h.entry.nodeId(), floor.hlc(), floor.nodeId()) < 0) {
                    it.remove();
                    pending--;
                    pendingBytes -= sizeOf(h.entry);
                    n++;
                }
            }
            if (hints.isEmpty()) {
                targetIt.remove();
            }
        }
        dropped += n;
        return n;
    }

    /**
     * Drops the hints of every target that are older than the window.
     *
     * @return how many were dropped
     */
    public synchronized int expire() {
        long now = clock.nanos();
        int n = 0;
        for (Iterator<LinkedHashMap<Key, Hint>> it = targets.values().iterator(); it.hasNext(); ) {
            LinkedHashMap<Key, Hint> hints = it.next();
            n += expireOldest(hints, now);
            if (hints.isEmpty()) {
                it.remove();
            }
        }
        return n;
    }

    private void expire(long target, LinkedHashMap<Key, Hint> hints, long now) {
        expireOldest(hints, now);
        if (hints.isEmpty()) {
            targets.remove(target);
        }
    }

    private int expireOldest(LinkedHashMap<Key, Hint> hints, long now) {
        long windowNanos = config.windowMillis() * 1_000_000L;
        int n = 0;
        for (Iterator<Hint> it = hints.values().iterator(); it.hasNext(); ) {
            Hint h = it.next();
            if (now - h.storedAtNanos <= windowNanos) {
                break;
            }
            it.remove();
            pending--;
            pendingBytes -= sizeOf(h.entry);
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

    /**
     * @param storedAtNanos monotonic time ({@link Clock#nanos()}) at which the hint was stored; its age
     *                      for the window counts from here
     */
    private record Hint(Entry entry, long storedAtNanos) {
    }
}
