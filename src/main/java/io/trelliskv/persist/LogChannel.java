package io.trelliskv.persist;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * The part of a {@link FileChannel} the log and the snapshots write through: appending at the end,
 * forcing, cutting a file back, and preallocating. It is a seam for fault injection (a disk that fails,
 * fills up or tears a write, in the tests) more than an abstraction: production uses {@link #open} on a
 * real file.
 *
 * <h2>The end and the file's size</h2>
 * The <em>end</em> is where the next write goes: the bytes written so far. {@link #preallocate} may make
 * the file longer than that; {@link #size()} is the end, not the file's length.
 */
public interface LogChannel extends Closeable {

    /** Writes some bytes of {@code src} at the end; returns how many, as a FileChannel does. */
    int write(ByteBuffer src) throws IOException;

    /** Forces the file's content to stable storage ({@code fdatasync}: metadata only as needed to read it back). */
    void force() throws IOException;

    /** The end: the bytes written (not counting what {@link #preallocate} put after them). */
    long size() throws IOException;

    /** Cuts the file back to {@code size} bytes, preallocated space included; the next write goes there. */
    void truncate(long size) throws IOException;

    /**
     * Makes the file hold {@code fill} bytes up to {@code length} bytes past what is written, on stable
     * storage, without moving the end. Forcing a write into space that is already part of the file only
     * writes the data: a write that makes the file longer also has the new length journaled, which on ext4
     * doubles what a force costs (measured in docs/BENCHMARKS.md). A channel that cannot preallocate does
     * nothing.
     */
    default void preallocate(long length, byte fill) throws IOException {
    }

    /** Opens files and syncs directories; what {@link WriteAheadLog} and {@link Snapshots} reach the disk through. */
    interface Factory {
        /** Opens {@code path} for appending, creating it if absent. */
        LogChannel open(Path path) throws IOException;

        /** Makes the directory's entries (files created, renamed, deleted) durable. */
        void syncDirectory(Path dir) throws IOException;
    }

    /** The real disk. */
    Factory FILES = new Factory() {
        @Override
        public LogChannel open(Path path) throws IOException {
            return LogChannel.open(path);
        }

        @Override
        public void syncDirectory(Path dir) throws IOException {
            try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
                ch.force(true);
            }
        }
    };

    /** A real file opened for appending at its end (its length: a file is opened before any preallocation). */
    static LogChannel open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        long length = ch.size();
        return new LogChannel() {
            /** Where the next write goes. */
            private long end = length;
            /** The file's length: {@link #end} or more, the rest preallocated. */
            private long allocated = length;
            /** What {@link #preallocate} writes, kept for the next time. */
            private byte[] chunk;

            @Override
            public int write(ByteBuffer src) throws IOException {
                int n = ch.write(src, end);
                end += n;
                allocated = Math.max(allocated, end);
                return n;
            }

            @Override
            public void force() throws IOException {
                ch.force(false);
            }

            @Override
            public long size() {
                return end;
            }

            @Override
            public void truncate(long size) throws IOException {
                ch.truncate(size);
                end = Math.min(end, size);
                allocated = Math.min(allocated, size);
            }

            @Override
            public void preallocate(long length, byte fill) throws IOException {
                if (length <= allocated) {
                    return;
                }
                if (chunk == null || chunk[0] != fill) {
                    chunk = new byte[256 << 10];
                    Arrays.fill(chunk, fill);
                }
                ByteBuffer bytes = ByteBuffer.wrap(chunk);
                for (long at = allocated; at < length; ) {
                    bytes.clear().limit((int) Math.min(chunk.length, length - at));
                    at += ch.write(bytes, at);
                }
                ch.force(false);
                allocated = length;
            }

            @Override
            public void close() throws IOException {
                ch.close();
            }
        };
    }
}
