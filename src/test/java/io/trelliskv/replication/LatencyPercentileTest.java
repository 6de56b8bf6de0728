package io.trelliskv.replication;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LatencyPercentileTest {

    private static final long MS = 1_000_000;

    @Test
    void theEstimateIsTheUpperBoundOfThePercentilesPowerOfTwoBucketInWholeMilliseconds() {
        LatencyPercentile p = new LatencyPercentile(0.99);
        assertThat(p.millis()).as("no sample yet").isZero();
        for (int i = 0; i < 990; i++) {
            p.record(300_000); // 0.3 ms: bucket [256, 512) µs
        }
        for (int i = 0; i < 10; i++) {
            p.record(30 * MS); // [16384, 32768) µs
        }
        assertThat(p.millis()).as("the 99th of 1000 is a fast one").isEqualTo(1);

        p.record(30 * MS);
        assertThat(p.millis()).as("11 slow of 1001: the 99th is slow").isEqualTo(33);
    }

    @Test
    void oldSamplesFadeSoTheEstimateFollowsTheLoad() {
        LatencyPercentile p = new LatencyPercentile(0.99);
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < LatencyPercentile.WINDOW; i++) {
            p.record(random.nextInt(5) == 0 ? 40 * MS : MS / 2); // loaded: a fifth of the answers take 40 ms
        }
        assertThat(p.millis()).isEqualTo(66);

        for (int i = 0; i < 4 * LatencyPercentile.WINDOW; i++) {
            p.record(MS / 2);
        }
        assertThat(p.millis()).as("idle again").isEqualTo(1);
    }

    @Test
    void aPercentileOutsideZeroToOneIsRefused() {
        assertThatThrownBy(() -> new LatencyPercentile(1.0)).hasMessage("percentile: 1.0 (expected: between 0 and 1)");
    }
}
