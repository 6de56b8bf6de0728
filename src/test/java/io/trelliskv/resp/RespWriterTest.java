package io.trelliskv.resp;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
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

    /** The allocator a node's connections use by default (Netty 4.2's), whose buffers are views of larger ones. */
    private static final AdaptiveByteBufAllocator ADAPTIVE = new AdaptiveByteBufAllocator();

    @Test
    void aBulkReplyFromABufferCopiesItsRegionIntoAnyOutputAndLeavesTheSourceAlone() {
        Random random = new Random(7);
        for (int length : new int[] {0, 1, 100, 5_000}) {
            byte[] bytes = new byte[length + 20];
            random.nextBytes(bytes);
            for (ByteBuffer source : List.of(ByteBuffer.wrap(bytes.clone()),
                    ByteBuffer.allocateDirect(bytes.length).put(0, bytes))) {
                source.position(3).limit(bytes.length - 1); // the region lies before the limit, past the position
                CompositeByteBuf composite = Unpooled.compositeBuffer();
                composite.addComponent(true, Unpooled.buffer(2).writeByte('<'));
                composite.addComponent(true, Unpooled.buffer(3)); // the reply goes across two components
                for (ByteBuf out : List.of(Unpooled.buffer(4), Unpooled.directBuffer(4),
                        PooledByteBufAllocator.DEFAULT.directBuffer(4), ADAPTIVE.directBuffer(4), composite)) {
                    try {
                        int start = out.writerIndex();
                        RespWriter writer = new RespWriter();
                        writer.target(out);
                        writer.bulk(source, 10, length).ok();
                        byte[] expected = new byte[length];
                        System.arraycopy(bytes, 10, expected, 0, length);
                        ByteBuf reply = out.slice(start, out.writerIndex() - start);
                        String header = "$" + length + "\r\n";
                        assertThat(reply.toString(0, header.length(), StandardCharsets.US_ASCII)).isEqualTo(header);
                        byte[] value = new byte[length];
                        reply.getBytes(header.length(), value);
                        assertThat(value).as("%d bytes into %s", length, out).isEqualTo(expected);
                        assertThat(reply.toString(header.length() + length, 7, StandardCharsets.US_ASCII))
                                .isEqualTo("\r\n+OK\r\n");
                        assertThat(source.position()).isEqualTo(3);
                        assertThat(source.limit()).isEqualTo(bytes.length - 1);
                    } finally {
                        out.release();
                    }
                }
            }
        }
    }
}
