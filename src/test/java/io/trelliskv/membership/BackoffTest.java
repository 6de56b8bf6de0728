package io.trelliskv.membership;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class BackoffTest {

    @ParameterizedTest(name = "attempt {0}, initial {1}, max {2} -> {3}")
    @CsvSource({
            "0,   1000, 60000,  1000",
            "1,   1000, 60000,  2000",
            "5,   1000, 60000, 32000",
            "6,   1000, 60000, 60000",
            "40,  1000, 60000, 60000",
            "63,  1000, 60000, 60000",
            "1000, 1000, 60000, 60000",
            "3,    250,  1000,  1000",
            "0,   1000,  1000,  1000",
    })
    void delayDoublesUpToTheCap(int attempt, long initial, long max, long expected) {
        assertThat(Backoff.delayMillis(attempt, initial, max)).isEqualTo(expected);
    }
}
