package io.trelliskv.common;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The token function: a pinned value (changing it would move every key on the ring), and the
 * {@link ByteBuffer} overload, which hashes a key in place in a peer's frame, equal to the array one for
 * every length around the 16-byte blocks and tails, at any offset, in heap and direct buffers of either
 * byte order.
 */
class Murmur3Test {

    @Test
    void tokenOfAKeyIsPinned() {
        byte[] key = "key:1".getBytes(StandardCharsets.UTF_8);
        long token = -2787756256321414788L;
        assertThat(Murmur3.hash64(key, 0, key.length)).isEqualTo(token);
        assertThat(Key.of("key:1").token()).isEqualTo(token);
        assertThat(Murmur3.hash64(ByteBuffer.wrap(key), 0, key.length)).isEqualTo(token);
        assertThat(Murmur3.hash64(new byte[0], 0, 0)).isZero();
    }

    @Test
    void bufferHashEqualsArrayHashForEveryLengthOffsetAndBuffer() {
        Random rnd = new Random(42);
        for (int length = 0; length <= 70; length++) {
            for (int trial = 0; trial < 4; trial++) {
                int offset = rnd.nextInt(11);
                byte[] data = new byte[offset + length + rnd.nextInt(11)];
                rnd.nextBytes(data);
                long expected = Murmur3.hash64(data, offset, length);

                ByteBuffer heap = ByteBuffer.wrap(data);
                ByteBuffer heapSlice = ByteBuffer.allocate(data.length + 3).position(3).slice().put(0, data);
                ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(0, data);
                ByteBuffer directLittle = ByteBuffer.allocateDirect(data.length).order(ByteOrder.LITTLE_ENDIAN)
                        .put(0, data);
                for (ByteBuffer b : new ByteBuffer[] {heap, heapSlice, direct, directLittle}) {
                    b.position(b.limit());
                    assertThat(Murmur3.hash64(b, offset, length)).as("length %d offset %d %s", length, offset, b)
                            .isEqualTo(expected);
                    assertThat(b.position()).isEqualTo(b.limit());
                }
            }
        }
    }
}
