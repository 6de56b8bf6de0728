package io.trelliskv.persist;

import io.trelliskv.common.Clock;
import io.trelliskv.common.DaemonThreads;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.Journal;
import io.trelliskv.version.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * A node's data on disk: the {@link Journal} its engine reports to, backed by a {@link WriteAheadLog}, the
 * {@link Recovery} that loads the data at start, and the snapshots that keep the log short.
 *
 * <h2>Life</h2>
 * <ol>
 *   <li>{@link #open}: recovery replays the newest snapshot and the log after it into the engine — through
 *       {@link Engine#merge} and {@link Engine#flush}, the same last-writer-wins paths replication uses —
 *       while the journal reports nothing; then the log opens a new segment and the journal starts
 *       appending every entry the engine stores.</li>
 *   <li>While serving: {@link #durable()} is what a write's acknowledgement waits for under
 *       {@code appendfsync always} (a barrier behind every append queued so far, so one force serves every
 *       write that came before it); {@link #checkWritable()} refuses writes while the disk fails.</li>
 *   <li>{@link #snapshot()}, on its own thread and on request ({@code BGSAVE}, {@code BGREWRITEAOF},
 *       {@code SAVE}) or once the log has grown past the rewrite threshold ({@link #maybeSnapshot()}):
 *       starts a new log segment, writes every entry to a snapshot that names it, keeps the two newest
 *       snapshots and deletes the log before the older of them. Disk use stays within about two
 *       snapshots plus the log written since.</li>
 * </ol>
 *
 * <p>The snapshot is fuzzy — taken while writes go on — and exact once the log after it is replayed,
 * because records apply by version (see {@link Snapshots}).
 */
public final class Persistence implements Journal, Durability, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Persistence.class);
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    /** Bytes the log may fall behind the writes before acknowledgements wait for it (back-pressure). */
    static final long MAX_QUEUED_BYTES = 32L << 20;
    /** Snapshots kept: the newest, and the one before in case the newest turns out damaged. */
    static final int SNAPSHOTS_KEPT = 2;
    /** A snapshot reads the engine in 2^12 ring arcs; each arc's entries are copied out under its locks. */
    private static final int ARC_BITS = 12;

    /** Outcome of the last snapshot, as INFO's {@code rdb_last_bgsave_status}. */
    public enum SaveStatus { OK, ERR }

    private final Path dir;
    private final PersistConfig config;
    private final Clock clock;
    private final Engine engine;
    private final Recovery.Report recovered;
    private final WriteAheadLog wal;
    private final ExecutorService snapshotter;
    /** The snapshot being written, or null. */
    private final AtomicReference<CompletableFuture<Snapshots.Info>> inProgress = new AtomicReference<>();
    /** Entries and flushes reported since the last snapshot started (Redis's {@code rdb_changes_since_last_save}). */
    private final LongAdder changes = new LongAdder();
    private volatile long changesAtSnapshotStart;
    private volatile long lastSaveMillis;
    private volatile SaveStatus lastSaveStatus = SaveStatus.OK;
    private volatile long lastSaveNanos;
    private volatile long lastSnapshotBytes;
    private volatile long snapshots;
    /** Log bytes written when the last snapshot started: the log since is what a restart replays. */
    private volatile long logBytesAtSnapshot;
    /** Set once recovery is over: the journal appends only from then on. */
    private volatile boolean journaling;

    private Persistence(Path dir, PersistConfig config, Clock clock, Engine engine, Recovery.Report recovered,
                        WriteAheadLog wal) {
        this.dir = dir;
        this.config = config;
        this.clock = clock;
        this.engine = engine;
        this.recovered = recovered;
        this.wal = wal;
        this.lastSaveMillis = clock.millis();
        this.lastSnapshotBytes = recovered.snapshot() == null ? 0 : sizeOf(recovered.snapshot());
        this.snapshotter = Executors.newSingleThreadExecutor(DaemonThreads.factory("trellis-snapshot"));
    }

    /**
     * A journal for an engine not built yet: hand it to the engine, then {@link #open} with the engine.
     * Until then it reports nothing (recovery's own merges are not logged again).
     */
    public static Deferred deferred() {
        return new Deferred();
    }

    /** The journal an engine is built with before its persistence opens. */
    public static final class Deferred implements Journal {
        private volatile Journal target = Journal.NONE;

        private Deferred() {
        }

        @Override
        public void stored(Entry entry) {
            target.stored(entry);
        }

        @Override
        public void flushed(Version floor) {
            target.flushed(floor);
        }

        @Override
        public boolean records() {
            return target.records();
        }
    }

    /**
     * Recovers {@code dir} into {@code engine} (built with {@code journal}) and opens the log after it.
     * Logs one WARN for a torn tail cut off, one for damage cut off on request.
     *
     * @throws CorruptLogException if the log is damaged and {@link PersistConfig#truncateCorrupt} is off
     * @throws IOException         if the directory cannot be read or written
     */
    public static Persistence open(Path dir, PersistConfig config, Clock clock, Engine engine, Deferred journal)
            throws IOException {
        Files.createDirectories(dir);
        Recovery.Report report = Recovery.run(dir, new Recovery.Options(config.truncateCorrupt()), clock, record -> {
            if (record instanceof LogRecord.Write w) {
                engine.merge(w.toEntry());
            } else if (record instanceof LogRecord.Flush f) {
                engine.flush(f.floor());
            }
        });
        if (report.tornTail() != null) {
            Recovery.Truncation t = report.tornTail();
            log.warn("The log ended in a torn write (a crash while writing): cut {} at offset {}, {} bytes dropped",
                    t.file(), t.offset(), t.droppedBytes());
        }
        if (report.truncated() != null) {
            Recovery.Truncation t = report.truncated();
            log.warn("The log was damaged and cut as asked (--repair-log): {} at offset {}, {} bytes dropped",
                    t.file(), t.offset(), t.droppedBytes());
        }
        for (String skipped : report.skippedSnapshots()) {
            log.warn("Skipped a damaged snapshot: {}", skipped);
        }
        WriteAheadLog wal = WriteAheadLog.open(dir, config.wal(), clock, report);
        Persistence p = new Persistence(dir, config, clock, engine, report, wal);
        journal.target = p;
        p.journaling = true;
        return p;
    }

    // ---- the journal ----

    @Override
    public void stored(Entry entry) {
        if (journaling) {
            wal.write(LogRecord.of(entry));
            changes.increment();
        }
    }

    @Override
    public void flushed(Version floor) {
        if (journaling) {
            wal.write(new LogRecord.Flush(floor));
            changes.increment();
        }
    }

    /**
     * What a write's acknowledgement waits for: under {@code always}, a future that completes once every
     * write applied so far is forced to disk (or fails with the log's error); otherwise complete.
     */
    @Override
    public CompletableFuture<Void> durable() {
        return acknowledgesDurably() ? wal.barrier() : DONE;
    }

    /**
     * Whether acknowledgements wait for the disk: always under {@code appendfsync always}; under the other
     * policies only while the disk is more than {@link #MAX_QUEUED_BYTES} behind the writes, so that
     * clients writing faster than the disk takes are slowed down to its pace (their replies wait, and a
     * connection with many replies waiting is read no further) instead of filling the heap.
     */
    @Override
    public boolean acknowledgesDurably() {
        return config.fsync() == AppendFsync.ALWAYS || wal.queuedBytes() > MAX_QUEUED_BYTES;
    }

    /**
     * Throws the {@link LogWriteFailedException} (a {@code MISCONF} text) writes are refused with while
     * the log cannot write; returns if it can.
     */
    @Override
    public void checkWritable() {
        wal.checkWritable();
    }

    /** Whether the log was writing fine at its last write. */
    public boolean writable() {
        return wal.state() == WriteAheadLog.State.OK;
    }

    /** Whether recovery found data of an earlier run (a snapshot or log segments), even if empty of keys. */
    public boolean keptData() {
        return recovered.snapshot() != null || recovered.segmentsReplayed() > 0;
    }

    public Recovery.Report recovered() {
        return recovered;
    }

    // ---- snapshots ----

    /**
     * Starts a snapshot in the background, or returns the one in progress.
     *
     * @return the snapshot's future, and whether this call started it
     */
    public Started snapshot() {
        CompletableFuture<Snapshots.Info> mine = new CompletableFuture<>();
        if (!inProgress.compareAndSet(null, mine)) {
            CompletableFuture<Snapshots.Info> running = inProgress.get();
            if (running != null) {
                return new Started(running, false);
            }
            return snapshot();
        }
        try {
            snapshotter.execute(() -> writeSnapshot(mine));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            inProgress.set(null);
            mine.completeExceptionally(new IOException("the node is shutting down"));
        }
        return new Started(mine, true);
    }

    /** A snapshot's future, and whether the call that returned it started it. */
    public record Started(CompletableFuture<Snapshots.Info> done, boolean started) {
    }

    /** Whether a snapshot is being written. */
    public boolean snapshotInProgress() {
        return inProgress.get() != null;
    }

    /**
     * Starts a snapshot if the log written since the last one has passed the rewrite threshold; for the
     * node's background tick.
     */
    public void maybeSnapshot() {
        if (config.rewritePercent() == 0 || inProgress.get() != null) {
            return;
        }
        long sinceSnapshot = wal.stats().bytesWritten() - logBytesAtSnapshot;
        long threshold = Math.max(config.rewriteMinBytes(), lastSnapshotBytes * config.rewritePercent() / 100);
        if (sinceSnapshot > threshold) {
            log.info("Starting a snapshot: {} log bytes since the last one (threshold {})", sinceSnapshot, threshold);
            snapshot();
        }
    }

    private void writeSnapshot(CompletableFuture<Snapshots.Info> done) {
        long start = clock.nanos();
        try {
            long changesAtStart = changes.sum();
            long bytesAtStart = wal.stats().bytesWritten();
            long firstSegment = wal.rotate().get(1, TimeUnit.MINUTES);
            // The floor before the entries: a flush during the writing is in the log after firstSegment.
            Version floor = engine.flushFloor();
            Snapshots.Info info = Snapshots.write(dir, firstSegment, floor, new EngineEntries(engine),
                    config.channels());
            long oldestNeeded = Snapshots.prune(dir, SNAPSHOTS_KEPT);
            int deleted = wal.deleteSegmentsBefore(oldestNeeded);
            changesAtSnapshotStart = changesAtStart;
            logBytesAtSnapshot = bytesAtStart;
            lastSnapshotBytes = info.bytes();
            lastSaveMillis = clock.millis();
            lastSaveStatus = SaveStatus.OK;
            lastSaveNanos = clock.nanos() - start;
            snapshots++;
            log.info("Snapshot {} written: {} entries, {} bytes in {} ms; {} log segments deleted", info.file(),
                    info.entries(), info.bytes(), TimeUnit.NANOSECONDS.toMillis(lastSaveNanos), deleted);
            inProgress.set(null);
            done.complete(info);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            lastSaveStatus = SaveStatus.ERR;
            lastSaveNanos = clock.nanos() - start;
            log.error("Snapshot failed: {}", reason(e));
            inProgress.set(null);
            done.completeExceptionally(e);
        }
    }

    static String reason(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t instanceof java.util.concurrent.ExecutionException
                || t instanceof java.util.concurrent.CompletionException)) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    /**
     * Every entry of an engine, tombstones included, read one ring arc at a time: each arc's entries are
     * copied out while the engine holds their locks, then handed out, so writes wait at most for one arc.
     */
    private static final class EngineEntries implements Iterator<Entry> {
        private static final int ARCS = 1 << ARC_BITS;
        private static final long ARC = 1L << (Long.SIZE - ARC_BITS);
        private final Engine engine;
        private int nextArc;
        private List<Entry> current = Collections.emptyList();
        private int index;

        EngineEntries(Engine engine) {
            this.engine = engine;
        }

        @Override
        public boolean hasNext() {
            while (index >= current.size()) {
                if (nextArc == ARCS) {
                    return false;
                }
                long lowest = Long.MIN_VALUE + nextArc * ARC;
                long highest = lowest + ARC - 1;
                List<Entry> arc = new ArrayList<>();
                engine.forEachInRange(lowest - 1, highest, arc::add);
                nextArc++;
                current = arc;
                index = 0;
            }
            return true;
        }

        @Override
        public Entry next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return current.get(index++);
        }
    }

    private static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }

    // ---- figures ----

    /** What INFO's persistence section shows. */
    public record Stats(WriteAheadLog.Stats log, AppendFsync fsync, boolean snapshotInProgress, long lastSaveMillis,
                        SaveStatus lastSaveStatus, long lastSaveNanos, long changesSinceLastSave,
                        long lastSnapshotBytes, long snapshots, long logBytesSinceSnapshot, long diskBytes,
                        Recovery.Report recovered) {
    }

    public Stats stats() {
        WriteAheadLog.Stats w = wal.stats();
        return new Stats(w, config.fsync(), inProgress.get() != null, lastSaveMillis, lastSaveStatus, lastSaveNanos,
                changes.sum() - changesAtSnapshotStart, lastSnapshotBytes, snapshots,
                w.bytesWritten() - logBytesAtSnapshot, diskBytes(), recovered);
    }

    /** Bytes of the log segments and snapshots in the directory. */
    private long diskBytes() {
        long total = 0;
        for (Path p : LogFiles.segments(dir).values()) {
            total += sizeOf(p);
        }
        for (Path p : LogFiles.snapshots(dir).values()) {
            total += sizeOf(p);
        }
        return total;
    }

    public Path dir() {
        return dir;
    }

    /** Writes and forces what is queued, stops the snapshot thread (a snapshot being written is abandoned). */
    @Override
    public void close() {
        journaling = false;
        snapshotter.shutdownNow();
        try {
            snapshotter.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        wal.close();
    }
}
