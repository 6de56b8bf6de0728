package io.trelliskv.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

    @ParameterizedTest
    @CsvSource({
            "500ms, 500",
            "1ms, 1",
            "10s, 10000",
            "10, 10000",
            "5m, 300000",
            "2h, 7200000",
            "1d, 86400000",
            "0010s, 10000",
    })
    void parsesWholeNumbersWithUnits(String text, long millis) {
        assertThat(Durations.parse(text).toMillis()).isEqualTo(millis);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "s", "0", "0ms", "-5s", "1.5s", "10x", "10 s", "10S", "5sec", " 5s",
            "999999999999999999d", "1234567890123456789"})
    void rejectsAnythingElse(String text) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(ParseException.class)
                .hasMessage("bad duration '" + text + "' (" + Durations.EXPECTED + ")");
    }

    @ParameterizedTest
    @CsvSource({
            "0, 0ms",
            "998, 998ms",
            "1000, 1s",
            "9998, 9.998s",
            "1500, 1.5s",
            "10050, 10.05s",
            "60000, 1m",
            "303000, 5m 3s",
            "3600000, 1h",
            "3600001, 1h 0.001s",
            "90061001, 1d 1h 1m 1.001s",
    })
    void formatsMillisForPeople(long millis, String text) {
        assertThat(Durations.formatMillis(millis)).isEqualTo(text);
    }
}
