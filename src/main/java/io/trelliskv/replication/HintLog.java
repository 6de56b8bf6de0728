package io.trelliskv.replication;

import io.trelliskv.common.Clock;
import io.trelliskv.common.DaemonThreads;
import io.trelliskv.common.Key;
import io.trelliskv.persist.LogFormat;
import io.trelliskv.persist.LogRecord;
import io.trelliskv.persist.Recovery;
import io.trelliskv.persist.WalConfig;
import io.trelliskv.persist.WriteAheadLog;
import io.trelliskv.storage.Entry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The durable side of a {@link HintStore}: every hint stored and every hint removed, appended to a
 * {@link WriteAheadLog} of its own directory, so that a coordinator's restart does not lose the writes it
 * still owes to replicas that were down.
 *
 * <h2>Format</h2>
 * The write-ahead log's own files and machinery ({@link io.trelliskv.persist.LogFormat}: segments
 * {@code log-<n>.tkl}, CRC32C-checked records, the writer thread and group commit, {@link Recovery} with
 * its torn-tail cut), with two record kinds of its own: {@link LogRecord.Hint} (a target's node id, the
 * wall-clock time it was stored at and the entry) when a hint is stored or replaced, and {@link LogRecord.HintDone} (target, key, version)
 * when one is removed: acknowledged, discarded, dropped with its target or under a FLUSHALL's floor, or
 * expired. Replaying them the way the store applies them (newest entry per target and key; a removal only
 * if the held hint is still that version) gives back the hints pending when the log ends. The directory
 * must be the hints' own ({@code <data-dir>/hints}): never the engine's log directory.
 *
 * <h2>Not blocking</h2>
 * {@link #stored} and {@link #removed} are called under the store's monitor, so the log's order is the
 * store's; they only encode the record and queue it for the log's writer thread (fire and forget: the
 * future is not waited for). The fsync policy is the caller's ({@code everysec} loses at most about a
 * second of hints in a crash of the machine; a crash of the process alone loses none).
 *
 * <h2>Compaction</h2>
 * The log grows with every hint stored and removed; the live hints are what matter. Once the bytes
 * appended since the last compaction pass both {@code compactBytes} and twice the encoded size of the
 * live hints, the store asks for a compaction (under its monitor, so nothing changes meanwhile), which
 * queues, in order: a rotation (a new segment), a {@link LogRecord.Hint} for every live hint, and a second
 * rotation. When the second rotation is done the new segment is complete and forced, and the segments
 * before it are deleted, off the caller's thread. The log's disk use therefore stays below about
 * {@code max(compactBytes, 2 x live)} plus one compaction in flight; a store that empties compacts to an
 * empty segment. Appending the live hints costs the caller encoding them (CPU, no disk), amortised over
 * the at least as many bytes appended since the last compaction.
 *
 * <p>A compaction also follows any append the log refused (the log had failed a write and not yet
 * recovered, see {@link WriteAheadLog}): rewriting the live hints makes the disk exact again. Until then a
 * restart may bring back a hint that was removed (re-delivering it is harmless: replicas merge by
 * last-writer-wins) or lose one stored (anti-entropy repairs what hints do not).
 *
 * <h2>Recovery</h2>
 * {@link #open} replays the directory, cuts a torn tail as the engine's log does (one WARN), then opens
 * the log after it and rewrites the recovered hints into the first new segment, deleting the older
 * segments, so that every start begins from a compact log. Anything else wrong with the files (a bad record
 * followed by good ones, a bad header, a missing segment) is damage: hints are an optimisation that
 * anti-entropy backs up, so it does not stop the node; one WARN names the file and the offset, every
 * recovered hint is dropped and the log starts empty. A hints log legitimately starts after segment 1
 * (compaction deletes the segments before a rewrite instead of writing a snapshot), so recovery runs with
 * {@link Recovery.Options#truncateCorrupt} and treats a {@link Recovery.Report#truncated()} as the damage.
 */
final class HintLog implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HintLog.class);

    /** Bytes appended since the last compaction below which no compaction is asked for: 1 MiB. */
    static final long DEFAULT_COMPACT_BYTES = 1L << 20;

    /** A hint recovered from the log, stored at {@code storedAtMillis} (wall clock, epoch ms). */
    record Recovered(long target, Entry entry, long storedAtMillis) {
    }

    /** Receives the live hints for a compaction, each target's oldest first. */
    interface LiveHints {
        void forEach(HintSink sink);
    }

    interface HintSink {
        void hint(long target, Entry entry, long storedAtMillis);
    }

    private final Path dir;
    private final WriteAheadLog wal;
    private final long compactBytes;
    /** Deletes the segments a compaction made obsolete; the caller's thread never touches the disk. */
    private final ExecutorService deleter;

    // guarded by the store's monitor: every method but close() is called under it
    /** Bytes appended since the last compaction, the rewrite included. */
    private long logBytes;
    /** Encoded bytes of the live hints' records. */
    private long liveBytes;
    /** An append was refused since the last compaction: the disk may be missing a record. */
    private boolean lost;
    private boolean closed;
    private long compactions;

    private HintLog(Path dir, WriteAheadLog wal, long compactBytes) {
        this.dir = dir;
        this.wal = wal;
        this.compactBytes = compactBytes;
        this.deleter = Executors.newSingleThreadExecutor(DaemonThreads.factory("trellis-hints-log"));
    }

    /** What {@link #open} gives: the log, open for appends, and the hints it held, oldest first. */
    record Opened(HintLog log, List<Recovered> hints) {
    }

    /**
     * Recovers {@code dir} (created if absent) and opens the log after it. A damaged log is dropped with
     * one WARN (see the class comment); the log then holds nothing, and the caller must call
     * {@link #rewrite} with what it keeps of the hints returned before appending anything else.
     *
     * @throws IOException if the directory cannot be read or written
     */
    static Opened open(Path dir, WalConfig config, Clock clock, long compactBytes) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(config, "config");
        if (compactBytes < 1) {
            throw new IllegalArgumentException("compactBytes: " + compactBytes + " (expected: >= 1)");
        }
        Replay replay = new Replay();
        Recovery.Report report;
        try {
            report = Recovery.run(dir, new Recovery.Options(true), clock, replay::apply);
        } catch (ForeignRecordException e) {
            throw new IOException(dir + " holds " + e.getMessage() + ", not hints: refusing to use it as the"
                    + " hints directory (is it the data directory?)");
        }
        if (report.tornTail() != null) {
            Recovery.Truncation t = report.tornTail();
            log.warn("The hints log ended in a torn write (a crash while writing): cut {} at offset {}, {} bytes"
                    + " dropped", t.file(), t.offset(), t.droppedBytes());
        }
        List<Recovered> hints = replay.hints();
        if (report.truncated() != null) {
            Recovery.Truncation t = report.truncated();
            log.warn("The hints log is damaged at {} offset {}: dropped it and its {} hints, starting an empty"
                    + " one (anti-entropy repairs what they were for)", t.file(), t.offset(), hints.size());
            hints = List.of();
        }
        WriteAheadLog wal = WriteAheadLog.open(dir, config, clock, report);
        return new Opened(new HintLog(dir, wal, compactBytes), hints);
    }

    /**
     * Records that {@code entry} is stored for {@code target} at {@code storedAtMillis} (wall clock),
     * replacing {@code replaced} (null if none).
     */
    void stored(long target, Entry entry, Entry replaced, long storedAtMillis) {
        if (replaced != null) {
            liveBytes -= hintBytes(target, replaced);
        }
        long n = hintBytes(target, entry);
        liveBytes += n;
        append(LogRecord.Hint.of(target, storedAtMillis, entry), n);
    }

    /** Records that {@code entry}'s hint for {@code target} is removed. */
    void removed(long target, Entry entry) {
        liveBytes -= hintBytes(target, entry);
        LogRecord.HintDone done = LogRecord.HintDone.of(target, entry);
        append(done, LogFormat.encodedBytes(done));
    }

    private void append(LogRecord record, long bytes) {
        if (closed) {
            return;
        }
        logBytes += bytes;
        CompletableFuture<Void> written = wal.append(record);
        // a refusal completes the future before append returns; a write that fails later is retried by the log
        if (written.isCompletedExceptionally() && !lost) {
            lost = true;
            log.warn("The hints log in {} refused an append ({}): hints may not survive a restart until it"
                    + " writes again", dir, wal.stats().lastError());
        }
    }

    private static long hintBytes(long target, Entry e) {
        return LogFormat.encodedBytes(LogRecord.Hint.of(target, 0, e));
    }

    /** True if the store should call {@link #compact}. */
    boolean compactionDue() {
        if (closed) {
            return false;
        }
        if (lost) {
            return wal.state() == WriteAheadLog.State.OK;
        }
        return logBytes > Math.max(compactBytes, 2 * liveBytes);
    }

    /**
     * Rewrites the live hints into a new segment and deletes the older segments once it is forced, in the
     * background; called under the store's monitor with every hint it holds.
     */
    void compact(LiveHints live) {
        if (closed) {
            return;
        }
        Rewrite r = startRewrite(live);
        r.done.thenCombine(r.segment, (ignored, from) -> from).thenAcceptAsync(this::deleteBefore, deleter)
                .exceptionally(e -> {
                    // the log failed or closed before the rewrite was complete: the old segments stay
                    return null;
                });
    }

    /**
     * As {@link #compact}, but waits for the rewrite to be durable and the old segments to be deleted:
     * for {@link #open}'s caller, at a node's start, where blocking is allowed.
     */
    void rewrite(LiveHints live) {
        Rewrite r = startRewrite(live);
        try {
            r.done.get();
            deleteBefore(r.segment.get());
        } catch (ExecutionException e) {
            log.warn("Could not rewrite the hints log in {}: {}; its older segments stay", dir,
                    e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A rewrite queued: {@code segment} gives the segment it starts (every one before it is obsolete once
     * it is done), {@code done} completes once that segment is complete and forced.
     */
    private record Rewrite(CompletableFuture<Long> segment, CompletableFuture<Long> done) {
    }

    /** Queues a rotation, the live hints and a second rotation (which forces the segment they are in). */
    private Rewrite startRewrite(LiveHints live) {
        compactions++;
        lost = false;
        CompletableFuture<Long> segment = wal.rotate();
        long[] bytes = {0};
        live.forEach((target, entry, storedAtMillis) -> {
            LogRecord.Hint h = LogRecord.Hint.of(target, storedAtMillis, entry);
            bytes[0] += LogFormat.encodedBytes(h);
            if (wal.append(h).isCompletedExceptionally()) {
                lost = true;
            }
        });
        logBytes = bytes[0];
        liveBytes = bytes[0];
        return new Rewrite(segment, wal.rotate());
    }

    private void deleteBefore(long sequence) {
        try {
            wal.deleteSegmentsBefore(sequence);
        } catch (IOException e) {
            log.warn("Could not delete the hints log's segments before {} in {}: {}", sequence, dir, e.getMessage());
        }
    }

    /** Bytes appended since the last compaction (the rewrite included). */
    long logBytes() {
        return logBytes;
    }

    /** Encoded bytes of the live hints' records. */
    long liveBytes() {
        return liveBytes;
    }

    long compactions() {
        return compactions;
    }

    WriteAheadLog.Stats walStats() {
        return wal.stats();
    }

    /** Stops appending (called under the store's monitor); {@link #close()} follows outside it. */
    void stop() {
        closed = true;
    }

    /**
     * Writes and forces what is queued, closes the log and waits (at most 10 s) for the deletion of
     * segments a compaction made obsolete.
     */
    @Override
    public void close() {
        wal.close();
        deleter.shutdown();
        try {
            if (!deleter.awaitTermination(10, TimeUnit.SECONDS)) {
                log.warn("Gave up waiting for the hints log's old segments to be deleted in {}", dir);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A record of the engine's log found in the hints directory. */
    private static final class ForeignRecordException extends RuntimeException {
        ForeignRecordException(String what) {
            super(what, null, false, false);
        }
    }

    /** The store's rules applied to the records replayed: newest entry per (target, key), removal by version. */
    private static final class Replay {
        private final Map<Long, LinkedHashMap<Key, Recovered>> targets = new HashMap<>();

        void apply(LogRecord record) {
            if (record instanceof LogRecord.Hint h) {
                Entry e = h.write().toEntry();
                LinkedHashMap<Key, Recovered> hints = targets.computeIfAbsent(h.target(), t -> new LinkedHashMap<>());
                Recovered held = hints.get(e.key());
                if (held == null || e.newerThan(held.entry())) {
                    hints.remove(e.key());
                    hints.put(e.key(), new Recovered(h.target(), e, h.storedAtMillis()));
                }
            } else if (record instanceof LogRecord.HintDone d) {
                LinkedHashMap<Key, Recovered> hints = targets.get(d.target());
                if (hints != null) {
                    Key key = Key.of(d.key());
                    Recovered held = hints.get(key);
                    if (held != null && held.entry().hlc() == d.version().hlc()
                            && held.entry().nodeId() == d.version().nodeId()) {
                        hints.remove(key);
                    }
                }
            } else {
                throw new ForeignRecordException(record instanceof LogRecord.Write ? "entries" : "flushes");
            }
        }

        List<Recovered> hints() {
            List<Recovered> out = new ArrayList<>();
            targets.values().forEach(hints -> out.addAll(hints.values()));
            // oldest first across targets, so that bounds smaller than the log keep the oldest; stable, so
            // each target's order stays its log order where the wall clock stood still or stepped back
            out.sort(java.util.Comparator.comparingLong(Recovered::storedAtMillis));
            return out;
        }
    }
}
