package io.trelliskv.replication;

import io.trelliskv.common.Clock;

import java.util.Objects;

/**
 * A token bucket on an injected clock's monotonic time: permits accrue at {@code perSecond}, up to
 * {@code burst} saved, and {@link #tryAcquireUpTo} takes what is there without waiting. The bucket
 * starts empty, so over any interval of {@code t} seconds from construction at most
 * {@code burst + perSecond * t} permits are granted.
 *
 * <p>The bucket holds credit in units of 10<sup>-9</sup> permit, so a nanosecond adds exactly
 * {@code perSecond} units. For a whole-number rate and a burst below 9 000 000 every value is an
 * integer below 2<sup>53</sup>, which a double holds exactly: no permit is lost or invented to rounding,
 * however often it is called. Thread-safe.
 */
public final class RateLimiter {

    /** Credit units per permit. */
    private static final double UNITS_PER_PERMIT = 1e9;

    private final double perSecond;
    private final Clock clock;
    /** Most credit saved: {@code burst} permits. */
    private final double capacity;
    /** Credit saved at {@link #lastNanos}, 0 to {@link #capacity}. */
    private double credit;
    /** Monotonic time up to which credit has been added. */
    private long lastNanos;

    public RateLimiter(double perSecond, long burst, Clock clock) {
        if (!(perSecond > 0) || Double.isInfinite(perSecond)) {
            throw new IllegalArgumentException("perSecond: " + perSecond + " (expected: > 0 and finite)");
        }
        if (burst < 1) {
            throw new IllegalArgumentException("burst: " + burst + " (expected: >= 1)");
        }
        this.perSecond = perSecond;
        this.capacity = burst * UNITS_PER_PERMIT;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.lastNanos = clock.nanos();
    }

    /** Takes up to {@code n} permits, as many as are saved now, and returns how many (0 to n). */
    public synchronized int tryAcquireUpTo(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("n: " + n + " (expected: >= 0)");
        }
        long now = clock.nanos();
        long elapsed = now - lastNanos;
        if (elapsed > 0) {
            credit = Math.min(capacity, credit + elapsed * perSecond);
            lastNanos = now;
        }
        int granted = (int) Math.min(n, wholePermits(credit));
        credit -= granted * UNITS_PER_PERMIT;
        return granted;
    }

    /** floor(credit / 10^9), corrected for the division's rounding. */
    private static long wholePermits(double credit) {
        long k = (long) (credit / UNITS_PER_PERMIT);
        if (k * UNITS_PER_PERMIT > credit) {
            k--;
        } else if ((k + 1) * UNITS_PER_PERMIT <= credit) {
            k++;
        }
        return k;
    }
}
