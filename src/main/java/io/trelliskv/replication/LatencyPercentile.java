package io.trelliskv.replication;

/**
 * A running estimate of a high percentile of recent latencies, for a speculative retry's delay: Cassandra
 * retries a read at the 99th percentile of its replicas' latency by default, since a fixed delay that suits
 * an idle cluster asks a second replica for a large share of reads once queues grow under load.
 *
 * <p>Latencies fall into buckets by powers of two of microseconds (bucket {@code b} holds
 * {@code [2^b, 2^(b+1))} µs), and the estimate is the upper bound of the bucket that holds the percentile:
 * at most twice the true value, which errs on the side of asking fewer replicas. Old samples fade: once
 * {@link #WINDOW} have been counted, every bucket is halved, so the estimate follows a change of load within a
 * few thousand samples. Not thread-safe: one instance per thread (an event loop's).
 */
public final class LatencyPercentile {

    /** Samples after which every count is halved. */
    static final int WINDOW = 4_096;
    private static final int BUCKETS = 40; // 2^40 µs: beyond any timeout

    private final long[] counts = new long[BUCKETS];
    /** The percentile estimated, in (0, 1). */
    private final double percentile;
    private long total;

    public LatencyPercentile(double percentile) {
        if (!(percentile > 0 && percentile < 1)) {
            throw new IllegalArgumentException("percentile: " + percentile + " (expected: between 0 and 1)");
        }
        this.percentile = percentile;
    }

    public void record(long nanos) {
        long micros = Math.max(1, nanos / 1_000);
        int bucket = Math.min(BUCKETS - 1, 63 - Long.numberOfLeadingZeros(micros));
        counts[bucket]++;
        if (++total >= WINDOW) {
            total = 0;
            for (int b = 0; b < BUCKETS; b++) {
                counts[b] >>= 1;
                total += counts[b];
            }
        }
    }

    /** The estimate in whole milliseconds, rounded up; 0 before any sample. */
    public long millis() {
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(total * percentile);
        long seen = 0;
        for (int b = 0; b < BUCKETS; b++) {
            seen += counts[b];
            if (seen >= rank) {
                long upperMicros = 1L << (b + 1);
                return (upperMicros + 999) / 1_000;
            }
        }
        return 0;
    }
}
