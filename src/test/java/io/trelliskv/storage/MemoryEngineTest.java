package io.trelliskv.storage;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.version.Hlc;
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
        assertThat(MemoryEngine.ENTRY_OVERHEAD).isEqualTo(120);
        engine.put(key("abc"), new byte[100], 0);
        // 120 + align8(16 + 3) + align8(16 + 100)
        assertThat(engine.usedMemory()).isEqualTo(120 + 24 + 120);
        engine.put(key("abc"), new byte[100], START_MILLIS + 1_000);
        assertThat(engine.usedMemory()).isEqualTo(120 + 24 + 120 + MemoryEngine.HEAP_SLOT_OVERHEAD);
        engine.put(key("abc"), new byte[0], 0);
        assertThat(engine.usedMemory()).isEqualTo(120 + 24 + 16);
        engine.delete(key("abc"));
        assertThat(engine.usedMemory()).as("a tombstone: key and heap slot, no value")
                .isEqualTo(120 + 24 + MemoryEngine.HEAP_SLOT_OVERHEAD);
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
    void aZeroBudgetCycleVisitsOneSegmentAndTheNextCycleResumesAfterIt() {
        unbounded();
        int[] perSegment = new int[MemoryEngine.SEGMENTS];
        for (int i = 0; i < 10_000; i++) {
            Key k = key("v" + i);
            engine.put(k, bytes("x"), START_MILLIS + 1);
            perSegment[MemoryEngine.segmentOf(k.token())]++;
        }
        clock.advanceMillis(2);
        for (int segment = 0; segment < MemoryEngine.SEGMENTS; segment++) {
            assertThat(engine.expireCycle(0)).as("segment %d", segment).isEqualTo(perSegment[segment]);
        }
        assertThat(engine.size()).isZero();
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
    void peekLeavesTheRecencyStampAlone() {
        unbounded();
        Entry e = engine.put(key("a"), bytes("x"), 0);
        int stamp = e.lru;
        clock.advance(10, TimeUnit.SECONDS);
        engine.peek(key("a"));
        assertThat(e.lru).isEqualTo(stamp);
        engine.get(key("a"));
        assertThat(e.lru).isEqualTo(MemoryEngine.lruTick(clock.millis()));
    }

    @Test
    void theLruClockNeverProducesTheUnlinkedMark() {
        long millis = ((long) MemoryEngine.UNLINKED & 0xffffffffL) << MemoryEngine.LRU_TICK_SHIFT;
        assertThat(MemoryEngine.lruTick(millis)).isNotEqualTo(MemoryEngine.UNLINKED);
        assertThat(MemoryEngine.lruTick(millis + 1024)).isEqualTo(MemoryEngine.UNLINKED + 1);
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
}
