package io.trelliskv.common;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Lets a repeated log line through at most once per interval and counts the ones held back, so that a fault
 * which repeats a warning thousands of times a second (every write batch refused while a peer's clock runs
 * ahead) logs one line a second saying how many it stands for, rather than flood the log and bury the rest.
 *
 * <pre>{@code
 * long held = refusals.admit();
 * if (held >= 0) log.warn("Refused ... {}", ..., LogLimiter.more(held));
 * }</pre>
 *
 * <p>Thread-safe and lock-free; the first occurrence always passes.
 */
public final class LogLimiter {

    private final long intervalNanos;
    private final LongSupplier nanos;
    /** When the next line may pass ({@link #nanos}' time); {@link Long#MIN_VALUE} before the first. */
    private final AtomicLong nextAt = new AtomicLong(Long.MIN_VALUE);
    /** Occurrences held back since the last line let through. */
    private final AtomicLong held = new AtomicLong();

    /** A limiter on {@link System#nanoTime()}. */
    public LogLimiter(long intervalMillis) {
        this(intervalMillis, System::nanoTime);
    }

    /** @param nanos a monotonic time in nanoseconds */
    public LogLimiter(long intervalMillis, LongSupplier nanos) {
        if (intervalMillis <= 0) {
            throw new IllegalArgumentException("intervalMillis: " + intervalMillis + " (expected: > 0)");
        }
        this.intervalNanos = intervalMillis * 1_000_000;
        this.nanos = nanos;
    }

    /**
     * One occurrence: whether to log it.
     *
     * @return -1 to hold it back (counted); otherwise log it, with the number held back since the last one logged
     */
    public long admit() {
        long now = nanos.getAsLong();
        long next = nextAt.get();
        if ((next == Long.MIN_VALUE || now - next >= 0) && nextAt.compareAndSet(next, now + intervalNanos)) {
            return held.getAndSet(0);
        }
        held.incrementAndGet();
        return -1;
    }

    /** A suffix for the line let through: empty if none were held back, else how many like it were. */
    public static String more(long held) {
        return held <= 0 ? "" : " (and " + held + " more like it since the last such line)";
    }
}
