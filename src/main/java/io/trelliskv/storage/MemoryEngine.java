package io.trelliskv.storage;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The in-memory storage engine: a node's keys in a table of segments, with TTLs, tombstones, a memory
 * bound and Redis-style approximate eviction. Records live in slabs ({@link SlabAllocator}), with no
 * Java object per key; {@link Entry} is only the exchange type, materialized when asked for.
 *
 * <h2>Segments and concurrency</h2>
 * The key space is split into {@link #SEGMENTS} segments by the top 12 bits of a key's ring token, taken
 * in the ring's (signed) order: segment 0 holds the most negative tokens and segment 4095 the most
 * positive ones, so a range of ring tokens maps to a contiguous run of segments (what Merkle trees and
 * range streaming walk), and a scan visits keys in approximate ring order. Each segment is its own
 * lock (a {@link SegmentLock}: one CAS to take, a store without a fence to release) and owns an
 * open-addressing index and an {@link ExpiryHeap}. Every operation on one key takes one segment lock;
 * multi-key {@code atomically} takes the distinct segments in ascending index order, so two of them
 * cannot deadlock. The only code that ever holds two segment locks besides that is eviction, which only
 * {@code tryLock}s, so {@link #makeRoom()} may be called from inside an {@code atomically} body, and
 * {@link #clear()}, which takes all of them in ascending order (so it must not be called from inside
 * such a body). Slab arena locks are taken under a segment lock and nothing is taken under them.
 *
 * <h2>Records</h2>
 * A record is one chunk of a slab (see {@link SlabAllocator} for chunks, size classes and handles),
 * big-endian, at these byte offsets:
 * <pre>
 *    0  int    flags (top 8 bits: {@link #F_TOMBSTONE}, {@link #F_EXPIRY}, {@link #F_INLINE_NODE}, and the
 *              value's {@link ValueKind} in the two bits at {@link #F_KIND_SHIFT})
 *              | LRU clock (low 24 bits, ticks of 1024 ms, as Redis's)
 *    4  byte   index of the writer's node id in the engine's node table ({@link #INLINE_NODE}: inline)
 *    5  long   hlc of the write
 *   13  long   expireAt, epoch ms                   } only with F_EXPIRY
 *   21  int    index of the record's expiry-heap element }
 *    .  long   node id                              only with F_INLINE_NODE
 *    .  varint key length; varint value length (absent for a tombstone)
 *    .  key bytes, value bytes
 * </pre>
 * Most records carry one of a handful of node ids (the replicas of their keys), so the engine keeps a
 * table of up to 255 of them, appended to and never shrunk, and a record stores a one-byte index; any
 * further node id is stored inline. A write never modifies another key's record: it writes the new
 * record into the old chunk when both lengths fall in the same size class, else into a new chunk, and
 * frees the old. Local writes ({@code put}, {@code delete}, {@code Txn} writes) are stamped under the
 * segment lock with {@code hlc.now()} (the hybrid clock's reading of the wall clock, to the microsecond)
 * and this node's id; if the record they replace carries a greater timestamp (merged from a node
 * whose clock runs ahead), the clock first observes it, so a local write always supersedes what it
 * replaced here and on every replica. {@link #merge(Entry)} copies the
 * incoming entry into a record if it is newer under last-writer-wins than whatever is stored,
 * tombstones and expired records included. Reads copy the value out into a new {@link Entry}.
 *
 * <h2>Index</h2>
 * Each segment's index is a {@code long[]} of slots, linear probing, a power of two between
 * {@link #MIN_SLOTS} and 2^24 slots, at most 3/4 full (grown by doubling, halved when under 1/8 full,
 * released when empty). A slot is 0 (empty) or {@code tag << 40 | handle}: the tag is the low 24 bits of
 * the key's token, so it gives the slot's home position for every table size (growing never rehashes a
 * key) and, compared before the key bytes, keeps almost every probe off the record. Deletion shifts the
 * following slots of the cluster back (no tombstone slots). A key's token is not stored: iteration that
 * needs it (ranges, scans, finding the slot of an expiring record) hashes the key bytes again.
 *
 * <h2>Expiration</h2>
 * {@code expireAt} is absolute and replicated, so every replica expires a key at the same moment. An
 * expired record is reclaimed lazily, by the first read or write that finds it, and actively, by
 * {@link #expireCycle(long)}, which the server calls about ten times a second (Redis's {@code hz 10}).
 * The cycle walks segments from where the previous one stopped and pops the due heads of their heaps,
 * until the time budget, {@link #MAX_EXPIRE_WORK_PER_CYCLE} or one full pass of the segments is used up,
 * so it terminates even with a clock that does not move. Each heap holds exactly the records of its
 * segment that have an expiry time: a record knows its heap index and leaves the heap when replaced.
 *
 * <p>When tombstones are enabled ({@code tombstoneGraceMillis > 0}), reclaiming an expired record turns it
 * into a tombstone with the same version, purged {@code grace} ms after the expiry time (as Cassandra
 * does with expired cells). Removing it outright would be deterministic for the record itself, but not
 * for older writes: a hint or repair carrying a write older than the expired one could arrive after one
 * replica has removed it and before another has, and would be resurrected on the first only. The
 * tombstone keeps shadowing such writes for the same grace period a delete does. For the same reason a
 * merged entry that has already expired is stored (it is newer, so it must replace and shadow the
 * current version); it is then reclaimed like any other expired record. With tombstones disabled
 * (single node) expired records are simply removed.
 *
 * <h2>Tombstones</h2>
 * With a grace period, {@code delete} always writes a tombstone (no value, {@code expireAt} = now +
 * grace), whether or not a live record was there: the delete must carry a version to shadow writes this
 * replica has not seen yet. The price: deleting keys that do not exist costs memory for the grace
 * period. Tombstones are hidden from reads, counted apart from keys, charged for memory, never chosen
 * for eviction (so they can hold memory over the bound until purged), and purged by the expiry cycle
 * once their time has passed. A merged tombstone without a purge time gets now + grace; with
 * tombstones disabled a winning merged tombstone just removes the current record.
 *
 * <h2>Memory accounting and the per-key budget</h2>
 * Each record is charged {@link #charge}: its chunk (its size class's bytes, or its own buffer's length),
 * plus {@link #SLOT_CHARGE} for its index slot and, with an expiry time, {@link #HEAP_ELEMENT_CHARGE}
 * for its heap element. The index and heap charges are the average cost of a slot and an element, not
 * the current capacity of the segment's arrays: a whole array appearing or vanishing with one key would
 * make the charge of a key depend on its neighbours, and eviction overshoot by an array. Per-segment
 * counters are updated under the segment lock; the same deltas go to {@link LongAdder}s, so
 * {@link #usedMemory()} (called before every write when a bound is set) and the counts are cheap and
 * never need a lock. Not charged: slab tails not yet carved and free chunks (a slab never returns to
 * the operating system until {@link #clear()}), a few hundred kB of per-segment objects, the node table.
 * For 1,000,000 keys {@code key:0 .. key:999999} with 100-byte values and no expiry:
 * <pre>
 *   record     13 header + 1 + 1 length varints + 10 key + 100 value = 125 -> 128-byte class    128
 *   index      an 8-byte slot, tables 3/8 to 3/4 full: 10.7 to 21.3, ~16 at 244 keys a segment   16
 *                                                                                               ---
 *                                                                                               144
 *   with a TTL: +12 in the record (often the same class) + a 16-byte heap element, arrays
 *   grown by doubling (16 to 32, charged 24)
 * </pre>
 *
 * <h2>Eviction</h2>
 * Approximated by sampling, as in Redis's {@code evict.c}: {@link #makeRoom()} compares the candidates
 * of {@code evictionSamples} non-empty segments, starting at a random segment, and evicts the best. For
 * allkeys-lru a segment's candidate is the longest idle of up to {@link #LRU_PROBES} keys at a random
 * place in its index; candidates are compared by idle time (LRU clock ticks, compared by wrapping
 * difference). For volatile-lru it is a random element of the segment's expiry heap; for volatile-ttl
 * the element with the nearest expiry among the first few of the heap array (its top levels).
 * Tombstones are skipped. Eviction removes the record without a tombstone: it is local memory
 * management, not a delete, and repair may bring the key back.
 *
 * <h2>Iteration</h2>
 * {@link #scan} uses the segment index as its cursor and visits whole segments, so a key present for the
 * whole scan is returned exactly once. Keys are copied out under the lock and the filter runs after it
 * is released. {@link #keys} does the same for all segments; {@link #randomEntry()} probes random
 * segments, then falls back to a sweep. {@link #forEachInRange} visits only the run of segments that
 * overlaps the token range, one lock at a time, and hands each entry of the range to its visitor under
 * that lock (materialized one at a time, so a Merkle tree over millions of keys costs the tree and
 * short-lived garbage, not a copy of the data).
 */
public final class MemoryEngine implements Engine {

    /** Number of segments (a power of two): the unit of locking, expiry and token-range iteration. */
    public static final int SEGMENTS = 1 << 12;
    private static final int SEGMENT_MASK = SEGMENTS - 1;
    /** A token's segment is its top {@code 64 - SEGMENT_SHIFT} bits, after flipping the sign bit. */
    private static final int SEGMENT_SHIFT = 64 - Integer.numberOfTrailingZeros(SEGMENTS);

    /** Bytes charged per record for its index slot: 8 bytes at an average load of about 1/2. */
    public static final int SLOT_CHARGE = 16;
    /** Bytes charged per record with an expiry time for its heap element: 16 bytes, arrays grown by doubling. */
    public static final int HEAP_ELEMENT_CHARGE = 24;

    // ---- record layout (see the class comment) ----
    static final int F_TOMBSTONE = 1;
    static final int F_EXPIRY = 2;
    static final int F_INLINE_NODE = 4;
    /** Position of the value's {@link ValueKind} (two bits) in the flags. */
    static final int F_KIND_SHIFT = 3;
    private static final int OFF_NODE = 4;
    private static final int OFF_HLC = 5;
    private static final int OFF_EXPIRE = 13;
    private static final int OFF_HEAP_INDEX = 21;
    /** Bytes before the optional fields: flags and LRU clock, node index, hlc. */
    static final int HEADER = 13;
    /** Bytes of the expiry fields (expireAt, heap index). */
    static final int EXPIRY_FIELDS = 12;
    /** Node-table index meaning "the node id is inline"; the table holds at most this many ids. */
    static final int INLINE_NODE = 255;

    /** The LRU clock is wall-clock ms shifted right by this: ticks of 1024 ms, as in Redis. */
    static final int LRU_TICK_SHIFT = 10;
    /** The LRU clock has 24 bits (about 194 days before it wraps); idle times are wrapping differences. */
    static final int LRU_MASK = (1 << 24) - 1;

    // ---- index ----
    /** Smallest non-empty index, slots. */
    static final int MIN_SLOTS = 4;
    private static final int TAG_BITS = 24;
    private static final int TAG_MASK = (1 << TAG_BITS) - 1;
    private static final long[] NO_SLOTS = {};

    /**
     * Most heap elements one {@link #expireCycle} pops (reclaimed records), so that a cycle stays short
     * even when the clock does not move during it or a mass expiry is due.
     */
    static final int MAX_EXPIRE_WORK_PER_CYCLE = 1 << 16;

    /** Consecutive failed victim searches after which {@link #makeRoom()} gives up. */
    private static final int MAX_EVICTION_FAILURES = 8;

    /** How many keys allkeys-lru compares within a segment. */
    static final int LRU_PROBES = 8;

    /** How many random heap elements volatile-lru tries in a segment to find a live volatile key. */
    private static final int VOLATILE_LRU_PROBES = 4;

    /** How many slots at the front of a heap (its top three levels) volatile-ttl compares. */
    private static final int VOLATILE_TTL_HEAD_SLOTS = 7;

    /** Random segments {@link #randomEntry()} tries before it sweeps. */
    private static final int RANDOM_ENTRY_PROBES = 64;

    /** Up to this many keys, a transaction checks its key list linearly rather than through a set. */
    private static final int TXN_LINEAR_KEYS = 8;

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private final EngineConfig config;
    private final Clock clock;
    private final Hlc hlc;
    private final long nodeId;
    /** Where every stored entry and flush is reported for the log; {@link Journal#NONE} in memory only. */
    private final Journal journal;
    /** Shortcut for {@code config.tombstoneGraceMillis()}; 0 means deletes and expiry leave no tombstone. */
    private final long graceMillis;
    private final SlabAllocator slabs;
    private final Segment[] segments = new Segment[SEGMENTS];

    /**
     * Node ids by the index records store, {@code nodeTable[0]} this node's; at most {@link #INLINE_NODE}
     * ids, appended under {@link #nodeTableLock} and published by replacing the array.
     */
    private volatile long[] nodeTable;
    private final Object nodeTableLock = new Object();

    /** Sum of {@link #charge} over all records, in bytes. */
    private final LongAdder usedMemory = new LongAdder();
    /** Records that are not tombstones, expired-but-unreclaimed included. */
    private final LongAdder keyCount = new LongAdder();
    /** Non-tombstone records with an expiry time. */
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
    /**
     * One bit per segment, set while its expiry heap holds a record: what {@link #expireCycle} looks at to
     * pass over the others without touching them (a node without volatile keys visits none). Changed under
     * the segment's lock, atomically as neighbouring segments share a word; read racily.
     */
    private final long[] expiringSegments = new long[SEGMENTS / 64];
    private static final VarHandle EXPIRING = MethodHandles.arrayElementVarHandle(long[].class);

    public MemoryEngine(EngineConfig config, Clock clock, Hlc hlc, long nodeId) {
        this(config, clock, hlc, nodeId, Journal.NONE);
    }

    /**
     * An engine that reports what it stores to {@code journal} (see {@link Journal}). {@code hlc} must read
     * {@code clock}: a local write reads the clock once, for its expiry and idle time and its version, so an
     * HLC over another clock would be silently ignored when stamping.
     *
     * @throws IllegalArgumentException if {@code hlc} reads another clock
     */
    public MemoryEngine(EngineConfig config, Clock clock, Hlc hlc, long nodeId, Journal journal) {
        this.journal = Objects.requireNonNull(journal, "journal");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.hlc = Objects.requireNonNull(hlc, "hlc");
        if (hlc.clock() != clock) {
            throw new IllegalArgumentException("hlc reads another clock than the engine's: a write's version is"
                    + " stamped from the engine's clock reading");
        }
        this.nodeId = nodeId;
        this.nodeTable = new long[] {nodeId};
        this.graceMillis = config.tombstoneGraceMillis();
        this.slabs = new SlabAllocator(config.offHeapSlabs());
        ExpiryHeap.Positions positions = (h, i) -> slabs.buffer(h).putInt(SlabAllocator.offsetOf(h) + OFF_HEAP_INDEX, i);
        for (int i = 0; i < SEGMENTS; i++) {
            int segment = i;
            segments[i] = new Segment(i, new ExpiryHeap(positions, any -> markExpiring(segment, any)));
        }
    }

    private void markExpiring(int segment, boolean any) {
        long bit = 1L << (segment & 63);
        if (any) {
            EXPIRING.getAndBitwiseOr(expiringSegments, segment >>> 6, bit);
        } else {
            EXPIRING.getAndBitwiseAnd(expiringSegments, segment >>> 6, ~bit);
        }
    }

    private boolean mayExpire(int segment) {
        return ((long) EXPIRING.getOpaque(expiringSegments, segment >>> 6) & (1L << (segment & 63))) != 0;
    }

    /** The segment of a ring token: its top bits in signed order, so token ranges map to segment runs. */
    public static int segmentOf(long token) {
        return (int) ((token ^ Long.MIN_VALUE) >>> SEGMENT_SHIFT);
    }

    // ---- record arithmetic ----

    static int varintSize(int v) {
        return v < 1 << 7 ? 1 : v < 1 << 14 ? 2 : v < 1 << 21 ? 3 : v < 1 << 28 ? 4 : 5;
    }

    /** Bytes of a record; {@code valueLength < 0} for a tombstone. */
    static int recordLength(int keyLength, int valueLength, boolean hasExpiry, boolean inlineNode) {
        long n = HEADER + (hasExpiry ? EXPIRY_FIELDS : 0) + (inlineNode ? 8 : 0) + varintSize(keyLength) + (long) keyLength
                + (valueLength < 0 ? 0 : varintSize(valueLength) + (long) valueLength);
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("record too long: key " + keyLength + " + value " + valueLength + " bytes");
        }
        return (int) n;
    }

    /** Accounted bytes of a record of {@code length} bytes; see the class comment. */
    static long charge(int length, boolean hasExpiry) {
        return SlabAllocator.chunkBytes(length) + SLOT_CHARGE + (hasExpiry ? HEAP_ELEMENT_CHARGE : 0);
    }

    /** Accounted bytes of a record with these lengths (a tombstone: {@code valueLength < 0}), node id in the table. */
    static long charge(int keyLength, int valueLength, boolean hasExpiry) {
        return charge(recordLength(keyLength, valueLength, hasExpiry, false), hasExpiry);
    }

    /** The LRU clock reading for {@code millis}. */
    static int lruTick(long millis) {
        return (int) (millis >>> LRU_TICK_SHIFT) & LRU_MASK;
    }

    /** Ticks from {@code then} to {@code now} on the wrapping 24-bit LRU clock. */
    static int idleTicks(int nowTick, int then) {
        return (nowTick - then) & LRU_MASK;
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? (b > 0 ? Long.MAX_VALUE : Long.MIN_VALUE) : r;
    }

    private static int readVarint(ByteBuffer b, int p) {
        int v = 0;
        for (int shift = 0; ; shift += 7) {
            int x = b.get(p++);
            v |= (x & 0x7f) << shift;
            if (x >= 0) {
                return v;
            }
        }
    }

    private static int putVarint(ByteBuffer b, int p, int v) {
        while ((v & ~0x7f) != 0) {
            b.put(p++, (byte) (v & 0x7f | 0x80));
            v >>>= 7;
        }
        b.put(p++, (byte) v);
        return p;
    }

    private ByteBuffer buf(long h) {
        return slabs.buffer(h);
    }

    private static int off(long h) {
        return SlabAllocator.offsetOf(h);
    }

    private int flagsOf(long h) {
        return buf(h).get(off(h)) & 0xff;
    }

    private long hlcOf(long h) {
        return buf(h).getLong(off(h) + OFF_HLC);
    }

    /** expireAt of a record with {@link #F_EXPIRY}, else 0. */
    private long expireAtOf(long h, int flags) {
        return (flags & F_EXPIRY) == 0 ? 0 : buf(h).getLong(off(h) + OFF_EXPIRE);
    }

    private int heapIndexOf(long h) {
        return buf(h).getInt(off(h) + OFF_HEAP_INDEX);
    }

    private int lruOf(long h) {
        return buf(h).getInt(off(h)) & LRU_MASK;
    }

    private void touch(long h, int tick) {
        ByteBuffer b = buf(h);
        int o = off(h);
        b.putInt(o, b.getInt(o) & ~LRU_MASK | tick);
    }

    private long nodeIdOf(long h, int flags) {
        ByteBuffer b = buf(h);
        int o = off(h);
        if ((flags & F_INLINE_NODE) != 0) {
            return b.getLong(o + HEADER + ((flags & F_EXPIRY) != 0 ? EXPIRY_FIELDS : 0));
        }
        return nodeTable[b.get(o + OFF_NODE) & 0xff];
    }

    /** Offset of the key-length varint of a record. */
    private static int lengthsAt(int o, int flags) {
        return o + HEADER + ((flags & F_EXPIRY) != 0 ? EXPIRY_FIELDS : 0) + ((flags & F_INLINE_NODE) != 0 ? 8 : 0);
    }

    /** Total bytes of the record at {@code h}. */
    private int recordLengthOf(long h, int flags) {
        ByteBuffer b = buf(h);
        int p = lengthsAt(off(h), flags);
        int keyLength = readVarint(b, p);
        int valueLength = (flags & F_TOMBSTONE) != 0 ? -1 : readVarint(b, p + varintSize(keyLength));
        return recordLength(keyLength, valueLength, (flags & F_EXPIRY) != 0, (flags & F_INLINE_NODE) != 0);
    }

    /** Offset of the key bytes; {@code lengths[0]} gets the key length, {@code lengths[1]} the value's (-1 for none). */
    private static int keyAt(ByteBuffer b, int o, int flags, int[] lengths) {
        int p = lengthsAt(o, flags);
        int keyLength = readVarint(b, p);
        p += varintSize(keyLength);
        int valueLength = -1;
        if ((flags & F_TOMBSTONE) == 0) {
            valueLength = readVarint(b, p);
            p += varintSize(valueLength);
        }
        lengths[0] = keyLength;
        lengths[1] = valueLength;
        return p;
    }

    /** True if the record at {@code h} has exactly the key bytes {@code key}. */
    private boolean keyEquals(long h, byte[] key) {
        ByteBuffer b = buf(h);
        int o = off(h);
        int flags = b.get(o) & 0xff;
        int p = lengthsAt(o, flags);
        int keyLength = readVarint(b, p);
        if (keyLength != key.length) {
            return false;
        }
        p += varintSize(keyLength);
        if ((flags & F_TOMBSTONE) == 0) {
            p += varintSize(readVarint(b, p));
        }
        if (b.hasArray()) {
            int a = b.arrayOffset() + p;
            return Arrays.equals(b.array(), a, a + keyLength, key, 0, keyLength);
        }
        int i = 0;
        for (; i + 8 <= keyLength; i += 8) {
            if (b.getLong(p + i) != (long) LONGS.get(key, i)) {
                return false;
            }
        }
        for (; i < keyLength; i++) {
            if (b.get(p + i) != key[i]) {
                return false;
            }
        }
        return true;
    }

    /** The key of the record at {@code h}, copied out (its token computed again). */
    private Key keyOf(long h) {
        ByteBuffer b = buf(h);
        int o = off(h);
        int[] lengths = new int[2];
        int p = keyAt(b, o, b.get(o) & 0xff, lengths);
        byte[] key = new byte[lengths[0]];
        b.get(p, key);
        return Key.of(key);
    }

    /** The record at {@code h} as an entry, its value copied out; {@code key} is its key, or null to copy it too. */
    private Entry materialize(long h, Key key) {
        ByteBuffer b = buf(h);
        int o = off(h);
        int flags = b.get(o) & 0xff;
        int[] lengths = new int[2];
        int p = keyAt(b, o, flags, lengths);
        if (key == null) {
            byte[] k = new byte[lengths[0]];
            b.get(p, k);
            key = Key.of(k);
        }
        byte[] value = null;
        if (lengths[1] >= 0) {
            value = new byte[lengths[1]];
            b.get(p + lengths[0], value);
        }
        return new Entry(key, value, b.getLong(o + OFF_HLC), nodeIdOf(h, flags), expireAtOf(h, flags),
                (byte) (flags >>> F_KIND_SHIFT & 3));
    }

    /** The index in {@link #nodeTable} for {@code id}, adding it if there is room, else {@link #INLINE_NODE}. */
    private int nodeIndex(long id) {
        long[] table = nodeTable;
        for (int i = 0; i < table.length; i++) {
            if (table[i] == id) {
                return i;
            }
        }
        synchronized (nodeTableLock) {
            table = nodeTable;
            for (int i = 0; i < table.length; i++) {
                if (table[i] == id) {
                    return i;
                }
            }
            if (table.length == INLINE_NODE) {
                return INLINE_NODE;
            }
            long[] grown = Arrays.copyOf(table, table.length + 1);
            grown[table.length] = id;
            nodeTable = grown;
            return table.length;
        }
    }

    // ---- index ----

    private Segment segmentFor(Key key) {
        return segments[segmentOf(key.token())];
    }

    private static int tagOf(long token) {
        return (int) token & TAG_MASK;
    }

    private static long handleOf(long slot) {
        return slot & SlabAllocator.HANDLE_MASK;
    }

    /** The slot of {@code key} in {@code s}, or -1. Caller holds {@code s}. */
    private int find(Segment s, Key key) {
        long[] t = s.slots;
        if (t.length == 0) {
            return -1;
        }
        int mask = t.length - 1;
        int tag = tagOf(key.token());
        byte[] bytes = key.bytes();
        for (int i = tag & mask; ; i = (i + 1) & mask) {
            long v = t[i];
            if (v == 0) {
                return -1;
            }
            if ((int) (v >>> SlabAllocator.HANDLE_BITS) == tag && keyEquals(handleOf(v), bytes)) {
                return i;
            }
        }
    }

    /** The slot holding record {@code h} of {@code s}, found through its key. Caller holds {@code s}. */
    private int slotOf(Segment s, long h) {
        int i = find(s, keyOf(h));
        if (i < 0 || handleOf(s.slots[i]) != h) {
            throw new IllegalStateException("record " + Long.toHexString(h) + " is not in segment " + s.index);
        }
        return i;
    }

    /** Grows the index of {@code s} if one more key would make it more than 3/4 full. */
    private static void reserveSlot(Segment s) {
        if ((s.count + 1) * 4L > s.slots.length * 3L) {
            resize(s, Math.max(MIN_SLOTS, s.slots.length * 2));
        }
    }

    /** Adds a slot for a key known to be absent; {@link #reserveSlot} first. */
    private static void insert(Segment s, int tag, long h) {
        long[] t = s.slots;
        int mask = t.length - 1;
        int i = tag & mask;
        while (t[i] != 0) {
            i = (i + 1) & mask;
        }
        t[i] = (long) tag << SlabAllocator.HANDLE_BITS | h;
        s.count++;
    }

    /** Rebuilds the index of {@code s} at {@code capacity} slots (a power of two), from the tags alone. */
    private static void resize(Segment s, int capacity) {
        if (capacity > 1 << TAG_BITS) {
            throw new IllegalStateException("segment " + s.index + " index is full (" + s.count + " keys)");
        }
        long[] t = new long[capacity];
        int mask = capacity - 1;
        for (long v : s.slots) {
            if (v != 0) {
                int i = (int) (v >>> SlabAllocator.HANDLE_BITS) & mask;
                while (t[i] != 0) {
                    i = (i + 1) & mask;
                }
                t[i] = v;
            }
        }
        s.slots = t;
    }

    /** Empties slot {@code i}, shifting the rest of its cluster back; may shrink the index. */
    private static void removeSlot(Segment s, int i) {
        long[] t = s.slots;
        int mask = t.length - 1;
        int hole = i;
        for (int j = (i + 1) & mask; t[j] != 0; j = (j + 1) & mask) {
            int home = (int) (t[j] >>> SlabAllocator.HANDLE_BITS) & mask;
            if (((j - home) & mask) >= ((j - hole) & mask)) {
                t[hole] = t[j];
                hole = j;
            }
        }
        t[hole] = 0;
        s.count--;
        if (s.count == 0) {
            s.slots = NO_SLOTS;
        } else if (t.length > MIN_SLOTS && s.count * 8L < t.length) {
            resize(s, t.length / 2);
        }
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
            int i = find(s, key);
            return i < 0 ? null : materialize(handleOf(s.slots[i]), key);
        } finally {
            s.unlock();
        }
    }

    @Override
    public Entry storedVersion(Key key) {
        Segment s = segmentFor(key);
        s.lock();
        try {
            int i = find(s, key);
            if (i < 0) {
                return null;
            }
            long h = handleOf(s.slots[i]);
            int flags = flagsOf(h);
            if ((flags & F_TOMBSTONE) != 0 || (byte) (flags >>> F_KIND_SHIFT & 3) != ValueKind.PLAIN) {
                return materialize(h, key);
            }
            return new Entry(key, VALUE_NOT_COPIED, hlcOf(h), nodeIdOf(h, flags), expireAtOf(h, flags));
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

    @Override
    public <T> PlainRead readPlain(Key key, ValueSink<T> sink, T target) {
        Segment s = segmentFor(key);
        long now = clock.millis();
        PlainRead read;
        s.lock();
        try {
            long h = liveLocked(s, key, now);
            if (h == 0) {
                read = PlainRead.ABSENT;
            } else {
                int flags = flagsOf(h);
                if ((byte) (flags >>> F_KIND_SHIFT & 3) != ValueKind.PLAIN) {
                    return PlainRead.OTHER_KIND; // counted by the get that reads it
                }
                touch(h, lruTick(now));
                ByteBuffer b = buf(h);
                int p = lengthsAt(off(h), flags);
                int keyLength = readVarint(b, p);
                p += varintSize(keyLength);
                int valueLength = readVarint(b, p); // a live record is no tombstone: it has one
                sink.write(target, b, p + varintSize(valueLength) + keyLength, valueLength);
                read = PlainRead.WRITTEN;
            }
        } finally {
            s.unlock();
        }
        (read == PlainRead.WRITTEN ? hits : misses).increment();
        return read;
    }

    /** The live entry for {@code key}, reclaiming it if it has expired. Caller holds {@code s}. */
    private Entry readLocked(Segment s, Key key, long now, boolean touch) {
        long h = liveLocked(s, key, now);
        if (h == 0) {
            return null;
        }
        if (touch) {
            touch(h, lruTick(now));
        }
        return materialize(h, key);
    }

    /**
     * The handle of {@code key}'s live record, or 0 (no handle is 0) if it has none: no record, a tombstone,
     * or an expired value, which it reclaims. Caller holds {@code s}.
     */
    private long liveLocked(Segment s, Key key, long now) {
        int i = find(s, key);
        if (i < 0) {
            return 0;
        }
        long h = handleOf(s.slots[i]);
        int flags = flagsOf(h);
        if ((flags & F_TOMBSTONE) != 0) {
            return 0;
        }
        long expireAt = expireAtOf(h, flags);
        if (expireAt != 0 && now > expireAt) {
            reclaimExpired(s, i, h, now);
            return 0;
        }
        return h;
    }

    /** The LRU clock of {@code key}'s record, -1 if none (for tests). */
    int lruClockOf(Key key) {
        Segment s = segmentFor(key);
        s.lock();
        try {
            int i = find(s, key);
            return i < 0 ? -1 : lruOf(handleOf(s.slots[i]));
        } finally {
            s.unlock();
        }
    }

    // ---- writes ----

    /**
     * Stores a record for {@code key} in {@code s}: replaces the record in slot {@code slot}, or adds
     * one if {@code slot < 0}; {@code value == null} stores a tombstone. Allocates before it changes
     * anything, so a failed allocation leaves the segment as it was. Accounts. Caller holds {@code s}.
     */
    private void store(Segment s, int slot, Key key, byte[] keyBytes, byte[] value, byte kind, long stamp, long writer,
                       long expireAt, int tick, long now) {
        int valueLength = value == null ? -1 : value.length;
        long h = storeRecord(s, slot, tagOf(key.token()), keyBytes.length, valueLength, kind, stamp, writer, expireAt,
                tick, now);
        ByteBuffer b = buf(h);
        int p = bytesAt(h, keyBytes.length, valueLength);
        b.put(p, keyBytes);
        if (value != null) {
            b.put(p + keyBytes.length, value);
        }
    }

    /**
     * Offset of the key bytes of the record at {@code h}, whose key and value have these lengths ({@code -1}:
     * a tombstone); the value bytes follow the key's.
     */
    private int bytesAt(long h, int keyLength, int valueLength) {
        return lengthsAt(off(h), flagsOf(h)) + varintSize(keyLength) + (valueLength < 0 ? 0 : varintSize(valueLength));
    }

    /**
     * Does what {@link #store} does except copy the key and value bytes, which the caller writes at
     * {@link #bytesAt} before it releases {@code s}: the one place a record is laid out, for callers that
     * copy the bytes from an array or from a buffer. {@code tag} is {@link #tagOf} the key's token;
     * {@code valueLength < 0} stores a tombstone. Returns the record's handle.
     */
    private long storeRecord(Segment s, int slot, int tag, int keyLength, int valueLength, byte kind, long stamp,
                             long writer, long expireAt, int tick, long now) {
        boolean hasExpiry = expireAt != 0;
        boolean tombstone = valueLength < 0;
        int nodeIndex = nodeIndex(writer);
        boolean inline = nodeIndex == INLINE_NODE;
        int length = recordLength(keyLength, valueLength, hasExpiry, inline);
        long old = 0;
        int oldFlags = 0;
        long oldExpireAt = 0;
        long oldCharge = 0;
        boolean inPlace = false;
        if (slot >= 0) {
            old = handleOf(s.slots[slot]);
            oldFlags = flagsOf(old);
            oldExpireAt = expireAtOf(old, oldFlags);
            int oldLength = recordLengthOf(old, oldFlags);
            oldCharge = charge(oldLength, oldExpireAt != 0);
            inPlace = SlabAllocator.sameChunk(oldLength, length);
        } else {
            reserveSlot(s);
        }
        long h = inPlace ? old : slabs.allocate(s.arena, length);
        if ((oldFlags & F_EXPIRY) != 0) {
            s.heap.removeAt(heapIndexOf(old));
        }
        int flags = (tombstone ? F_TOMBSTONE : 0) | (hasExpiry ? F_EXPIRY : 0) | (inline ? F_INLINE_NODE : 0)
                | kind << F_KIND_SHIFT;
        ByteBuffer b = buf(h);
        int o = off(h);
        b.putInt(o, flags << 24 | tick & LRU_MASK);
        b.put(o + OFF_NODE, (byte) nodeIndex);
        b.putLong(o + OFF_HLC, stamp);
        int p = o + HEADER;
        if (hasExpiry) {
            b.putLong(p, expireAt);
            b.putInt(p + 8, -1);
            p += EXPIRY_FIELDS;
        }
        if (inline) {
            b.putLong(p, writer);
            p += 8;
        }
        p = putVarint(b, p, keyLength);
        if (!tombstone) {
            putVarint(b, p, valueLength);
        }
        if (hasExpiry) {
            s.heap.add(expireAt, h);
        }
        if (slot < 0) {
            insert(s, tag, h);
        } else if (!inPlace) {
            s.slots[slot] = s.slots[slot] & ~SlabAllocator.HANDLE_MASK | h;
            slabs.free(old);
        }
        account(s, slot >= 0, oldFlags, oldExpireAt, oldCharge, true, flags, charge(length, hasExpiry), now);
        return h;
    }

    /** Removes the record in slot {@code slot} of {@code s} and frees it. Accounts. Caller holds {@code s}. */
    private void unlink(Segment s, int slot, long now) {
        long h = handleOf(s.slots[slot]);
        int flags = flagsOf(h);
        long expireAt = expireAtOf(h, flags);
        long charge = charge(recordLengthOf(h, flags), expireAt != 0);
        if ((flags & F_EXPIRY) != 0) {
            s.heap.removeAt(heapIndexOf(h));
        }
        removeSlot(s, slot);
        slabs.free(h);
        account(s, true, flags, expireAt, charge, false, 0, 0, now);
    }

    @Override
    public Entry put(Key key, byte[] value, long expireAt) {
        return put(key, value, ValueKind.PLAIN, expireAt);
    }

    @Override
    public Entry put(Key key, byte[] value, byte kind, long expireAt) {
        Objects.requireNonNull(value, "value");
        Segment s = segmentFor(key);
        long now = clock.millis();
        s.lock();
        try {
            return putLocked(s, key, value, kind, expireAt, now);
        } finally {
            s.unlock();
        }
    }

    private Entry putLocked(Segment s, Key key, byte[] value, byte kind, long expireAt, long now) {
        int i = find(s, key);
        long stamp = stamp(s, i);
        store(s, i, key, key.bytes(), value, kind, stamp, nodeId, expireAt, lruTick(now), now);
        Entry e = new Entry(key, value, stamp, nodeId, expireAt, kind);
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
        int i = find(s, key);
        boolean live = false;
        if (i >= 0) {
            long h = handleOf(s.slots[i]);
            int flags = flagsOf(h);
            long expireAt = expireAtOf(h, flags);
            live = (flags & F_TOMBSTONE) == 0 && !(expireAt != 0 && now > expireAt);
        }
        if (graceMillis > 0) {
            long stamp = stamp(s, i);
            long purgeAt = saturatedAdd(now, graceMillis);
            store(s, i, key, key.bytes(), null, ValueKind.PLAIN, stamp, nodeId, purgeAt, lruTick(now), now);
            Entry tombstone = new Entry(key, null, stamp, nodeId, purgeAt);
            WriteCapture.record(tombstone);
            journal.stored(tombstone);
        } else if (i >= 0) {
            // No tombstone is kept, but the log needs one, or a replay would bring the key back.
            journal.stored(new Entry(key, null, stamp(s, i), nodeId, now));
            unlink(s, i, now);
        }
        return live;
    }

    /**
     * A timestamp for a local write that replaces the record in slot {@code i} (if any): greater than its. The
     * hybrid clock reads the wall clock to the microsecond for it ({@link Hlc#now()}), apart from the write's
     * millisecond reading for expiry and idle time: two writes through two nodes in one millisecond are ordered.
     */
    private long stamp(Segment s, int i) {
        long ts = hlc.now();
        if (i >= 0) {
            long current = hlcOf(handleOf(s.slots[i]));
            if (ts <= current) {
                hlc.observe(current);
                ts = hlc.now();
            }
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
            int i = find(s, incoming.key);
            if (i >= 0) {
                long h = handleOf(s.slots[i]);
                int flags = flagsOf(h);
                if (incoming.kind == ValueKind.COUNTER || isCounter(flags)) {
                    return mergeCounterLocked(s, i, h, incoming, now);
                }
                if (joinable(incoming, h, flags, now)) {
                    return joinLocked(s, i, h, flags, incoming, now);
                }
                if (Version.compare(incoming.hlc, incoming.nodeId, hlcOf(h), nodeIdOf(h, flags)) <= 0) {
                    return false;
                }
            }
            hlc.observe(incoming.hlc);
            if (incoming.value == null && graceMillis == 0) {
                if (i >= 0) {
                    unlink(s, i, now);
                }
                journal.stored(incoming);
                return true;
            }
            long expireAt = incoming.expireAt;
            if (incoming.value == null && expireAt == 0) {
                expireAt = saturatedAdd(now, graceMillis);
            }
            store(s, i, incoming.key, incoming.key.bytes(), incoming.value, incoming.kind, incoming.hlc, incoming.nodeId,
                    expireAt, lruTick(now), now);
            journal.stored(expireAt == incoming.expireAt ? incoming
                    : new Entry(incoming.key, null, incoming.hlc, incoming.nodeId, expireAt));
            return true;
        } finally {
            s.unlock();
        }
    }

    /**
     * {@link #merge(Entry)} for an entry read in place (a replica write as it arrived in its frame): a plain
     * value or a tombstone is found, decided and stored straight from the view's buffer, its key hashed and
     * compared there and its bytes copied once, into the record. No {@link Entry} is made unless the journal
     * records ({@link Journal#records}); it is told what {@code merge(Entry)} would tell it. Each step mirrors
     * {@code merge(Entry)}'s for a plain entry, which never joins ({@link ValueKind#joins}); what is rarer
     * takes that path: a value of another kind, and a stored counter (the counter rules compare entries).
     */
    @Override
    public boolean merge(EntryView incoming) {
        return merge(incoming, clock.millis());
    }

    /** {@link #merge(EntryView)} of each entry, with one clock reading for the batch. */
    @Override
    public int mergeAll(EntryView.Batch batch) {
        long now = clock.millis();
        int stored = 0;
        for (EntryView e = batch.next(); e != null; e = batch.next()) {
            if (merge(e, now)) {
                stored++;
            }
        }
        return stored;
    }

    private boolean merge(EntryView incoming, long now) {
        if (incoming.kind() != ValueKind.PLAIN) {
            return merge(incoming.toEntry());
        }
        long token = incoming.token();
        Segment s = segments[segmentOf(token)];
        s.lock();
        try {
            Version floor = flushFloor; // read under the lock: see flush
            if (Version.compare(incoming.hlc(), incoming.nodeId(), floor.hlc(), floor.nodeId()) < 0) {
                refusedBelowFlushFloor.increment();
                return false;
            }
            ByteBuffer src = incoming.buffer();
            int keyLength = incoming.keyLength();
            int i = find(s, token, src, incoming.keyOffset(), keyLength);
            if (i >= 0) {
                long h = handleOf(s.slots[i]);
                int flags = flagsOf(h);
                if (isCounter(flags)) {
                    return mergeCounterLocked(s, i, h, incoming.toEntry(), now);
                }
                if (Version.compare(incoming.hlc(), incoming.nodeId(), hlcOf(h), nodeIdOf(h, flags)) <= 0) {
                    return false;
                }
            }
            hlc.observe(incoming.hlc());
            long expireAt = incoming.expireAt();
            if (incoming.isTombstone() && graceMillis == 0) {
                if (i >= 0) {
                    unlink(s, i, now);
                }
                journalStored(incoming, expireAt);
                return true;
            }
            if (incoming.isTombstone() && expireAt == 0) {
                expireAt = saturatedAdd(now, graceMillis);
            }
            int valueLength = incoming.valueLength();
            long h = storeRecord(s, i, tagOf(token), keyLength, valueLength, ValueKind.PLAIN, incoming.hlc(),
                    incoming.nodeId(), expireAt, lruTick(now), now);
            ByteBuffer b = buf(h);
            int p = bytesAt(h, keyLength, valueLength);
            b.put(p, src, incoming.keyOffset(), keyLength);
            if (valueLength > 0) {
                b.put(p + keyLength, src, incoming.valueOffset(), valueLength);
            }
            journalStored(incoming, expireAt);
            return true;
        } finally {
            s.unlock();
        }
    }

    /** Slots {@link #prefetch} looks at from a key's home position: a cache line's worth. */
    private static final int PREFETCH_PROBES = 8;

    /**
     * Reads, for each token, its segment's lock word, the key's slots in the segment's index from its home
     * position, and the first two cache lines of the record they lead to: the cache misses a merge of a key not
     * recently touched starts with, one after the other, since each address comes from the previous read.
     * Here they are read in three passes over the tokens (the segments and their index headers, then the home
     * slots, then the records), so each pass's reads depend on nothing read in the same pass: the processor
     * overlaps as many of them as it can hold, where one pass per key would overlap only the few keys its
     * window reaches, each waiting on its own chain. The merges that follow find their lines in the cache. The
     * record is the first one in the key's probe sequence whose tag matches, looked for in at most
     * {@link #PREFETCH_PROBES} slots (one cache line of them). No lock is taken: a slot or handle read while a
     * writer changes them is stale at worst, and {@link SlabAllocator#touch} reads nothing through a handle that
     * no longer names a slab.
     */
    @Override
    public int prefetch(long[] tokens, int count) {
        int read = 0;
        for (int k = 0; k < count; k++) { // the segment and its index's header
            Segment s = segments[segmentOf(tokens[k])];
            if (s.isLocked()) { // the lock word
                read++;
            }
            read += s.slots.length;
        }
        for (int k = 0; k < count; k++) { // the home slot
            long[] t = segments[segmentOf(tokens[k])].slots;
            if (t.length > 0) {
                read += (int) t[tagOf(tokens[k]) & (t.length - 1)];
            }
        }
        for (int k = 0; k < count; k++) { // the record
            long token = tokens[k];
            long[] t = segments[segmentOf(token)].slots;
            int mask = t.length - 1;
            int tag = tagOf(token);
            for (int j = tag & mask, probes = 0; mask > 0 && probes < PREFETCH_PROBES; j = (j + 1) & mask, probes++) {
                long v = t[j];
                if (v == 0) {
                    break;
                }
                if ((int) (v >>> SlabAllocator.HANDLE_BITS) == tag) {
                    read += slabs.touch(handleOf(v));
                    break;
                }
            }
        }
        return read;
    }

    /** Reports the entry {@code incoming} points at, with expiry {@code expireAt}, to a journal that records. */
    private void journalStored(EntryView incoming, long expireAt) {
        if (journal.records()) {
            journal.stored(incoming.toEntry(incoming.key(), expireAt));
        }
    }

    /**
     * The slot in {@code s} of the key of {@code keyLength} bytes at {@code keyOffset} in {@code src}, whose
     * token is {@code token}, or -1: {@link #find(Segment, Key)} without a {@link Key}. Caller holds {@code s}.
     */
    private int find(Segment s, long token, ByteBuffer src, int keyOffset, int keyLength) {
        long[] t = s.slots;
        if (t.length == 0) {
            return -1;
        }
        int mask = t.length - 1;
        int tag = tagOf(token);
        for (int i = tag & mask; ; i = (i + 1) & mask) {
            long v = t[i];
            if (v == 0) {
                return -1;
            }
            if ((int) (v >>> SlabAllocator.HANDLE_BITS) == tag && keyEquals(handleOf(v), src, keyOffset, keyLength)) {
                return i;
            }
        }
    }

    /** True if the record at {@code h} has exactly the {@code keyLength} key bytes at {@code keyOffset} in {@code src}. */
    private boolean keyEquals(long h, ByteBuffer src, int keyOffset, int keyLength) {
        ByteBuffer b = buf(h);
        int o = off(h);
        int flags = b.get(o) & 0xff;
        int p = lengthsAt(o, flags);
        if (readVarint(b, p) != keyLength) {
            return false;
        }
        p += varintSize(keyLength);
        if ((flags & F_TOMBSTONE) == 0) {
            p += varintSize(readVarint(b, p));
        }
        if (b.hasArray() && src.hasArray()) {
            int a = b.arrayOffset() + p;
            int c = src.arrayOffset() + keyOffset;
            return Arrays.equals(b.array(), a, a + keyLength, src.array(), c, c + keyLength);
        }
        int i = 0;
        if (b.order() == src.order()) {
            for (; i + 8 <= keyLength; i += 8) {
                if (b.getLong(p + i) != src.getLong(keyOffset + i)) {
                    return false;
                }
            }
        }
        for (; i < keyLength; i++) {
            if (b.get(p + i) != src.get(keyOffset + i)) {
                return false;
            }
        }
        return true;
    }

    /**
     * True if {@code incoming} is to be joined with the record {@code h} rather than compared by version:
     * both live (unexpired) values of the same kind that joins ({@link ValueKind#joins}).
     */
    private boolean joinable(Entry incoming, long h, int flags, long now) {
        if (incoming.value == null || !ValueKind.joins(incoming.kind) || (flags & F_TOMBSTONE) != 0
                || (flags >>> F_KIND_SHIFT & 3) != incoming.kind) {
            return false;
        }
        long expireAt = expireAtOf(h, flags);
        return expireAt == 0 || now <= expireAt; // an expired value is gone: the newer version decides
    }

    private static boolean isCounter(int flags) {
        return (flags & F_TOMBSTONE) == 0 && (flags >>> F_KIND_SHIFT & 3) == ValueKind.COUNTER;
    }

    /**
     * Merges {@code incoming} with the record {@code h} in slot {@code i} when either is a counter, by
     * {@link Precedence}'s rank order: the higher rank wins, and two live counters of one epoch are joined.
     * The stored version must keep agreeing with what is stored, as every replica compares versions to find
     * what differs (read repair, anti-entropy, WATCH): a join that equals neither side, and a counter
     * that wins with the older version, are stored under a new version stamped here. Caller holds {@code s}.
     */
    private boolean mergeCounterLocked(Segment s, int i, long h, Entry incoming, long now) {
        Entry current = materialize(h, incoming.key);
        int c = Precedence.compare(incoming, current, now);
        boolean incomingNewer = incoming.newerThan(current);
        if (c == 0 && Precedence.liveCounter(incoming, now) && Precedence.liveCounter(current, now)) {
            byte[] joined;
            try {
                joined = ValueKind.join(ValueKind.COUNTER, current.value, incoming.value);
            } catch (IllegalArgumentException damaged) {
                // Bytes that do not decode cannot be joined: the newer version wins, as for plain values.
                return incomingNewer && storeMerged(s, i, incoming, incoming.value, incoming.hlc, incoming.nodeId, now);
            }
            Entry newer = incomingNewer ? incoming : current;
            if (java.util.Arrays.equals(joined, newer.value)) {
                return incomingNewer && storeMerged(s, i, incoming, incoming.value, incoming.hlc, incoming.nodeId, now);
            }
            hlc.observe(incoming.hlc);
            return storeMerged(s, i, newer, joined, stamp(s, i), nodeId, now);
        }
        if (c > 0) {
            if (incomingNewer || !Precedence.liveCounter(incoming, now)) {
                // An older plain value or tombstone can outrank a newer counter of an older epoch: it is
                // stored with its own version, which replicas comparing versions take for the older one.
                return storeMerged(s, i, incoming, incoming.value, incoming.hlc, incoming.nodeId, now);
            }
            hlc.observe(incoming.hlc);
            return storeMerged(s, i, incoming, incoming.value, stamp(s, i), nodeId, now);
        }
        if (c < 0 && incomingNewer && Precedence.liveCounter(current, now)) {
            hlc.observe(incoming.hlc); // the stored counter wins with the older version: newer than both now
            return storeMerged(s, i, current, current.value, stamp(s, i), nodeId, now);
        }
        return false;
    }

    /**
     * Stores {@code value} (null: a tombstone) with the expiry and kind of {@code like}, under the version
     * {@code (stamp, writer)}, in slot {@code i}, and logs it. Caller holds {@code s}. Returns true.
     */
    private boolean storeMerged(Segment s, int i, Entry like, byte[] value, long stamp, long writer, long now) {
        hlc.observe(stamp);
        if (value == null && graceMillis == 0) {
            unlink(s, i, now);
            journal.stored(new Entry(like.key, null, stamp, writer, like.expireAt));
            return true;
        }
        long expireAt = value == null && like.expireAt == 0 ? saturatedAdd(now, graceMillis) : like.expireAt;
        byte kind = value == null ? ValueKind.PLAIN : like.kind;
        store(s, i, like.key, like.key.bytes(), value, kind, stamp, writer, expireAt, lruTick(now), now);
        journal.stored(new Entry(like.key, value, stamp, writer, expireAt, kind));
        return true;
    }

    /**
     * Joins {@code incoming} into the record in slot {@code i}: the joined value, under the newer of the two
     * versions, with the expiry of the values it holds ({@link ValueKind#joinedExpiry}: a deleted key's kept
     * history does not lend its expiry to a concurrent sibling joined into it). Stores and logs it only if
     * something changed. Caller holds {@code s}.
     */
    private boolean joinLocked(Segment s, int i, long h, int flags, Entry incoming, long now) {
        Entry current = materialize(h, incoming.key);
        boolean incomingNewer = incoming.newerThan(current);
        Entry winner = incomingNewer ? incoming : current;
        byte[] joined;
        long expireAt;
        try {
            joined = ValueKind.join(incoming.kind, current.value, incoming.value);
            expireAt = ValueKind.joinedExpiry(current, incoming, joined);
        } catch (IllegalArgumentException damaged) {
            // Bytes that do not decode cannot be joined; fall back to the newer version, as for plain values.
            if (!incomingNewer) {
                return false;
            }
            joined = incoming.value;
            expireAt = incoming.expireAt;
        }
        if (!incomingNewer && java.util.Arrays.equals(joined, current.value) && expireAt == current.expireAt) {
            return false;
        }
        hlc.observe(incoming.hlc);
        store(s, i, incoming.key, incoming.key.bytes(), joined, incoming.kind, winner.hlc, winner.nodeId,
                expireAt, lruTick(now), now);
        journal.stored(new Entry(incoming.key, joined, winner.hlc, winner.nodeId, expireAt, incoming.kind));
        return true;
    }

    /**
     * Reclaims the record in slot {@code i} (handle {@code h}), which has expired: purges a tombstone;
     * turns a value into a tombstone with the same version while its grace period lasts, else removes
     * it. Caller holds {@code s}.
     */
    private void reclaimExpired(Segment s, int i, long h, long now) {
        int flags = flagsOf(h);
        if ((flags & F_TOMBSTONE) == 0 && graceMillis > 0) {
            long purgeAt = saturatedAdd(expireAtOf(h, flags), graceMillis);
            if (now <= purgeAt) {
                Key key = keyOf(h);
                store(s, i, key, key.bytes(), null, ValueKind.PLAIN, hlcOf(h), nodeIdOf(h, flags), purgeAt, lruOf(h), now);
                return;
            }
        }
        unlink(s, i, now);
    }

    /**
     * Books the replacement of an old record by a new one (either may be absent) after the index has
     * been updated: adjusts the counters. A live record that had already expired counts as expired,
     * whatever replaced or removed it. Caller holds {@code s}.
     */
    private void account(Segment s, boolean hadOld, int oldFlags, long oldExpireAt, long oldCharge,
                         boolean hasNew, int newFlags, long newCharge, long now) {
        long memory = 0;
        int keys = 0;
        int volatiles = 0;
        int tombstones = 0;
        if (hadOld) {
            memory -= oldCharge;
            if ((oldFlags & F_TOMBSTONE) != 0) {
                tombstones--;
            } else {
                keys--;
                if (oldExpireAt != 0) {
                    volatiles--;
                    if (now > oldExpireAt) {
                        expiredKeys.increment();
                    }
                }
            }
        }
        if (hasNew) {
            memory += newCharge;
            if ((newFlags & F_TOMBSTONE) != 0) {
                tombstones++;
            } else {
                keys++;
                if ((newFlags & F_EXPIRY) != 0) {
                    volatiles++;
                }
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
            return put(key, value, ValueKind.PLAIN, expireAt);
        }

        @Override
        public Entry put(Key key, byte[] value, byte kind, long expireAt) {
            Objects.requireNonNull(value, "value");
            Segment s = check(key);
            return putLocked(s, key, value, kind, expireAt, clock.millis());
        }

        @Override
        public boolean delete(Key key) {
            Segment s = check(key);
            return deleteLocked(s, key, clock.millis());
        }

        @Override
        public Entry stored(Key key) {
            Segment s = check(key);
            int i = find(s, key);
            return i < 0 ? null : materialize(handleOf(s.slots[i]), key);
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

    /** A segment's eviction candidate: its record, its slot if known (else -1), its score (lower is better). */
    private static final class Candidate {
        long handle;
        int slot;
        long score;
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
        Candidate candidate = new Candidate();
        long bestHandle = 0;
        int bestSlot = -1;
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
                    boolean found = switch (policy) {
                        case ALLKEYS_LRU -> longestIdle(s, random, nowTick, candidate);
                        case VOLATILE_LRU -> randomVolatile(s, random, nowTick, candidate);
                        case VOLATILE_TTL -> soonestVolatile(s, candidate);
                        case NOEVICTION -> false;
                    };
                    if (found) {
                        sampled++;
                        if (bestSegment == null || candidate.score < bestScore) {
                            if (bestSegment != null) {
                                bestSegment.unlock();
                            }
                            bestHandle = candidate.handle;
                            bestSlot = candidate.slot;
                            bestScore = candidate.score;
                            bestSegment = s;
                            keep = true;
                        }
                    }
                } finally {
                    if (!keep) {
                        s.unlock();
                    }
                }
            }
            if (bestSegment == null) {
                return false;
            }
            int slot = bestSlot >= 0 ? bestSlot : slotOf(bestSegment, bestHandle);
            int flags = flagsOf(bestHandle);
            long expireAt = expireAtOf(bestHandle, flags);
            if (expireAt != 0 && now > expireAt) {
                reclaimExpired(bestSegment, slot, bestHandle, now);
            } else {
                unlink(bestSegment, slot, now);
                evictedKeys.increment();
            }
            return true;
        } finally {
            if (bestSegment != null) {
                bestSegment.unlock();
            }
        }
    }

    /** The longest idle of up to {@link #LRU_PROBES} non-tombstones from a random place in the index of {@code s}. */
    private boolean longestIdle(Segment s, ThreadLocalRandom random, int nowTick, Candidate out) {
        long[] t = s.slots;
        int n = t.length;
        if (n == 0) {
            return false;
        }
        int mask = n - 1;
        int start = random.nextInt(n);
        int probes = 0;
        boolean found = false;
        for (int k = 0; k < n && probes < LRU_PROBES; k++) {
            int i = (start + k) & mask;
            if (t[i] == 0) {
                continue;
            }
            probes++;
            long h = handleOf(t[i]);
            if ((flagsOf(h) & F_TOMBSTONE) != 0) {
                continue;
            }
            long score = -(long) idleTicks(nowTick, lruOf(h));
            if (!found || score < out.score) {
                out.handle = h;
                out.slot = i;
                out.score = score;
                found = true;
            }
        }
        return found;
    }

    /** A random live volatile key of {@code s}, scored by idle time. Caller holds {@code s}. */
    private boolean randomVolatile(Segment s, ThreadLocalRandom random, int nowTick, Candidate out) {
        ExpiryHeap heap = s.heap;
        for (int i = 0; i < VOLATILE_LRU_PROBES && heap.size() > 0; i++) {
            long h = heap.handleAt(random.nextInt(heap.size()));
            if ((flagsOf(h) & F_TOMBSTONE) == 0) {
                out.handle = h;
                out.slot = -1;
                out.score = -(long) idleTicks(nowTick, lruOf(h));
                return true;
            }
        }
        return false;
    }

    /** The live volatile key with the nearest expiry among the top of the heap of {@code s}. */
    private boolean soonestVolatile(Segment s, Candidate out) {
        ExpiryHeap heap = s.heap;
        boolean found = false;
        int slots = Math.min(heap.size(), VOLATILE_TTL_HEAD_SLOTS);
        for (int i = 0; i < slots; i++) {
            long h = heap.handleAt(i);
            if ((flagsOf(h) & F_TOMBSTONE) == 0 && (!found || heap.timeAt(i) < out.score)) {
                out.handle = h;
                out.slot = -1;
                out.score = heap.timeAt(i);
                found = true;
            }
        }
        return found;
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
            if (!mayExpire(cursor)) { // racy hint; an element added meanwhile is not due yet anyway
                cursor = (cursor + 1) & SEGMENT_MASK;
                continue; // passed over without a look at the segment, or at the clock
            }
            Segment s = segments[cursor];
            if (s.heap.size() > 0) {
                s.lock();
                try {
                    ExpiryHeap heap = s.heap;
                    while (work < MAX_EXPIRE_WORK_PER_CYCLE && heap.size() > 0 && now > heap.timeAt(0)) {
                        long h = heap.handleAt(0);
                        reclaimExpired(s, slotOf(s, h), h, now);
                        reclaimed++;
                        work++;
                    }
                } finally {
                    s.unlock();
                }
                if (work >= MAX_EXPIRE_WORK_PER_CYCLE) {
                    break; // resume in this segment: it may hold more due records
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
                for (long v : s.slots) {
                    if (v != 0) {
                        long h = handleOf(v);
                        Key key = keyOf(h);
                        if (inArc(start, end, key.token())) {
                            visitor.accept(materialize(h, key));
                            visited++;
                        }
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

    /** True if the record at {@code h} is a value that has not expired at {@code now}. */
    private boolean isLive(long h, long now) {
        int flags = flagsOf(h);
        long expireAt = expireAtOf(h, flags);
        return (flags & F_TOMBSTONE) == 0 && !(expireAt != 0 && now > expireAt);
    }

    /** Adds the live keys of {@code s} to {@code out} under its lock; returns the records examined. */
    private int collectLive(Segment s, long now, List<Key> out) {
        s.lock();
        try {
            for (long v : s.slots) {
                if (v != 0 && isLive(handleOf(v), now)) {
                    out.add(keyOf(handleOf(v)));
                }
            }
            return s.count;
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
                long[] t = s.slots;
                if (t.length == 0) {
                    continue;
                }
                int mask = t.length - 1;
                int i = random.nextInt(t.length);
                while (t[i] == 0) {
                    i = (i + 1) & mask;
                }
                long h = handleOf(t[i]);
                if (isLive(h, now)) {
                    return materialize(h, null);
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
                for (long v : s.slots) {
                    if (v != 0 && isLive(handleOf(v), now)) {
                        return materialize(handleOf(v), null);
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
     * Removes every record and releases the slabs and tables. Takes every segment lock, in ascending
     * order, so it must not be called from inside an {@code atomically} body. Counts and accounted
     * memory drop to zero; stats are kept.
     */
    @Override
    public void clear() {
        int locked = 0;
        try {
            for (Segment s : segments) {
                s.lock();
                locked++;
            }
            for (Segment s : segments) {
                usedMemory.add(-s.memory);
                keyCount.add(-s.keys);
                volatileCount.add(-s.volatiles);
                tombstoneCount.add(-s.tombstones);
                s.memory = 0;
                s.keys = 0;
                s.volatiles = 0;
                s.tombstones = 0;
                s.slots = NO_SLOTS;
                s.count = 0;
                s.heap.clear();
            }
            slabs.reset();
        } finally {
            for (int i = locked - 1; i >= 0; i--) {
                segments[i].unlock();
            }
        }
    }

    /**
     * The floor is raised and the clock observes it before the sweep: a local write stamps its version
     * and stores its record under one segment lock, so a record stamped before the floor is in its
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
                long[] t = s.slots;
                int removed = 0;
                for (int i = 0; i < t.length; i++) {
                    long h = handleOf(t[i]);
                    if (t[i] == 0) {
                        continue;
                    }
                    int flags = flagsOf(h);
                    if (Version.compare(hlcOf(h), nodeIdOf(h, flags), floor.hlc(), floor.nodeId()) < 0) {
                        long expireAt = expireAtOf(h, flags);
                        long charge = charge(recordLengthOf(h, flags), expireAt != 0);
                        if ((flags & F_EXPIRY) != 0) {
                            s.heap.removeAt(heapIndexOf(h));
                        }
                        slabs.free(h);
                        t[i] = 0;
                        removed++;
                        account(s, true, flags, expireAt, charge, false, 0, 0, now);
                    }
                }
                if (removed > 0) {
                    s.count -= removed;
                    dropped += removed;
                    if (s.count == 0) {
                        s.slots = NO_SLOTS;
                    } else {
                        int capacity = t.length;
                        while (capacity > MIN_SLOTS && s.count * 8L < capacity) {
                            capacity /= 2;
                        }
                        resize(s, capacity); // the cleared slots broke probe runs: rebuild from the tags
                    }
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
    public long nodeId() {
        return nodeId;
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

    /** Elements in all expiry heaps. */
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

    /** Bytes of the index and heap arrays as they are now (the charge uses averages; see the class comment). */
    long indexBytes() {
        long n = 0;
        for (Segment s : segments) {
            s.lock();
            try {
                n += 8L * s.slots.length + s.heap.bytes();
            } finally {
                s.unlock();
            }
        }
        return n;
    }

    /** Bytes of all slabs and own buffers, free chunks and uncarved tails included. */
    long slabBytes() {
        return slabs.reservedBytes();
    }

    /**
     * Stops making spare slabs ({@link SlabAllocator}). The slabs are heap arrays or direct buffers, both
     * released by the garbage collector once the engine is unreachable (the engine stays usable until then,
     * making each slab where it is needed).
     */
    @Override
    public void close() {
        slabs.close();
    }

    /**
     * One segment: its index, expiry heap and counters, all guarded by the segment itself (a lock). The
     * counters are also read without the lock, as hints for sampling.
     */
    private static final class Segment extends SegmentLock {

        /** Position in {@link #segments}. */
        final int index;
        /** The slab arena its records are allocated in. */
        final int arena;
        /**
         * Open-addressing index, linear probing: 0 (empty) or {@code tag << 40 | handle}. Length 0 (no
         * records) or a power of two of at least {@link #MIN_SLOTS}; at most 3/4 full.
         */
        long[] slots = NO_SLOTS;
        /** Occupied slots: the records of this segment, tombstones included. */
        int count;
        /** Every record of {@link #slots} with an expiry time, nothing else. */
        final ExpiryHeap heap;
        /** Accounted bytes of the records in {@link #slots}. */
        long memory;
        /** Records that are not tombstones. */
        int keys;
        /** Non-tombstone records with an expiry time. */
        int volatiles;
        int tombstones;

        Segment(int index, ExpiryHeap heap) {
            this.index = index;
            this.arena = index & (SlabAllocator.ARENAS - 1);
            this.heap = heap;
        }
    }
}
