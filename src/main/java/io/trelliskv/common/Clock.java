package io.trelliskv.common;

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
    };
}
