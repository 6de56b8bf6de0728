package io.trelliskv.replication;

import io.trelliskv.common.Clock;
import io.trelliskv.common.DaemonThreads;
import io.trelliskv.storage.Entry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Delivers the hints of a {@link HintStore} to their targets once those are alive again.
 *
 * <h2>Ticks and batches</h2>
 * {@link #tick()} runs every {@link #TICK_MILLIS} ms on one daemon thread ({@link #start()}) while the store holds
 * hints, or from a test with a manual clock. It drops expired hints, then replays to every target that has hints, is
 * alive (per {@link Liveness}), is not backing off and has no batch in flight: it takes the oldest
 * hints ({@link HintStore#next}), at most {@link HintConfig#replayBatch()} and at most what the
 * target's {@link RateLimiter} grants, and writes them with {@link ReplicaTransport#write}. A target
 * has at most one batch in flight, so a slow replica is not sent more than it has answered. When a
 * batch succeeds, the next one is sent right away, from the thread that completed it, while the rate
 * allows; otherwise the next tick resumes. Without that a target would get one batch per tick, which
 * caps replay at {@code replayBatch * 1000 / TICK_MILLIS} hints per second whatever the rate says.
 *
 * <h2>Rate</h2>
 * Each target has its own bucket of {@link HintConfig#replayRatePerSecond()} that saves up at most one
 * tick's worth of permits (and at least one batch), so replay to a target keeps to the rate over any
 * interval of a tick or more, and the saved permits are used up within one tick. The bucket starts
 * empty when a tick first sees hints for the target, alive or not, and fills while the target is down,
 * so replay starts at the first tick that finds it alive; it is forgotten when the target has no more
 * hints.
 *
 * <h2>Outcomes</h2>
 * A success removes the delivered hints ({@link HintStore#acknowledged}); a newer hint stored for the
 * same key meanwhile stays. A {@link ReplicaRefusedException} means the replica applied nothing and
 * would refuse the batch again: the hints are discarded ({@link HintStore#discard}) with one WARN line.
 * Any other failure (timeout, I/O) keeps the hints and backs the target off for
 * {@link #backoffMillis} (1 s, doubling to 30 s; reset by a success or a refusal), with one WARN line
 * per failure, so at most one per back-off period.
 */
public final class HintReplayer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HintReplayer.class);

    /** Period of {@link #tick()} once started. */
    public static final long TICK_MILLIS = 100;
    /** Back-off after a target's first failure in a row; doubles with each further one. */
    static final long INITIAL_BACKOFF_MILLIS = 1_000;
    /** Longest back-off, reached after six failures in a row. */
    static final long MAX_BACKOFF_MILLIS = 30_000;

    private final HintStore store;
    private final ReplicaTransport transport;
    private final Liveness liveness;
    private final HintConfig config;
    private final Clock clock;

    /** Guards {@link #targets} and every {@link TargetState}. */
    private final Object lock = new Object();
    /** Replay state of each target that has hints, or has a batch in flight. */
    private final Map<Long, TargetState> targets = new HashMap<>();
    /** Created by {@link #start()}; guarded by {@link #lock}. */
    private ScheduledExecutorService executor;
    private volatile boolean closed;
    /** A tick is scheduled or running; false while the replayer sleeps ({@link #start()}). */
    private final AtomicBoolean scheduled = new AtomicBoolean();
    /** Scheduled ticks run so far. */
    private final AtomicLong ticks = new AtomicLong();

    private final AtomicLong batchesSent = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();

    public HintReplayer(HintStore store, ReplicaTransport transport, Liveness liveness, HintConfig config,
                        Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.liveness = Objects.requireNonNull(liveness, "liveness");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Runs {@link #tick()} every {@link #TICK_MILLIS} ms on a daemon thread named "trellis-hints" while the store
     * holds hints. A tick that leaves none schedules no next one: the replayer sleeps until the store tells it of
     * a new hint ({@link HintStore#onFirstHint}), so an idle node's thread does not wake ten times a second to find
     * nothing (a batch in flight keeps its hints in the store until acknowledged, so it keeps the ticks going).
     */
    public void start() {
        // Told before the first tick can run: a hint stored after that tick found none must wake it.
        store.onFirstHint(this::wake);
        synchronized (lock) {
            if (closed || executor != null) {
                throw new IllegalStateException(closed ? "closed" : "already started");
            }
            executor = Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("trellis-hints"));
            scheduled.set(true); // the first tick looks at whatever the store loaded
            scheduleTick();
        }
    }

    /** A hint was stored while none was held: schedules a tick unless one is scheduled or running. */
    private void wake() {
        if (scheduled.compareAndSet(false, true)) {
            synchronized (lock) {
                scheduleTick();
            }
        }
    }

    /** Under {@link #lock}: the next tick in {@link #TICK_MILLIS} ms, unless closed. */
    private void scheduleTick() {
        if (closed || executor == null) {
            return;
        }
        try {
            executor.schedule(this::tickThenNext, TICK_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    /**
     * A scheduled tick, then the next one while hints are held. Before sleeping it looks once more: a hint stored
     * between its look and {@link #scheduled} turning false found a tick still scheduled and did not wake it.
     */
    private void tickThenNext() {
        ticks.incrementAndGet();
        tick();
        if (store.pending() > 0) {
            synchronized (lock) {
                scheduleTick();
            }
            return;
        }
        scheduled.set(false);
        if (store.pending() > 0) {
            wake();
        }
    }

    /** Scheduled ticks run so far; for tests. */
    long ticks() {
        return ticks.get();
    }

    /** Whether a tick is scheduled or running; false while the replayer sleeps. For tests. */
    boolean awake() {
        return scheduled.get();
    }

    /**
     * Stops the ticks; no batch is sent afterwards. Batches in flight still remove their hints when
     * they succeed.
     */
    @Override
    public void close() {
        ScheduledExecutorService e;
        synchronized (lock) {
            closed = true;
            e = executor;
        }
        if (e != null) {
            e.shutdownNow();
        }
    }

    /** One round of replay (see the class comment). Never throws: failures are logged. */
    public void tick() {
        try {
            store.expire();
            Set<Long> withHints = store.pendingByTarget().keySet();
            synchronized (lock) {
                targets.entrySet().removeIf(e -> !e.getValue().inFlight && !withHints.contains(e.getKey()));
                for (long target : withHints) {
                    targets.computeIfAbsent(target, t -> new TargetState(
                            new RateLimiter(config.replayRatePerSecond(), burst(config), clock)));
                }
            }
            for (long target : withHints) {
                replaySafely(target);
            }
        } catch (RuntimeException e) {
            log.warn("Hint replay round failed", e);
        }
    }

    /** Batches written to targets, whatever their outcome. */
    public long batchesSent() {
        return batchesSent.get();
    }

    /** Batches that failed other than by refusal (each started or extended a back-off). */
    public long failures() {
        return failures.get();
    }

    /**
     * Back-off after {@code consecutiveFailures} (>= 1) failures in a row, ms: 1 s, doubling, at most
     * 30 s.
     */
    static long backoffMillis(int consecutiveFailures) {
        int doublings = Math.max(0, consecutiveFailures - 1);
        if (doublings >= Long.numberOfLeadingZeros(INITIAL_BACKOFF_MILLIS) - 1) {
            return MAX_BACKOFF_MILLIS;
        }
        return Math.min(MAX_BACKOFF_MILLIS, INITIAL_BACKOFF_MILLIS << doublings);
    }

    /** Most permits a target's bucket saves: one tick at the configured rate, and at least one batch. */
    static long burst(HintConfig config) {
        long perTick = (config.replayRatePerSecond() * TICK_MILLIS + 999) / 1000;
        return Math.max(config.replayBatch(), perTick);
    }

    private void replaySafely(long target) {
        try {
            replay(target);
        } catch (RuntimeException e) {
            log.warn("Hint replay to {} failed", Long.toHexString(target), e);
        }
    }

    /**
     * Sends {@code target} batches while it is alive, not backing off, has no batch in flight and the
     * rate allows. Batches that complete at once are handled in this loop, so a transport that answers
     * synchronously does not recurse; one that answers later continues from its completion.
     */
    private void replay(long target) {
        while (!closed && liveness.isAlive(target)) {
            TargetState state;
            List<Entry> batch;
            synchronized (lock) {
                state = targets.get(target);
                if (state == null || state.inFlight || state.backingOff(clock.nanos())) {
                    return;
                }
                List<Entry> oldest = store.next(target, config.replayBatch());
                int permits = oldest.isEmpty() ? 0 : state.limiter.tryAcquireUpTo(oldest.size());
                if (permits == 0) {
                    return;
                }
                batch = List.copyOf(oldest.subList(0, permits));
                state.inFlight = true;
            }
            batchesSent.incrementAndGet();
            CompletableFuture<Void> reply;
            try {
                reply = Objects.requireNonNull(transport.write(target, batch), "transport returned no future");
            } catch (RuntimeException e) {
                reply = CompletableFuture.failedFuture(e);
            }
            if (!reply.isDone()) {
                TargetState sent = state;
                reply.whenComplete((ignored, error) -> {
                    try {
                        completed(target, sent, batch, error);
                    } catch (RuntimeException e) {
                        log.warn("Hint replay to {} failed", Long.toHexString(target), e);
                    }
                    replaySafely(target);
                });
                return;
            }
            completed(target, state, batch, failureOf(reply));
        }
    }

    private static Throwable failureOf(CompletableFuture<Void> done) {
        try {
            done.join();
            return null;
        } catch (CompletionException | CancellationException e) {
            return e;
        }
    }

    private void completed(long target, TargetState state, List<Entry> batch, Throwable error) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        boolean failed = false;
        try {
            if (cause == null) {
                store.acknowledged(target, batch);
            } else if (cause instanceof ReplicaRefusedException refused) {
                store.discard(target, batch);
                log.warn("Node {} refused {} hints; discarded them: {}", Long.toHexString(target), batch.size(),
                        refused.getMessage());
            } else {
                failed = true;
            }
        } finally {
            long backoff = 0;
            synchronized (lock) {
                state.inFlight = false;
                if (failed) {
                    state.consecutiveFailures++;
                    backoff = backoffMillis(state.consecutiveFailures);
                    state.retryAtNanos = clock.nanos() + TimeUnit.MILLISECONDS.toNanos(backoff);
                } else {
                    state.consecutiveFailures = 0;
                }
            }
            if (failed) {
                failures.incrementAndGet();
                log.warn("Hint replay to {} failed ({}); {} hints pending, retrying in {} ms",
                        Long.toHexString(target), cause, store.pending(target), backoff);
            }
        }
    }

    /** One target's replay state; guarded by {@link #lock}. */
    private static final class TargetState {
        final RateLimiter limiter;
        /** A batch has been written and has not completed yet. */
        boolean inFlight;
        /** Failures (other than refusals) since the last success or refusal. */
        int consecutiveFailures;
        /** While {@link #consecutiveFailures} > 0, monotonic time before which nothing is sent. */
        long retryAtNanos;

        TargetState(RateLimiter limiter) {
            this.limiter = limiter;
        }

        boolean backingOff(long nowNanos) {
            return consecutiveFailures > 0 && nowNanos - retryAtNanos < 0;
        }
    }
}
