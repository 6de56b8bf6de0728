package io.trelliskv.storage;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where {@link MemoryEngine} keeps its records: a memcached-style slab allocator over
 * {@link ByteBuffer}s, on the Java heap ({@link ByteBuffer#allocate}) or off it
 * ({@link ByteBuffer#allocateDirect}); the same code serves both.
 *
 * <h2>Size classes and slabs</h2>
 * A record is stored in a chunk of the smallest size class that holds it. Classes start at
 * {@link #MIN_CHUNK} bytes, are multiples of 8 and grow by 8 bytes or by {@link #GROWTH} (whichever
 * is more) up to {@link #MAX_CHUNK}, so a record wastes at most about 8% of its chunk (8 bytes below 100
 * bytes). A slab is one buffer carved into chunks of one class; a class's first slab in an arena is
 * {@link #MIN_SLAB} bytes (or one chunk) and each further one twice the previous, up to {@link #MAX_SLAB},
 * so a small engine does not hold a megabyte per class. Freed chunks go on their class's free list, linked
 * through the chunks themselves (the first 8 bytes of a free chunk hold the next free handle): no Java
 * object per chunk. Slabs are never returned, except all at once by {@link #reset()}, as in memcached. A
 * record longer than {@link #MAX_CHUNK} gets a buffer of its own, released when the record is freed.
 *
 * <h2>Slabs made ahead</h2>
 * Making a slab zeroes it, and in a process that has not used the memory before each of its pages is a
 * page fault: about 3 ms for a {@link #MAX_SLAB} slab here, under a segment lock on the event loop that
 * inserts the key, while that loop's other clients wait (docs/BENCHMARKS.md, "Slabs made ahead"). So
 * once an engine has needed a slab of {@link #MAX_SLAB} bytes, the next {@link #SPARES} are made ahead on
 * another thread ({@link Spares}), and an arena that needs one takes a ready one. When none is ready
 * (an insert rate faster than the maker) the slab is made where it is needed, as before. Spares are not
 * part of {@link #reservedBytes()} until taken; they add at most {@code SPARES} MiB to the process.
 *
 * <h2>Arenas and handles</h2>
 * There are {@link #ARENAS} independent arenas, each guarded by its own monitor; the engine maps each
 * of its segments to one arena, so event loops writing to different segments seldom contend. The
 * engine only allocates and frees under a segment lock, and an arena lock is a leaf (nothing else is
 * taken under it), so there is no lock-order cycle. A chunk is named by a 40-bit handle:
 * <pre>
 *   bits 37..39  arena (3 bits)
 *   bits 20..36  slab number within the arena (17 bits, 1 .. 131071; 0 is never used, so no handle is 0)
 *   bits  0..19  byte offset within the slab (slabs are at most 1 MiB)
 * </pre>
 * Reading or writing a chunk needs no arena lock: a chunk belongs to whoever allocated it until freed,
 * the slab table is published through a volatile field after its element is set, and absolute
 * {@code ByteBuffer} accesses do not touch the buffer's position, so they are safe from any thread.
 */
final class SlabAllocator {

    /** Smallest chunk: room for the free-list link and a minimal record. */
    static final int MIN_CHUNK = 16;
    /** Spacing of size classes above ~100 bytes (below, classes are 8 bytes apart). */
    static final double GROWTH = 1.08;
    /** Largest slab, bytes: offsets must fit in {@link #OFFSET_BITS}. */
    static final int MAX_SLAB = 1 << 20;
    /** A class's first slab in an arena, bytes; later ones double up to {@link #MAX_SLAB}. */
    static final int MIN_SLAB = 16 << 10;
    /** Largest chunk; longer records get a buffer of their own. */
    static final int MAX_CHUNK = MAX_SLAB / 4;

    static final int ARENAS = 4;
    /** Slabs of {@link #MAX_SLAB} bytes kept made ahead, once one has been needed. */
    static final int SPARES = 2;
    static final int OFFSET_BITS = 20;
    static final int SLAB_BITS = 17;
    static final int ARENA_BITS = 3;
    /** Bits of a handle; the engine keeps a hash tag in the 24 bits above them. */
    static final int HANDLE_BITS = OFFSET_BITS + SLAB_BITS + ARENA_BITS;
    static final long HANDLE_MASK = (1L << HANDLE_BITS) - 1;
    private static final int MAX_SLABS = 1 << SLAB_BITS;

    /** Chunk size of each class, ascending, all multiples of 8. */
    private static final int[] CLASS_SIZES;
    /** Class of a length, indexed by {@code (length + 7) / 8}, up to {@link #MAX_CHUNK}. */
    private static final byte[] CLASS_BY_UNITS;

    static {
        int[] sizes = new int[256];
        int n = 0;
        int size = MIN_CHUNK;
        while (size < MAX_CHUNK) {
            sizes[n++] = size;
            size = Math.max(size + 8, (int) (size * GROWTH) & ~7);
        }
        sizes[n++] = MAX_CHUNK;
        CLASS_SIZES = Arrays.copyOf(sizes, n);
        if (n > Byte.MAX_VALUE) {
            throw new AssertionError("too many size classes: " + n);
        }
        CLASS_BY_UNITS = new byte[MAX_CHUNK / 8 + 1];
        int c = 0;
        for (int units = 0; units < CLASS_BY_UNITS.length; units++) {
            while (CLASS_SIZES[c] < units * 8) {
                c++;
            }
            CLASS_BY_UNITS[units] = (byte) c;
        }
    }

    private final boolean direct;
    /** Slab numbers per arena: {@code 2^SLAB_BITS}, less in tests. */
    private final int maxSlabs;
    private final Arena[] arenas = new Arena[ARENAS];
    private final Spares spares;

    SlabAllocator(boolean direct) {
        this(direct, MAX_SLABS, ForkJoinPool.commonPool());
    }

    SlabAllocator(boolean direct, int maxSlabs) {
        this(direct, maxSlabs, ForkJoinPool.commonPool());
    }

    /** @param maker where spare slabs are made ({@link Spares}) */
    SlabAllocator(boolean direct, int maxSlabs, Executor maker) {
        if (maxSlabs < 2 || maxSlabs > MAX_SLABS) {
            throw new IllegalArgumentException("maxSlabs: " + maxSlabs + " (expected: 2 .. " + MAX_SLABS + ")");
        }
        this.direct = direct;
        this.maxSlabs = maxSlabs;
        this.spares = new Spares(maker);
        for (int i = 0; i < ARENAS; i++) {
            arenas[i] = new Arena(i);
        }
    }

    boolean direct() {
        return direct;
    }

    static int classCount() {
        return CLASS_SIZES.length;
    }

    static int classSize(int sizeClass) {
        return CLASS_SIZES[sizeClass];
    }

    /** Size class of a record of {@code length} bytes, or -1 if it gets a buffer of its own. */
    static int classOf(int length) {
        if (length < 0) {
            throw new IllegalArgumentException("negative length: " + length);
        }
        return length > MAX_CHUNK ? -1 : CLASS_BY_UNITS[(length + 7) >>> 3];
    }

    /** Bytes a record of {@code length} occupies: its chunk, or its own buffer. */
    static long chunkBytes(int length) {
        int c = classOf(length);
        return c < 0 ? length : CLASS_SIZES[c];
    }

    /** True if records of these two lengths fit the same chunk, so one may overwrite the other in place. */
    static boolean sameChunk(int a, int b) {
        int c = classOf(a);
        return c >= 0 && c == classOf(b);
    }

    static int arenaOf(long handle) {
        return (int) (handle >>> (OFFSET_BITS + SLAB_BITS));
    }

    static int slabOf(long handle) {
        return (int) (handle >>> OFFSET_BITS) & (MAX_SLABS - 1);
    }

    static int offsetOf(long handle) {
        return (int) handle & ((1 << OFFSET_BITS) - 1);
    }

    static long handle(int arena, int slab, int offset) {
        return (long) arena << (OFFSET_BITS + SLAB_BITS) | (long) slab << OFFSET_BITS | offset;
    }

    /** The buffer holding {@code handle}'s chunk; the chunk starts at {@link #offsetOf}. */
    ByteBuffer buffer(long handle) {
        ByteBuffer b = arenas[arenaOf(handle)].slabs[slabOf(handle)];
        if (b == null) {
            throw new IllegalStateException("handle " + Long.toHexString(handle) + " names no slab");
        }
        return b;
    }

    /**
     * Reads the first byte of the chunk {@code handle} names and the byte {@code 64} further (the next cache
     * line, where a record's value goes on), holding nothing, and returns their sum: 0 if the handle names no
     * slab now (released since, or never) or lies past its end. For {@link MemoryEngine#prefetch}, which reads
     * handles outside the segment locks, so a handle can be stale; what this reads is only brought into the
     * cache, never used.
     */
    int touch(long handle) {
        int arena = arenaOf(handle);
        if (arena >= ARENAS) {
            return 0;
        }
        ByteBuffer[] slabs = arenas[arena].slabs;
        int slab = slabOf(handle);
        ByteBuffer b = slab < slabs.length ? slabs[slab] : null;
        int offset = offsetOf(handle);
        if (b == null || offset >= b.limit()) {
            return 0;
        }
        return b.get(offset) + (offset + 64 < b.limit() ? b.get(offset + 64) : 0);
    }

    /** A chunk for a record of {@code length} bytes in {@code arena} (0 .. {@link #ARENAS} - 1). */
    long allocate(int arena, int length) {
        return arenas[arena].allocate(length);
    }

    /** Returns a chunk; it must not be used afterwards. */
    void free(long handle) {
        arenas[arenaOf(handle)].free(handle);
    }

    /** Drops every slab: all handles become invalid. */
    void reset() {
        for (int i = 0; i < ARENAS; i++) {
            synchronized (arenas[i]) {
                arenas[i] = new Arena(i);
            }
        }
    }

    /** Bytes of all slabs and own buffers, free chunks and uncarved tails included. */
    long reservedBytes() {
        long n = 0;
        for (Arena a : arenas) {
            synchronized (a) {
                n += a.reserved;
            }
        }
        return n;
    }

    /** Chunks on class {@code sizeClass}'s free lists, all arenas (for tests). */
    int freeChunks(int sizeClass) {
        int n = 0;
        for (Arena a : arenas) {
            synchronized (a) {
                for (long h = a.freeHead[sizeClass]; h != 0; h = buffer(h).getLong(offsetOf(h))) {
                    n++;
                }
            }
        }
        return n;
    }

    /** Slabs of {@link #MAX_SLAB} bytes taken ready-made so far (for tests). */
    long sparesTaken() {
        return spares.taken.get();
    }

    /** Drops the spare slabs, and makes no more. */
    void close() {
        spares.close();
    }

    private ByteBuffer newBuffer(int bytes) {
        return direct ? ByteBuffer.allocateDirect(bytes) : ByteBuffer.allocate(bytes);
    }

    /**
     * Up to {@link #SPARES} slabs of {@link #MAX_SLAB} bytes, made on the maker's thread (by default the
     * common fork-join pool) and handed to arenas that need one. Making starts when a slab of that size is
     * first taken, and each take asks for one more, so an engine that never grows that far makes none.
     * Best effort: a take that finds none made returns null, and a maker that cannot get the memory stops
     * until the next take (the arena then makes the slab itself, and meets the same shortage there).
     */
    private final class Spares {
        private final Executor maker;
        private final ArrayBlockingQueue<ByteBuffer> ready = new ArrayBlockingQueue<>(SPARES);
        /** A make task is queued or running. */
        private final AtomicBoolean making = new AtomicBoolean();
        private final AtomicLong taken = new AtomicLong();
        private volatile boolean closed;

        Spares(Executor maker) {
            this.maker = maker;
        }

        /** A ready slab of {@link #MAX_SLAB} bytes, or null; asks for the next one either way. */
        ByteBuffer take() {
            ByteBuffer b = ready.poll();
            if (b != null) {
                taken.incrementAndGet();
            }
            if (!closed && ready.remainingCapacity() > 0 && making.compareAndSet(false, true)) {
                try {
                    maker.execute(this::make);
                } catch (RejectedExecutionException e) { // the pool is shutting down: make them where needed
                    making.set(false);
                }
            }
            return b;
        }

        private void make() {
            try {
                while (!closed && ready.remainingCapacity() > 0) {
                    ready.offer(newBuffer(MAX_SLAB));
                }
            } catch (OutOfMemoryError e) {
                // No memory for a spare (heap, or -XX:MaxDirectMemorySize): the arena that needs the slab
                // will ask for it itself and report the shortage.
            } finally {
                making.set(false);
            }
            if (closed) {
                ready.clear();
            }
        }

        void close() {
            closed = true;
            ready.clear();
        }
    }

    /** One arena: its slabs and per-class free lists and carving positions, guarded by its monitor. */
    private final class Arena {
        final int index;
        /** Slab (or own buffer) by number; 0 and released numbers are null. Replaced, never shrunk. */
        volatile ByteBuffer[] slabs = new ByteBuffer[8];
        /** Size class of each slab; -1 for a record's own buffer. */
        int[] slabClass = new int[8];
        /** Next never-used slab number. */
        int nextSlab = 1;
        /** Numbers of released own buffers, for reuse; {@code [0, freeSlabCount)}. */
        int[] freeSlabs = new int[0];
        int freeSlabCount;
        /** Per class: first free chunk's handle, 0 if none. */
        final long[] freeHead = new long[CLASS_SIZES.length];
        /** Per class: the slab being carved (0 if none), next offset and end of its last whole chunk. */
        final int[] carveSlab = new int[CLASS_SIZES.length];
        final int[] carveOffset = new int[CLASS_SIZES.length];
        final int[] carveEnd = new int[CLASS_SIZES.length];
        /** Per class: slabs allocated so far, for the doubling of slab sizes. */
        final int[] slabsOfClass = new int[CLASS_SIZES.length];
        /** Bytes of all buffers. */
        long reserved;

        Arena(int index) {
            this.index = index;
        }

        synchronized long allocate(int length) {
            int c = classOf(length);
            if (c < 0) {
                int slab = newSlab(newBuffer(length), -1);
                reserved += length;
                return handle(index, slab, 0);
            }
            long h = freeHead[c];
            if (h != 0) {
                freeHead[c] = slabs[slabOf(h)].getLong(offsetOf(h));
                return h;
            }
            int size = CLASS_SIZES[c];
            if (carveSlab[c] == 0 || carveOffset[c] + size > carveEnd[c]) {
                int bytes = (int) Math.min(MAX_SLAB, Math.max(size, (long) MIN_SLAB << Math.min(slabsOfClass[c], 16)));
                ByteBuffer made = bytes == MAX_SLAB ? spares.take() : null;
                carveSlab[c] = newSlab(made != null ? made : newBuffer(bytes), c);
                carveOffset[c] = 0;
                carveEnd[c] = bytes / size * size;
                slabsOfClass[c]++;
                reserved += bytes;
            }
            h = handle(index, carveSlab[c], carveOffset[c]);
            carveOffset[c] += size;
            return h;
        }

        synchronized void free(long h) {
            int slab = slabOf(h);
            ByteBuffer[] table = slabs;
            if (slab == 0 || slab >= nextSlab || table[slab] == null) {
                throw new IllegalStateException("free of a handle that names no slab: " + Long.toHexString(h));
            }
            int c = slabClass[slab];
            if (c < 0) {
                reserved -= table[slab].capacity();
                table[slab] = null;
                slabs = table; // publish
                if (freeSlabCount == freeSlabs.length) {
                    freeSlabs = Arrays.copyOf(freeSlabs, Math.max(8, freeSlabCount * 2));
                }
                freeSlabs[freeSlabCount++] = slab;
            } else {
                table[slab].putLong(offsetOf(h), freeHead[c]);
                freeHead[c] = h;
            }
        }

        private int newSlab(ByteBuffer buffer, int sizeClass) {
            int slab;
            if (freeSlabCount > 0) {
                slab = freeSlabs[--freeSlabCount];
            } else {
                if (nextSlab == maxSlabs) {
                    throw new IllegalStateException("slab arena " + index + " is full (" + maxSlabs + " slabs)");
                }
                slab = nextSlab++;
            }
            ByteBuffer[] table = slabs;
            if (slab >= table.length) {
                table = Arrays.copyOf(table, Math.min(MAX_SLABS, table.length * 2));
                slabClass = Arrays.copyOf(slabClass, table.length);
            }
            table[slab] = buffer;
            slabClass[slab] = sizeClass;
            slabs = table; // volatile write after the element: readers of the new array see it
            return slab;
        }
    }
}
