package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.storage.Entry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HintStoreTest {

    private static final long WINDOW = 3 * 60 * 60 * 1_000L;
    private static final long A = 0xa;
    private static final long B = 0xb;

    private final ManualClock clock = new ManualClock(1_700_000_000_000L);
    private HintStore store = new HintStore(HintConfig.defaults(), clock);

    static Entry entry(String key, String value, long hlc) {
        return new Entry(Key.of(key), value == null ? null : value.getBytes(StandardCharsets.UTF_8), hlc, 0x1, 0);
    }

    private static HintConfig bounds(int maxHints, long maxBytes) {
        return new HintConfig(WINDOW, maxHints, maxBytes, 5_000, 256);
    }

    @Test
    void keepsTheNewestEntryPerTargetAndKey() {
        Entry v1 = entry("k", "one", 1);
        Entry v2 = entry("k", "two", 2);
        assertThat(store.add(A, v1)).isTrue();
        assertThat(store.add(A, v2)).isTrue();
        assertThat(store.add(B, v1)).isTrue();

        assertThat(store.next(A, 10)).containsExactly(v2);
        assertThat(store.next(B, 10)).containsExactly(v1);
        assertThat(store.pending()).isEqualTo(2);
        assertThat(store.pendingBytes()).isEqualTo(HintStore.sizeOf(v2) + HintStore.sizeOf(v1));
        assertThat(store.stats().stored()).isEqualTo(3);
    }

    @Test
    void anOlderOrEqualVersionIsIgnored() {
        Entry v2 = entry("k", "two", 2);
        store.add(A, v2);
        assertThat(store.add(A, entry("k", "one", 1))).isTrue();
        assertThat(store.add(A, entry("k", "other copy", 2))).isTrue();
        assertThat(store.next(A, 10)).containsExactly(v2);
        assertThat(store.stats().stored()).isEqualTo(1);
        assertThat(store.pendingBytes()).isEqualTo(HintStore.sizeOf(v2));
    }

    @Test
    void sizeIsKeyAndValueBytesPlusTheOverhead() {
        assertThat(HintStore.HINT_OVERHEAD).isEqualTo(176);
        assertThat(HintStore.sizeOf(entry("abc", "0123456789", 1))).isEqualTo(176 + 3 + 10);
        assertThat(HintStore.sizeOf(entry("abc", null, 1))).isEqualTo(176 + 3);
    }

    @Test
    void nextGivesTheOldestFirstWithoutRemoving() {
        for (int i = 0; i < 5; i++) {
            store.add(A, entry("k" + i, "v", 1));
        }
        assertThat(keys(store.next(A, 3))).containsExactly("k0", "k1", "k2");
        assertThat(keys(store.next(A, 10))).containsExactly("k0", "k1", "k2", "k3", "k4");
        assertThat(store.next(A, 0)).isEmpty();
        assertThat(store.next(B, 10)).isEmpty();
        assertThat(store.pending(A)).isEqualTo(5);
        assertThatThrownBy(() -> store.next(A, -1)).hasMessage("max: -1 (expected: >= 0)");
    }

    @Test
    void aReplacedHintMovesToTheYoungEnd() {
        store.add(A, entry("k0", "v", 1));
        store.add(A, entry("k1", "v", 1));
        store.add(A, entry("k0", "v", 2));
        assertThat(keys(store.next(A, 10))).containsExactly("k1", "k0");
    }

    @Test
    void theCountBoundRefusesAndCountsDropped() {
        store = new HintStore(bounds(2, Long.MAX_VALUE), clock);
        assertThat(store.add(A, entry("k0", "v", 1))).isTrue();
        assertThat(store.add(B, entry("k1", "v", 1))).isTrue();
        assertThat(store.add(A, entry("k2", "v", 1))).as("third hint, any target").isFalse();
        assertThat(store.add(A, entry("k0", "v", 2))).as("a replacement adds no hint").isTrue();
        assertThat(store.stats()).extracting(HintStats::stored, HintStats::dropped, HintStats::pending)
                .containsExactly(3L, 1L, 2);
    }

    @Test
    void theByteBoundRefusesAndCountsDropped() {
        Entry small = entry("k0", "0123456789", 1);
        long room = 2 * HintStore.sizeOf(small);
        store = new HintStore(bounds(100, room), clock);
        assertThat(store.add(A, small)).isTrue();
        assertThat(store.add(B, entry("k1", "0123456789", 1))).isTrue();
        assertThat(store.pendingBytes()).isEqualTo(room);
        assertThat(store.add(A, entry("k2", "", 1))).isFalse();
        assertThat(store.add(A, entry("k0", "0123456789!", 2))).as("growing past the bound").isFalse();
        assertThat(store.add(A, entry("k0", "", 3))).as("shrinking").isTrue();
        assertThat(store.next(A, 10)).extracting(Entry::hlc).containsExactly(3L);
        assertThat(store.stats().dropped()).isEqualTo(2);
        assertThat(store.pendingBytes()).isEqualTo(room - 10);
    }

    @Test
    void hintsOlderThanTheWindowExpire() {
        store.add(A, entry("old", "v", 1));
        clock.advanceMillis(WINDOW - 1_000);
        store.add(A, entry("young", "v", 1));
        store.add(B, entry("old-b", "v", 1));
        clock.advanceMillis(1_000);
        assertThat(store.next(A, 10)).as("exactly the window old").hasSize(2);

        clock.advanceMillis(1);
        assertThat(keys(store.next(A, 10))).containsExactly("young");
        assertThat(store.stats().expired()).isEqualTo(1);
        assertThat(store.pending()).as("B's hint is not old yet").isEqualTo(2);

        clock.advanceMillis(WINDOW);
        assertThat(store.expire()).isEqualTo(2);
        assertThat(store.stats()).extracting(HintStats::expired, HintStats::pending, HintStats::pendingBytes)
                .containsExactly(3L, 0, 0L);
        assertThat(store.pendingByTarget()).isEmpty();
    }

    @Test
    void theWindowIsMonotonicTimeNotWallTime() {
        store.add(A, entry("k", "v", 1));
        clock.stepWallClock(2 * WINDOW);
        assertThat(store.expire()).isZero();
        assertThat(store.pending(A)).isEqualTo(1);
    }

    @Test
    void aReplacementRestartsTheWindow() {
        store.add(A, entry("k", "v", 1));
        clock.advanceMillis(WINDOW - 1);
        store.add(A, entry("k", "v", 2));
        clock.advanceMillis(2);
        assertThat(store.next(A, 10)).extracting(Entry::hlc).containsExactly(2L);
        assertThat(store.stats().expired()).isZero();
    }

    @Test
    void expiredHintsMakeRoomBeforeAHintIsRefused() {
        store = new HintStore(bounds(1, Long.MAX_VALUE), clock);
        store.add(A, entry("k0", "v", 1));
        clock.advanceMillis(WINDOW + 1);
        assertThat(store.add(B, entry("k1", "v", 1))).isTrue();
        assertThat(store.stats()).extracting(HintStats::expired, HintStats::dropped).containsExactly(1L, 0L);
        assertThat(store.pendingByTarget()).containsOnlyKeys(B);
    }

    @Test
    void acknowledgedKeepsANewerHintWrittenMeanwhile() {
        Entry v1 = entry("k", "one", 1);
        Entry other = entry("other", "x", 1);
        store.add(A, v1);
        store.add(A, other);
        List<Entry> batch = store.next(A, 10);

        Entry v2 = entry("k", "two", 2);
        store.add(A, v2);
        store.acknowledged(A, batch);

        assertThat(store.next(A, 10)).containsExactly(v2);
        assertThat(store.stats().replayed()).isEqualTo(1);
        assertThat(store.pendingBytes()).isEqualTo(HintStore.sizeOf(v2));
    }

    @Test
    void acknowledgedMatchesByVersionAsWellAsIdentity() {
        store.add(A, entry("k", "one", 7));
        store.acknowledged(A, List.of(entry("k", "one", 7)));
        assertThat(store.pending()).isZero();
        assertThat(store.stats().replayed()).isEqualTo(1);
        store.acknowledged(A, List.of(entry("k", "one", 7)));
        assertThat(store.stats().replayed()).as("nothing left to remove").isEqualTo(1);
    }

    @Test
    void discardCountsRefusedAndKeepsANewerHint() {
        Entry v1 = entry("k", "one", 1);
        Entry other = entry("other", "x", 1);
        store.add(A, v1);
        store.add(A, other);
        Entry v2 = entry("k", "two", 2);
        store.add(A, v2);
        store.discard(A, List.of(v1, other));
        assertThat(store.next(A, 10)).containsExactly(v2);
        assertThat(store.stats().refused()).isEqualTo(1);
    }

    @Test
    void pendingByTargetIsSortedByUnsignedNodeId() {
        long high = 0xf000_0000_0000_0001L; // negative as a long
        store.add(high, entry("k0", "v", 1));
        store.add(3, entry("k0", "v", 1));
        store.add(3, entry("k1", "v", 1));
        store.add(1, entry("k0", "v", 1));
        assertThat(store.pendingByTarget()).containsExactly(
                org.assertj.core.api.Assertions.entry(1L, 1),
                org.assertj.core.api.Assertions.entry(3L, 2),
                org.assertj.core.api.Assertions.entry(high, 1));
    }

    @Test
    void dropTargetForgetsOnlyThatTarget() {
        Entry b = entry("k1", "v", 1);
        store.add(A, entry("k0", "v", 1));
        store.add(A, entry("k1", "vv", 1));
        store.add(B, b);
        store.dropTarget(A);
        store.dropTarget(0x99);
        assertThat(store.pendingByTarget()).containsOnlyKeys(B);
        assertThat(store.pending()).isEqualTo(1);
        assertThat(store.pending(A)).isZero();
        assertThat(store.pendingBytes()).isEqualTo(HintStore.sizeOf(b));
        assertThat(store.stats()).extracting(HintStats::dropped, HintStats::expired, HintStats::refused)
                .containsExactly(0L, 0L, 0L);
    }

    @Test
    void concurrentWritersAndAReplayerKeepTheCountsConsistent() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                long target = t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 2_000; i++) {
                        store.add(target, entry("k" + (i % 500), "v", i + 1));
                        if (i % 10 == 0) {
                            store.acknowledged(target, store.next(target, 5));
                        }
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        int sum = store.pendingByTarget().values().stream().mapToInt(Integer::intValue).sum();
        long bytes = 0;
        for (long t = 0; t < 4; t++) {
            for (Entry e : store.next(t, Integer.MAX_VALUE)) {
                bytes += HintStore.sizeOf(e);
            }
        }
        HintStats stats = store.stats();
        assertThat(stats.pending()).isEqualTo(sum);
        assertThat(stats.pendingBytes()).isEqualTo(bytes);
        assertThat(stats.pending()).isLessThanOrEqualTo(4 * 500);
    }

    @Test
    void aFlushDropsTheHintsOlderThanItSoTheirTargetsNeverGetThemBack() {
        store.add(1, entry("a", "old", 100));
        store.add(2, entry("b", "old", 150));
        store.add(2, entry("c", "new", 300));
        assertThat(store.dropOlderThan(new io.trelliskv.version.Version(200, 0))).isEqualTo(2);
        assertThat(store.pending()).isEqualTo(1);
        assertThat(store.pending(1)).isZero();
        assertThat(keys(store.next(2, 10))).containsExactly("c");
    }

    private static List<String> keys(List<Entry> entries) {
        return entries.stream().map(e -> e.key().toString()).toList();
    }
}
