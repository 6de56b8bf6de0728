package io.trelliskv.common;

import java.time.Instant;

/**
 * The source of time for everything that reasons about time: TTLs, hybrid logical clocks, failure
 * detection timeouts, hint windows. Logic never reads {@link System#currentTimeMillis()} directly, so
 * tests can drive time with a manual clock instead of sleeping.
 */
public interface Clock {

    /** Wall-clock time in milliseconds since the Unix epoch; may step backwards or forwards. */
    long millis();

    /** Monotonic time in nanoseconds, only meaningful as a difference between two readings. */
    long nanos();

    /**
     * Wall-clock time in microseconds since the Unix epoch, as finely as the clock tells it: what orders writes
     * within a millisecond ({@code version.Hlc}). By default {@link #millis()} in microseconds.
     */
    default long micros() {
        return millis() * 1_000;
    }

    /** The real clock of the machine. */
    Clock SYSTEM = new Clock() {
        @Override
        public long millis() {
            return System.currentTimeMillis();
        }

        @Override
        public long nanos() {
            return System.nanoTime();
        }

        /** The system's real-time clock to the microsecond (Linux's {@code clock_gettime}, through {@link Instant}). */
        @Override
        public long micros() {
            Instant now = Instant.now();
            return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
        }
    };
}
