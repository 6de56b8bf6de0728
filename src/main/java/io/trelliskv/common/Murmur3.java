package io.trelliskv.common;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * MurmurHash3 x64 128-bit (Austin Appleby's public-domain algorithm), returning the first 64 bits of
 * the 128-bit result. This is the token function of the ring, so its output is part of the on-wire and
 * on-disk contract: changing it moves every key.
 */
public final class Murmur3 {

    private static final long C1 = 0x87c37b91114253d5L;
    private static final long C2 = 0x4cf5ad432745937fL;

    private Murmur3() {
    }

    public static long hash64(byte[] data, int offset, int length) {
        return hash64(data, offset, length, 0);
    }

    public static long hash64(byte[] data, int offset, int length, long seed) {
        long h1 = seed;
        long h2 = seed;
        int blocks = length >>> 4;
        for (int i = 0; i < blocks; i++) {
            int p = offset + (i << 4);
            h1 = mixH1(h1, h2, getLong(data, p));
            h2 = mixH2(h2, h1, getLong(data, p + 8));
        }
        long k1 = 0;
        long k2 = 0;
        int tail = offset + (blocks << 4);
        switch (length & 15) {
            case 15: k2 ^= (long) (data[tail + 14] & 0xff) << 48; // fall through
            case 14: k2 ^= (long) (data[tail + 13] & 0xff) << 40; // fall through
            case 13: k2 ^= (long) (data[tail + 12] & 0xff) << 32; // fall through
            case 12: k2 ^= (long) (data[tail + 11] & 0xff) << 24; // fall through
            case 11: k2 ^= (long) (data[tail + 10] & 0xff) << 16; // fall through
            case 10: k2 ^= (long) (data[tail + 9] & 0xff) << 8; // fall through
            case 9:
                k2 ^= data[tail + 8] & 0xff;
                h2 ^= mixK2(k2);
                // fall through
            case 8: k1 ^= (long) (data[tail + 7] & 0xff) << 56; // fall through
            case 7: k1 ^= (long) (data[tail + 6] & 0xff) << 48; // fall through
            case 6: k1 ^= (long) (data[tail + 5] & 0xff) << 40; // fall through
            case 5: k1 ^= (long) (data[tail + 4] & 0xff) << 32; // fall through
            case 4: k1 ^= (long) (data[tail + 3] & 0xff) << 24; // fall through
            case 3: k1 ^= (long) (data[tail + 2] & 0xff) << 16; // fall through
            case 2: k1 ^= (long) (data[tail + 1] & 0xff) << 8; // fall through
            case 1:
                k1 ^= data[tail] & 0xff;
                h1 ^= mixK1(k1);
                break;
            default:
                break;
        }
        return finish(h1, h2, length);
    }

    /**
     * The hash of {@code length} bytes of {@code data} from its absolute index {@code offset}, equal to
     * {@link #hash64(byte[], int, int)} over the same bytes: for a key read in place from a buffer (a peer's
     * frame), without copying it out. Neither the buffer's position nor its limit is used or changed.
     */
    public static long hash64(ByteBuffer data, int offset, int length) {
        if (data.hasArray()) {
            return hash64(data.array(), data.arrayOffset() + offset, length, 0);
        }
        boolean swap = data.order() == ByteOrder.BIG_ENDIAN; // the algorithm reads little-endian blocks
        long h1 = 0;
        long h2 = 0;
        int blocks = length >>> 4;
        for (int i = 0; i < blocks; i++) {
            int p = offset + (i << 4);
            long k1 = data.getLong(p);
            long k2 = data.getLong(p + 8);
            if (swap) {
                k1 = Long.reverseBytes(k1);
                k2 = Long.reverseBytes(k2);
            }
            h1 = mixH1(h1, h2, k1);
            h2 = mixH2(h2, h1, k2);
        }
        // The tail (under 16 bytes), read bytewise in the order of the array version's switch.
        long k1 = 0;
        long k2 = 0;
        int tail = offset + (blocks << 4);
        int rest = length & 15;
        for (int j = rest - 1; j >= 8; j--) {
            k2 ^= (long) (data.get(tail + j) & 0xff) << ((j - 8) << 3);
        }
        if (rest > 8) {
            h2 ^= mixK2(k2);
        }
        for (int j = Math.min(rest, 8) - 1; j >= 0; j--) {
            k1 ^= (long) (data.get(tail + j) & 0xff) << (j << 3);
        }
        if (rest > 0) {
            h1 ^= mixK1(k1);
        }
        return finish(h1, h2, length);
    }

    /** One 16-byte block's step for the first half of the state, with the block's first 8 bytes (little-endian). */
    private static long mixH1(long h1, long h2, long k1) {
        h1 ^= mixK1(k1);
        h1 = Long.rotateLeft(h1, 27) + h2;
        return h1 * 5 + 0x52dce729;
    }

    /** The step for the second half, with the block's last 8 bytes and the first half already stepped. */
    private static long mixH2(long h2, long h1, long k2) {
        h2 ^= mixK2(k2);
        h2 = Long.rotateLeft(h2, 31) + h1;
        return h2 * 5 + 0x38495ab5;
    }

    private static long mixK1(long k1) {
        return Long.rotateLeft(k1 * C1, 31) * C2;
    }

    private static long mixK2(long k2) {
        return Long.rotateLeft(k2 * C2, 33) * C1;
    }

    private static long finish(long h1, long h2, int length) {
        h1 ^= length;
        h2 ^= length;
        h1 += h2;
        h2 += h1;
        h1 = fmix(h1);
        h2 = fmix(h2);
        h1 += h2;
        return h1;
    }

    private static long getLong(byte[] b, int p) {
        return (b[p] & 0xffL)
                | (b[p + 1] & 0xffL) << 8
                | (b[p + 2] & 0xffL) << 16
                | (b[p + 3] & 0xffL) << 24
                | (b[p + 4] & 0xffL) << 32
                | (b[p + 5] & 0xffL) << 40
                | (b[p + 6] & 0xffL) << 48
                | (b[p + 7] & 0xffL) << 56;
    }

    private static long fmix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }
}
