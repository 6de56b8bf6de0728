package io.trelliskv.replication;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HintConfigTest {

    @Test
    void defaults() {
        assertThat(HintConfig.defaults()).isEqualTo(new HintConfig(10_800_000, 100_000, 67_108_864, 5_000, 256));
    }

    @Test
    void rejectsOutOfRangeValuesNamingThem() {
        assertThatThrownBy(() -> new HintConfig(0, 1, 1, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("windowMillis: 0 (expected: >= 1)");
        assertThatThrownBy(() -> new HintConfig(1, 0, 1, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxHints: 0 (expected: >= 1)");
        assertThatThrownBy(() -> new HintConfig(1, 1, -5, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxBytes: -5 (expected: >= 1)");
        assertThatThrownBy(() -> new HintConfig(1, 1, 1, 0, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("replayRatePerSecond: 0 (expected: >= 1)");
        assertThatThrownBy(() -> new HintConfig(1, 1, 1, 1, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("replayBatch: 0 (expected: >= 1)");
    }
}
