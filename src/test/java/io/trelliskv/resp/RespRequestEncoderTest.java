package io.trelliskv.resp;

import org.junit.jupiter.api.Test;

import java.util.List;

import static io.trelliskv.resp.DecoderRun.bytes;
import static org.assertj.core.api.Assertions.assertThat;

class RespRequestEncoderTest {

    @Test
    void encodesAMultibulk() {
        assertThat(RespRequestEncoder.encode(List.of(bytes("SET"), bytes("key"), bytes(""))))
                .isEqualTo(bytes("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n"));
    }

    @Test
    void whatItEncodesTheDecoderReadsBack() {
        List<byte[]> command = List.of(bytes("SET"), bytes("k\r\n*1"), bytes("\0\u00ff".repeat(600)));
        assertThat(DecoderRun.whole(RespRequestEncoder.encode(command)))
                .isEqualTo(new DecoderRun(List.of(List.of("SET", "k\r\n*1", "\0\u00ff".repeat(600))), null));
    }
}
