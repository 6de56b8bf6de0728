package io.trelliskv.common;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Redis's glob, case by case. Strings are turned into bytes one char per byte (ISO-8859-1), so
 * {@code \u00ff} in a case is the byte 0xff.
 */
class GlobTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                // ? is exactly one byte
                arguments("h?llo", "hello", true),
                arguments("h?llo", "hallo", true),
                arguments("h?llo", "hllo", false),
                arguments("h?llo", "heello", false),
                arguments("?", "", false),
                arguments("?", "a", true),
                arguments("?", "ab", false),
                // * is any run, the empty one included
                arguments("h*llo", "hllo", true),
                arguments("h*llo", "heeeello", true),
                arguments("h*llo", "hellO", false),
                arguments("a*", "a", true),
                arguments("a*b", "ab", true),
                arguments("*a", "a", true),
                arguments("a**", "a", true),
                arguments("**", "x", true),
                arguments("*", "anything at all", true),
                arguments("*x*y*", "axbyc", true),
                arguments("*x*y*", "aybxc", false),
                arguments("*[0-9]", "abc7", true),
                arguments("a*c", "abcbc", true),
                arguments("a*c", "abcb", false),
                // the empty subject matches only the empty pattern (KEYS and SCAN special-case "*")
                arguments("*", "", false),
                arguments("**", "", false),
                arguments("", "", true),
                arguments("", "a", false),
                arguments("a", "", false),
                // sets
                arguments("h[ae]llo", "hello", true),
                arguments("h[ae]llo", "hallo", true),
                arguments("h[ae]llo", "hillo", false),
                arguments("h[^e]llo", "hallo", true),
                arguments("h[^e]llo", "hbllo", true),
                arguments("h[^e]llo", "hello", false),
                arguments("h[a-b]llo", "hallo", true),
                arguments("h[a-b]llo", "hbllo", true),
                arguments("h[a-b]llo", "hcllo", false),
                arguments("[z-a]", "m", true),
                arguments("[a-c-e]", "-", true),
                arguments("[a-c-e]", "e", true),
                arguments("[a-c-e]", "d", false),
                arguments("[-a]", "-", true),
                arguments("[^a-c]", "b", false),
                arguments("[^a-c]", "d", true),
                arguments("[ab]", "ab", false),
                // set edge cases: empty, unterminated, escaped members, '-' before ']'
                arguments("[]", "]", false),
                arguments("[]", "", false),
                arguments("[^]", "a", true),
                arguments("[^]", "]", true),
                arguments("[abc", "b", true),
                arguments("[abc", "d", false),
                arguments("[abc", "bc", false),
                arguments("[", "[", false),
                arguments("[^", "x", true),
                arguments("[\\]]", "]", true),
                arguments("[\\]]", "\\", false),
                arguments("[a\\-z]", "-", true),
                arguments("[a\\-z]", "m", false),
                arguments("[\\", "\\", true),
                arguments("[a-]", "]", true),
                arguments("[a-]", "_", true),
                arguments("[a-]", "-", false),
                arguments("[a-]", "b", false),
                // escapes
                arguments("h\\*llo", "h*llo", true),
                arguments("h\\*llo", "hello", false),
                arguments("\\?", "?", true),
                arguments("\\?", "a", false),
                arguments("\\[a]", "[a]", true),
                arguments("\\[a]", "a", false),
                arguments("\\\\", "\\", true),
                arguments("\\a", "a", true),
                arguments("a\\", "a\\", true),
                arguments("a\\", "a", false),
                // binary: NUL, CR/LF and high bytes are ordinary; ranges compare signed bytes as Redis on x86-64
                arguments("a\u0000*", "a\u0000xyz", true),
                arguments("a\u0000*", "a\u0001xyz", false),
                arguments("?\r\n?", "a\r\nb", true),
                arguments("\u00ff*", "\u00ffabc", true),
                arguments("[a-\u00ff]", "\u0000", true),
                arguments("[a-\u00ff]", "\u00ff", true),
                arguments("[a-\u00ff]", "b", false),
                arguments("[\u0080-\u00ff]", "\u00c0", true),
                arguments("[\u0080-\u00ff]", "a", false));
    }

    @ParameterizedTest(name = "\"{0}\" vs \"{1}\" -> {2}")
    @MethodSource("cases")
    void matchesAsRedisDoes(String pattern, String subject, boolean expected) {
        assertThat(Glob.matches(bytes(pattern), bytes(subject))).isEqualTo(expected);
    }

    @Test
    @Timeout(5)
    void abandonsHopelessBacktrackingEarly() {
        String pattern = "a*".repeat(40) + "b";
        assertThat(Glob.matches(bytes(pattern), bytes("a".repeat(5_000)))).isFalse();
        assertThat(Glob.matches(bytes(pattern), bytes("a".repeat(5_000) + "b"))).isTrue();
    }

    @Test
    void givesUpBeyondTheNestingLimit() {
        int limit = Glob.MAX_NESTING;
        assertThat(Glob.matches(bytes("*a".repeat(limit)), bytes("a".repeat(limit)))).isTrue();
        assertThat(Glob.matches(bytes("*a".repeat(limit + 1)), bytes("a".repeat(limit + 1)))).isFalse();
    }

    @Test
    @Timeout(5)
    void survivesAbusivelyLongPatterns() {
        // Redis's regression test: KEYS with "*?" repeated 50000 times answers nothing, without crashing.
        assertThat(Glob.matches(bytes("*?".repeat(50_000)), bytes("x".repeat(2_000)))).isFalse();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
