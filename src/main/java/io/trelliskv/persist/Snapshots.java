package io.trelliskv.persist;

import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.function.Consumer;

/**
 * Snapshots: the engine's entries written out so that the log before them can be deleted.
 *
 * <p>A snapshot is <em>fuzzy</em>: it is written from an iterator over the engine while writes go on, so
 * it holds, for each key, some version the key had during the writing. It names the first log segment to
 * replay after it ({@link WriteAheadLog#rotate()} starts one just before the writing), and every write
 * applied after that point is in that segment or a later one. Loading the snapshot and replaying those
 * segments over it is exact because the engine applies records by version (last writer wins, and the
 * flush floor refuses what is older): an entry the snapshot caught newer than some logged write makes that
 * write a no-op, an older one is overwritten by the log. This holds only if each write reaches the engine
 * before the log ({@code merge} or the command, then {@code append}), so that a write logged before the
 * rotation is in the engine when the iterator passes its key.
 *
 * <p>Written atomically: to {@code snapshot-N.tks.tmp}, forced, renamed over the final name, and the
 * directory forced, so a crash leaves either the old set of snapshots or the new one, never a half file
 * under a snapshot's name. A snapshot damaged later (a bad disk) is found on loading, by its checksums and
 * its end record, and recovery falls back to the previous one; {@link #prune} keeps two for that reason,
 * and the log is kept back to the older of them.
 */
public final class Snapshots {

    /** Bytes gathered before each write to the channel. */
    private static final int WRITE_BUFFER_BYTES = 1 << 20;

    /** What a snapshot holds: its file, the first segment to replay after it, its entries and its bytes. */
    public record Info(Path file, long firstSegment, long entries, long bytes) {
    }

    private Snapshots() {
    }

    /**
     * Writes a snapshot of {@code entries} (tombstones included) under the flush floor {@code floor},
     * to be followed on loading by the log from segment {@code firstSegment}; returns once it is durable.
     */
    public static Info write(Path dir, long firstSegment, Version floor, Iterator<Entry> entries,
                             LogChannel.Factory channels) throws IOException {
        Path target = LogFiles.snapshot(dir, firstSegment);
        Path temp = target.resolveSibling(target.getFileName() + LogFiles.TEMP_SUFFIX);
        Files.deleteIfExists(temp);
        long count = 0;
        long bytes = 0;
        try (LogChannel ch = channels.open(temp)) {
            ByteBuffer buf = ByteBuffer.allocate(WRITE_BUFFER_BYTES);
            bytes += put(ch, buf, LogFormat.header(LogFormat.SNAPSHOT_MAGIC, firstSegment));
            bytes += put(ch, buf, LogFormat.encode(new LogRecord.Flush(floor)));
            while (entries.hasNext()) {
                bytes += put(ch, buf, LogFormat.encode(LogRecord.of(entries.next())));
                count++;
            }
            bytes += put(ch, buf, LogFormat.encodeSnapshotEnd(count));
            drain(ch, buf);
            ch.force();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        channels.syncDirectory(dir);
        return new Info(target, firstSegment, count, bytes);
    }

    private static int put(LogChannel ch, ByteBuffer buf, byte[] bytes) throws IOException {
        if (bytes.length > buf.remaining()) {
            drain(ch, buf);
        }
        if (bytes.length > buf.capacity()) {
            ByteBuffer big = ByteBuffer.wrap(bytes);
            while (big.hasRemaining()) {
                ch.write(big);
            }
        } else {
            buf.put(bytes);
        }
        return bytes.length;
    }

    private static void drain(LogChannel ch, ByteBuffer buf) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
        buf.clear();
    }

    /**
     * Deletes all but the newest {@code keep} snapshots, and temporary files a crash left; returns the
     * first segment the oldest kept snapshot needs (the log before it is no longer needed), or 0 if there
     * is no snapshot.
     */
    public static long prune(Path dir, int keep) throws IOException {
        if (keep < 1) {
            throw new IllegalArgumentException("keep: " + keep + " (expected: >= 1)");
        }
        try (var files = Files.newDirectoryStream(dir, "snapshot-*" + LogFiles.TEMP_SUFFIX)) {
            for (Path p : files) {
                Files.deleteIfExists(p);
            }
        }
        NavigableMap<Long, Path> all = LogFiles.snapshots(dir);
        List<Map.Entry<Long, Path>> newestFirst = new ArrayList<>(all.descendingMap().entrySet());
        for (int i = keep; i < newestFirst.size(); i++) {
            Files.deleteIfExists(newestFirst.get(i).getValue());
        }
        return newestFirst.isEmpty() ? 0 : newestFirst.get(Math.min(keep, newestFirst.size()) - 1).getKey();
    }

    /** A loaded snapshot: the segment to replay from, and the records handed to the sink. */
    record Loaded(long firstSegment, long records) {
    }

    /**
     * Streams a snapshot's records into {@code sink}: its flush floor, then its entries.
     *
     * @throws CorruptLogException if the file is damaged or cut short (the sink may have had a prefix)
     */
    static Loaded load(Path file, Consumer<LogRecord> sink) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ChunkReader in = new ChunkReader(ch);
            if (!in.ensure(LogFormat.HEADER_BYTES)) {
                throw new CorruptLogException(file, 0, "header cut short");
            }
            long firstSegment;
            try {
                firstSegment = LogFormat.readHeader(Arrays.copyOfRange(in.buf, in.pos, in.pos + LogFormat.HEADER_BYTES),
                        LogFormat.SNAPSHOT_MAGIC);
            } catch (IllegalArgumentException e) {
                throw new CorruptLogException(file, 0, e.getMessage());
            }
            in.pos += LogFormat.HEADER_BYTES;
            long records = 0;
            long entries = 0;
            while (true) {
                long offset = in.offset();
                if (!in.ensure(LogFormat.FRAME_BYTES)) {
                    throw new CorruptLogException(file, offset, "cut short before its end record");
                }
                int length = ByteBuffer.wrap(in.buf, in.pos, 4).getInt();
                if (length < 1 || length > LogFormat.MAX_BODY_BYTES) {
                    throw new CorruptLogException(file, offset, "record length " + length);
                }
                int size = LogFormat.FRAME_BYTES + length;
                if (!in.ensure(size)) {
                    throw new CorruptLogException(file, offset, "cut short before its end record");
                }
                LogFormat.Decoded d = LogFormat.decode(in.buf, in.pos, size);
                in.pos += size;
                if (d.status() != LogFormat.Status.RECORD) {
                    throw new CorruptLogException(file, offset, d.problem());
                }
                if (d.record() == null) {
                    if (d.snapshotEnd() != entries) {
                        throw new CorruptLogException(file, offset, "end record counts " + d.snapshotEnd()
                                + " entries, the file holds " + entries);
                    }
                    if (in.ensure(1)) {
                        throw new CorruptLogException(file, offset + size, "bytes after the end record");
                    }
                    return new Loaded(firstSegment, records);
                }
                boolean first = records == 0;
                if (first != (d.record() instanceof LogRecord.Flush)) {
                    throw new CorruptLogException(file, offset, "a snapshot starts with its flush floor, and only there");
                }
                sink.accept(d.record());
                records++;
                if (d.record() instanceof LogRecord.Write) {
                    entries++;
                }
            }
        }
    }

    /**
     * Reads a file in large chunks into one array that records are decoded from in place: a snapshot of
     * millions of entries is read with a few hundred reads and no copy per record.
     */
    private static final class ChunkReader {
        private static final int CHUNK_BYTES = 4 << 20;
        private final FileChannel ch;
        byte[] buf = new byte[CHUNK_BYTES];
        /** The next unread byte in {@link #buf}. */
        int pos;
        /** The end of the bytes read into {@link #buf}. */
        private int end;
        /** The file offset of {@code buf[0]}. */
        private long base;
        private boolean eof;

        ChunkReader(FileChannel ch) {
            this.ch = ch;
        }

        /** The file offset of the next unread byte. */
        long offset() {
            return base + pos;
        }

        /** Makes {@code n} bytes readable from {@link #pos}, reading as needed; false if the file ends first. */
        boolean ensure(int n) throws IOException {
            while (end - pos < n && !eof) {
                if (pos > 0) {
                    System.arraycopy(buf, pos, buf, 0, end - pos);
                    base += pos;
                    end -= pos;
                    pos = 0;
                }
                if (buf.length < n) {
                    buf = Arrays.copyOf(buf, n);
                }
                int read = ch.read(ByteBuffer.wrap(buf, end, buf.length - end));
                if (read < 0) {
                    eof = true;
                } else {
                    end += read;
                }
            }
            return end - pos >= n;
        }
    }
}
