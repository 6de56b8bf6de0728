package io.trelliskv.storage;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SlabAllocatorTest {

    @Test
    void sizeClassesAreMultiplesOfEightSpacedByAtMostTheGrowthFactor() {
        assertThat(SlabAllocator.classSize(0)).isEqualTo(SlabAllocator.MIN_CHUNK);
        assertThat(SlabAllocator.classSize(SlabAllocator.classCount() - 1)).isEqualTo(SlabAllocator.MAX_CHUNK);
        for (int c = 1; c < SlabAllocator.classCount(); c++) {
            int previous = SlabAllocator.classSize(c - 1);
            int size = SlabAllocator.classSize(c);
            assertThat(size % 8).isZero();
            assertThat(size).isGreaterThan(previous);
            assertThat(size).as("class %d", c).isLessThanOrEqualTo(Math.max(previous + 8, (int) (previous * 1.125)));
        }
        assertThat(SlabAllocator.classCount()).isLessThan(128);
    }

    @Test
    void aLengthGetsTheSmallestClassThatHoldsIt() {
        for (int length = 0; length <= SlabAllocator.MAX_CHUNK; length += length < 2_000 ? 1 : 97) {
            int c = SlabAllocator.classOf(length);
            assertThat(SlabAllocator.classSize(c)).isGreaterThanOrEqualTo(length);
            if (c > 0) {
                assertThat(SlabAllocator.classSize(c - 1)).isLessThan(length);
            }
            assertThat(SlabAllocator.chunkBytes(length)).isEqualTo(SlabAllocator.classSize(c));
        }
        assertThat(SlabAllocator.classOf(125)).isEqualTo(SlabAllocator.classOf(128));
        assertThat(SlabAllocator.chunkBytes(125)).isEqualTo(128);
        assertThat(SlabAllocator.classOf(SlabAllocator.MAX_CHUNK + 1)).isEqualTo(-1);
        assertThat(SlabAllocator.chunkBytes(SlabAllocator.MAX_CHUNK + 1)).isEqualTo(SlabAllocator.MAX_CHUNK + 1);
        assertThat(SlabAllocator.sameChunk(121, 128)).isTrue();
        assertThat(SlabAllocator.sameChunk(128, 129)).isFalse();
        assertThat(SlabAllocator.sameChunk(SlabAllocator.MAX_CHUNK + 1, SlabAllocator.MAX_CHUNK + 1)).isFalse();
    }

    @Test
    void chunksDoNotOverlapAndHoldWhatIsWritten() {
        for (boolean direct : new boolean[] {false, true}) {
            SlabAllocator a = new SlabAllocator(direct);
            Random random = new Random(11);
            List<long[]> chunks = new ArrayList<>(); // handle, length, seed
            Set<Long> handles = new HashSet<>();
            for (int i = 0; i < 5_000; i++) {
                int length = 1 + random.nextInt(i % 50 == 0 ? 3_000 : 200);
                long h = a.allocate(i % SlabAllocator.ARENAS, length);
                assertThat(h).isNotZero();
                assertThat(h & ~SlabAllocator.HANDLE_MASK).isZero();
                assertThat(SlabAllocator.arenaOf(h)).isEqualTo(i % SlabAllocator.ARENAS);
                assertThat(handles.add(h)).isTrue();
                fill(a, h, length, i);
                chunks.add(new long[] {h, length, i});
            }
            for (long[] c : chunks) {
                check(a, c[0], (int) c[1], (int) c[2]);
            }
            assertThat(a.direct()).isEqualTo(direct);
        }
    }

    @Test
    void freedChunksAreReusedBeforeNewSlabsAreCut() {
        SlabAllocator a = new SlabAllocator(true);
        List<Long> handles = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            handles.add(a.allocate(0, 100));
        }
        long reserved = a.reservedBytes();
        int c = SlabAllocator.classOf(100);
        for (long h : handles) {
            a.free(h);
        }
        assertThat(a.freeChunks(c)).isEqualTo(10_000);
        Set<Long> again = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            again.add(a.allocate(0, 97 + i % 8)); // same class
        }
        assertThat(again).isEqualTo(new HashSet<>(handles));
        assertThat(a.reservedBytes()).as("no new slab").isEqualTo(reserved);
        assertThat(a.freeChunks(c)).isZero();
        assertThat(handles).doesNotContain(a.allocate(0, 100));
    }

    @Test
    void slabsOfAClassGrowByDoublingUpToTheMaximum() {
        SlabAllocator a = new SlabAllocator(false);
        int size = SlabAllocator.chunkBytes(64) > 0 ? (int) SlabAllocator.chunkBytes(64) : 0;
        a.allocate(1, 64);
        assertThat(a.reservedBytes()).isEqualTo(SlabAllocator.MIN_SLAB);
        long total = 0;
        int perSlab;
        long expected = 0;
        for (int slab = 0; slab < 12; slab++) {
            int bytes = (int) Math.min(SlabAllocator.MAX_SLAB, (long) SlabAllocator.MIN_SLAB << slab);
            expected += bytes;
            perSlab = bytes / size;
            total += perSlab;
        }
        for (long i = 1; i < total; i++) {
            a.allocate(1, 64);
        }
        assertThat(a.reservedBytes()).isEqualTo(expected);
        a.allocate(1, 64);
        assertThat(a.reservedBytes()).isEqualTo(expected + SlabAllocator.MAX_SLAB);
    }

    @Test
    void hugeRecordsGetTheirOwnBufferReleasedWhenFreed() {
        SlabAllocator a = new SlabAllocator(true);
        int length = SlabAllocator.MAX_CHUNK + 1;
        long h = a.allocate(2, length);
        assertThat(SlabAllocator.offsetOf(h)).isZero();
        ByteBuffer b = a.buffer(h);
        assertThat(b.capacity()).isEqualTo(length);
        assertThat(a.reservedBytes()).isEqualTo(length);
        b.put(length - 1, (byte) 7);
        a.free(h);
        assertThat(a.reservedBytes()).isZero();
        assertThatThrownBy(() -> a.buffer(h)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> a.free(h)).isInstanceOf(IllegalStateException.class);
        long again = a.allocate(2, 3 * length);
        assertThat(SlabAllocator.slabOf(again)).as("the slab number is reused").isEqualTo(SlabAllocator.slabOf(h));
        assertThat(a.buffer(again).capacity()).isEqualTo(3 * length);
    }

    @Test
    void theSlabTableGrowsAndResetDropsEverything() {
        SlabAllocator a = new SlabAllocator(false);
        List<Long> huge = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            long h = a.allocate(3, SlabAllocator.MAX_CHUNK + 1 + i);
            a.buffer(h).put(0, (byte) i);
            huge.add(h);
        }
        for (int i = 0; i < 100; i++) {
            assertThat(a.buffer(huge.get(i)).get(0)).isEqualTo((byte) i);
        }
        assertThat(a.reservedBytes()).isGreaterThan(100L * SlabAllocator.MAX_CHUNK);
        a.reset();
        assertThat(a.reservedBytes()).isZero();
        assertThatThrownBy(() -> a.buffer(huge.get(0))).isInstanceOf(RuntimeException.class);
    }

    @Test
    void touchReadsALiveChunkAndNothingThroughAHandleThatNamesNoSlab() {
        SlabAllocator a = new SlabAllocator(true);
        long small = a.allocate(1, 100);
        int o = SlabAllocator.offsetOf(small);
        a.buffer(small).put(o, (byte) 5).put(o + 64, (byte) 3);
        assertThat(a.touch(small)).as("the chunk's first byte and the one a cache line further").isEqualTo(8);

        long own = a.allocate(2, SlabAllocator.MAX_CHUNK + 1);
        a.buffer(own).put(0, (byte) 9);
        assertThat(a.touch(own)).isEqualTo(9);
        a.free(own);
        assertThat(a.touch(own)).as("a released own buffer").isZero();

        int slab = SlabAllocator.slabOf(small);
        int capacity = a.buffer(small).capacity();
        assertThat(a.touch(SlabAllocator.handle(1, slab, capacity))).as("past the slab's end").isZero();
        assertThat(a.touch(SlabAllocator.handle(1, slab, capacity - 1))).as("its last byte, no line after it").isZero();
        assertThat(a.touch(SlabAllocator.handle(1, 100_000, 0))).as("a slab number never used").isZero();
        assertThat(a.touch(SlabAllocator.handle(SlabAllocator.ARENAS, slab, 0))).as("no such arena").isZero();

        a.reset();
        assertThat(a.touch(small)).as("after reset").isZero();
    }

    @Test
    void anArenaThatRunsOutOfSlabNumbersFailsWithAnException() {
        SlabAllocator a = new SlabAllocator(false, 4); // slab numbers 1 .. 3
        int huge = SlabAllocator.MAX_CHUNK + 1;
        long first = a.allocate(0, 100); // a slab of the 104-byte class
        long own = a.allocate(0, huge);
        a.allocate(0, 1_000);
        assertThatThrownBy(() -> a.allocate(0, huge)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("full");
        assertThatThrownBy(() -> a.allocate(0, 5_000)).isInstanceOf(IllegalStateException.class);
        assertThat(a.allocate(0, 100)).as("a class with room left still allocates").isNotZero();
        assertThat(a.allocate(1, huge)).as("other arenas are independent").isNotZero();
        a.free(first);
        assertThat(a.allocate(0, 100)).as("and reuses its free chunks").isEqualTo(first);
        a.free(own);
        assertThat(SlabAllocator.slabOf(a.allocate(0, 2 * huge))).as("a released number is reused")
                .isEqualTo(SlabAllocator.slabOf(own));
    }

    @Test
    void aNegativeLengthIsABug() {
        assertThatThrownBy(() -> SlabAllocator.classOf(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    private static void fill(SlabAllocator a, long h, int length, int seed) {
        ByteBuffer b = a.buffer(h);
        int o = SlabAllocator.offsetOf(h);
        for (int i = 0; i < length; i++) {
            b.put(o + i, (byte) (seed * 31 + i));
        }
    }

    private static void check(SlabAllocator a, long h, int length, int seed) {
        ByteBuffer b = a.buffer(h);
        int o = SlabAllocator.offsetOf(h);
        for (int i = 0; i < length; i++) {
            assertThat(b.get(o + i)).isEqualTo((byte) (seed * 31 + i));
        }
    }

    /** Allocates chunks of {@code length} in arena 0 until a slab of {@code MAX_SLAB} bytes is made for them. */
    private static List<Long> untilAFullSizeSlab(SlabAllocator a, int length) {
        List<Long> handles = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            long before = a.reservedBytes();
            handles.add(a.allocate(0, length));
            if (a.reservedBytes() - before == SlabAllocator.MAX_SLAB) {
                return handles;
            }
        }
        throw new AssertionError("no slab of " + SlabAllocator.MAX_SLAB + " bytes after 1,000 chunks");
    }

    @Test
    void fullSizeSlabsAreMadeAheadOnTheMakersThreadOnceOneIsNeeded() {
        List<Runnable> maker = new ArrayList<>();
        SlabAllocator a = new SlabAllocator(false, 1 << 10, maker::add);
        int length = 200_000; // five chunks to a full-size slab; the first slabs of the class are smaller
        List<Long> handles = new ArrayList<>(untilAFullSizeSlab(a, length));
        assertThat(a.sparesTaken()).isZero(); // the first one is made where it is needed...
        assertThat(maker).hasSize(1); // ...and asks for spares

        maker.remove(0).run(); // makes SlabAllocator.SPARES of them
        handles.addAll(untilAFullSizeSlab(a, length));
        assertThat(a.sparesTaken()).isEqualTo(1);
        assertThat(maker).hasSize(1); // the take asked for one more
        handles.addAll(untilAFullSizeSlab(a, length));
        assertThat(a.sparesTaken()).isEqualTo(2);
        assertThat(maker).hasSize(1); // already asked: not twice
        handles.addAll(untilAFullSizeSlab(a, length));
        assertThat(a.sparesTaken()).isEqualTo(2); // none ready: made where needed, as before

        maker.remove(0).run();
        handles.addAll(untilAFullSizeSlab(a, length));
        assertThat(a.sparesTaken()).isEqualTo(3);

        for (int i = 0; i < handles.size(); i++) { // every chunk is its own, spare slabs' too
            long h = handles.get(i);
            a.buffer(h).putInt(SlabAllocator.offsetOf(h), i);
            a.buffer(h).putInt(SlabAllocator.offsetOf(h) + length - 4, -i);
        }
        for (int i = 0; i < handles.size(); i++) {
            long h = handles.get(i);
            assertThat(a.buffer(h).getInt(SlabAllocator.offsetOf(h))).isEqualTo(i);
            assertThat(a.buffer(h).getInt(SlabAllocator.offsetOf(h) + length - 4)).isEqualTo(-i);
        }
        assertThat(new HashSet<>(handles)).hasSize(handles.size());
    }

    @Test
    void aClosedAllocatorMakesNoSparesAndStillAllocates() {
        List<Runnable> maker = new ArrayList<>();
        SlabAllocator a = new SlabAllocator(true, 1 << 10, maker::add);
        untilAFullSizeSlab(a, 200_000);
        a.close();
        maker.forEach(Runnable::run); // a make that was asked for before the close makes nothing to take

        untilAFullSizeSlab(a, 200_000);
        untilAFullSizeSlab(a, 200_000);
        assertThat(a.sparesTaken()).isZero();
        assertThat(maker).hasSize(1); // and nothing more was asked for
    }
}
