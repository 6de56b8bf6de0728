package io.trelliskv.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ArgumentSplitterTest {

    private static List<String> split(String line) {
        return ArgumentSplitter.split(line.getBytes(UTF_8)).stream().map(b -> new String(b, UTF_8)).toList();
    }

    @Test
    void splitsOnRunsOfWhitespace() {
        assertThat(split("  set\tkey   value  ")).containsExactly("set", "key", "value");
    }

    @Test
    void verticalTabAndFormFeedSeparateArgumentsButDoNotEndOne() {
        assertThat(split("a\u000bb \fc")).containsExactly("a\u000bb", "c");
    }

    @Test
    void nulIsData() {
        assertThat(split("set k a\u0000b")).containsExactly("set", "k", "a\u0000b");
    }

    @Test
    void blankLineHasNoArguments() {
        assertThat(split("")).isEmpty();
        assertThat(split("   \t ")).isEmpty();
    }

    @Test
    void doubleQuotesGroupAndUnescape() {
        assertThat(split("set \"my key\" \"a\\nb\\tc\\\\d\\\"e\\rf\\qg\""))
                .containsExactly("set", "my key", "a\nb\tc\\d\"e\rfqg");
    }

    @Test
    void doubleQuotesUnderstandHexEscapesAsBytes() {
        List<byte[]> args = ArgumentSplitter.split("set k \"\\x00\\xff\\x41\\xZZ\"".getBytes(UTF_8));

        assertThat(args.get(2)).containsExactly(0x00, 0xff, 'A', 'x', 'Z', 'Z');
    }

    @Test
    void singleQuotesAreLiteralExceptForEscapedQuote() {
        assertThat(split("set k 'it\\'s \\n \"raw\"'")).containsExactly("set", "k", "it's \\n \"raw\"");
    }

    @Test
    void emptyQuotedArgumentsAreKept() {
        assertThat(split("set k \"\" ''")).containsExactly("set", "k", "", "");
    }

    @Test
    void quoteInsideAWordStartsAQuotedPartAsInRedisCli() {
        assertThat(split("set k foo\"bar baz\"")).containsExactly("set", "k", "foobar baz");
    }

    @Test
    void utf8PassesThroughUnchanged() {
        assertThat(split("set clé \"värde ✓\"")).containsExactly("set", "clé", "värde ✓");
    }

    @ParameterizedTest
    @ValueSource(strings = {"set k \"open", "set k 'open", "set k \"ends in backslash\\"})
    void rejectsUnbalancedQuotes(String line) {
        assertThatThrownBy(() -> split(line)).hasMessage("unbalanced quotes");
    }

    @ParameterizedTest
    @ValueSource(strings = {"set \"k\"v", "set 'k'v"})
    void rejectsTextRightAfterAClosingQuote(String line) {
        assertThatThrownBy(() -> split(line)).hasMessage("closing quote must be followed by a space");
    }
}
