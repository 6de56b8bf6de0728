package io.trelliskv.persist;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A disk that fails on command, below the log: writes that fail, a disk that fills up (a write past the
 * space left writes what fits, then fails with ENOSPC's text), forces that fail, a crash in the middle of a
 * write (what was written stays, and the channel fails every call after it), and forces that wait at a
 * gate. Everything else goes to the real files, preallocation included.
 */
final class FaultyDisk implements LogChannel.Factory {

    /** Bytes writes may still add; a truncation gives space back. */
    final AtomicLong spaceLeft = new AtomicLong(Long.MAX_VALUE / 2);
    volatile boolean failWrites;
    volatile boolean failForces;
    /** Bytes the next write keeps before the process "crashes"; -1 for none. */
    volatile int crashAfter = -1;
    final AtomicInteger forces = new AtomicInteger();
    final AtomicInteger preallocations = new AtomicInteger();
    private volatile CountDownLatch forceEntered;
    private volatile CountDownLatch forceRelease;
    private volatile CountDownLatch writeEntered;
    private volatile CountDownLatch writeRelease;

    void fill() {
        spaceLeft.set(0);
    }

    void free() {
        spaceLeft.set(Long.MAX_VALUE / 2);
    }

    /** Makes the next force wait, until {@link #releaseForces()}; returns a latch the force counts down on entering. */
    CountDownLatch holdNextForce() {
        forceEntered = new CountDownLatch(1);
        forceRelease = new CountDownLatch(1);
        return forceEntered;
    }

    void releaseForces() {
        forceRelease.countDown();
    }

    /**
     * Makes the next write wait, until {@link #releaseWrites()}, before it does anything (so a test can
     * set {@link #failWrites} meanwhile); returns a latch the write counts down on entering.
     */
    CountDownLatch holdNextWrite() {
        writeEntered = new CountDownLatch(1);
        writeRelease = new CountDownLatch(1);
        return writeEntered;
    }

    void releaseWrites() {
        writeRelease.countDown();
    }

    /** Releases a held force, if a test holding one ended early. */
    void releaseForcesIfHeld() {
        CountDownLatch release = forceRelease;
        if (release != null) {
            release.countDown();
        }
    }

    @Override
    public LogChannel open(Path path) throws IOException {
        LogChannel real = LogChannel.open(path);
        return new LogChannel() {
            private boolean crashed;

            private void alive() throws IOException {
                if (crashed) {
                    throw new IOException("the process crashed");
                }
            }

            @Override
            public int write(ByteBuffer src) throws IOException {
                alive();
                CountDownLatch entered = writeEntered;
                if (entered != null) {
                    writeEntered = null;
                    entered.countDown();
                    try {
                        if (!writeRelease.await(10, TimeUnit.SECONDS)) {
                            throw new IOException("test gate never released");
                        }
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                }
                if (failWrites) {
                    throw new IOException("Input/output error");
                }
                int keep = crashAfter;
                if (keep >= 0) {
                    crashAfter = -1;
                    crashed = true;
                    src.limit(Math.min(src.limit(), src.position() + keep));
                    while (src.hasRemaining()) {
                        real.write(src);
                    }
                    throw new IOException("the process crashed");
                }
                long left = spaceLeft.get();
                if (src.remaining() > left) {
                    int fits = (int) Math.max(0, left);
                    ByteBuffer part = src.duplicate();
                    part.limit(part.position() + fits);
                    while (part.hasRemaining()) {
                        real.write(part);
                    }
                    spaceLeft.addAndGet(-fits);
                    throw new IOException("No space left on device");
                }
                int n = real.write(src);
                spaceLeft.addAndGet(-n);
                return n;
            }

            @Override
            public void force() throws IOException {
                alive();
                CountDownLatch entered = forceEntered;
                if (entered != null) {
                    forceEntered = null;
                    entered.countDown();
                    try {
                        if (!forceRelease.await(10, TimeUnit.SECONDS)) {
                            throw new IOException("test gate never released");
                        }
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                }
                if (failForces) {
                    throw new IOException("Input/output error");
                }
                forces.incrementAndGet();
                real.force();
            }

            @Override
            public long size() throws IOException {
                alive();
                return real.size();
            }

            @Override
            public void truncate(long size) throws IOException {
                alive();
                long before = real.size();
                real.truncate(size);
                spaceLeft.addAndGet(Math.max(0, before - size));
            }

            /**
             * Preallocation fails like a write would (an I/O error, or a disk without the room); it takes no
             * space of its own, so that a disk fills up at the same write with or without it.
             */
            @Override
            public void preallocate(long length, byte fill) throws IOException {
                alive();
                if (failWrites) {
                    throw new IOException("Input/output error");
                }
                if (length - real.size() > spaceLeft.get()) {
                    throw new IOException("No space left on device");
                }
                preallocations.incrementAndGet();
                real.preallocate(length, fill);
            }

            @Override
            public void close() throws IOException {
                real.close();
            }
        };
    }

    @Override
    public void syncDirectory(Path dir) throws IOException {
        LogChannel.FILES.syncDirectory(dir);
    }
}
