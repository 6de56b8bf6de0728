package io.trelliskv.persist;

import io.trelliskv.common.Clock;
import io.trelliskv.common.DaemonThreads;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The write-ahead log: every write the engine applies, appended as a {@link LogRecord} to segment files
 * in the {@link LogFormat}, so that a restart can replay them ({@link Recovery}).
 *
 * <h2>Appending without blocking</h2>
 * Callers are event loops, which must never wait for a disk. {@link #append} encodes the record on the
 * caller's thread, queues the bytes and returns a future at once; one writer thread, {@code trellis-wal},
 * does all the I/O. The future completes when the record is durable in the configured sense
 * ({@link AppendFsync}): under {@code always} once it has been forced to stable storage, under
 * {@code everysec} and {@code no} once the OS has it. A replica acknowledges a write, and a coordinator
 * counts it towards W, when the future completes. The futures complete on the writer thread, so what
 * depends on them must be short or hand itself back to its own thread (as a deferred reply does).
 *
 * <h2>Group commit</h2>
 * The writer takes everything queued at once, writes it with one {@code write} and, under {@code always},
 * forces once for the whole batch. While a force runs (milliseconds on a disk without a write cache),
 * the next appends queue up and go together in the next batch: the number of forces follows the disk's
 * speed, not the number of writes, and the more concurrent writers there are the more each force
 * carries. This is the group commit of databases since the 1980s (and of PostgreSQL's WAL writer and
 * MySQL's binlog), rather than Redis's, whose single thread forces once per event-loop iteration before
 * replying — the same effect for a server that runs all commands on one thread.
 *
 * <h2>Policies</h2>
 * Under {@code everysec} the writer forces at least once per {@link WalConfig#syncIntervalMillis} while
 * it has unforced bytes, waking up for it if no write comes; a crash loses at most that much of the
 * acknowledged writes (on this node; the other replicas still hold them). Under {@code no} it forces only
 * when a segment is closed (so that only the last segment can end torn, which {@link Recovery} relies
 * on) and on {@link #close()}.
 *
 * <h2>Segments</h2>
 * The log is a sequence of files {@code log-<n>.tkl}, each starting with a header that names its sequence.
 * Once a segment holds {@link WalConfig#segmentBytes}, the next batch starts a new one: created, given its
 * header, forced and its directory entry made durable before the old one is forced and closed. Opening a
 * log always starts a new segment after the ones {@link Recovery} found, so a file is only ever appended
 * to by the process that created it. {@link #rotate()} starts a new segment on request, for a snapshot,
 * which then covers every segment before it; {@link #deleteSegmentsBefore} removes those once no
 * snapshot that may still be needed lies before them ({@link Snapshots#prune}).
 *
 * <h2>Failures</h2>
 * A write or force that fails (an I/O error, a full disk) puts the log in the {@link State#FAILED} state:
 * <ul>
 *   <li>the file is cut back to where the failed batch started, so no half batch stays on disk;</li>
 *   <li>the batch's futures and every queued append fail with a {@link LogWriteFailedException} whose text
 *       is Redis's {@code MISCONF} error for the case, and new appends fail at once with it; the node checks
 *       {@link #checkWritable()} before applying a write, as Redis refuses writes while its AOF cannot be
 *       written, and reads go on;</li>
 *   <li>the bytes of the failed appends are kept, and so are the records {@link #write} gets while FAILED
 *       (what the engine stores without the request path's check: repair, streams): the engine had already
 *       applied them, and a client told
 *       "error" may or may not have had its write applied, as with any error reply of a distributed store.
 *       Every {@link WalConfig#retryMillis} the writer cuts the file back, writes them again and forces; once
 *       that succeeds the log is {@link State#OK} again and takes appends, and the disk holds everything the
 *       engine does.</li>
 * </ul>
 * A failed periodic force under {@code everysec} fails no append (they were acknowledged when written);
 * it makes the state FAILED until a force succeeds. {@link #stats()} has the state, the last error and the
 * counters INFO shows (bytes, records, batches, forces and their latency, errors).
 *
 * <h2>Threads</h2>
 * The queue, the state and the stop flag are guarded by {@link #lock}; the writer holds it only to take
 * the queue and to change state, never during I/O, so an append waits at most for a queue swap. The
 * channel, the segment and the retry bytes belong to the writer thread alone. Counters are written by the
 * writer only and read by anyone (volatile).
 */
public final class WriteAheadLog implements AutoCloseable {

    /** Whether the log takes appends. */
    public enum State {
        /** Appends are written. */
        OK,
        /** The last write or force failed; appends are refused until a retry succeeds. */
        FAILED,
        /** {@link #close()} was called. */
        CLOSED
    }

    /**
     * The log's figures, for INFO.
     *
     * @param state           whether the log takes appends
     * @param lastError       the last write error's text, or null if none happened
     * @param bytesWritten    bytes of records written since opening
     * @param recordsWritten  records written since opening
     * @param batches         writes (group commits) done
     * @param forces          forces (fsyncs) done
     * @param lastForceMicros duration of the last force
     * @param maxForceMicros  longest force
     * @param totalForceMicros all forces together (the mean is this over {@link #forces})
     * @param writeErrors     writes or forces that failed, retries included
     * @param segment         the sequence of the segment being written
     * @param segmentBytes    its size
     */
    public record Stats(State state, String lastError, long bytesWritten, long recordsWritten, long batches,
                        long forces, long lastForceMicros, long maxForceMicros, long totalForceMicros,
                        long writeErrors, long segment, long segmentBytes) {
    }

    /**
     * A queued append (bytes; {@code done} null when nobody waits for it), barrier (no bytes) or rotation
     * request (bytes null).
     */
    private record Pending(byte[] bytes, CompletableFuture<?> done) {
        void complete() {
            if (done != null) {
                done.complete(null);
            }
        }

        void fail(Throwable error) {
            if (done != null) {
                done.completeExceptionally(error);
            }
        }
    }

    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    private final Path dir;
    private final WalConfig config;
    private final Clock clock;
    private final Thread writer;

    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when something is queued or the log is closing. */
    private final Condition wake = lock.newCondition();
    /** Appends and rotations not yet taken by the writer; guarded by {@link #lock}. */
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** Guarded by {@link #lock}; also read without it for {@link #state()}. */
    private volatile State state = State.OK;
    /** The error appends are refused with while FAILED; guarded by {@link #lock}. */
    private LogWriteFailedException failure;
    private boolean closing;
    /** Whether the writer waits for work; an append wakes it only then. Guarded by {@link #lock}. */
    private boolean idle;
    /** Whether the writer is writing a batch it took; guarded by {@link #lock}. */
    private boolean writing;
    /**
     * What every {@link #barrier()} since the writer last took the queue waits for: the end of the next
     * batch, which holds everything queued before them. One future for all of them; guarded by {@link #lock}.
     */
    private CompletableFuture<Void> nextBarrier;
    /** Bytes queued and not yet taken by the writer; written under {@link #lock}, read by anyone. */
    private volatile long queuedBytes;

    // the writer thread's own
    private LogChannel channel;
    private long segment;
    /** Bytes of the current segment known to be whole: where a failed batch is cut back to. */
    private long segmentSize;
    /**
     * Under {@code always}: how far the current segment is preallocated on disk ({@link LogChannel#preallocate}),
     * from {@link #segmentSize} on; never less than it.
     */
    private long preallocated;
    /** Written since the last force. */
    private boolean dirty;
    private long lastForceNanos;
    private long retryAtNanos;
    /** The appends that failed, to write again once the disk takes them: bytes, in order. */
    private final List<byte[]> retry = new ArrayList<>();
    /**
     * Where a batch is gathered for its one write; grows to the largest batch. Direct: the channel would copy
     * a heap buffer into a temporary direct one at every write.
     */
    private ByteBuffer scratch = ByteBuffer.allocateDirect(1 << 16);

    // counters: written by the writer thread only
    private volatile long bytesWritten;
    private volatile long recordsWritten;
    private volatile long batches;
    private volatile long forces;
    private volatile long lastForceMicros;
    private volatile long maxForceMicros;
    private volatile long totalForceMicros;
    private volatile long writeErrors;
    private volatile String lastError;
    private volatile long currentSegment;
    private volatile long currentSegmentBytes;

    private WriteAheadLog(Path dir, WalConfig config, Clock clock, long firstSegment) throws IOException {
        this.dir = dir;
        this.config = config;
        this.clock = clock;
        openSegment(firstSegment);
        lastForceNanos = clock.nanos();
        this.writer = DaemonThreads.start("trellis-wal", this::run);
    }

    /**
     * Opens the log in {@code dir} after recovery: a new segment follows the ones {@code recovered} found.
     * Recovery comes first so that a torn tail is cut off before another segment follows it.
     */
    public static WriteAheadLog open(Path dir, WalConfig config, Clock clock, Recovery.Report recovered)
            throws IOException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(clock, "clock");
        return new WriteAheadLog(dir, config, clock, recovered.nextSegment());
    }

    // ---- the callers' side ----

    /** Appends an entry the engine stored; the future completes when it is durable (see the class comment). */
    public CompletableFuture<Void> append(Entry entry) {
        return append(LogRecord.of(entry));
    }

    /** Appends a FLUSHALL at {@code floor}. */
    public CompletableFuture<Void> appendFlush(Version floor) {
        return append(new LogRecord.Flush(floor));
    }

    /**
     * Appends a record nobody waits for (the engine's writes: {@link #barrier()} waits for them together);
     * never blocks on the disk. While the log cannot write it is kept for the retry, like the appends that
     * failed: the engine has stored it (read repair, anti-entropy and streams merge whatever the log's
     * state, and a client's write may pass {@link #checkWritable()} just before a failure).
     */
    public void write(LogRecord record) {
        enqueue(new Pending(LogFormat.encode(record), null));
    }

    /**
     * A future that completes once every append queued before this call is durable in the configured
     * sense (see the class comment), or fails with the log's error; complete at once if the writer has
     * nothing outstanding.
     */
    public CompletableFuture<Void> barrier() {
        lock.lock();
        try {
            if (closing || state == State.CLOSED) {
                return CompletableFuture.failedFuture(
                        new LogWriteFailedException(LogWriteFailedException.misconf("the log is closed"), null));
            }
            if (state == State.FAILED) {
                return CompletableFuture.failedFuture(failure);
            }
            if (queue.isEmpty() && !writing && nextBarrier == null) {
                return DONE;
            }
            if (nextBarrier == null) {
                nextBarrier = new CompletableFuture<>();
                wake.signal();
            }
            return nextBarrier;
        } finally {
            lock.unlock();
        }
    }

    /** Appends a record; never blocks on the disk. */
    public CompletableFuture<Void> append(LogRecord record) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        enqueue(new Pending(LogFormat.encode(record), done));
        return done;
    }

    /**
     * Starts a new segment after every append queued before this call, unless the current one is still
     * empty; the future gives the new segment's sequence: the first a snapshot started now must replay.
     */
    public CompletableFuture<Long> rotate() {
        CompletableFuture<Long> done = new CompletableFuture<>();
        enqueue(new Pending(null, done));
        return done;
    }

    private void enqueue(Pending p) {
        LogWriteFailedException refused;
        lock.lock();
        try {
            if (!closing && (state == State.OK
                    || (state == State.FAILED && p.done == null && p.bytes != null && p.bytes.length > 0))) {
                queue.add(p); // while FAILED the writer moves it to the retry
                if (p.bytes != null) {
                    queuedBytes += p.bytes.length;
                }
                // A writer that is busy, or lingering, takes it in its next batch without being woken.
                if (idle || p.done != null || queuedBytes >= LINGER_MAX_BYTES) {
                    wake.signal();
                }
                return;
            }
            refused = state != State.FAILED
                    ? new LogWriteFailedException(LogWriteFailedException.misconf("the log is closed"), null)
                    : failure;
        } finally {
            lock.unlock();
        }
        p.fail(refused);
    }

    /** Throws the error writes are refused with while the log cannot write; returns if it can. */
    public void checkWritable() {
        if (state == State.OK) {
            return;
        }
        lock.lock();
        try {
            if (state == State.FAILED) {
                throw failure;
            }
            if (state == State.CLOSED) {
                throw new LogWriteFailedException(LogWriteFailedException.misconf("the log is closed"), null);
            }
        } finally {
            lock.unlock();
        }
    }

    public State state() {
        return state;
    }

    /** Bytes appended and not yet taken by the writer: how far the disk is behind. */
    public long queuedBytes() {
        return queuedBytes;
    }

    public Stats stats() {
        return new Stats(state, lastError, bytesWritten, recordsWritten, batches, forces, lastForceMicros,
                maxForceMicros, totalForceMicros, writeErrors, currentSegment, currentSegmentBytes);
    }

    /**
     * Deletes the segments before {@code sequence} (never the one being written), once a snapshot covers
     * them; returns how many were deleted.
     */
    public int deleteSegmentsBefore(long sequence) throws IOException {
        long limit = Math.min(sequence, currentSegment);
        int deleted = 0;
        for (Map.Entry<Long, Path> e : LogFiles.segments(dir).headMap(limit, false).entrySet()) {
            Files.deleteIfExists(e.getValue());
            deleted++;
        }
        if (deleted > 0) {
            config.channels().syncDirectory(dir);
        }
        return deleted;
    }

    /** Writes and forces what is queued, then stops the writer; later appends fail. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closing) {
                return;
            }
            closing = true;
            wake.signal();
        } finally {
            lock.unlock();
        }
        try {
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the writer thread ----

    private void run() {
        List<Pending> batch = new ArrayList<>();
        List<CompletableFuture<Void>> barriers = new ArrayList<>(2);
        while (true) {
            boolean stop;
            lock.lock();
            try {
                long wait;
                idle = true;
                while (queue.isEmpty() && nextBarrier == null && !closing && (wait = nanosUntilDue()) > 0) {
                    if (wait == Long.MAX_VALUE) {
                        wake.awaitUninterruptibly();
                    } else {
                        awaitNanos(wait);
                    }
                }
                idle = false;
                if (config.fsync() != AppendFsync.ALWAYS) {
                    linger();
                }
                take(batch, barriers);
                writing = !batch.isEmpty();
                stop = closing;
            } finally {
                lock.unlock();
            }
            if (!stop && !batch.isEmpty() && state == State.OK && config.fsync() == AppendFsync.ALWAYS) {
                gather(batch, barriers);
            }
            if (state == State.FAILED) {
                for (Pending p : batch) {
                    if (p.bytes != null && p.bytes.length > 0) {
                        retry.add(p.bytes); // a record written while FAILED: nobody waits for it
                    }
                    p.fail(failure());
                }
                if (stop || clock.nanos() - retryAtNanos >= 0) {
                    retry();
                }
            } else {
                writeBatch(batch);
                if (config.fsync() == AppendFsync.EVERYSEC && dirty
                        && clock.nanos() - lastForceNanos >= TimeUnit.MILLISECONDS.toNanos(config.syncIntervalMillis())) {
                    forceOrFail();
                }
            }
            LogWriteFailedException failed = state == State.OK ? null : failure();
            for (CompletableFuture<Void> b : barriers) {
                if (failed == null) {
                    b.complete(null);
                } else {
                    b.completeExceptionally(failed);
                }
            }
            barriers.clear();
            batch.clear();
            if (!stop) {
                preallocate();
            }
            lock.lock();
            try {
                writing = false;
            } finally {
                lock.unlock();
            }
            if (stop) {
                finish();
                return;
            }
        }
    }

    private void awaitNanos(long nanos) {
        try {
            wake.awaitNanos(nanos);
        } catch (InterruptedException e) {
            // a daemon nobody interrupts; go round
        }
    }

    /**
     * Under {@code everysec} and {@code no}, where nobody waits for a write to reach the OS: lets appends
     * gather for up to {@link #LINGER_NANOS} before writing them, so that a busy node makes about one
     * write call per millisecond rather than one per wake-up, and appends do not wake the writer meanwhile.
     * A barrier (back-pressure), a large queue, or closing cut it short. Caller holds {@link #lock}.
     */
    private void linger() {
        long until = System.nanoTime() + LINGER_NANOS; // real time, whatever clock the log is given
        long left;
        while (nextBarrier == null && !closing && queuedBytes < LINGER_MAX_BYTES && !queue.isEmpty()
                && (left = until - System.nanoTime()) > 0) {
            awaitNanos(left);
        }
    }

    /** How long {@link #linger} lets appends gather. */
    private static final long LINGER_NANOS = 1_000_000;
    /** Queued bytes that end a linger at once. */
    private static final long LINGER_MAX_BYTES = 1 << 20;

    /** Moves the queue and the waiting barrier into the writer's hands. Caller holds {@link #lock}. */
    private void take(List<Pending> batch, List<CompletableFuture<Void>> barriers) {
        batch.addAll(queue);
        queue.clear();
        queuedBytes = 0;
        if (nextBarrier != null) {
            barriers.add(nextBarrier);
            nextBarrier = null;
        }
    }

    /**
     * Under {@code always}, before forcing: while appends keep arriving, waits a little for more
     * ({@link #GATHER_STEP_NANOS} at a time, at most a quarter of the last force and
     * {@link #GATHER_MAX_NANOS}), so that the commands an event loop is still decoding from the same read
     * — a pipeline's rest, other clients' writes — share this force instead of waiting for the next one.
     * What a force costs (milliseconds on most disks) dwarfs the wait; at one writer, nothing arrives and
     * the wait is one step.
     */
    private void gather(List<Pending> batch, List<CompletableFuture<Void>> barriers) {
        long budget = Math.min(GATHER_MAX_NANOS, TimeUnit.MICROSECONDS.toNanos(lastForceMicros) / 4);
        for (long waited = 0; waited < budget; waited += GATHER_STEP_NANOS) {
            java.util.concurrent.locks.LockSupport.parkNanos(GATHER_STEP_NANOS);
            lock.lock();
            try {
                if (queue.isEmpty() || closing) {
                    return;
                }
                take(batch, barriers);
            } finally {
                lock.unlock();
            }
        }
    }

    /** One wait of {@link #gather}. */
    private static final long GATHER_STEP_NANOS = 50_000;
    /** The longest {@link #gather} waits in all. */
    private static final long GATHER_MAX_NANOS = 1_000_000;

    /**
     * Under {@code always}, once the batch's waiters are answered: keeps {@link #PREALLOCATE_AHEAD} or more
     * preallocated on disk ahead of the segment's end ({@link LogFormat#PREALLOCATED} bytes),
     * {@link #PREALLOCATE_STEP} at a time and never past the segment's limit, so that the forces that
     * acknowledge writes do not also journal a longer file. A failure only ends the preallocation for now:
     * the next write meets the disk's error, if it lasts.
     */
    private void preallocate() {
        if (config.fsync() != AppendFsync.ALWAYS || state != State.OK
                || preallocated - segmentSize >= PREALLOCATE_AHEAD || segmentSize >= config.segmentBytes()) {
            return;
        }
        long target = Math.min(segmentSize + PREALLOCATE_STEP, config.segmentBytes());
        try {
            channel.preallocate(target, LogFormat.PREALLOCATED);
            preallocated = Math.max(target, segmentSize);
        } catch (IOException e) {
            preallocated = segmentSize;
            try {
                channel.truncate(segmentSize); // no half-preallocated space past the end
            } catch (IOException ignored) {
                // the next write's failure handling cuts the file back again
            }
        }
    }

    /** Space kept preallocated ahead of the end under {@code always}. */
    static final long PREALLOCATE_AHEAD = 256 << 10;
    /** What one preallocation adds. */
    static final long PREALLOCATE_STEP = 1 << 20;

    /** Time until the writer has something to do without a new append: a periodic force or a retry. */
    private long nanosUntilDue() {
        if (state == State.FAILED) {
            return retryAtNanos - clock.nanos();
        }
        if (dirty && config.fsync() == AppendFsync.EVERYSEC) {
            return lastForceNanos + TimeUnit.MILLISECONDS.toNanos(config.syncIntervalMillis()) - clock.nanos();
        }
        return Long.MAX_VALUE;
    }

    /** Writes a batch, chunk by chunk between rotation requests. */
    private void writeBatch(List<Pending> batch) {
        int from = 0;
        for (int i = 0; i <= batch.size(); i++) {
            if (i < batch.size() && batch.get(i).bytes != null) {
                continue;
            }
            List<Pending> chunk = batch.subList(from, i);
            if (!chunk.isEmpty() && !writeChunk(chunk, batch.subList(i, batch.size()))) {
                return;
            }
            if (i < batch.size()) {
                @SuppressWarnings("unchecked")
                CompletableFuture<Long> done = (CompletableFuture<Long>) batch.get(i).done;
                try {
                    if (segmentSize > LogFormat.HEADER_BYTES) {
                        rotateSegment();
                    }
                    done.complete(segment);
                } catch (IOException e) {
                    failed(e, List.of(), batch.subList(i, batch.size()));
                    return;
                }
            }
            from = i + 1;
        }
    }

    /**
     * Writes the appends of one chunk in one go; false if it failed (the log is then FAILED, and
     * {@code rest}, the batch after the chunk, failed with it).
     */
    private boolean writeChunk(List<Pending> chunk, List<Pending> rest) {
        long good = segmentSize;
        try {
            if (segmentSize >= config.segmentBytes()) {
                rotateSegment();
                good = segmentSize;
            }
            long n = writeAll(chunk.stream().map(Pending::bytes).toList());
            segmentSize += n;
            currentSegmentBytes = segmentSize;
            dirty = true;
            if (config.fsync() == AppendFsync.ALWAYS) {
                force();
            }
            bytesWritten += n;
            recordsWritten += records(chunk);
            batches++;
        } catch (IOException e) {
            segmentSize = good;
            failed(e, chunk, rest);
            return false;
        }
        for (Pending p : chunk) {
            p.complete();
        }
        return true;
    }

    private static int records(List<Pending> chunk) {
        int n = 0;
        for (Pending p : chunk) {
            if (p.bytes.length > 0) {
                n++;
            }
        }
        return n;
    }

    private long writeAll(List<byte[]> records) throws IOException {
        long total = 0;
        for (byte[] r : records) {
            total += r.length;
        }
        ByteBuffer buf = scratch;
        if (buf.capacity() < total) {
            buf = ByteBuffer.allocateDirect((int) Math.min(Integer.MAX_VALUE - 8, Math.max(total, 2L * buf.capacity())));
            scratch = buf;
        }
        buf.clear();
        for (byte[] r : records) {
            buf.put(r);
        }
        buf.flip();
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
        return total;
    }

    private void force() throws IOException {
        long start = clock.nanos();
        channel.force();
        long micros = TimeUnit.NANOSECONDS.toMicros(clock.nanos() - start);
        lastForceNanos = clock.nanos();
        dirty = false;
        forces++;
        lastForceMicros = micros;
        totalForceMicros += micros;
        if (micros > maxForceMicros) {
            maxForceMicros = micros;
        }
    }

    /** The periodic force of {@code everysec}: appends are acknowledged already, so only the state changes. */
    private void forceOrFail() {
        try {
            force();
        } catch (IOException e) {
            failed(e, List.of(), List.of());
        }
    }

    /** Creates segment {@code sequence} with its header, durably, and makes it the current one. */
    private void openSegment(long sequence) throws IOException {
        Path path = LogFiles.segment(dir, sequence);
        LogChannel ch = config.channels().open(path);
        try {
            if (ch.size() != 0) {
                throw new IOException(path + " exists already (recovery must run before the log opens)");
            }
            ByteBuffer header = ByteBuffer.wrap(LogFormat.header(LogFormat.LOG_MAGIC, sequence));
            while (header.hasRemaining()) {
                ch.write(header);
            }
            ch.force();
            config.channels().syncDirectory(dir);
        } catch (IOException e) {
            try {
                ch.close();
                Files.deleteIfExists(path);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        channel = ch;
        segment = sequence;
        segmentSize = LogFormat.HEADER_BYTES;
        preallocated = segmentSize;
        currentSegment = sequence;
        currentSegmentBytes = segmentSize;
    }

    /**
     * Closes the current segment and starts the next. The current one is made final first, its preallocated
     * space cut off and what it holds forced, so that only the last segment can ever end in a torn write or
     * in preallocated space (what {@link Recovery} relies on); then its successor is created.
     */
    private void rotateSegment() throws IOException {
        LogChannel old = channel;
        if (preallocated > segmentSize) {
            old.truncate(segmentSize);
            preallocated = segmentSize;
            dirty = true; // the new length must reach the disk
        }
        if (dirty) {
            long start = clock.nanos();
            old.force();
            forces++;
            lastForceMicros = TimeUnit.NANOSECONDS.toMicros(clock.nanos() - start);
            dirty = false;
        }
        openSegment(segment + 1);
        old.close();
    }

    /**
     * A write or force failed: cut the file back to its last whole batch, keep the failed appends' bytes
     * for the retry — the chunk's, then the rest of its batch ({@code rest}), then the queue's, in the
     * order they were appended — refuse the queue and what comes, and retry later.
     */
    private void failed(IOException e, List<Pending> chunk, List<Pending> rest) {
        writeErrors++;
        String reason = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        lastError = reason;
        cutBack();
        for (Pending p : chunk) {
            if (p.bytes.length > 0) {
                retry.add(p.bytes);
            }
        }
        for (Pending p : rest) {
            if (p.bytes != null && p.bytes.length > 0) {
                retry.add(p.bytes);
            }
        }
        List<Pending> refused;
        LogWriteFailedException error = new LogWriteFailedException(LogWriteFailedException.misconf(reason), e);
        lock.lock();
        try {
            if (state != State.CLOSED) {
                state = State.FAILED;
            }
            failure = error;
            refused = new ArrayList<>(queue);
            queue.clear();
            queuedBytes = 0;
        } finally {
            lock.unlock();
        }
        retryAtNanos = clock.nanos() + TimeUnit.MILLISECONDS.toNanos(config.retryMillis());
        for (Pending p : refused) {
            if (p.bytes != null && p.bytes.length > 0) {
                retry.add(p.bytes);
            }
        }
        for (Pending p : chunk) {
            p.fail(error);
        }
        for (Pending p : rest) {
            p.fail(error);
        }
        for (Pending p : refused) {
            p.fail(error);
        }
    }

    private LogWriteFailedException failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    /** Cuts the current segment back to its last whole batch; a failure here is retried with the rest. */
    private void cutBack() {
        try {
            if (channel.size() != segmentSize || preallocated > segmentSize) {
                channel.truncate(segmentSize);
                preallocated = segmentSize;
            }
        } catch (IOException e) {
            lastError = lastError + "; cutting back: " + e.getMessage();
        }
    }

    /** Writes the failed appends again and forces; back to OK if that works. */
    private void retry() {
        long good = segmentSize;
        try {
            if (channel.size() != segmentSize) {
                channel.truncate(segmentSize);
            }
            long n = writeAll(retry);
            segmentSize += n;
            currentSegmentBytes = segmentSize;
            force();
            bytesWritten += n;
            recordsWritten += retry.size();
            batches++;
            retry.clear();
        } catch (IOException e) {
            writeErrors++;
            lastError = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
            segmentSize = good;
            cutBack();
            retryAtNanos = clock.nanos() + TimeUnit.MILLISECONDS.toNanos(config.retryMillis());
            return;
        }
        lock.lock();
        try {
            if (state == State.FAILED) {
                state = State.OK;
            }
            failure = null;
        } finally {
            lock.unlock();
        }
    }

    /** On close: force what was written, close the file, refuse what comes. */
    private void finish() {
        try {
            if (preallocated > segmentSize && state == State.OK) {
                channel.truncate(segmentSize); // a log closed in good order ends where its records end
                preallocated = segmentSize;
                dirty = true;
            }
            if (dirty) {
                force();
            }
        } catch (IOException e) {
            writeErrors++;
            lastError = e.getMessage();
        }
        try {
            channel.close();
        } catch (IOException e) {
            lastError = e.getMessage();
        }
        List<Pending> refused;
        lock.lock();
        try {
            state = State.CLOSED;
            refused = new ArrayList<>(queue);
            queue.clear();
            queuedBytes = 0;
            if (nextBarrier != null) {
                refused.add(new Pending(null, nextBarrier));
                nextBarrier = null;
            }
        } finally {
            lock.unlock();
        }
        LogWriteFailedException closed = new LogWriteFailedException(
                LogWriteFailedException.misconf("the log is closed"), null);
        for (Pending p : refused) {
            p.fail(closed);
        }
    }
}
