package io.trelliskv.version;

import io.trelliskv.common.Clock;

/**
 * A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014).
 *
 * <p>A timestamp packs the physical part (wall-clock milliseconds, 48 bits: good until the year 10889)
 * and a logical counter (16 bits) into one long, so timestamps compare as plain longs. The clock never
 * goes backwards even when the wall clock steps back: it keeps the greatest physical time it has seen
 * and counts up the logical part instead. Receiving a remote timestamp moves the clock past it, which
 * keeps causality across nodes: a write that follows another (on any node, through any message) gets a
 * greater timestamp.
 *
 * <p>Thread-safe; lock-free.
 */
public final class Hlc {

    /** Bits of the logical counter in a packed timestamp. */
    public static final int LOGICAL_BITS = 16;
    private static final long LOGICAL_MASK = (1L << LOGICAL_BITS) - 1;

    private final Clock clock;
    /** The last timestamp issued or observed; packed. */
    private final java.util.concurrent.atomic.AtomicLong last = new java.util.concurrent.atomic.AtomicLong();

    public Hlc(Clock clock) {
        this.clock = clock;
    }

    /** The wall clock this reads. */
    public Clock clock() {
        return clock;
    }

    public static long pack(long physicalMillis, int logical) {
        return (physicalMillis << LOGICAL_BITS) | (logical & LOGICAL_MASK);
    }

    public static long physical(long timestamp) {
        return timestamp >>> LOGICAL_BITS;
    }

    public static int logical(long timestamp) {
        return (int) (timestamp & LOGICAL_MASK);
    }

    /** A new timestamp for a local event, greater than every timestamp issued or observed before. */
    public long now() {
        return now(clock.millis());
    }

    /**
     * {@link #now()} for an event at {@code wallMillis}, a reading of this clock the caller took already
     * (a write's one reading, which also stamps its expiry and idle time): a clock read costs as much as a
     * tenth of a write. An older reading only makes the logical part count further.
     */
    public long now(long wallMillis) {
        long wall = pack(wallMillis, 0);
        while (true) {
            long prev = last.get();
            long next = wall > prev ? wall : prev + 1;
            if (last.compareAndSet(prev, next)) {
                return next;
            }
        }
    }

    /**
     * Observes a timestamp from another node (on receipt of a message carrying it) so that later local
     * timestamps are greater. Callers decide beforehand whether the remote timestamp is too far in the
     * future to accept; see {@link #driftMillis(long)}.
     */
    public void observe(long remote) {
        while (true) {
            long prev = last.get();
            if (remote <= prev || last.compareAndSet(prev, remote)) {
                return;
            }
        }
    }

    /** How far (ms) a timestamp's physical part is ahead of this node's wall clock; negative if behind. */
    public long driftMillis(long timestamp) {
        return physical(timestamp) - clock.millis();
    }

    /**
     * The clock's time in milliseconds, the physical part {@link #now()} would stamp, without issuing a timestamp:
     * for a caller that only needs to know the time (expiry), not to order an event. It reads the shared state
     * and writes nothing, where {@code now()} takes it over with a compare-and-set that every thread stamping
     * writes contends for.
     */
    public long nowMillis() {
        return Math.max(clock.millis(), physical(last.get()));
    }

    /** The last timestamp issued or observed, without advancing the clock. */
    public long peek() {
        return last.get();
    }
}
