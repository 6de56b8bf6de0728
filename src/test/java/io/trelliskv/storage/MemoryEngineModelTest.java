package io.trelliskv.storage;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random programs of engine operations against a reference model: a plain map from key to the latest
 * write (value or tombstone, version, expiry), with the engine's rules for last-writer-wins, lazy and
 * active expiry, tombstones and memory charges written out again, independently and as simply as
 * possible. After every step the counters, the accounted memory and the live key set must agree.
 */
class MemoryEngineModelTest {

    private static final long NODE_ID = 7;
    private static final long START_MILLIS = 1_700_000_000_000L;
    private static final int KEYS = 6;

    sealed interface Op permits Put, Delete, Get, Peek, Merge, Advance, ExpireCycle, Append, Stored, Range,
            Scan, Flush {
    }

    /** Whatever is stored, tombstones and expired values included. */
    record Stored(int key) implements Op {
    }

    /** {@code forEachInRange} over the arc between two keys' tokens (shifted by -1, 0 or +1). */
    record Range(int from, int to, int shift) implements Op {
    }

    /** A whole scan, {@code count} keys a step. */
    record Scan(int count) implements Op {
    }

    /** A versioned flush with a floor {@code ageMillis} before now. */
    record Flush(int ageMillis) implements Op {
    }

    /** {@code ttl < -10}: no expiry; else expires at now + ttl, which may already have passed. */
    record Put(int key, int valueLength, int ttl) implements Op {
    }

    record Delete(int key) implements Op {
    }

    record Get(int key) implements Op {
    }

    record Peek(int key) implements Op {
    }

    /** A replica's write: {@code valueLength < 0} is a tombstone; {@code expiresIn} as {@link Put#ttl}. */
    record Merge(int key, int valueLength, int ageMillis, int logical, long nodeId, int expiresIn) implements Op {
    }

    record Advance(int millis) implements Op {
    }

    /** A full active-expiry pass (the manual clock does not move, so the budget never runs out). */
    record ExpireCycle() implements Op {
    }

    /** Read-modify-write in a transaction: appends one byte, keeping the expiry. */
    record Append(int key) implements Op {
    }

    @Provide
    Arbitrary<Long> graces() {
        return Arbitraries.of(0L, 15L, 1_000L);
    }

    @Provide
    Arbitrary<List<Op>> programs() {
        return programs(KEYS);
    }

    /** Keys that all fall in one segment, so the index probes, grows, shifts back and shrinks. */
    private static final List<Key> CROWDED = crowded(40);

    private static List<Key> crowded(int n) {
        List<Key> keys = new java.util.ArrayList<>();
        for (int i = 0; keys.size() < n; i++) {
            Key k = Key.of("crowded-" + "x".repeat(i % 13) + i);
            if (MemoryEngine.segmentOf(k.token()) == 99) {
                keys.add(k);
            }
        }
        return keys;
    }

    @Provide
    Arbitrary<List<Op>> crowdedPrograms() {
        return programs(CROWDED.size());
    }

    private Arbitrary<List<Op>> programs(int keys) {
        Arbitrary<Integer> key = Arbitraries.integers().between(0, keys - 1);
        Arbitrary<Integer> length = Arbitraries.integers().between(0, 40);
        Arbitrary<Op> put = Combinators.combine(key, length, Arbitraries.integers().between(-25, 40)).as(Put::new);
        Arbitrary<Op> delete = key.map(Delete::new);
        Arbitrary<Op> get = key.map(Get::new);
        Arbitrary<Op> peek = key.map(Peek::new);
        Arbitrary<Op> merge = Combinators.combine(key, Arbitraries.integers().between(-3, 40),
                Arbitraries.integers().between(-20, 20), Arbitraries.integers().between(0, 2),
                Arbitraries.of(NODE_ID - 1, NODE_ID, NODE_ID + 1, -1L), Arbitraries.integers().between(-25, 40))
                .as(Merge::new);
        Arbitrary<Op> advance = Arbitraries.integers().between(0, 25).map(Advance::new);
        Arbitrary<Op> cycle = Arbitraries.just(new ExpireCycle());
        Arbitrary<Op> append = key.map(Append::new);
        Arbitrary<Op> stored = key.map(Stored::new);
        Arbitrary<Op> range = Combinators.combine(key, key, Arbitraries.integers().between(-1, 1)).as(Range::new);
        Arbitrary<Op> scan = Arbitraries.integers().between(1, 20).map(Scan::new);
        Arbitrary<Op> flush = Arbitraries.integers().between(0, 30).map(Flush::new);
        Arbitrary<Op> op = Arbitraries.frequencyOf(
                Tuple.of(6, put), Tuple.of(3, delete), Tuple.of(4, get), Tuple.of(1, peek), Tuple.of(4, merge),
                Tuple.of(4, advance), Tuple.of(2, cycle), Tuple.of(2, append), Tuple.of(1, stored),
                Tuple.of(1, range), Tuple.of(1, scan), Tuple.of(1, flush));
        return op.list().ofMinSize(1).ofMaxSize(keys > KEYS ? 200 : 80);
    }

    @Property(tries = 300, seed = "20261204")
    void engineAgreesWithTheModel(@ForAll("graces") long grace, @ForAll("programs") List<Op> program,
                                  @ForAll boolean offHeap) {
        new Run(grace, offHeap, null).execute(program);
    }

    /** The same, with many keys in one segment: probing, growth, backshift deletion and shrinking of the index. */
    @Property(tries = 100, seed = "20261205")
    void aCrowdedSegmentAgreesWithTheModel(@ForAll("graces") long grace, @ForAll("crowdedPrograms") List<Op> program,
                                           @ForAll boolean offHeap) {
        new Run(grace, offHeap, CROWDED).execute(program);
    }

    /** A write as the model keeps it; {@code value == null} is a tombstone. */
    private record Write(byte[] value, long hlc, long nodeId, long expireAt) {
        boolean tombstone() {
            return value == null;
        }

        boolean expired(long now) {
            return expireAt != 0 && now > expireAt;
        }

        boolean newerThan(Write o) {
            return Version.compare(hlc, nodeId, o.hlc, o.nodeId) > 0;
        }
    }

    private static final class Run {
        final long grace;
        final ManualClock clock = new ManualClock(START_MILLIS);
        final Hlc hlc = new Hlc(clock);
        final MemoryEngine engine;
        final Map<Key, Write> model = new HashMap<>();
        /** The keys programs name by index; null: {@link #key(int)}'s short keys. */
        final List<Key> keys;
        long expiredKeys;
        /** The newest flush floor: merges below it are refused. */
        Version floor = Version.ZERO;

        Run(long grace, boolean offHeap, List<Key> keys) {
            this.grace = grace;
            this.keys = keys;
            this.engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, grace, 5, offHeap), clock,
                    hlc, NODE_ID);
        }

        Key k(int i) {
            return keys == null ? key(i) : keys.get(i);
        }

        /** Key lengths straddle the 8-byte size-class steps, so charge arithmetic errors show. */
        private static final int[] KEY_LENGTHS = {0, 1, 7, 8, 9, 16};

        static Key key(int i) {
            byte[] bytes = new byte[KEY_LENGTHS[i]];
            java.util.Arrays.fill(bytes, (byte) ('a' + i));
            return Key.of(bytes);
        }

        long now() {
            return clock.millis();
        }

        void execute(List<Op> program) {
            for (Op op : program) {
                apply(op);
                check(op);
            }
        }

        void apply(Op op) {
            if (op instanceof Put p) {
                    long expireAt = expiry(p.ttl());
                    Entry e = engine.put(k(p.key()), new byte[p.valueLength()], expireAt);
                    Write old = model.get(k(p.key()));
                    assertThat(e.nodeId()).isEqualTo(NODE_ID);
                    Write written = new Write(e.value(), e.hlc(), e.nodeId(), expireAt);
                    if (old != null) {
                        assertThat(written.newerThan(old)).as("a local write supersedes %s", old).isTrue();
                    }
                    replace(k(p.key()), written);
            } else if (op instanceof Delete d) {
                    Write old = model.get(k(d.key()));
                    boolean live = old != null && !old.tombstone() && !old.expired(now());
                    assertThat(engine.delete(k(d.key()))).isEqualTo(live);
                    if (grace > 0) {
                        Write tombstone = new Write(null, hlc.peek(), NODE_ID, now() + grace);
                        if (old != null) {
                            assertThat(tombstone.newerThan(old)).isTrue();
                        }
                        replace(k(d.key()), tombstone);
                    } else {
                        replace(k(d.key()), null);
                    }
            } else if (op instanceof Get g) {
                assertSameValue(engine.get(k(g.key())), read(k(g.key())));
            } else if (op instanceof Peek p) {
                assertSameValue(engine.peek(k(p.key())), read(k(p.key())));
            } else if (op instanceof Merge m) {
                merge(m);
            } else if (op instanceof Advance a) {
                clock.advanceMillis(a.millis());
            } else if (op instanceof ExpireCycle) {
                    int due = 0;
                    for (Key k : List.copyOf(model.keySet())) {
                        Write w = model.get(k);
                        if (w.expired(now())) {
                            reclaim(k, w);
                            due++;
                        }
                    }
                    assertThat(engine.expireCycle(Long.MAX_VALUE)).isEqualTo(due);
            } else if (op instanceof Append a) {
                    Key k = k(a.key());
                    Entry result = engine.atomically(k, txn -> {
                        Entry current = txn.get(k);
                        byte[] value = current == null ? new byte[0] : current.value();
                        byte[] longer = java.util.Arrays.copyOf(value, value.length + 1);
                        return txn.put(k, longer, current == null ? 0 : current.expireAt());
                    });
                    Write current = read(k);
                    int length = current == null ? 1 : current.value().length + 1;
                    assertThat(result.value()).hasSize(length);
                    replace(k, new Write(result.value(), result.hlc(), NODE_ID,
                            current == null ? 0 : current.expireAt()));
            } else if (op instanceof Stored st) {
                Key k = k(st.key());
                Write w = model.get(k);
                Entry e = engine.stored(k);
                if (w == null) {
                    assertThat(e).isNull();
                } else {
                    assertThat(e).isNotNull();
                    assertThat(e.value()).isEqualTo(w.value());
                    assertThat(e.version()).isEqualTo(new Version(w.hlc(), w.nodeId()));
                    assertThat(e.expireAt()).isEqualTo(w.expireAt());
                }
            } else if (op instanceof Range r) {
                long start = k(r.from()).token() + r.shift();
                long end = k(r.to()).token();
                Map<Key, Entry> seen = new HashMap<>();
                long visited = engine.forEachInRange(start, end, e -> assertThat(seen.put(e.key(), e)).isNull());
                Set<Key> expected = new HashSet<>();
                for (Key k : model.keySet()) {
                    if (io.trelliskv.ring.TokenRange.contains(start, end, k.token())) {
                        expected.add(k);
                    }
                }
                assertThat(seen.keySet()).as("range (%d, %d]", start, end).isEqualTo(expected);
                assertThat(visited).isEqualTo(expected.size());
                for (Entry e : seen.values()) {
                    Write w = model.get(e.key());
                    assertThat(e.version()).isEqualTo(new Version(w.hlc(), w.nodeId()));
                    assertThat(e.value()).isEqualTo(w.value());
                }
            } else if (op instanceof Scan sc) {
                Set<Key> scanned = new HashSet<>();
                long cursor = 0;
                do {
                    Engine.ScanResult step = engine.scan(cursor, sc.count(), null);
                    for (Key k : step.keys()) {
                        assertThat(scanned.add(k)).as("returned once").isTrue();
                    }
                    cursor = step.nextCursor();
                } while (cursor != 0);
                assertThat(scanned).isEqualTo(liveKeys());
            } else if (op instanceof Flush f) {
                Version newFloor = new Version(Hlc.pack(now() - f.ageMillis(), 0), 0);
                long expected = 0;
                if (newFloor.compareTo(floor) > 0) {
                    floor = newFloor;
                    for (Iterator<Map.Entry<Key, Write>> it = model.entrySet().iterator(); it.hasNext(); ) {
                        Write w = it.next().getValue();
                        if (new Version(w.hlc(), w.nodeId()).compareTo(newFloor) < 0) {
                            it.remove();
                            expected++;
                            if (!w.tombstone() && w.expired(now())) {
                                expiredKeys++; // as any removal of an expired value
                            }
                        }
                    }
                }
                assertThat(engine.flush(newFloor)).isEqualTo(expected);
            } else {
                throw new AssertionError("unknown op " + op);
            }
        }

        /** Generated relative expiry to absolute: below -10 means none; may lie in the past. */
        long expiry(int relative) {
            return relative < -10 ? 0 : now() + relative;
        }

        /** A plain entry as a view of a buffer holding a byte, its key, then its value. */
        EntryView inPlace(Entry e) {
            int keyLength = e.key().length();
            int valueLength = e.value() == null ? -1 : e.value().length;
            ByteBuffer b = ByteBuffer.allocate(1 + keyLength + Math.max(0, valueLength));
            b.put(1, e.key().bytes());
            if (e.value() != null) {
                b.put(1 + keyLength, e.value());
            }
            return new EntryView().set(b, 1, keyLength, 1 + keyLength, valueLength, e.hlc(), e.nodeId(), e.expireAt(),
                    ValueKind.PLAIN);
        }

        void merge(Merge m) {
            Key k = k(m.key());
            byte[] value = m.valueLength() < 0 ? null : new byte[m.valueLength()];
            long expireAt = expiry(m.expiresIn());
            Write incoming = new Write(value, Hlc.pack(now() - m.ageMillis(), m.logical()), m.nodeId(), expireAt);
            Write old = model.get(k);
            boolean aboveFloor = new Version(incoming.hlc(), incoming.nodeId()).compareTo(floor) >= 0;
            boolean wins = aboveFloor && (old == null || incoming.newerThan(old));
            Entry entry = new Entry(k, value, incoming.hlc(), incoming.nodeId(), expireAt);
            // Half the merges arrive as a replica's do: read in place from the bytes of a frame.
            boolean merged = m.logical() % 2 == 0 ? engine.merge(entry) : engine.merge(inPlace(entry));
            assertThat(merged).as("merge of %s over %s", incoming, old).isEqualTo(wins);
            if (!wins) {
                return;
            }
            if (incoming.tombstone() && grace == 0) {
                replace(k, null);
            } else if (incoming.tombstone() && expireAt == 0) {
                replace(k, new Write(null, incoming.hlc(), incoming.nodeId(), now() + grace));
            } else {
                replace(k, incoming);
            }
        }

        /** The model's read: the live write, reclaiming an expired one as the engine does. */
        Write read(Key k) {
            Write w = model.get(k);
            if (w == null || w.tombstone()) {
                return null;
            }
            if (w.expired(now())) {
                reclaim(k, w);
                return null;
            }
            return w;
        }

        /** An expired write leaves a tombstone with its version while the grace period lasts. */
        void reclaim(Key k, Write w) {
            if (!w.tombstone() && grace > 0 && now() <= w.expireAt() + grace) {
                replace(k, new Write(null, w.hlc(), w.nodeId(), w.expireAt() + grace));
            } else {
                replace(k, null);
            }
        }

        /** Replaces the model's write for {@code k}; a live write that had expired counts as expired. */
        void replace(Key k, Write w) {
            Write old = w == null ? model.remove(k) : model.put(k, w);
            if (old != null && !old.tombstone() && old.expired(now())) {
                expiredKeys++;
            }
        }

        void assertSameValue(Entry actual, Write expected) {
            if (expected == null) {
                assertThat(actual).isNull();
            } else {
                assertThat(actual).isNotNull();
                assertThat(actual.value()).isEqualTo(expected.value());
                assertThat(actual.version()).isEqualTo(new Version(expected.hlc(), expected.nodeId()));
                assertThat(actual.expireAt()).isEqualTo(expected.expireAt());
            }
        }

        void check(Op after) {
            long keys = 0;
            long volatiles = 0;
            long tombstones = 0;
            long memory = 0;
            Set<Key> live = new HashSet<>();
            for (Iterator<Map.Entry<Key, Write>> it = model.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Key, Write> e = it.next();
                Write w = e.getValue();
                // header 13, expiry fields 12, length varints (7 bits a byte), key, value
                int record = 13 + (w.expireAt() != 0 ? 12 : 0) + varint(e.getKey().length()) + e.getKey().length()
                        + (w.tombstone() ? 0 : varint(w.value().length) + w.value().length);
                memory += SlabAllocator.chunkBytes(record) + MemoryEngine.SLOT_CHARGE
                        + (w.expireAt() != 0 ? MemoryEngine.HEAP_ELEMENT_CHARGE : 0);
                if (w.tombstone()) {
                    tombstones++;
                } else {
                    keys++;
                    volatiles += w.expireAt() != 0 ? 1 : 0;
                    if (!w.expired(now())) {
                        live.add(e.getKey());
                    }
                }
            }
            String step = "after " + after;
            assertThat(engine.size()).as(step).isEqualTo(keys);
            assertThat(engine.volatileSize()).as(step).isEqualTo(volatiles);
            assertThat(engine.stats().tombstones()).as(step).isEqualTo(tombstones);
            assertThat(engine.stats().expiredKeys()).as(step).isEqualTo(expiredKeys);
            assertThat(engine.usedMemory()).as(step).isEqualTo(memory);
            assertThat(Set.copyOf(engine.keys(k -> true))).as(step).isEqualTo(live);
        }

        static int varint(int n) {
            return n < 128 ? 1 : n < 16_384 ? 2 : 3;
        }

        Set<Key> liveKeys() {
            Set<Key> live = new HashSet<>();
            model.forEach((k, w) -> {
                if (!w.tombstone() && !w.expired(now())) {
                    live.add(k);
                }
            });
            return live;
        }
    }
}
