package io.trelliskv.repair;

import io.trelliskv.common.Clock;

import java.util.Objects;

/**
 * Keeps background scanning to a share of one core: after each step of work the caller reports how
 * long it took, and the pacer sleeps so that work / (work + sleep) stays at {@code cpuFraction}. Sleep
 * owed below a millisecond is carried over rather than slept, so short steps are not slowed by the
 * sleep granularity. At a fraction of 1 it never sleeps.
 */
public final class ScanPacer {

    /** How the pacer waits; tests pass one that records instead of sleeping. */
    @FunctionalInterface
    public interface Sleeper {
        void sleepNanos(long nanos) throws InterruptedException;
    }

    /** Smallest sleep taken; less is carried over to the next step. */
    private static final long MIN_SLEEP_NANOS = 1_000_000;

    private final double cpuFraction;
    private final Clock clock;
    private final Sleeper sleeper;
    /** Sleep owed and not yet taken, in ns; touched by one scanning thread at a time. */
    private long owedNanos;

    public ScanPacer(double cpuFraction, Clock clock, Sleeper sleeper) {
        if (!(cpuFraction > 0 && cpuFraction <= 1)) {
            throw new IllegalArgumentException("cpuFraction: " + cpuFraction + " (expected: > 0 and <= 1)");
        }
        this.cpuFraction = cpuFraction;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    }

    /** A pacer that never sleeps. */
    public static ScanPacer unpaced(Clock clock) {
        return new ScanPacer(1, clock, nanos -> { });
    }

    /** A pacer that sleeps with {@link Thread#sleep}. */
    public static ScanPacer sleeping(double cpuFraction, Clock clock) {
        return new ScanPacer(cpuFraction, clock,
                nanos -> Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000)));
    }

    /** Runs one step of work, then sleeps what it owes. */
    public synchronized void step(Runnable work) {
        long started = clock.nanos();
        work.run();
        if (cpuFraction >= 1) {
            return;
        }
        long busy = Math.max(0, clock.nanos() - started);
        owedNanos += (long) (busy * (1 - cpuFraction) / cpuFraction);
        if (owedNanos >= MIN_SLEEP_NANOS) {
            long nanos = owedNanos;
            owedNanos = 0;
            try {
                sleeper.sleepNanos(nanos);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while pacing a scan", e);
            }
        }
    }
}
