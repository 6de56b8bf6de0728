package io.trelliskv.common;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock whose wall time is another clock's plus an offset that can be changed while it runs: how
 * fault-injection runs skew or jump one node's clock (see {@code DEBUG CLOCK-OFFSET}, enabled only by
 * the node's {@code --test-clock-control} flag). Monotonic time is left alone, as a real wall-clock step
 * leaves {@link System#nanoTime()} alone.
 */
public final class OffsetClock implements Clock {

    private final Clock base;
    /** Added to the base clock's wall time, in ms; may be negative. */
    private final AtomicLong offsetMillis = new AtomicLong();

    public OffsetClock(Clock base) {
        this.base = base;
    }

    @Override
    public long millis() {
        return base.millis() + offsetMillis.get();
    }

    @Override
    public long nanos() {
        return base.nanos();
    }

    @Override
    public long micros() {
        return base.micros() + offsetMillis.get() * 1_000;
    }

    /** The offset in force, in ms. */
    public long offsetMillis() {
        return offsetMillis.get();
    }

    /** Sets the offset (not cumulative): wall time becomes the base clock's plus {@code millis}. */
    public void offsetMillis(long millis) {
        offsetMillis.set(millis);
    }
}
