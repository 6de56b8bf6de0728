package io.trelliskv.ring;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static java.lang.Long.MAX_VALUE;
import static java.lang.Long.MIN_VALUE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class TokenRangeTest {

    @ParameterizedTest(name = "({0}, {1}] contains {2}: {3}")
    @CsvSource({
            // plain interval: start excluded, end included
            "-10, 10, -10, false",
            "-10, 10, -9, true",
            "-10, 10, 0, true",
            "-10, 10, 10, true",
            "-10, 10, 11, false",
            "-10, 10, " + MIN_VALUE + ", false",
            "-10, 10, " + MAX_VALUE + ", false",
            // wrapping arc: (start, MAX] and [MIN, end]
            "100, -100, 100, false",
            "100, -100, 101, true",
            "100, -100, " + MAX_VALUE + ", true",
            "100, -100, " + MIN_VALUE + ", true",
            "100, -100, -100, true",
            "100, -100, -99, false",
            "100, -100, 0, false",
            // the arc from MAX to MIN holds exactly MIN
            MAX_VALUE + ", " + MIN_VALUE + ", " + MIN_VALUE + ", true",
            MAX_VALUE + ", " + MIN_VALUE + ", " + MAX_VALUE + ", false",
            MAX_VALUE + ", " + MIN_VALUE + ", 0, false",
            // the arc from MIN to MAX holds everything but MIN
            MIN_VALUE + ", " + MAX_VALUE + ", " + MIN_VALUE + ", false",
            MIN_VALUE + ", " + MAX_VALUE + ", 0, true",
            MIN_VALUE + ", " + MAX_VALUE + ", " + MAX_VALUE + ", true",
            // start == end: the whole ring, including the token itself
            "7, 7, 7, true",
            "7, 7, 6, true",
            "7, 7, " + MIN_VALUE + ", true",
    })
    void contains(long start, long end, long token, boolean expected) {
        assertThat(new TokenRange(start, end).contains(token)).isEqualTo(expected);
        assertThat(TokenRange.contains(start, end, token)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "size of ({0}, {1}] = {2}")
    @CsvSource({
            "0, 0, 1.0",
            MIN_VALUE + ", " + MIN_VALUE + ", 1.0",
            MIN_VALUE + ", 0, 0.5",
            "0, " + MIN_VALUE + ", 0.5",
            MIN_VALUE + ", " + MAX_VALUE + ", 1.0",      // 2^64 - 1 tokens, rounds to 1.0
            "0, 4611686018427387904, 0.25",              // 2^62
            "4611686018427387904, 0, 0.75",              // wraps
            "-4611686018427387904, 4611686018427387904, 0.5",
            "0, 1, 5.421010862427522E-20",               // one token: 2^-64
    })
    void sizeOf(long start, long end, double expected) {
        assertThat(TokenRange.sizeOf(start, end)).isEqualTo(expected);
        assertThat(new TokenRange(start, end).size()).isEqualTo(expected);
    }

    @ParameterizedTest(name = "fractionOfRing({0}) = {1}")
    @CsvSource({
            "0, 1.0",                      // 0 stands for 2^64, the whole ring
            "1, 5.421010862427522E-20",
            "-1, 1.0",                     // 2^64 - 1, rounds to 1.0
            MIN_VALUE + ", 0.5",           // 2^63
            MAX_VALUE + ", 0.5",           // 2^63 - 1, rounds to 0.5
            "-4611686018427387904, 0.75",  // 3 * 2^62
    })
    void fractionOfRing(long width, double expected) {
        assertThat(TokenRange.fractionOfRing(width)).isEqualTo(expected);
    }

    @Property(tries = 300)
    void aRangeAndItsComplementSplitTheRing(@ForAll long start, @ForAll long end, @ForAll long token) {
        if (start == end) {
            return;
        }
        TokenRange range = new TokenRange(start, end);
        TokenRange complement = new TokenRange(end, start);
        assertThat(range.contains(token)).isNotEqualTo(complement.contains(token));
        assertThat(range.size() + complement.size()).isCloseTo(1.0, within(1e-15));
    }

    @Property(tries = 300)
    void fullRingContainsEverything(@ForAll long token, @ForAll long other) {
        assertThat(TokenRange.fullRing(token).isFullRing()).isTrue();
        assertThat(TokenRange.fullRing(token).contains(other)).isTrue();
        assertThat(TokenRange.fullRing(token).size()).isEqualTo(1.0);
    }

    @org.junit.jupiter.api.Test
    void printsHalfOpen() {
        assertThat(new TokenRange(-5, 9)).hasToString("(-5, 9]");
    }
}
