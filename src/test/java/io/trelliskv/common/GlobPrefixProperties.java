package io.trelliskv.common;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Glob#matches} compares a literal prefix followed by one {@code *} in place: it must answer as the
 * general matcher does, and as the rule says (a non-empty subject that starts with the prefix), for
 * subjects around the prefix: equal to it, longer, shorter, and differing in one byte. A prefix found once
 * ({@link Glob#literalPrefix}, as an ACL user's key patterns keep it) must match as the pattern does.
 */
class GlobPrefixProperties {

    @Property(tries = 2000)
    void aLiteralPrefixAndAStarMatchAsTheGeneralMatcherDoes(@ForAll("patterns") byte[] pattern,
                                                            @ForAll("subjects") byte[] subject) {
        byte[] prefix = Arrays.copyOf(pattern, pattern.length - 1);
        boolean startsWith = subject.length >= prefix.length
                && Arrays.equals(prefix, 0, prefix.length, subject, 0, prefix.length);

        assertThat(Glob.matches(pattern, subject))
                .isEqualTo(Glob.backtracking(pattern, subject))
                .isEqualTo(subject.length > 0 && startsWith);
    }

    @Property(tries = 500)
    void aSubjectBuiltOnThePrefixMatches(@ForAll("patterns") byte[] pattern, @ForAll("subjects") byte[] tail) {
        byte[] subject = new byte[pattern.length - 1 + tail.length];
        System.arraycopy(pattern, 0, subject, 0, pattern.length - 1);
        System.arraycopy(tail, 0, subject, pattern.length - 1, tail.length);

        assertThat(Glob.matches(pattern, subject)).isEqualTo(Glob.backtracking(pattern, subject))
                .isEqualTo(subject.length > 0);
    }

    @Property(tries = 2000)
    void aPatternsPrefixFoundOnceMatchesAsThePatternDoes(@ForAll("anyPatterns") byte[] pattern,
                                                         @ForAll("subjects") byte[] subject) {
        int prefix = Glob.literalPrefix(pattern);
        boolean shortcut = pattern.length > 0 && pattern[pattern.length - 1] == '*'
                && new String(pattern, 0, pattern.length - 1, StandardCharsets.ISO_8859_1)
                        .chars().noneMatch(c -> c == '*' || c == '?' || c == '[' || c == '\\');

        assertThat(prefix).isEqualTo(shortcut ? pattern.length - 1 : -1);
        assertThat(Glob.matches(pattern, prefix, subject)).isEqualTo(Glob.backtracking(pattern, subject));
    }

    /** Patterns of every kind, specials included, from a small alphabet. */
    @Provide
    Arbitrary<byte[]> anyPatterns() {
        return Arbitraries.of((byte) 'a', (byte) 'b', (byte) '*', (byte) '?', (byte) '[', (byte) ']', (byte) '\\')
                .array(byte[].class).ofMaxSize(6);
    }

    /** A literal prefix of 0 to 6 bytes from a small alphabet (so subjects often share it), then '*'. */
    @Provide
    Arbitrary<byte[]> patterns() {
        return Arbitraries.bytes().between((byte) 'a', (byte) 'c').array(byte[].class).ofMaxSize(6)
                .map(p -> {
                    byte[] withStar = Arrays.copyOf(p, p.length + 1);
                    withStar[p.length] = '*';
                    return withStar;
                });
    }

    @Provide
    Arbitrary<byte[]> subjects() {
        return Arbitraries.bytes().between((byte) 'a', (byte) 'd').array(byte[].class).ofMaxSize(8);
    }
}
