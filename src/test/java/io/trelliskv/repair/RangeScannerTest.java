package io.trelliskv.repair;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class RangeScannerTest {

    private static final long START = 1_700_000_000_000L;

    /** Steps of 2^52 tokens cover the range exactly once, wrapping too; purged tombstones are left out. */
    @Test
    void scansTheRangeInSegmentStepsSkippingPurgedTombstones() {
        ManualClock clock = new ManualClock(START);
        MemoryEngine engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, 1_000, 5), clock,
                new Hlc(clock), 1);
        List<Key> keys = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            Key k = Key.of("scan-" + i);
            keys.add(k);
            engine.put(k, new byte[] {1}, 0);
        }
        engine.delete(keys.get(0)); // a tombstone purgeable at START + 1000
        ScanPacer unpaced = ScanPacer.unpaced(clock);
        SplittableRandom random = new SplittableRandom(5);
        List<TokenRange> ranges = new ArrayList<>(List.of(new TokenRange(0, 0), new TokenRange(-1, -1),
                new TokenRange(Long.MAX_VALUE, Long.MIN_VALUE + (1L << 53)), new TokenRange(3, 2)));
        for (int i = 0; i < 50; i++) {
            ranges.add(new TokenRange(random.nextLong(), random.nextLong()));
        }
        for (long now : new long[] {START, START + 2_000}) {
            for (TokenRange range : ranges) {
                Set<Key> expected = new HashSet<>();
                for (Key k : keys) {
                    if (range.contains(k.token()) && !(k.equals(keys.get(0)) && now > START + 1_000)) {
                        expected.add(k);
                    }
                }
                List<Key> seen = new ArrayList<>();
                new RangeScanner(engine, unpaced).scan(range, now, e -> seen.add(e.key()));
                assertThat(seen).as("range %s at %d", range, now).doesNotHaveDuplicates()
                        .containsExactlyInAnyOrderElementsOf(expected);
            }
        }
    }

    /** The pacer sleeps (1 - f) / f of the time worked, carrying less than a millisecond over. */
    @Test
    void pacerKeepsToItsFraction() {
        ManualClock clock = new ManualClock(START);
        List<Long> sleeps = new ArrayList<>();
        ScanPacer half = new ScanPacer(0.5, clock, sleeps::add);
        half.step(() -> clock.advanceMillis(4));
        half.step(() -> clock.advance(300_000, TimeUnit.NANOSECONDS));
        half.step(() -> clock.advance(800_000, TimeUnit.NANOSECONDS));
        assertThat(sleeps).containsExactly(4_000_000L, 1_100_000L);
        ScanPacer quarter = new ScanPacer(0.25, clock, sleeps::add);
        sleeps.clear();
        quarter.step(() -> clock.advanceMillis(10));
        assertThat(sleeps).containsExactly(30_000_000L);
        ScanPacer.unpaced(clock).step(() -> clock.advanceMillis(100));
        assertThat(sleeps).hasSize(1);
    }
}
