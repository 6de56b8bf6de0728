package io.trelliskv.persist;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The part of a {@link FileChannel} the log and the snapshots write through: appending at the end,
 * forcing, and cutting a file back. It is a seam for fault injection (a disk that fails, fills up or tears
 * a write, in the tests) more than an abstraction: production uses {@link #open} on a real file.
 */
public interface LogChannel extends Closeable {

    /** Writes some bytes of {@code src} at the end of the file; returns how many, as a FileChannel does. */
    int write(ByteBuffer src) throws IOException;

    /** Forces the file's content to stable storage ({@code fdatasync}: metadata only as needed to read it back). */
    void force() throws IOException;

    /** The file's size in bytes. */
    long size() throws IOException;

    /** Cuts the file back to {@code size} bytes; the next write goes there. */
    void truncate(long size) throws IOException;

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

    /** A real file opened for appending at its end. */
    static LogChannel open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        ch.position(ch.size());
        return new LogChannel() {
            @Override
            public int write(ByteBuffer src) throws IOException {
                return ch.write(src);
            }

            @Override
            public void force() throws IOException {
                ch.force(false);
            }

            @Override
            public long size() throws IOException {
                return ch.size();
            }

            @Override
            public void truncate(long size) throws IOException {
                ch.truncate(size);
                ch.position(size);
            }

            @Override
            public void close() throws IOException {
                ch.close();
            }
        };
    }
}
