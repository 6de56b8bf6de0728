package io.trelliskv.ring;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class OwnershipStatsTest {

    @Test
    void summarisesShares() {
        OwnershipStats stats = OwnershipStats.of(Map.of(1L, 0.2, 2L, 0.3, 3L, 0.5));
        assertThat(stats.min()).isEqualTo(0.2);
        assertThat(stats.max()).isEqualTo(0.5);
        assertThat(stats.mean()).isCloseTo(1.0 / 3, within(1e-15));
        assertThat(stats.maxOverMean()).isCloseTo(1.5, within(1e-12));
        assertThat(stats.minOverMean()).isCloseTo(0.6, within(1e-12));
        assertThat(stats).hasToString("min 20.00% max 50.00% mean 33.33% max/mean 1.500");
    }

    @Test
    void perfectBalanceIsOne() {
        OwnershipStats stats = OwnershipStats.of(Map.of(1L, 0.25, 2L, 0.25, 3L, 0.25, 4L, 0.25));
        assertThat(stats.maxOverMean()).isEqualTo(1.0);
        assertThat(stats.minOverMean()).isEqualTo(1.0);
    }

    @Test
    void refusesAnEmptyMap() {
        assertThatThrownBy(() -> OwnershipStats.of(Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("shares: empty (expected: at least one node)");
    }
}
