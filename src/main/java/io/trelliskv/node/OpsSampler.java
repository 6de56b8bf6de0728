package io.trelliskv.node;

import io.trelliskv.common.Clock;

/**
 * Instantaneous operations per second for INFO, as Redis computes it: the command counter is sampled
 * every background cycle, and the rate is the mean over the last {@link #SAMPLES} intervals.
 */
final class OpsSampler {

    static final int SAMPLES = 16;

    private final Clock clock;
    /** Ops per second of each recent interval; a ring written by the background thread. */
    private final long[] rates = new long[SAMPLES];
    private int next;
    private long lastCount = -1;
    private long lastNanos;

    OpsSampler(Clock clock) {
        this.clock = clock;
    }

    synchronized void sample(long commandCount) {
        long now = clock.nanos();
        if (lastCount >= 0 && now > lastNanos) {
            rates[next] = (commandCount - lastCount) * 1_000_000_000L / (now - lastNanos);
            next = (next + 1) % SAMPLES;
        }
        lastCount = commandCount;
        lastNanos = now;
    }

    synchronized long opsPerSecond() {
        long sum = 0;
        for (long r : rates) {
            sum += r;
        }
        return sum / SAMPLES;
    }
}
