package io.trelliskv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

class ZipfSamplerTest {

    private static final int SAMPLES = 200_000;

    /**
     * Frequencies for small n against the exact probabilities, with a fixed seed: Pearson's chi-square
     * under the 0.1 % critical value for its degrees of freedom, every count within 4.5 standard deviations
     * of its expectation, and within 3.5 % (relative) where it expects at least 20000 samples (about 5
     * standard deviations there). Exponents on both sides of 1 and at 1, where the sampler's H and its
     * inverse switch to their logarithmic forms.
     */
    @ParameterizedTest(name = "n={0}, s={1}")
    @CsvSource({
        "10, 0", "10, 0.5", "10, 0.99", "10, 1", "10, 1.01", "10, 1.2", "10, 2", "10, 3.5",
        "2, 1", "3, 0.8", "50, 0.99", "50, 1.5"
    })
    void frequenciesMatchTheZipfProbabilities(int n, double exponent) {
        ZipfSampler zipf = new ZipfSampler(n, exponent);
        SplittableRandom random = new SplittableRandom(42);
        long[] counts = new long[n];
        for (int i = 0; i < SAMPLES; i++) {
            counts[zipf.sample(random)]++;
        }
        double chiSquare = 0;
        int cells = 0;
        double other = 0;
        double otherExpected = 0;
        for (int i = 0; i < n; i++) {
            double expected = zipf.probability(i) * SAMPLES;
            if (expected >= 5) {
                chiSquare += (counts[i] - expected) * (counts[i] - expected) / expected;
                cells++;
            } else { // pooled, so that every cell of the test expects at least 5
                other += counts[i];
                otherExpected += expected;
            }
            double sd = Math.sqrt(expected * (1 - zipf.probability(i)));
            assertThat(Math.abs(counts[i] - expected))
                .as("index %d: expected %.1f, got %d", i, expected, counts[i])
                .isLessThan(4.5 * sd + 1);
            if (expected >= 20_000) {
                assertThat(Math.abs(counts[i] - expected) / expected)
                    .as("relative error of index %d (expected %.1f, got %d)", i, expected, counts[i])
                    .isLessThan(0.035);
            }
        }
        if (otherExpected > 0) {
            chiSquare += (other - otherExpected) * (other - otherExpected) / otherExpected;
            cells++;
        }
        assertThat(chiSquare).as("chi-square over %d cells", cells).isLessThan(critical001(cells - 1));
    }

    @Test
    void sameSeedSameSequence() {
        ZipfSampler zipf = new ZipfSampler(1_000_000, 0.99);
        SplittableRandom a = new SplittableRandom(7);
        SplittableRandom b = new SplittableRandom(7);
        for (int i = 0; i < 10_000; i++) {
            assertThat(zipf.sample(a)).isEqualTo(zipf.sample(b));
        }
    }

    @Test
    void largeNStaysInRangeAndIsSkewed() {
        int n = 10_000_000;
        ZipfSampler zipf = new ZipfSampler(n, 1.2);
        SplittableRandom random = new SplittableRandom(1);
        int zeros = 0;
        for (int i = 0; i < 100_000; i++) {
            int k = zipf.sample(random);
            assertThat(k).isBetween(0, n - 1);
            if (k == 0) {
                zeros++;
            }
        }
        // p(0) = 1 / zeta_n(1.2), about 1 / 5.36 for n = 10^7 (zeta(1.2) = 5.59 less a tail of ~0.2).
        assertThat(zeros / 100_000.0).isBetween(0.17, 0.20);
    }

    @Test
    void oneKeyAlwaysZero() {
        ZipfSampler zipf = new ZipfSampler(1, 0.99);
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 1000; i++) {
            assertThat(zipf.sample(random)).isZero();
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> new ZipfSampler(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ZipfSampler(10, -0.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ZipfSampler(10, Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    }

    /** Chi-square critical values at the 0.1 % level, degrees of freedom 1 to 49. */
    private static double critical001(int df) {
        double[] table = {
            10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588,
            31.264, 32.909, 34.528, 36.123, 37.697, 39.252, 40.790, 42.312, 43.820, 45.315,
            46.797, 48.268, 49.728, 51.179, 52.620, 54.052, 55.476, 56.892, 58.301, 59.703,
            61.098, 62.487, 63.870, 65.247, 66.619, 67.985, 69.346, 70.703, 72.055, 73.402,
            74.745, 76.084, 77.419, 78.750, 80.077, 81.400, 82.720, 84.037, 85.351
        };
        return table[df - 1];
    }
}
