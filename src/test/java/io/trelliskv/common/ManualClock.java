package io.trelliskv.common;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock that moves only when told to, for tests and simulations. (A node started with a deliberate
 * clock offset uses {@link OffsetClock}.)
 */
public final class ManualClock implements Clock {

    /** Wall time in ms since the epoch. */
    private final AtomicLong millis;
    /** Monotonic time in ns; advances together with {@link #millis} but never steps backwards. */
    private final AtomicLong nanos = new AtomicLong();

    public ManualClock(long startMillis) {
        this.millis = new AtomicLong(startMillis);
    }

    @Override
    public long millis() {
        return millis.get();
    }

    @Override
    public long nanos() {
        return nanos.get();
    }

    /** Moves both wall and monotonic time forward. */
    public void advance(long amount, TimeUnit unit) {
        if (amount < 0) {
            throw new IllegalArgumentException("amount: " + amount + " (expected: >= 0)");
        }
        millis.addAndGet(unit.toMillis(amount));
        nanos.addAndGet(unit.toNanos(amount));
    }

    public void advanceMillis(long ms) {
        advance(ms, TimeUnit.MILLISECONDS);
    }

    /** Steps the wall clock only (as NTP might), leaving monotonic time alone. */
    public void stepWallClock(long deltaMillis) {
        millis.addAndGet(deltaMillis);
    }
}
