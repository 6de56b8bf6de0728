package io.trelliskv.repair;

import io.trelliskv.common.Clock;
import io.trelliskv.replication.Liveness;
import io.trelliskv.replication.RateLimiter;
import io.trelliskv.replication.ReplicaService;
import io.trelliskv.ring.TokenRange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

/**
 * One streaming job: copies a list of token ranges between this node and peers, batch by batch, for a
 * bootstrap (pull the ranges this node will own), a decommission (push this node's ranges to their new
 * owners) or a removal (pull the ranges that lost a replica).
 *
 * <h2>Batches and cursors</h2>
 * Each range is copied in batches of about {@link #BATCH_BYTES} ({@link RangeReader}); a batch moves the
 * range's cursor (a token) forward, and the range is done when the cursor reaches its end. A batch is
 * either applied on the receiving side through {@link ReplicaService#apply} (last-writer-wins, the
 * clock-drift check) or not at all, so a failure at any point loses nothing and repeats at most one
 * batch. The {@link Transfer} says which way a batch goes: pulled from a peer and applied here, or read
 * here and written to a peer.
 *
 * <h2>Failures, resumption, cancellation</h2>
 * A range tries its peers in order (live ones only); a failed batch moves on to the next peer from the
 * same cursor. A pass that leaves ranges undone is followed, after a backoff of 1 s doubling to 30 s,
 * by another, until every range is done. Ranges done and cursors reached are kept, so neither a failure
 * nor {@link #cancel()} followed by {@link #run()} again redoes finished work. Cancellation is checked
 * between batches.
 *
 * <h2>Throughput</h2>
 * A token bucket of bytes ({@code bytesPerSecond}, 0 = unlimited) paces batches: after each batch the
 * stream waits until the bucket has paid for its bytes, so over any stretch the stream moves at most
 * the rate plus one batch.
 *
 * <p>{@link #run()} blocks; it runs on the node's streaming thread. Progress counters are read from any
 * thread.
 */
public final class RangeStream {

    private static final Logger log = LoggerFactory.getLogger(RangeStream.class);

    /** Target size of one batch, in encoded bytes. */
    public static final int BATCH_BYTES = 1 << 20;
    private static final long FIRST_BACKOFF_NANOS = 1_000_000_000L;
    private static final long MAX_BACKOFF_NANOS = 30_000_000_000L;

    /** Moves one batch of a range between this node and {@code peer}. */
    @FunctionalInterface
    public interface Transfer {
        /** Copies the entries of {@code (cursor, range.end]} up to about {@code maxBytes}; blocks; throws on failure. */
        StreamCodec.Batch batch(long peer, TokenRange range, long cursor, int maxBytes) throws Exception;
    }

    /** What the stream is for; named in status and logs. */
    public enum Kind {
        BOOTSTRAP("bootstrap", "from"), DECOMMISSION("decommission", "to"), RESTORE("restore", "from");

        public final String label;
        /** "from" for pulls, "to" for pushes. */
        public final String direction;

        Kind(String label, String direction) {
            this.label = label;
            this.direction = direction;
        }
    }

    public enum State { RUNNING, PAUSED, CANCELLED, DONE }

    /** One range to copy and the peers to copy it with, in preference order. */
    private static final class Task {
        final TokenRange range;
        final List<Long> peers;
        long cursor;
        boolean done;

        Task(TokenRange range, List<Long> peers) {
            this.range = range;
            this.peers = List.copyOf(peers);
            this.cursor = range.start();
        }
    }

    private final Kind kind;
    private final List<Task> tasks = new ArrayList<>();
    private final Transfer transfer;
    private final Liveness liveness;
    private final RateLimiter limiter;
    private final long bytesPerSecond;
    private final ScanPacer.Sleeper sleeper;
    private final Clock clock;
    private final LongFunction<String> describe;
    private final CompletableFuture<Void> finished = new CompletableFuture<>();
    private final AtomicLong keys = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final long startedNanos;
    private volatile int rangesDone;
    private volatile boolean cancelled;
    private volatile State state = State.PAUSED;
    private volatile String lastError;
    private volatile long finishedNanos;

    /**
     * @param ranges         the ranges, each with its peers in preference order; a whole-ring range is split in two
     * @param bytesPerSecond most bytes per second, 0 for no limit
     * @param describe       names a peer for logs and status
     */
    public RangeStream(Kind kind, List<Assignment> ranges, Transfer transfer, Liveness liveness, long bytesPerSecond,
                       Clock clock, ScanPacer.Sleeper sleeper, LongFunction<String> describe) {
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException("bytesPerSecond: " + bytesPerSecond + " (expected: >= 0)");
        }
        this.kind = kind;
        for (Assignment a : ranges) {
            if (a.range().isFullRing()) {
                long half = a.range().start() + Long.MIN_VALUE; // + 2^63, wrapping
                tasks.add(new Task(new TokenRange(a.range().start(), half), a.peers()));
                tasks.add(new Task(new TokenRange(half, a.range().end()), a.peers()));
            } else {
                tasks.add(new Task(a.range(), a.peers()));
            }
        }
        this.transfer = Objects.requireNonNull(transfer, "transfer");
        this.liveness = liveness;
        this.bytesPerSecond = bytesPerSecond;
        this.limiter = bytesPerSecond == 0 ? null
                : new RateLimiter(bytesPerSecond, Math.min(bytesPerSecond, 8_000_000), clock);
        this.clock = clock;
        this.sleeper = sleeper;
        this.describe = describe;
        this.startedNanos = clock.nanos();
    }

    /** A range and the peers to stream it with. */
    public record Assignment(TokenRange range, List<Long> peers) {
        public Assignment {
            peers = List.copyOf(peers);
        }
    }

    /**
     * Copies every range not yet done; returns when all are done (the {@link #finished()} future
     * completes) or the stream was cancelled. Safe to call again after a cancel: it resumes.
     */
    public void run() {
        cancelled = false;
        state = State.RUNNING;
        long backoff = FIRST_BACKOFF_NANOS;
        try {
            while (!cancelled) {
                boolean allDone = true;
                for (Task t : tasks) {
                    if (cancelled) {
                        break;
                    }
                    if (!t.done && !copy(t)) {
                        allDone = false;
                    }
                }
                if (allDone && !cancelled) {
                    state = State.DONE;
                    finishedNanos = clock.nanos();
                    finished.complete(null);
                    return;
                }
                if (!cancelled) {
                    sleeper.sleepNanos(backoff);
                    backoff = Math.min(MAX_BACKOFF_NANOS, backoff * 2);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        state = State.CANCELLED;
    }

    /** Asks a running stream to stop after its current batch; {@link #run()} resumes it. */
    public void cancel() {
        cancelled = true;
        if (state != State.DONE && state != State.RUNNING) {
            state = State.CANCELLED;
        }
    }

    /** Copies one range to its end; false if every peer failed (or none is live) or the stream was cancelled. */
    private boolean copy(Task t) throws InterruptedException {
        for (long peer : t.peers) {
            if (liveness != null && !liveness.isAlive(peer)) {
                continue;
            }
            try {
                while (!t.done) {
                    if (cancelled) {
                        return false;
                    }
                    StreamCodec.Batch b = transfer.batch(peer, t.range, t.cursor, BATCH_BYTES);
                    keys.addAndGet(b.entries().size());
                    bytes.addAndGet(b.bytes());
                    t.cursor = b.next();
                    if (b.done()) {
                        t.done = true;
                        rangesDone++;
                    }
                    pay(b.bytes());
                }
                return true;
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                failures.incrementAndGet();
                lastError = describe.apply(peer) + ": " + e;
                log.warn("Streaming range {} {} {} failed at token {} ({}); trying the next replica or again later",
                        t.range, kind.direction, describe.apply(peer), t.cursor, e.toString());
            }
        }
        return false;
    }

    /** Waits until the bucket has paid for {@code n} bytes. */
    private void pay(long n) throws InterruptedException {
        if (limiter == null) {
            return;
        }
        long owed = n;
        while (owed > 0) {
            owed -= limiter.tryAcquireUpTo((int) Math.min(owed, Integer.MAX_VALUE));
            if (owed > 0) {
                sleeper.sleepNanos(Math.max(1_000_000, (long) (Math.min(owed, 8_000_000) * 1e9 / bytesPerSecond)));
            }
        }
    }

    /** Completes when every range is done. */
    public CompletableFuture<Void> finished() {
        return finished;
    }

    public Kind kind() {
        return kind;
    }

    /** Progress, for status and tests. */
    public record Progress(Kind kind, State state, int rangesDone, int rangesTotal, long keys, long bytes,
                           long failures, long elapsedMillis, String lastError, List<String> peers) {
    }

    public Progress progress() {
        long end = state == State.DONE ? finishedNanos : clock.nanos();
        List<String> peers = new ArrayList<>();
        for (Task t : tasks) {
            for (long p : t.peers) {
                String d = describe.apply(p);
                if (!peers.contains(d)) {
                    peers.add(d);
                }
            }
        }
        return new Progress(kind, state, rangesDone, tasks.size(), keys.get(), bytes.get(), failures.get(),
                (end - startedNanos) / 1_000_000, lastError, peers);
    }
}
