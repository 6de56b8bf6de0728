package io.trelliskv.membership;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AwarenessTest {

    @ParameterizedTest(name = "timeout={0} score={1} -> {2}")
    @CsvSource({
            "1000, 0, 1000",
            "1000, 1, 2000",
            "1000, 7, 8000",
            " 500, 3, 2000",
            "   0, 5,    0",
    })
    void scale(long timeout, int score, long expected) {
        assertThat(Awareness.scale(timeout, score)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "score {0} with max {1} -> {2}")
    @CsvSource({
            "-3, 8, 0",
            " 0, 8, 0",
            " 7, 8, 7",
            " 8, 8, 7",
            "99, 8, 7",
            " 5, 1, 0",
    })
    void clamp(long score, int max, int expected) {
        assertThat(Awareness.clamp(score, max)).isEqualTo(expected);
    }

    /** memberlist's TestAwareness: deltas and the scaled timeout after each. */
    @Test
    void deltasMoveTheScoreWithinItsBounds() {
        Awareness a = new Awareness(8);
        int[][] steps = {{0, 0, 1}, {-1, 0, 1}, {-10, 0, 1}, {1, 1, 2}, {-1, 0, 1}, {10, 7, 8}, {-1, 6, 7},
                {-1, 5, 6}, {-1, 4, 5}, {-1, 3, 4}, {-1, 2, 3}, {-1, 1, 2}, {-1, 0, 1}, {-1, 0, 1}};
        for (int[] step : steps) {
            a.applyDelta(step[0]);
            assertThat(a.score()).isEqualTo(step[1]);
            assertThat(a.scale(1000)).isEqualTo(step[2] * 1000L);
        }
    }

    @Test
    void maxMustBePositive() {
        assertThatThrownBy(() -> new Awareness(0)).hasMessage("awareness max multiplier: 0 (expected: >= 1)");
    }
}
