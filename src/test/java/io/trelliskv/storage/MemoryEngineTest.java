package io.trelliskv.storage;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.common.MicroClock;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.PnCounter;
import io.trelliskv.version.VersionVector;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class MemoryEngineTest extends AbstractEngineContractTest {

    @Override
    Engine newEngine(EngineConfig config, ManualClock clock) {
        return new MemoryEngine(config, clock, new Hlc(clock), NODE_ID);
    }

    private MemoryEngine memoryEngine() {
        return (MemoryEngine) engine;
    }

    /** {@code n} distinct keys that all fall in segment {@code segment}. */
    private static List<Key> keysInSegment(int segment, int n) {
        List<Key> keys = new ArrayList<>();
        for (int i = 0; keys.size() < n; i++) {
            Key k = key("seg" + i);
            if (MemoryEngine.segmentOf(k.token()) == segment) {
                keys.add(k);
            }
        }
        return keys;
    }

    @Test
    void chargesFollowTheDocumentedArithmetic() {
        withTombstones();
        int slot = MemoryEngine.SLOT_CHARGE;
        int heap = MemoryEngine.HEAP_ELEMENT_CHARGE;
        engine.put(key("abc"), new byte[100], 0);
        // 13 header + 1 + 1 varints + 3 key + 100 value = 118 -> the 120-byte class
        assertThat(engine.usedMemory()).isEqualTo(120 + slot);
        engine.put(key("abc"), new byte[100], START_MILLIS + 1_000);
        // + 12 expiry fields = 130 -> the 136-byte class
        assertThat(engine.usedMemory()).isEqualTo(136 + slot + heap);
        engine.put(key("abc"), new byte[0], 0);
        // 13 + 1 + 1 + 3 = 18 -> the 24-byte class
        assertThat(engine.usedMemory()).isEqualTo(24 + slot);
        engine.delete(key("abc"));
        // 13 + 12 + 1 + 3 = 29 -> the 32-byte class
        assertThat(engine.usedMemory()).as("a tombstone: key and heap element, no value")
                .isEqualTo(32 + slot + heap);
        assertThat(MemoryEngine.charge(10, 100, false)).as("the class comment's key:123456 budget")
                .isEqualTo(128 + slot);
    }

    @Test
    void aKeyWrittenByManyNodesKeepsEachWritersIdEvenPastTheNodeTable() {
        unbounded();
        for (int writer = 1; writer <= 600; writer++) {
            Key k = key("n" + writer);
            assertThat(engine.merge(new Entry(k, bytes("v" + writer), hlcAt(writer), writer * 1_000_003L, 0))).isTrue();
        }
        for (int writer = 1; writer <= 600; writer++) {
            Entry e = engine.get(key("n" + writer));
            assertThat(e.nodeId()).isEqualTo(writer * 1_000_003L);
            assertThat(text(e)).isEqualTo("v" + writer);
        }
        // one key overwritten by writers both in and past the table: version order still holds
        Key k = key("shared");
        for (int writer = 1; writer <= 600; writer++) {
            engine.merge(new Entry(k, bytes("w" + writer), hlcAt(1_000), writer * 1_000_003L, 0));
        }
        assertThat(text(engine.get(k))).isEqualTo("w600");
        assertThat(engine.stored(k).nodeId()).isEqualTo(600 * 1_000_003L);
    }

    private static long hlcAt(int offsetMillis) {
        return Hlc.pack(START_MILLIS + offsetMillis, 0);
    }

    @Test
    void largeValuesGetTheirOwnBufferAndOverwritesReuseChunks() {
        unbounded();
        MemoryEngine m = memoryEngine();
        byte[] big = new byte[SlabAllocator.MAX_CHUNK + 1];
        big[big.length - 1] = 42;
        engine.put(key("big"), big, 0);
        assertThat(engine.get(key("big")).value()).isEqualTo(big);
        long withBig = m.slabBytes();
        engine.put(key("big"), bytes("small"), 0);
        assertThat(m.slabBytes()).as("the own buffer is released (a first slab for the small class may appear)")
                .isBetween(withBig - big.length, withBig - big.length + SlabAllocator.MIN_SLAB);
        assertThat(text(engine.get(key("big")))).isEqualTo("small");

        long before = m.slabBytes();
        for (int round = 0; round < 50; round++) {
            for (int i = 0; i < 1_000; i++) {
                engine.put(key("k" + i), new byte[100 + round % 3], 0);
            }
        }
        long after = m.slabBytes();
        for (int round = 0; round < 50; round++) {
            for (int i = 0; i < 1_000; i++) {
                engine.put(key("k" + i), new byte[100 + round % 3], round % 2 == 0 ? 0 : START_MILLIS + 10_000);
            }
        }
        assertThat(m.slabBytes()).as("overwrites reuse chunks instead of growing the slabs")
                .isLessThanOrEqualTo(after + 4 * SlabAllocator.MAX_SLAB);
        assertThat(after - before).isLessThan(1_000L * 256 + 8L * SlabAllocator.MAX_SLAB);
    }

    @Test
    void segmentsFollowTheRingOrderOfTokens() {
        assertThat(MemoryEngine.segmentOf(Long.MIN_VALUE)).isZero();
        assertThat(MemoryEngine.segmentOf(-1)).isEqualTo(MemoryEngine.SEGMENTS / 2 - 1);
        assertThat(MemoryEngine.segmentOf(0)).isEqualTo(MemoryEngine.SEGMENTS / 2);
        assertThat(MemoryEngine.segmentOf(Long.MAX_VALUE)).isEqualTo(MemoryEngine.SEGMENTS - 1);
        long[] tokens = new java.util.Random(42).longs(10_000).sorted().toArray();
        for (int i = 1; i < tokens.length; i++) {
            assertThat(MemoryEngine.segmentOf(tokens[i])).isGreaterThanOrEqualTo(MemoryEngine.segmentOf(tokens[i - 1]));
        }
    }

    @Test
    void aZeroBudgetCycleEmptiesOneSegmentOfExpiringRecordsAndTheNextCycleResumesAfterIt() {
        unbounded();
        int[] perSegment = new int[MemoryEngine.SEGMENTS];
        for (int i = 0; i < 10_000; i++) { // about 9% of the segments get none: the cycles pass over them
            Key k = key("v" + i);
            engine.put(k, bytes("x"), START_MILLIS + 1);
            perSegment[MemoryEngine.segmentOf(k.token())]++;
        }
        Key persisted = key("v0"); // its segment's only volatile key, perhaps: it leaves the heap, and comes back
        engine.put(persisted, bytes("x"), 0);
        engine.put(persisted, bytes("x"), START_MILLIS + 1);
        clock.advanceMillis(2);
        for (int segment = 0; segment < MemoryEngine.SEGMENTS; segment++) {
            if (perSegment[segment] > 0) {
                assertThat(engine.expireCycle(0)).as("segment %d", segment).isEqualTo(perSegment[segment]);
            }
        }
        assertThat(engine.size()).isZero();
        assertThat(engine.expireCycle(Long.MAX_VALUE)).isZero();
    }

    @Test
    void aCycleStopsAtTheWorkCapEvenWhenTheClockStandsStill() {
        unbounded();
        int extra = 1_000;
        for (int i = 0; i < MemoryEngine.MAX_EXPIRE_WORK_PER_CYCLE + extra; i++) {
            engine.put(key("v" + i), bytes("x"), START_MILLIS + 1);
        }
        clock.advanceMillis(2);
        assertThat(engine.expireCycle(Long.MAX_VALUE)).isEqualTo(MemoryEngine.MAX_EXPIRE_WORK_PER_CYCLE);
        assertThat(engine.expireCycle(Long.MAX_VALUE)).isEqualTo(extra);
        assertThat(engine.expireCycle(Long.MAX_VALUE)).isZero();
    }

    @Test
    void staleHeapElementsStayBoundedByLiveOnes() {
        withTombstones();
        for (int i = 0; i < 10_000; i++) {
            engine.put(key("hot"), bytes("x"), START_MILLIS + 1_000_000 + i);
        }
        assertThat(memoryEngine().expiryHeapElements()).isLessThanOrEqualTo(2 * 1 + 16 + 1);

        engine.clear();
        List<Key> keys = keysInSegment(7, 300);
        for (Key k : keys) {
            engine.put(k, bytes("x"), START_MILLIS + 1_000_000);
        }
        for (Key k : keys.subList(0, 250)) {
            engine.put(k, bytes("y"), 0);
        }
        assertThat(memoryEngine().expiryHeapElements()).isLessThanOrEqualTo(2 * 50 + 16 + 1);
        for (Key k : keys.subList(250, 300)) {
            engine.delete(k);
        }
        long tombstones = engine.stats().tombstones();
        assertThat(tombstones).isEqualTo(50);
        assertThat(memoryEngine().expiryHeapElements()).isLessThanOrEqualTo(2 * tombstones + 16 + 1);
    }

    @Test
    void storedVersionCopiesOnlyTheBytesAVersionComparisonNeeds() {
        withTombstones();
        assertThat(engine.storedVersion(key("none"))).isNull();

        Entry plain = engine.put(key("p"), bytes("value"), START_MILLIS + 5_000);
        Entry version = engine.storedVersion(key("p"));
        assertThat(version.value()).as("a plain value's bytes are not copied").isSameAs(Engine.VALUE_NOT_COPIED);
        assertThat(version.key()).isEqualTo(key("p"));
        assertThat(version.version()).isEqualTo(plain.version());
        assertThat(version.expireAt()).isEqualTo(START_MILLIS + 5_000);
        assertThat(version.kind()).isEqualTo(ValueKind.PLAIN);

        engine.delete(key("p"));
        Entry tombstone = engine.storedVersion(key("p"));
        assertThat(tombstone.isTombstone()).isTrue();
        assertThat(tombstone.version()).isEqualTo(engine.stored(key("p")).version());

        Key c = key("c");
        byte[] counter = CausalCodec.encode(PnCounter.ZERO.add(1, 3));
        engine.merge(new Entry(c, counter, Hlc.pack(START_MILLIS, 9), 1, 0, ValueKind.COUNTER));
        assertThat(engine.storedVersion(c).value()).as("a value that joins comes whole: its rank reads it")
                .isEqualTo(engine.stored(c).value()).isNotSameAs(Engine.VALUE_NOT_COPIED);
    }

    @Test
    void peekLeavesTheRecencyStampAlone() {
        unbounded();
        engine.put(key("a"), bytes("x"), 0);
        int stamp = memoryEngine().lruClockOf(key("a"));
        assertThat(stamp).isEqualTo(MemoryEngine.lruTick(clock.millis()));
        clock.advance(10, TimeUnit.SECONDS);
        engine.peek(key("a"));
        engine.stored(key("a"));
        assertThat(memoryEngine().lruClockOf(key("a"))).isEqualTo(stamp);
        engine.get(key("a"));
        assertThat(memoryEngine().lruClockOf(key("a"))).isEqualTo(MemoryEngine.lruTick(clock.millis()));
        clock.advance(10, TimeUnit.SECONDS);
        engine.readPlain(key("a"), (target, source, offset, length) -> { }, null);
        assertThat(memoryEngine().lruClockOf(key("a"))).as("GET's read is an access")
                .isEqualTo(MemoryEngine.lruTick(clock.millis()));
    }

    @Test
    void idleTimesWrapAroundTheLruClock() {
        long wrapMillis = (long) (MemoryEngine.LRU_MASK + 1) << MemoryEngine.LRU_TICK_SHIFT;
        int before = MemoryEngine.lruTick(wrapMillis - 3 * 1024);
        int after = MemoryEngine.lruTick(wrapMillis + 2 * 1024);
        assertThat(after).isLessThan(before);
        assertThat(MemoryEngine.idleTicks(after, before)).isEqualTo(5);
        assertThat(MemoryEngine.idleTicks(before, before)).isZero();
    }

    @Test
    void heapAndDirectSlabsBehaveAlike() {
        for (boolean offHeap : new boolean[] {false, true}) {
            ManualClock c = new ManualClock(START_MILLIS);
            try (MemoryEngine e = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, GRACE_MILLIS, 5,
                    offHeap), c, new Hlc(c), NODE_ID)) {
                for (int i = 0; i < 2_000; i++) {
                    e.put(key("k" + i), bytes("value-" + i), i % 3 == 0 ? START_MILLIS + i : 0);
                }
                c.advanceMillis(1_000);
                e.expireCycle(Long.MAX_VALUE);
                for (int i = 0; i < 2_000; i++) {
                    Entry got = e.get(key("k" + i));
                    if (i % 3 == 0 && START_MILLIS + i < c.millis()) {
                        assertThat(got).as("%s k%d", offHeap, i).isNull();
                    } else {
                        assertThat(text(got)).as("%s k%d", offHeap, i).isEqualTo("value-" + i);
                        byte[][] read = new byte[1][];
                        e.readPlain(key("k" + i), (target, source, offset, length) -> {
                            target[0] = new byte[length];
                            source.get(offset, target[0]);
                        }, read);
                        assertThat(read[0]).as("%s k%d by readPlain", offHeap, i).isEqualTo(bytes("value-" + i));
                    }
                }
                assertThat(e.size()).isEqualTo(2_000 - 334);
                assertThat(e.stats().tombstones()).isEqualTo(334);
            }
        }
    }

    @Test
    void prefetchReadsWithoutChangingAnythingEvenWhileSegmentsGrow() throws Exception {
        unbounded();
        long[] absent = new long[64];
        for (int i = 0; i < absent.length; i++) {
            absent[i] = key("absent" + i).token();
        }
        assertThat(memoryEngine().prefetch(absent, absent.length)).as("an empty index: nothing to read").isZero();
        List<Key> crowded = keysInSegment(7, 200); // one segment's index doubles several times over
        long[] tokens = new long[crowded.size() + absent.length];
        for (int i = 0; i < crowded.size(); i++) {
            tokens[i] = crowded.get(i).token();
        }
        System.arraycopy(absent, 0, tokens, crowded.size(), absent.length);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            Future<?> writes = writer.submit(() -> {
                for (int i = 0; i < crowded.size(); i++) {
                    engine.put(crowded.get(i), bytes("v" + i), 0);
                    if (i % 3 == 0) {
                        engine.delete(crowded.get(i / 2));
                    }
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            int rounds = 0;
            while (!writes.isDone() && System.nanoTime() < deadline && rounds < 1_000_000) {
                memoryEngine().prefetch(tokens, tokens.length); // a stale slot or handle: read, never followed into a fault
                rounds++;
            }
            writes.get(30, TimeUnit.SECONDS);
        } finally {
            writer.shutdownNow();
        }
        List<String> before = new ArrayList<>();
        for (Key k : crowded) {
            Entry e = engine.peek(k);
            before.add(e == null ? "none" : text(e) + "@" + e.hlc());
        }
        long used = engine.usedMemory();
        memoryEngine().prefetch(tokens, tokens.length);
        for (int i = 0; i < crowded.size(); i++) {
            Entry e = engine.peek(crowded.get(i));
            assertThat(e == null ? "none" : text(e) + "@" + e.hlc()).isEqualTo(before.get(i));
        }
        assertThat(engine.usedMemory()).isEqualTo(used);
    }

    /**
     * Regression (harness run 62): a write through one node, then 28 µs later a write of the same key through another
     * whose node id is lower, in the same millisecond. Stamped to the millisecond both were (ms, 0) and the earlier
     * write won the tie by node id on every replica; stamped to the microsecond, the later one wins.
     */
    @Test
    void aLaterWriteThroughAnotherNodeInTheSameMillisecondWinsEverywhere() {
        MicroClock clock = new MicroClock(START_MILLIS * 1_000 + 336_100);
        try (MemoryEngine first = new MemoryEngine(EngineConfig.unbounded(), clock, new Hlc(clock), 9);
             MemoryEngine second = new MemoryEngine(EngineConfig.unbounded(), clock, new Hlc(clock), 2)) {
            Entry incr = first.put(key("k"), bytes("5684"), 0);
            clock.advanceMicros(28);
            Entry set = second.put(key("k"), bytes("c6.41133"), 0);
            assertThat(Hlc.physical(set.hlc())).isEqualTo(Hlc.physical(incr.hlc()));
            first.merge(set);
            second.merge(incr);
            assertThat(text(first.get(key("k")))).isEqualTo("c6.41133");
            assertThat(text(second.get(key("k")))).isEqualTo("c6.41133");
        }
    }

    @Test
    void aMergedEntryIsCopiedSoTwoEnginesNeverShareState() {
        ManualClock shared = new ManualClock(START_MILLIS);
        try (MemoryEngine a = new MemoryEngine(EngineConfig.unbounded(), shared, new Hlc(shared), 1);
             MemoryEngine b = new MemoryEngine(EngineConfig.unbounded(), shared, new Hlc(shared), 2)) {
            Entry e = remote("k", "v", START_MILLIS, 0, 9, START_MILLIS + 10);
            a.merge(e);
            b.merge(e);
            a.delete(key("k"));
            shared.advanceMillis(11);
            assertThat(b.expireCycle(Long.MAX_VALUE)).as("b still holds and expires its copy").isEqualTo(1);
            assertThat(b.size()).isZero();
        }
    }

    @Test
    void makeRoomInsideATransactionDoesNotWaitForSegmentsOthersHold() throws Exception {
        bounded(1, EvictionPolicy.ALLKEYS_LRU);
        for (int i = 0; i < 100; i++) {
            engine.put(key("k" + i), bytes("x"), 0);
        }
        Key held = key("k0");
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            Future<?> holder = other.submit(() -> engine.atomically(held, txn -> {
                holding.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            }));
            assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();
            boolean room = engine.atomically(key("k1"), txn -> engine.makeRoom());
            assertThat(room).as("everything but the held segment's keys could be evicted").isFalse();
            assertThat(engine.stats().evictedKeys()).isGreaterThanOrEqualTo(90);
            release.countDown();
            holder.get(30, TimeUnit.SECONDS);
            assertThat(engine.peek(held)).isNotNull();
        } finally {
            release.countDown();
            other.shutdownNow();
        }
        assertThat(engine.makeRoom()).as("all evicted: nothing accounted, so under the bound").isTrue();
        assertThat(engine.size()).isZero();
    }

    @Test
    void versionedValuesAreJoinedWhateverTheirOrderAndVersionsAndCountersOfOneEpoch() {
        ManualClock shared = new ManualClock(START_MILLIS);
        Key k = Key.of("k".getBytes());
        DvvSet<byte[]> fromA = DvvSet.<byte[]>empty()
                .update(VersionVector.EMPTY, "a".getBytes(), 1);
        DvvSet<byte[]> fromB = DvvSet.<byte[]>empty()
                .update(VersionVector.EMPTY, "b".getBytes(), 2);
        Entry a = new Entry(k, CausalCodec.encode(fromA), Hlc.pack(START_MILLIS, 5), 1, 0,
                ValueKind.VERSIONED);
        Entry b = new Entry(k, CausalCodec.encode(fromB), Hlc.pack(START_MILLIS, 1), 2, 0,
                ValueKind.VERSIONED);
        try (MemoryEngine x = new MemoryEngine(EngineConfig.unbounded(), shared, new Hlc(shared), 7);
             MemoryEngine y = new MemoryEngine(EngineConfig.unbounded(), shared, new Hlc(shared), 8)) {
            assertThat(x.merge(a)).isTrue();
            assertThat(x.merge(b)).as("older, but concurrent: joined, not refused").isTrue();
            assertThat(y.merge(b)).isTrue();
            assertThat(y.merge(a)).isTrue();
            assertThat(x.merge(a)).as("nothing new").isFalse();
            Entry xs = x.stored(k);
            Entry ys = y.stored(k);
            assertThat(xs.value()).isEqualTo(ys.value());
            assertThat(xs.kind()).isEqualTo(ValueKind.VERSIONED);
            assertThat(xs.version()).isEqualTo(a.version()).isEqualTo(ys.version());
            assertThat(CausalCodec.decodeDvv(xs.value()).values())
                    .extracting(String::new).containsExactlyInAnyOrder("a", "b");

            Key c = Key.of("c".getBytes());
            byte[] c1 = CausalCodec.encode(PnCounter.ZERO.add(1, 5));
            byte[] c2 = CausalCodec.encode(PnCounter.ZERO.add(1, 3).add(2, -1));
            x.merge(new Entry(c, c1, Hlc.pack(START_MILLIS, 9), 1, 0, ValueKind.COUNTER));
            x.merge(new Entry(c, c2, Hlc.pack(START_MILLIS, 9), 1, 0, ValueKind.COUNTER));
            assertThat(CausalCodec.decodeCounterState(x.stored(c).value()).value())
                    .as("counters of one epoch (version) join").isEqualTo(5 - 1);

            // A plain write of the same key with a newer version replaces the siblings (last writer wins between kinds).
            Entry plain = new Entry(k, "p".getBytes(), Hlc.pack(START_MILLIS + 1, 0), 3, 0);
            assertThat(x.merge(plain)).isTrue();
            assertThat(x.stored(k).kind()).isEqualTo(ValueKind.PLAIN);
            assertThat(x.merge(a)).as("an older versioned value does not join a plain one").isFalse();
        }
    }
    /**
     * A VDEL that leaves no sibling keeps the key's history until now + grace. A sibling concurrent with that
     * delete, joined into the history in either order, keeps its own expiry (none here, or its TTL): it
     * does not disappear with the history. A sibling the delete saw stays deleted, under the history's expiry.
     */
    @Test
    void aSiblingJoinedIntoADeletedKeysHistoryKeepsItsOwnExpiry() {
        long grace = 60_000;
        Key k = Key.of("cart".getBytes());
        DvvSet<byte[]> written = DvvSet.<byte[]>empty().update(VersionVector.EMPTY, "x".getBytes(), 1);
        DvvSet<byte[]> deleted = written.discard(written.context());
        DvvSet<byte[]> concurrent = DvvSet.<byte[]>empty().update(VersionVector.EMPTY, "a".getBytes(), 2);
        Entry history = new Entry(k, CausalCodec.encode(deleted), Hlc.pack(START_MILLIS, 10), 1,
                START_MILLIS + grace, ValueKind.VERSIONED);
        Entry seenByTheDelete = new Entry(k, CausalCodec.encode(written), Hlc.pack(START_MILLIS, 3), 1, 0,
                ValueKind.VERSIONED);
        long ttl = START_MILLIS + 10 * grace;
        for (long siblingExpiry : new long[] {0, ttl}) {
            Entry sibling = new Entry(k, CausalCodec.encode(concurrent), Hlc.pack(START_MILLIS, 5), 2, siblingExpiry,
                    ValueKind.VERSIONED);
            for (List<Entry> order : List.of(List.of(history, sibling), List.of(sibling, history),
                    List.of(sibling, history, seenByTheDelete, sibling))) {
                ManualClock clock = new ManualClock(START_MILLIS);
                try (MemoryEngine engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, grace,
                        EngineConfig.DEFAULT_EVICTION_SAMPLES), clock, new Hlc(clock), 7)) {
                    order.forEach(engine::merge);
                    Entry joined = engine.stored(k);
                    assertThat(joined.version()).as("order %s", order).isEqualTo(history.version());
                    assertThat(joined.expireAt()).as("order %s", order).isEqualTo(siblingExpiry);
                    clock.advanceMillis(2 * grace);
                    assertThat(CausalCodec.decodeDvv(engine.get(k).value()).values()).as("after the history's grace")
                            .extracting(String::new).containsExactly("a");
                }
            }
        }
        ManualClock clock = new ManualClock(START_MILLIS);
        try (MemoryEngine engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, grace,
                EngineConfig.DEFAULT_EVICTION_SAMPLES), clock, new Hlc(clock), 7)) {
            engine.merge(seenByTheDelete);
            engine.merge(history);
            assertThat(engine.merge(seenByTheDelete)).as("what the delete saw stays deleted").isFalse();
            assertThat(engine.stored(k).expireAt()).isEqualTo(history.expireAt());
            assertThat(CausalCodec.decodeDvv(engine.stored(k).value()).hasNoValues()).isTrue();
        }
    }
}
