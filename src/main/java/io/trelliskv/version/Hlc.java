package io.trelliskv.version;

import io.trelliskv.common.Clock;

/**
 * A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014).
 *
 * <p>A timestamp packs the physical part (wall-clock milliseconds, 48 bits: good until the year 10889)
 * and a logical part (16 bits) into one long, so timestamps compare as plain longs. A fresh stamp's logical
 * part is not 0 but the microsecond within the millisecond, shifted left by {@value #SUB_MILLI_SHIFT} (at most
 * 63,936), and stamps within one microsecond count up from there. Last-writer-wins orders writes by these
 * stamps, and two writes of one key made through two nodes in the same millisecond are common where a
 * client reads one write's reply and sends the next on another connection at once: with the millisecond
 * alone both stamps were {@code (ms, 0)}, the tie went to the greater node id, and the later write could
 * lose to the earlier. Within the microsecond they are ordered as the clocks tell them, as Cassandra's
 * microsecond timestamps are. The encoding is unchanged, so stamps of an earlier build (logical parts
 * from 0) compare with these as before. The clock never
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
    /**
     * Where a fresh stamp's microsecond within its millisecond goes in the logical part: 999 shifted by 6 is
     * 63,936, below 2^16, which leaves 64 stamps per microsecond before the next microsecond's first; more
     * within one microsecond carry on counting, past it (and, at the last one of a millisecond, into the next
     * millisecond: a stamp a few microseconds ahead of the wall clock, as observing a remote stamp makes).
     */
    static final int SUB_MILLI_SHIFT = 6;

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
        long micros = clock.micros();
        long wall = pack(Math.floorDiv(micros, 1_000), (int) Math.floorMod(micros, 1_000) << SUB_MILLI_SHIFT);
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
