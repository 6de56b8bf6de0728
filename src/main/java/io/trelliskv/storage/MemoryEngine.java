package io.trelliskv.storage;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The in-memory storage engine: a node's keys in a table of segments, with TTLs, tombstones, a memory
 * bound and Redis-style approximate eviction.
 *
 * <h2>Segments and concurrency</h2>
 * The key space is split into {@link #SEGMENTS} segments by the top 12 bits of a key's ring token, taken
 * in the ring's (signed) order: segment 0 holds the most negative tokens and segment 4095 the most
 * positive ones, so a range of ring tokens maps to a contiguous run of segments (what Merkle trees and
 * range streaming will walk), and a scan visits keys in approximate ring order. Each segment is its own
 * lock (a {@link ReentrantLock}; uncontended it costs one CAS, as {@code synchronized} does) and owns a
 * {@link LinkedHashMap} in access order plus an {@link ExpiryHeap}. Every operation on one key takes one
 * segment lock; multi-key {@code atomically} takes the distinct segments in ascending index order, so two
 * of them cannot deadlock. Explicit locks rather than nested {@code synchronized} blocks because an
 * {@code MSET} of thousands of keys would need a recursion as deep as the number of segments. The only
 * code that ever holds two locks besides that is eviction, and it only {@code tryLock}s, so
 * {@link #makeRoom()} may be called from inside an {@code atomically} body without risk of deadlock.
 *
 * <h2>Entries, versions and the unlinked mark</h2>
 * An {@link Entry} is immutable except its {@code lru} stamp. A write never modifies an entry in place:
 * it links a new one into the table and marks the one it replaced as {@link #UNLINKED} (a reserved
 * {@code lru} value). Local writes ({@code put}, {@code delete}, {@code Txn} writes) are stamped under
 * the segment lock with {@code hlc.now()} and this node's id; if the entry they replace carries a
 * greater timestamp (merged from a node whose clock runs ahead), the clock first observes it, so a local
 * write always supersedes what it replaced here and on every replica. {@link #merge(Entry)} stores a
 * copy of the incoming entry (so entries are never shared between engines or with callers) if it is
 * newer under last-writer-wins than whatever the table holds, tombstones and expired entries included.
 *
 * <h2>Expiration</h2>
 * {@code expireAt} is absolute and replicated, so every replica expires a key at the same moment. An
 * expired entry is reclaimed lazily, by the first read or write that finds it, and actively, by
 * {@link #expireCycle(long)}, which the server calls about ten times a second (Redis's {@code hz 10}).
 * The cycle walks segments from where the previous one stopped and pops the due heads of their heaps,
 * until the time budget, {@link #MAX_EXPIRE_WORK_PER_CYCLE} or one full pass of the segments is used up,
 * so it terminates even with a clock that does not move. Each heap holds every entry with an expiry
 * time. Replaced entries stay in the heap and are recognized as stale by the unlinked mark — not by
 * looking them up, because a lookup in an access-ordered {@code LinkedHashMap} reorders it. A segment
 * compacts its heap when it holds more than twice the live elements plus 16, which bounds the stale
 * elements (and the old values they keep reachable, which are not accounted) by the live ones.
 *
 * <p>When tombstones are enabled ({@code tombstoneGraceMillis > 0}), reclaiming an expired entry turns it
 * into a tombstone with the same version, purged {@code grace} ms after the expiry time (as Cassandra
 * does with expired cells). Removing it outright would be deterministic for the entry itself, but not
 * for older writes: a hint or repair carrying a write older than the expired one could arrive after one
 * replica has removed it and before another has, and would be resurrected on the first only. The
 * tombstone keeps shadowing such writes for the same grace period a delete does. For the same reason a
 * merged entry that has already expired is stored (it is newer, so it must replace and shadow the
 * current version); it is then reclaimed like any other expired entry. With tombstones disabled
 * (single node) expired entries are simply removed.
 *
 * <h2>Tombstones</h2>
 * With a grace period, {@code delete} always writes a tombstone (value {@code null}, {@code expireAt} =
 * now + grace), whether or not a live entry was there: the delete must carry a version to shadow writes
 * this replica has not seen yet. The price: deleting keys that do not exist costs memory for the grace
 * period. Tombstones are hidden from reads, counted apart from keys, charged for memory, never chosen
 * for eviction (so they can hold memory over the bound until purged), and purged by the expiry cycle
 * once their time has passed. A merged tombstone without a purge time gets now + grace; with
 * tombstones disabled a winning merged tombstone just removes the current entry.
 *
 * <h2>Memory accounting</h2>
 * Each entry is charged {@link #charge(Entry)}: a fixed per-entry estimate of the JVM objects that hold
 * it ({@link #ENTRY_OVERHEAD}, plus {@link #HEAP_SLOT_OVERHEAD} if it has an expiry time) plus the two
 * byte arrays. Per-segment counters are updated under the segment lock; the same deltas go to
 * {@link LongAdder}s, so {@link #usedMemory()} (called before every write when a bound is set) and the
 * counts are cheap and never need a lock. The estimate assumes compressed oops (heaps under 32 GB).
 *
 * <h2>Eviction</h2>
 * Approximated by sampling, as in Redis's {@code evict.c}: {@link #makeRoom()} compares the candidates
 * of {@code evictionSamples} non-empty segments, starting at a random segment, and evicts the best. For
 * allkeys-lru a segment's candidate is its eldest key in access order — exact LRU within the segment —
 * and candidates are compared by idle time ({@code lru} stamps, in {@link #LRU_TICK_SHIFT 1024-ms}
 * ticks, compared by wrapping difference). For volatile-lru it is a random element of the segment's
 * expiry heap; for volatile-ttl the element with the nearest expiry among the first few of the heap
 * array (its top levels). Tombstones and stale heap elements are skipped. Eviction removes the entry
 * without a tombstone: it is local memory management, not a delete, and repair may bring the key back.
 *
 * <p>Known imprecision: {@link #peek} has to look the key up with {@code LinkedHashMap.get}, which moves
 * it to the young end of its segment's order (the map has no lookup that does not). It leaves the
 * {@code lru} stamp alone, so cross-segment comparisons are unaffected, but a peeked key stops being its
 * segment's eviction candidate until the keys accessed after it are.
 *
 * <h2>Iteration</h2>
 * {@link #scan} uses the segment index as its cursor and visits whole segments, so a key present for the
 * whole scan is returned exactly once. Keys are copied out under the lock and the filter runs after it
 * is released. {@link #keys} does the same for all segments; {@link #randomEntry()} probes random
 * segments, then falls back to a sweep. {@link #forEachInRange} visits only the run of segments that
 * overlaps the token range, one lock at a time, and hands each entry of the range to its visitor under
 * that lock (no copy: a Merkle tree over millions of keys costs the tree, not the data).
 */
public final class MemoryEngine implements Engine {

    /** Number of segments (a power of two): the unit of locking, expiry and token-range iteration. */
    public static final int SEGMENTS = 1 << 12;
    private static final int SEGMENT_MASK = SEGMENTS - 1;
    /** A token's segment is its top {@code 64 - SEGMENT_SHIFT} bits, after flipping the sign bit. */
    private static final int SEGMENT_SHIFT = 64 - Integer.numberOfTrailingZeros(SEGMENTS);

    /**
     * Bytes charged per entry for the objects that hold it, with compressed oops and class pointers
     * (12-byte headers, 4-byte references, 8-byte alignment):
     * <pre>
     *   LinkedHashMap.Entry  12 header + hash 4 + key, value, next, before, after 5 x 4   = 36 -> 40
     *   table slot           a 4-byte reference; the table is a power of two kept at most
     *                        75% full, so 1.33 to 2.67 slots per entry                     ~      8
     *   Key                  12 header + bytes reference 4 + token 8                           24
     *   Entry                12 header + key, value 2 x 4 + hlc, nodeId, expireAt 3 x 8
     *                        + lru 4                                                           48
     *                                                                                         ---
     *                                                                                         120
     * </pre>
     * Each byte array is charged on its own as {@code align8(16 + length)} (12 header + 4 length).
     */
    public static final int ENTRY_OVERHEAD = 40 + 8 + 24 + 48;

    /**
     * Extra bytes charged per entry with an expiry time (volatile keys and tombstones) for its slot in
     * the segment's expiry heap: a 4-byte reference in an array grown by doubling, so 4 to 8 bytes.
     */
    public static final int HEAP_SLOT_OVERHEAD = 8;

    /** The {@code lru} stamp is wall-clock ms shifted right by this: ticks of 1024 ms, as in Redis. */
    static final int LRU_TICK_SHIFT = 10;

    /** The {@code lru} value of an entry that is no longer in its segment's table; never a real tick. */
    static final int UNLINKED = Integer.MIN_VALUE;

    /**
     * Most heap elements one {@link #expireCycle} pops (reclaimed entries and stale elements), so that
     * a cycle stays short even when the clock does not move during it or a mass expiry is due.
     */
    static final int MAX_EXPIRE_WORK_PER_CYCLE = 1 << 16;

    /** Consecutive failed victim searches after which {@link #makeRoom()} gives up. */
    private static final int MAX_EVICTION_FAILURES = 8;

    /** How many entries at the old end of a segment allkeys-lru looks at to get past tombstones. */
    private static final int ELDEST_PROBES = 8;

    /** How many random heap elements volatile-lru tries in a segment to find a live volatile key. */
    private static final int VOLATILE_LRU_PROBES = 4;

    /** How many slots at the front of a heap (its top three levels) volatile-ttl compares. */
    private static final int VOLATILE_TTL_HEAD_SLOTS = 7;

    /** Random segments {@link #randomEntry()} tries before it sweeps. */
    private static final int RANDOM_ENTRY_PROBES = 64;

    /** Up to this many keys, a transaction checks its key list linearly rather than through a set. */
    private static final int TXN_LINEAR_KEYS = 8;

    private static final Predicate<Entry> IS_UNLINKED = e -> e.lru == UNLINKED;

    private final EngineConfig config;
    private final Clock clock;
    private final Hlc hlc;
    private final long nodeId;
    /** Where every stored entry and flush is reported for the log; {@link Journal#NONE} in memory only. */
    private final Journal journal;
    /** Shortcut for {@code config.tombstoneGraceMillis()}; 0 means deletes and expiry leave no tombstone. */
    private final long graceMillis;
    private final Segment[] segments = new Segment[SEGMENTS];

    /** Sum of {@link #charge(Entry)} over all entries, in bytes. */
    private final LongAdder usedMemory = new LongAdder();
    /** Entries that are not tombstones, expired-but-unreclaimed included. */
    private final LongAdder keyCount = new LongAdder();
    /** Non-tombstone entries with an expiry time. */
    private final LongAdder volatileCount = new LongAdder();
    private final LongAdder tombstoneCount = new LongAdder();
    private final LongAdder expiredKeys = new LongAdder();
    private final LongAdder evictedKeys = new LongAdder();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    /** The newest flush applied: nothing older may enter (see {@link #flush}). */
    private volatile Version flushFloor = Version.ZERO;
    private final LongAdder refusedBelowFlushFloor = new LongAdder();
    private final LongAdder flushDropped = new LongAdder();

    /** Segment where the next {@link #expireCycle} starts; only a hint if cycles ever overlap. */
    private volatile int expireCursor;

    public MemoryEngine(EngineConfig config, Clock clock, Hlc hlc, long nodeId) {
        this(config, clock, hlc, nodeId, Journal.NONE);
    }

    /** An engine that reports what it stores to {@code journal} (see {@link Journal}). */
    public MemoryEngine(EngineConfig config, Clock clock, Hlc hlc, long nodeId, Journal journal) {
        this.journal = Objects.requireNonNull(journal, "journal");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.hlc = Objects.requireNonNull(hlc, "hlc");
        this.nodeId = nodeId;
        this.graceMillis = config.tombstoneGraceMillis();
        for (int i = 0; i < SEGMENTS; i++) {
            segments[i] = new Segment();
        }
    }

    /** The segment of a ring token: its top bits in signed order, so token ranges map to segment runs. */
    public static int segmentOf(long token) {
        return (int) ((token ^ Long.MIN_VALUE) >>> SEGMENT_SHIFT);
    }

    /** Accounted bytes of one entry; see {@link #ENTRY_OVERHEAD}. */
    static long charge(Entry e) {
        long bytes = ENTRY_OVERHEAD + align8(16L + e.key.length());
        if (e.expireAt != 0) {
            bytes += HEAP_SLOT_OVERHEAD;
        }
        if (e.value != null) {
            bytes += align8(16L + e.value.length);
        }
        return bytes;
    }

    private static long align8(long n) {
        return (n + 7) & ~7L;
    }

    /** The LRU clock reading for {@code millis}; never {@link #UNLINKED}. */
    static int lruTick(long millis) {
        int tick = (int) (millis >>> LRU_TICK_SHIFT);
        return tick == UNLINKED ? tick + 1 : tick;
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? (b > 0 ? Long.MAX_VALUE : Long.MIN_VALUE) : r;
    }

    private Segment segmentFor(Key key) {
        return segments[segmentOf(key.token())];
    }

    // ---- reads ----

    @Override
    public Entry get(Key key) {
        Segment s = segmentFor(key);
        long now = clock.millis();
        Entry found;
        s.lock();
        try {
            found = readLocked(s, key, now, true);
        } finally {
            s.unlock();
        }
        (found != null ? hits : misses).increment();
        return found;
    }

    @Override
    public Entry stored(Key key) {
        Segment s = segmentFor(key);
        s.lock();
        try {
            return s.map.get(key);
        } finally {
            s.unlock();
        }
    }

    @Override
    public Entry peek(Key key) {
        Segment s = segmentFor(key);
        long now = clock.millis();
        s.lock();
        try {
            return readLocked(s, key, now, false);
        } finally {
            s.unlock();
        }
    }

    /** The live entry for {@code key}, reclaiming it if it has expired. Caller holds {@code s}. */
    private Entry readLocked(Segment s, Key key, long now, boolean touch) {
        Entry e = s.map.get(key);
        if (e == null || e.value == null) {
            return null;
        }
        if (e.isExpired(now)) {
            reclaimExpired(s, e, now);
            return null;
        }
        if (touch) {
            e.lru = lruTick(now);
        }
        return e;
    }

    // ---- writes ----

    @Override
    public Entry put(Key key, byte[] value, long expireAt) {
        Objects.requireNonNull(value, "value");
        Segment s = segmentFor(key);
        long now = clock.millis();
        s.lock();
        try {
            return putLocked(s, key, value, expireAt, now);
        } finally {
            s.unlock();
        }
    }

    private Entry putLocked(Segment s, Key key, byte[] value, long expireAt, long now) {
        Entry old = s.map.get(key);
        // Reuse the table's key object so an overwritten key does not keep two copies alive.
        Entry e = new Entry(old != null ? old.key : key, value, stamp(old), nodeId, expireAt);
        e.lru = lruTick(now);
        s.map.put(e.key, e);
        account(s, old, e, now);
        WriteCapture.record(e);
        journal.stored(e);
        return e;
    }

    @Override
    public boolean delete(Key key) {
        Segment s = segmentFor(key);
        long now = clock.millis();
        s.lock();
        try {
            return deleteLocked(s, key, now);
        } finally {
            s.unlock();
        }
    }

    private boolean deleteLocked(Segment s, Key key, long now) {
        Entry old = s.map.get(key);
        boolean live = old != null && old.value != null && !old.isExpired(now);
        if (graceMillis > 0) {
            Entry tombstone = new Entry(old != null ? old.key : key, null, stamp(old), nodeId,
                    saturatedAdd(now, graceMillis));
            tombstone.lru = lruTick(now);
            s.map.put(tombstone.key, tombstone);
            account(s, old, tombstone, now);
            WriteCapture.record(tombstone);
            journal.stored(tombstone);
        } else if (old != null) {
            // No tombstone is kept, but the log needs one, or a replay would bring the key back.
            journal.stored(new Entry(old.key, null, stamp(old), nodeId, now));
            s.map.remove(old.key);
            account(s, old, null, now);
        }
        return live;
    }

    /** A timestamp for a local write that replaces {@code current}: greater than its timestamp. */
    private long stamp(Entry current) {
        long ts = hlc.now();
        if (current != null && ts <= current.hlc) {
            hlc.observe(current.hlc);
            ts = hlc.now();
        }
        return ts;
    }

    @Override
    public boolean merge(Entry incoming) {
        Segment s = segmentFor(incoming.key);
        long now = clock.millis();
        s.lock();
        try {
            Version floor = flushFloor; // read under the lock: see flush
            if (Version.compare(incoming.hlc, incoming.nodeId, floor.hlc(), floor.nodeId()) < 0) {
                refusedBelowFlushFloor.increment();
                return false;
            }
            Entry old = s.map.get(incoming.key);
            if (old != null && !incoming.newerThan(old)) {
                return false;
            }
            hlc.observe(incoming.hlc);
            if (incoming.value == null && graceMillis == 0) {
                if (old != null) {
                    s.map.remove(old.key);
                    account(s, old, null, now);
                }
                journal.stored(incoming);
                return true;
            }
            long expireAt = incoming.expireAt;
            if (incoming.value == null && expireAt == 0) {
                expireAt = saturatedAdd(now, graceMillis);
            }
            Entry e = new Entry(old != null ? old.key : incoming.key, incoming.value, incoming.hlc,
                    incoming.nodeId, expireAt);
            e.lru = lruTick(now);
            s.map.put(e.key, e);
            account(s, old, e, now);
            journal.stored(e);
            return true;
        } finally {
            s.unlock();
        }
    }

    /**
     * Reclaims a linked entry that has expired: purges a tombstone; turns a value into a tombstone with
     * the same version while its grace period lasts, else removes it. Caller holds {@code s}.
     */
    private void reclaimExpired(Segment s, Entry e, long now) {
        if (e.value != null && graceMillis > 0) {
            long purgeAt = saturatedAdd(e.expireAt, graceMillis);
            if (now <= purgeAt) {
                Entry tombstone = new Entry(e.key, null, e.hlc, e.nodeId, purgeAt);
                tombstone.lru = e.lru;
                s.map.put(e.key, tombstone);
                account(s, e, tombstone, now);
                return;
            }
        }
        s.map.remove(e.key);
        account(s, e, null, now);
    }

    /**
     * Books the replacement of {@code old} by {@code neu} (either may be null) after the table has been
     * updated: marks {@code old} unlinked, adds {@code neu} to the expiry heap, adjusts the counters,
     * and compacts the heap when stale elements outnumber live ones. A live entry that had already
     * expired counts as expired, whatever replaced or removed it. Caller holds {@code s}.
     */
    private void account(Segment s, Entry old, Entry neu, long now) {
        long memory = 0;
        int keys = 0;
        int volatiles = 0;
        int tombstones = 0;
        if (old != null) {
            old.lru = UNLINKED;
            memory -= charge(old);
            if (old.value == null) {
                tombstones--;
            } else {
                keys--;
                if (old.expireAt != 0) {
                    volatiles--;
                    if (old.isExpired(now)) {
                        expiredKeys.increment();
                    }
                }
            }
        }
        if (neu != null) {
            memory += charge(neu);
            if (neu.value == null) {
                tombstones++;
            } else {
                keys++;
                if (neu.expireAt != 0) {
                    volatiles++;
                }
            }
            if (neu.expireAt != 0) {
                s.heap.add(neu);
            }
        }
        s.memory += memory;
        s.keys += keys;
        s.volatiles += volatiles;
        s.tombstones += tombstones;
        if (memory != 0) {
            usedMemory.add(memory);
        }
        if (keys != 0) {
            keyCount.add(keys);
        }
        if (volatiles != 0) {
            volatileCount.add(volatiles);
        }
        if (tombstones != 0) {
            tombstoneCount.add(tombstones);
        }
        if (old != null && old.expireAt != 0 && s.heap.size() > 2 * (s.volatiles + s.tombstones) + 16) {
            s.heap.removeIf(IS_UNLINKED);
        }
    }

    // ---- atomic operations ----

    @Override
    public <R> R atomically(Key key, Function<Txn, R> body) {
        Segment s = segmentFor(key);
        s.lock();
        LockedTxn txn = new LockedTxn(key, null);
        try {
            return body.apply(txn);
        } finally {
            txn.open = false;
            s.unlock();
        }
    }

    @Override
    public <R> R atomically(List<Key> keys, Function<Txn, R> body) {
        int[] order = lockOrder(keys);
        LockedTxn txn = new LockedTxn(null, keys);
        int locked = 0;
        try {
            for (int index : order) {
                segments[index].lock();
                locked++;
            }
            return body.apply(txn);
        } finally {
            txn.open = false;
            for (int i = locked - 1; i >= 0; i--) {
                segments[order[i]].unlock();
            }
        }
    }

    /** The distinct segments of {@code keys}, ascending: the global lock order. */
    private static int[] lockOrder(List<Key> keys) {
        int[] order = new int[keys.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = segmentOf(keys.get(i).token());
        }
        Arrays.sort(order);
        int distinct = 0;
        for (int i = 0; i < order.length; i++) {
            if (i == 0 || order[i] != order[i - 1]) {
                order[distinct++] = order[i];
            }
        }
        return distinct == order.length ? order : Arrays.copyOf(order, distinct);
    }

    /**
     * The view an {@code atomically} body gets. Reads through it touch recency like {@link #get} but do
     * not count as keyspace hits or misses (they are the read half of a write, as Redis's write lookups).
     */
    private final class LockedTxn implements Txn {

        /** The one locked key, or null if {@link #many} holds the locked keys. */
        private final Key single;
        private final Collection<Key> many;
        /** Cleared when the body returns; the view must not be used after that. */
        boolean open = true;

        LockedTxn(Key single, List<Key> keys) {
            this.single = single;
            this.many = keys == null ? null : keys.size() > TXN_LINEAR_KEYS ? new HashSet<>(keys) : keys;
        }

        private Segment check(Key key) {
            if (!open) {
                throw new IllegalStateException("transaction used after its atomically body returned");
            }
            if (single != null ? !single.equals(key) : !many.contains(key)) {
                throw new IllegalArgumentException("key '" + key + "' is not locked by this transaction"
                        + " (expected one of: " + (single != null ? List.of(single) : many) + ")");
            }
            Segment s = segmentFor(key);
            if (!s.isHeldByCurrentThread()) {
                throw new IllegalStateException("transaction used from a thread other than its body's");
            }
            return s;
        }

        @Override
        public Entry get(Key key) {
            Segment s = check(key);
            return readLocked(s, key, clock.millis(), true);
        }

        @Override
        public Entry put(Key key, byte[] value, long expireAt) {
            Objects.requireNonNull(value, "value");
            Segment s = check(key);
            return putLocked(s, key, value, expireAt, clock.millis());
        }

        @Override
        public boolean delete(Key key) {
            Segment s = check(key);
            return deleteLocked(s, key, clock.millis());
        }
    }

    // ---- eviction ----

    @Override
    public boolean makeRoom() {
        long max = config.maxMemoryBytes();
        if (max == 0) {
            return true;
        }
        EvictionPolicy policy = config.policy();
        int failures = 0;
        while (usedMemory.sum() > max) {
            if (policy == EvictionPolicy.NOEVICTION || failures >= MAX_EVICTION_FAILURES) {
                return false;
            }
            boolean volatileOnly = policy != EvictionPolicy.ALLKEYS_LRU;
            if ((volatileOnly ? volatileCount.sum() : keyCount.sum()) == 0) {
                return false;
            }
            if (evictOne(policy, volatileOnly)) {
                failures = 0;
            } else {
                failures++;
            }
        }
        return true;
    }

    /**
     * Samples candidates from up to {@code evictionSamples} segments and evicts the best. The segment of
     * the best candidate so far stays locked while the others are sampled, so the victim cannot change
     * under us; every lock is taken with {@code tryLock}, and a busy segment is skipped. Returns false
     * if no candidate was found.
     */
    private boolean evictOne(EvictionPolicy policy, boolean volatileOnly) {
        long now = clock.millis();
        int nowTick = lruTick(now);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int samples = config.evictionSamples();
        int start = random.nextInt(SEGMENTS);
        Entry best = null;
        Segment bestSegment = null;
        long bestScore = Long.MAX_VALUE;
        try {
            int sampled = 0;
            for (int i = 0; i < SEGMENTS && sampled < samples; i++) {
                Segment s = segments[(start + i) & SEGMENT_MASK];
                // Racy read of the segment's counter: only a hint to skip segments without candidates.
                if ((volatileOnly ? s.volatiles : s.keys) == 0 || !s.tryLock()) {
                    continue;
                }
                boolean keep = false;
                try {
                    Entry candidate = switch (policy) {
                        case ALLKEYS_LRU -> eldestKey(s);
                        case VOLATILE_LRU -> randomVolatile(s, random);
                        case VOLATILE_TTL -> soonestVolatile(s);
                        case NOEVICTION -> null;
                    };
                    if (candidate != null) {
                        sampled++;
                        // Lower is better: nearest expiry, or longest idle (wrapping tick difference).
                        long score = policy == EvictionPolicy.VOLATILE_TTL
                                ? candidate.expireAt : -(long) (nowTick - candidate.lru);
                        if (best == null || score < bestScore) {
                            if (bestSegment != null) {
                                bestSegment.unlock();
                            }
                            best = candidate;
                            bestSegment = s;
                            bestScore = score;
                            keep = true;
                        }
                    }
                } finally {
                    if (!keep) {
                        s.unlock();
                    }
                }
            }
            if (best == null) {
                return false;
            }
            if (best.isExpired(now)) {
                reclaimExpired(bestSegment, best, now);
            } else {
                bestSegment.map.remove(best.key);
                account(bestSegment, best, null, now);
                evictedKeys.increment();
            }
            return true;
        } finally {
            if (bestSegment != null) {
                bestSegment.unlock();
            }
        }
    }

    /** The least recently used non-tombstone of {@code s}, or null. Caller holds {@code s}. */
    private static Entry eldestKey(Segment s) {
        int probes = 0;
        for (Entry e : s.map.values()) {
            if (e.value != null) {
                return e;
            }
            if (++probes == ELDEST_PROBES) {
                break;
            }
        }
        return null;
    }

    /** A random live volatile key of {@code s}, or null. Caller holds {@code s}. */
    private static Entry randomVolatile(Segment s, ThreadLocalRandom random) {
        ExpiryHeap heap = s.heap;
        for (int i = 0; i < VOLATILE_LRU_PROBES && heap.size() > 0; i++) {
            Entry e = heap.get(random.nextInt(heap.size()));
            if (e.lru != UNLINKED && e.value != null) {
                return e;
            }
        }
        return null;
    }

    /** The live volatile key with the nearest expiry among the top of the heap of {@code s}, or null. */
    private static Entry soonestVolatile(Segment s) {
        ExpiryHeap heap = s.heap;
        for (int dropped = 0; dropped < VOLATILE_TTL_HEAD_SLOTS && heap.size() > 0
                && heap.peek().lru == UNLINKED; dropped++) {
            heap.poll();
        }
        Entry best = null;
        int slots = Math.min(heap.size(), VOLATILE_TTL_HEAD_SLOTS);
        for (int i = 0; i < slots; i++) {
            Entry e = heap.get(i);
            if (e.lru != UNLINKED && e.value != null && (best == null || e.expireAt < best.expireAt)) {
                best = e;
            }
        }
        return best;
    }

    // ---- active expiry ----

    @Override
    public int expireCycle(long budgetNanos) {
        long start = clock.nanos();
        long now = clock.millis();
        int cursor = expireCursor;
        int reclaimed = 0;
        int work = 0;
        for (int visited = 0; visited < SEGMENTS; visited++) {
            Segment s = segments[cursor];
            if (s.heap.size() > 0) { // racy hint; an element added meanwhile is not due yet anyway
                s.lock();
                try {
                    ExpiryHeap heap = s.heap;
                    Entry head;
                    while (work < MAX_EXPIRE_WORK_PER_CYCLE && (head = heap.peek()) != null) {
                        if (head.lru == UNLINKED) {
                            heap.poll();
                        } else if (head.isExpired(now)) {
                            heap.poll();
                            reclaimExpired(s, head, now);
                            reclaimed++;
                        } else {
                            break;
                        }
                        work++;
                    }
                } finally {
                    s.unlock();
                }
                if (work >= MAX_EXPIRE_WORK_PER_CYCLE) {
                    break; // resume in this segment: it may hold more due entries
                }
            }
            cursor = (cursor + 1) & SEGMENT_MASK;
            if (clock.nanos() - start >= budgetNanos) {
                break;
            }
        }
        expireCursor = cursor;
        return reclaimed;
    }

    // ---- iteration ----

    @Override
    public ScanResult scan(long cursor, int count, Predicate<Key> filter) {
        if (cursor < 0 || cursor >= SEGMENTS) {
            return new ScanResult(0, List.of());
        }
        long now = clock.millis();
        int wanted = Math.max(1, count);
        List<Key> keys = new ArrayList<>();
        int examined = 0;
        int next = (int) cursor;
        while (next < SEGMENTS && examined < wanted) {
            examined += collectLive(segments[next++], now, keys);
        }
        applyFilter(keys, filter);
        return new ScanResult(next == SEGMENTS ? 0 : next, keys);
    }

    @Override
    public List<Key> keys(Predicate<Key> filter) {
        long now = clock.millis();
        List<Key> result = new ArrayList<>();
        List<Key> batch = new ArrayList<>();
        for (Segment s : segments) {
            batch.clear();
            collectLive(s, now, batch);
            applyFilter(batch, filter);
            result.addAll(batch);
        }
        return result;
    }

    @Override
    public long forEachInRange(long start, long end, Consumer<Entry> visitor) {
        Objects.requireNonNull(visitor, "visitor");
        int first = segmentOf(start + 1);
        int count = segmentsSpanned(start, end);
        long visited = 0;
        for (int i = 0; i < count; i++) {
            Segment s = segments[(first + i) & SEGMENT_MASK];
            s.lock();
            try {
                for (Entry e : s.map.values()) {
                    if (inArc(start, end, e.key.token())) {
                        visitor.accept(e);
                        visited++;
                    }
                }
            } finally {
                s.unlock();
            }
        }
        return visited;
    }

    /**
     * How many segments, counted clockwise from the one holding {@code start + 1}, the arc
     * {@code (start, end]} touches: up to the segment of {@code end}, or all of them when the arc is the
     * whole ring or wraps around to re-enter its first segment.
     */
    static int segmentsSpanned(long start, long end) {
        long lastOffset = end - (start + 1); // tokens in the arc minus one, unsigned
        if (start == end || Long.compareUnsigned(lastOffset, (long) (SEGMENTS - 1) << SEGMENT_SHIFT) >= 0) {
            return SEGMENTS;
        }
        return ((segmentOf(end) - segmentOf(start + 1)) & SEGMENT_MASK) + 1;
    }

    /** {@code token} in the clockwise arc {@code (start, end]}, the whole ring if equal (ring.TokenRange's rule). */
    private static boolean inArc(long start, long end, long token) {
        long distance = token - start;
        return start == end || (distance != 0 && Long.compareUnsigned(distance, end - start) <= 0);
    }

    /** Adds the live keys of {@code s} to {@code out} under its lock; returns the entries examined. */
    private static int collectLive(Segment s, long now, List<Key> out) {
        s.lock();
        try {
            for (Entry e : s.map.values()) {
                if (e.value != null && !e.isExpired(now)) {
                    out.add(e.key);
                }
            }
            return s.map.size();
        } finally {
            s.unlock();
        }
    }

    /** Runs the caller's filter, outside any lock; a null filter accepts every key. */
    private static void applyFilter(List<Key> keys, Predicate<Key> filter) {
        if (filter != null) {
            keys.removeIf(filter.negate());
        }
    }

    @Override
    public Entry randomEntry() {
        if (keyCount.sum() == 0) {
            return null;
        }
        long now = clock.millis();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int attempt = 0; attempt < RANDOM_ENTRY_PROBES; attempt++) {
            Segment s = segments[random.nextInt(SEGMENTS)];
            if (s.keys == 0) { // racy hint
                continue;
            }
            s.lock();
            try {
                int n = s.map.size();
                if (n == 0) {
                    continue;
                }
                int skip = random.nextInt(n);
                for (Entry e : s.map.values()) {
                    if (skip-- == 0) {
                        if (e.value != null && !e.isExpired(now)) {
                            return e;
                        }
                        break;
                    }
                }
            } finally {
                s.unlock();
            }
        }
        int start = random.nextInt(SEGMENTS);
        for (int i = 0; i < SEGMENTS; i++) {
            Segment s = segments[(start + i) & SEGMENT_MASK];
            s.lock();
            try {
                for (Entry e : s.map.values()) {
                    if (e.value != null && !e.isExpired(now)) {
                        return e;
                    }
                }
            } finally {
                s.unlock();
            }
        }
        return null;
    }

    // ---- whole engine ----

    /**
     * Removes every entry, segment by segment (a write racing with it may survive in a segment already
     * cleared), and releases the tables. Counts and accounted memory drop to zero; stats are kept.
     */
    @Override
    public void clear() {
        for (Segment s : segments) {
            s.lock();
            try {
                usedMemory.add(-s.memory);
                keyCount.add(-s.keys);
                volatileCount.add(-s.volatiles);
                tombstoneCount.add(-s.tombstones);
                s.memory = 0;
                s.keys = 0;
                s.volatiles = 0;
                s.tombstones = 0;
                s.map = Segment.newTable();
                s.heap.clear();
            } finally {
                s.unlock();
            }
        }
    }

    /**
     * The floor is raised and the clock observes it before the sweep: a local write stamps its version
     * and stores its entry under one segment lock, so an entry stamped before the floor is in its
     * segment when the sweep takes that lock (and is dropped), and one stamped after is newer than the
     * floor. A merge reads the floor under its segment lock: it lands before the sweep reaches the
     * segment (and is dropped by it) or after, when it sees the new floor.
     */
    @Override
    public long flush(Version floor) {
        synchronized (this) {
            if (floor.compareTo(flushFloor) <= 0) {
                return 0;
            }
            flushFloor = floor;
        }
        journal.flushed(floor);
        hlc.observe(floor.hlc());
        long now = clock.millis();
        long dropped = 0;
        for (Segment s : segments) {
            s.lock();
            try {
                var it = s.map.values().iterator();
                while (it.hasNext()) {
                    Entry e = it.next();
                    if (Version.compare(e.hlc, e.nodeId, floor.hlc(), floor.nodeId()) < 0) {
                        it.remove();
                        account(s, e, null, now);
                        dropped++;
                    }
                }
                if (s.map.isEmpty()) {
                    s.heap.clear();
                }
            } finally {
                s.unlock();
            }
        }
        flushDropped.add(dropped);
        return dropped;
    }

    @Override
    public long flushDroppedEntries() {
        return flushDropped.sum();
    }

    @Override
    public Version flushFloor() {
        return flushFloor;
    }

    @Override
    public long refusedBelowFlushFloor() {
        return refusedBelowFlushFloor.sum();
    }

    @Override
    public long size() {
        return keyCount.sum();
    }

    @Override
    public long volatileSize() {
        return volatileCount.sum();
    }

    @Override
    public long usedMemory() {
        return usedMemory.sum();
    }

    @Override
    public EngineStats stats() {
        return new EngineStats(expiredKeys.sum(), evictedKeys.sum(), hits.sum(), misses.sum(),
                tombstoneCount.sum());
    }

    /** Elements in all expiry heaps, stale ones included: the measure of what compaction bounds. */
    long expiryHeapElements() {
        long n = 0;
        for (Segment s : segments) {
            s.lock();
            try {
                n += s.heap.size();
            } finally {
                s.unlock();
            }
        }
        return n;
    }

    /** Nothing to release: the engine holds only heap memory. */
    @Override
    public void close() {
    }

    /**
     * One segment: its table, expiry heap and counters, all guarded by the segment itself (a lock). The
     * counters are also read without the lock, as hints for sampling.
     */
    private static final class Segment extends ReentrantLock {

        /** The entries in access order: iteration starts at the least recently used. */
        LinkedHashMap<Key, Entry> map = newTable();
        /** Every entry of {@link #map} with an expiry time, plus stale (unlinked) ones. */
        final ExpiryHeap heap = new ExpiryHeap();
        /** Accounted bytes of the entries in {@link #map}. */
        long memory;
        /** Entries in {@link #map} that are not tombstones. */
        int keys;
        /** Non-tombstone entries in {@link #map} with an expiry time. */
        int volatiles;
        int tombstones;

        static LinkedHashMap<Key, Entry> newTable() {
            return new LinkedHashMap<>(16, 0.75f, true);
        }
    }
}
