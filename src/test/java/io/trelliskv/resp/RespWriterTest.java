package io.trelliskv.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

class RespWriterTest {

    private static String written(Consumer<RespWriter> reply) {
        ByteBuf buf = Unpooled.buffer(4); // small: the writer must make room
        try {
            RespWriter writer = new RespWriter();
            writer.target(buf);
            reply.accept(writer);
            return buf.toString(StandardCharsets.US_ASCII);
        } finally {
            buf.release();
        }
    }

    @Test
    void integersAreWrittenAsLongToStringWritesThem() {
        long[] edges = {0, 1, 9, 10, 11, 99, 100, 1024, 1025, 999_999, 1_000_000, -1, -9, -10, -11, -1025,
                Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE, Long.MAX_VALUE - 1, Long.MIN_VALUE,
                Long.MIN_VALUE + 1, 1_000_000_000_000_000_000L, -1_000_000_000_000_000_000L};
        for (long n : edges) {
            assertThat(written(w -> w.integer(n))).isEqualTo(":" + n + "\r\n");
        }
        Random random = new Random(42);
        for (int i = 0; i < 10_000; i++) {
            long n = random.nextLong() >> random.nextInt(64); // every magnitude, both signs
            assertThat(written(w -> w.integer(n))).isEqualTo(":" + n + "\r\n");
        }
    }

    @Test
    void aBulkReplyCarriesItsLengthInDecimal() {
        for (int length : new int[] {0, 1, 9, 10, 99, 100, 12_345}) {
            byte[] value = "v".repeat(length).getBytes(StandardCharsets.US_ASCII);
            assertThat(written(w -> w.bulk(value))).isEqualTo("$" + length + "\r\n" + "v".repeat(length) + "\r\n");
        }
    }
}
