package io.trelliskv.persist;

import io.trelliskv.common.Clock;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Recovery: the newest valid snapshot, then the log from the segment it names, handed record by record to
 * a consumer (the engine's {@code merge} and {@code flush}), in the order they were written.
 *
 * <h2>Damage</h2>
 * A crash in the middle of a write leaves a <em>torn tail</em>: the last segment ends inside a record, or
 * with bytes the disk never finished (zeros, old contents). Those writes were never acknowledged as
 * durable, so the segment is cut back to its last whole record and recovery goes on; the {@link Report}
 * names the file, the offset and the bytes dropped, for the caller's one WARN line. Anything else bad is
 * damage, not a crash: a bad record followed by good ones, a bad record in a segment that is not the last
 * (segments are forced before the next one starts), a bad header, a missing segment. Recovery refuses it
 * with a {@link CorruptLogException} naming the file and the offset, unless {@link Options#truncateCorrupt}
 * says to cut the log there and drop what follows ({@code redis-check-aof --fix}).
 *
 * <p>The two are told apart by looking for a well-formed record (length, checksum and structure all
 * valid) anywhere after the bad one in the last segment: none means a torn tail. A crash that persisted a
 * batch's later sectors but not an earlier one looks like damage by this rule, and is refused; the
 * records lost by fixing it were not acknowledged under {@code always}.
 *
 * <p>Under {@code always} the log keeps space preallocated on disk after its last record, filled with
 * {@link LogFormat#PREALLOCATED} bytes (see {@link LogChannel#preallocate}), and cuts it off when it closes
 * a segment. So the last segment may end in those bytes after its last whole record, or after a torn one:
 * that much is space, not damage, and it is cut off without a word (a torn record before it is reported as
 * usual). In any other segment they are damage like any bad record.
 *
 * <p>A snapshot that does not load (checksum, cut short, bad header) is skipped for the previous one; the
 * records it handed out before the damage were real states of the keys, so they do no harm to the
 * replay that follows (see {@link Snapshots}). With no valid snapshot left, the log alone is replayed if
 * it still starts at its first segment, and refused otherwise.
 */
public final class Recovery {

    /** @param truncateCorrupt cut the log at damage (and drop what follows) instead of refusing to start */
    public record Options(boolean truncateCorrupt) {
        public static final Options DEFAULT = new Options(false);
    }

    /** Bytes dropped from a log file: a torn tail, or damage truncated on request. */
    public record Truncation(Path file, long offset, long droppedBytes) {
    }

    /**
     * What recovery did.
     *
     * @param snapshot          the snapshot loaded, or null
     * @param snapshotRecords   records loaded from it
     * @param skippedSnapshots  snapshots that did not load, with the reason, newest first
     * @param logRecords        records replayed from the log
     * @param segmentsReplayed  log segments replayed
     * @param tornTail          the torn tail cut off, or null
     * @param truncated         damage cut off because {@link Options#truncateCorrupt} said so, or null
     * @param nextSegment       the sequence the log's next segment must have
     * @param nanos             time taken
     */
    public record Report(Path snapshot, long snapshotRecords, List<String> skippedSnapshots, long logRecords,
                         int segmentsReplayed, Truncation tornTail, Truncation truncated, long nextSegment,
                         long nanos) {
        public long records() {
            return snapshotRecords + logRecords;
        }
    }

    private Recovery() {
    }

    /** Recovers {@code dir} (created if absent) into {@code sink}. */
    public static Report run(Path dir, Options options, Clock clock, Consumer<LogRecord> sink) throws IOException {
        Objects.requireNonNull(sink, "sink");
        long start = clock.nanos();
        Files.createDirectories(dir);
        NavigableMap<Long, Path> segments = LogFiles.segments(dir);

        Path snapshotUsed = null;
        long snapshotRecords = 0;
        long replayFrom = segments.isEmpty() ? 1 : segments.firstKey();
        List<String> skipped = new ArrayList<>();
        for (Path snap : LogFiles.snapshots(dir).descendingMap().values()) {
            try {
                Snapshots.Loaded loaded = Snapshots.load(snap, sink);
                snapshotUsed = snap;
                snapshotRecords = loaded.records();
                replayFrom = loaded.firstSegment();
                break;
            } catch (CorruptLogException e) {
                skipped.add(e.getMessage());
            }
        }
        if (snapshotUsed == null && !segments.isEmpty() && segments.firstKey() != 1 && !options.truncateCorrupt()) {
            throw new CorruptLogException(segments.firstEntry().getValue(), 0, "the log starts at segment "
                    + segments.firstKey() + " (the segments before were covered by a snapshot) and no valid snapshot"
                    + " is left" + (skipped.isEmpty() ? "" : ": " + String.join("; ", skipped)));
        }

        long logRecords = 0;
        int replayed = 0;
        Truncation torn = null;
        Truncation truncated = null;
        long expected = replayFrom;
        NavigableMap<Long, Path> toReplay = segments.tailMap(replayFrom, true);
        List<Map.Entry<Long, Path>> list = new ArrayList<>(toReplay.entrySet());
        for (int i = 0; i < list.size(); i++) {
            long seq = list.get(i).getKey();
            Path file = list.get(i).getValue();
            boolean last = i == list.size() - 1;
            Replayed r;
            if (seq != expected) {
                r = new Replayed(0, new Damage(LogFiles.segment(dir, expected), 0, "segment " + expected
                        + " is missing", false));
            } else {
                r = replaySegment(file, seq, last, sink);
            }
            logRecords += r.records;
            replayed++;
            expected++;
            if (r.damage == null) {
                continue;
            }
            Damage d = r.damage;
            if (d.space) {
                truncate(file, d.offset);
                break;
            }
            if (d.torn) {
                torn = new Truncation(file, d.offset, truncate(file, d.offset));
                break;
            }
            if (!options.truncateCorrupt()) {
                throw new CorruptLogException(d.file, d.offset, d.problem);
            }
            boolean inThisFile = d.file.equals(file);
            long dropped = inThisFile ? truncate(d.file, d.offset) : 0;
            for (int j = inThisFile ? i + 1 : i; j < list.size(); j++) {
                dropped += Files.size(list.get(j).getValue());
                Files.delete(list.get(j).getValue());
            }
            truncated = new Truncation(d.file, d.offset, dropped);
            break;
        }
        // after what is left: a segment deleted for a torn header has its number used again, so none is missing
        NavigableMap<Long, Path> left = LogFiles.segments(dir);
        long next = Math.max(replayFrom, left.isEmpty() ? 1 : left.lastKey() + 1);
        return new Report(snapshotUsed, snapshotRecords, List.copyOf(skipped), logRecords, replayed, torn, truncated,
                next, clock.nanos() - start);
    }

    /** @param space the rest of the last segment is preallocated space, cut off silently */
    private record Damage(Path file, long offset, String problem, boolean torn, boolean space) {
        Damage(Path file, long offset, String problem, boolean torn) {
            this(file, offset, problem, torn, false);
        }
    }

    private record Replayed(long records, Damage damage) {
    }

    private static Replayed replaySegment(Path file, long seq, boolean last, Consumer<LogRecord> sink)
            throws IOException {
        byte[] a = Files.readAllBytes(file);
        if (a.length < LogFormat.HEADER_BYTES) {
            // a segment whose creation a crash interrupted: nothing was ever written to it
            return new Replayed(0, new Damage(file, 0, "header cut short at " + a.length + " bytes", last));
        }
        try {
            long inHeader = LogFormat.readHeader(a, LogFormat.LOG_MAGIC);
            if (inHeader != seq) {
                return new Replayed(0, new Damage(file, 0, "header names segment " + inHeader, false));
            }
        } catch (IllegalArgumentException e) {
            return new Replayed(0, new Damage(file, 0, e.getMessage(), false));
        }
        int off = LogFormat.HEADER_BYTES;
        long records = 0;
        while (off < a.length) {
            LogFormat.Decoded d = LogFormat.decode(a, off, a.length - off);
            if (d.status() != LogFormat.Status.RECORD || d.record() == null) {
                String problem = d.record() == null && d.status() == LogFormat.Status.RECORD
                        ? "snapshot end record in a log segment" : d.problem();
                if (last && preallocatedFrom(a, off)) {
                    return new Replayed(records, new Damage(file, off, problem, true, true));
                }
                boolean torn = last && d.status() != LogFormat.Status.RECORD && !recordAfter(a, off + 1);
                return new Replayed(records, new Damage(file, off, problem, torn));
            }
            sink.accept(d.record());
            records++;
            off += d.size();
        }
        return new Replayed(records, null);
    }

    /** True if every byte from {@code from} on is {@link LogFormat#PREALLOCATED}. */
    static boolean preallocatedFrom(byte[] a, int from) {
        for (int p = from; p < a.length; p++) {
            if (a[p] != LogFormat.PREALLOCATED) {
                return false;
            }
        }
        return true;
    }

    /** True if a well-formed record starts anywhere at or after {@code from}. */
    static boolean recordAfter(byte[] a, int from) {
        for (int p = from; p + LogFormat.FRAME_BYTES < a.length; p++) {
            LogFormat.Decoded d = LogFormat.decode(a, p, a.length - p);
            if (d.status() == LogFormat.Status.RECORD) {
                return true;
            }
        }
        return false;
    }

    /** Cuts {@code file} back to {@code offset} (deleting it if that is 0), durably; returns the bytes dropped. */
    private static long truncate(Path file, long offset) throws IOException {
        long size = Files.size(file);
        if (offset == 0) {
            Files.delete(file);
            LogChannel.FILES.syncDirectory(file.getParent());
            return size;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(offset);
            ch.force(true);
        }
        return size - offset;
    }
}
