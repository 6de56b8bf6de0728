package io.trelliskv.resp;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RawReplyTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void integers() {
        assertThat(RawReply.integer(b(":0\r\n"))).isZero();
        assertThat(RawReply.integer(b(":-12\r\n"))).isEqualTo(-12);
        assertThatThrownBy(() -> RawReply.integer(b("+OK\r\n"))).hasMessage("reply type '+' (expected: ':')");
        assertThatThrownBy(() -> RawReply.integer(b(":12"))).hasMessage("line without CRLF");
    }

    @Test
    void arrayElementsKeepTheirBytes() {
        byte[][] e = RawReply.arrayElements(b("*4\r\n$3\r\na\r\n\r\n$-1\r\n_\r\n$0\r\n\r\n"));
        assertThat(java.util.Arrays.stream(e).map(x -> new String(x, StandardCharsets.UTF_8)))
                .containsExactly("$3\r\na\r\n\r\n", "$-1\r\n", "_\r\n", "$0\r\n\r\n");
        assertThat(RawReply.arrayElements(b("*0\r\n"))).isEmpty();
    }

    @Test
    void malformedArraysAreRefused() {
        assertThatThrownBy(() -> RawReply.arrayElements(b("*2\r\n$1\r\na\r\n")))
                .hasMessage("reply ends before its array does");
        assertThatThrownBy(() -> RawReply.arrayElements(b("*1\r\n$5\r\na\r\n"))).hasMessage("bulk string of 5 bytes cut short");
        assertThatThrownBy(() -> RawReply.arrayElements(b("*1\r\n*0\r\n")))
                .hasMessageStartingWith("element type '*'");
        assertThatThrownBy(() -> RawReply.arrayElements(b("*1\r\n_\r\n:1\r\n"))).hasMessage("4 bytes after the array (expected: none)");
        assertThatThrownBy(() -> RawReply.arrayElements(b("*x\r\n"))).hasMessageStartingWith("not a number");
    }
}
