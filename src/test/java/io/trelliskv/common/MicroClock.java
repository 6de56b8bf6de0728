package io.trelliskv.common;

/**
 * A wall clock that tells microseconds and moves only when told to: for tests of what happens within one
 * millisecond ({@code version.Hlc}'s stamps). Not thread-safe.
 */
public final class MicroClock implements Clock {

    private long micros;

    public MicroClock(long startMicros) {
        this.micros = startMicros;
    }

    @Override
    public long millis() {
        return Math.floorDiv(micros, 1_000);
    }

    @Override
    public long nanos() {
        return micros * 1_000;
    }

    @Override
    public long micros() {
        return micros;
    }

    public void advanceMicros(long delta) {
        micros += delta;
    }
}
