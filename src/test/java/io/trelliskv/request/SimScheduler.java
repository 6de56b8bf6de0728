package io.trelliskv.request;

import io.trelliskv.common.ManualClock;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * Simulated time for a whole-node simulation: one queue of events, run one at a time on the test's
 * thread in order of their due time, with ties broken by a draw from the seed. Nothing else runs: every
 * future the nodes wait on is completed by an event, so its continuations run inside that event, and a
 * run replays exactly from its seed.
 *
 * <p>Time is in milliseconds since the start of the run; every registered {@link ManualClock} is moved
 * forward to an event's due time before it runs, so the nodes' hybrid logical clocks see simulated time
 * and nobody reads the real clock.
 */
final class SimScheduler {

    /** An event: due at {@code at} (ms), ordered among equals by {@code tie}, then by {@code seq}. */
    private record Event(long at, long tie, long seq, Runnable action) {
    }

    private final SplittableRandom random;
    private final PriorityQueue<Event> queue = new PriorityQueue<>((a, b) -> a.at != b.at ? Long.compare(a.at, b.at)
            : a.tie != b.tie ? Long.compare(a.tie, b.tie) : Long.compare(a.seq, b.seq));
    private final List<ManualClock> clocks = new ArrayList<>();
    /** Runs after every event (the clients' event loops). */
    private final List<Runnable> afterEach = new ArrayList<>();
    /** Now, in ms since the start of the run. */
    private long now;
    private long seq;
    private long eventsRun;

    SimScheduler(long seed) {
        this.random = new SplittableRandom(seed);
    }

    SplittableRandom random() {
        return random;
    }

    long now() {
        return now;
    }

    long eventsRun() {
        return eventsRun;
    }

    /** A clock to keep at simulated time (it must read the start of the run now). */
    void drive(ManualClock clock) {
        clocks.add(clock);
    }

    void afterEach(Runnable r) {
        afterEach.add(r);
    }

    /** Runs {@code action} {@code delayMs} from now (0: after everything already due now, in seeded order). */
    void after(long delayMs, Runnable action) {
        if (delayMs < 0) {
            throw new IllegalArgumentException("delay: " + delayMs + " ms (expected: >= 0)");
        }
        queue.add(new Event(now + delayMs, random.nextLong(), seq++, action));
    }

    /** A delay in [min, max] ms. */
    long between(long min, long max) {
        return min + random.nextLong(max - min + 1);
    }

    boolean chance(double p) {
        return p > 0 && random.nextDouble() < p;
    }

    /**
     * Runs events until none is left.
     *
     * @throws IllegalStateException if more than {@code maxEvents} run (something keeps scheduling)
     */
    void runUntilQuiet(long maxEvents) {
        long limit = eventsRun + maxEvents;
        Event e;
        while ((e = queue.poll()) != null) {
            if (eventsRun++ >= limit) {
                throw new IllegalStateException("no quiescence after " + maxEvents + " events (at " + now + " ms)");
            }
            if (e.at > now) {
                for (ManualClock c : clocks) {
                    c.advanceMillis(e.at - now);
                }
                now = e.at;
            }
            e.action.run();
            afterEach.forEach(Runnable::run);
        }
    }

    /** Moves time forward with nothing happening. */
    void idle(long ms) {
        for (ManualClock c : clocks) {
            c.advanceMillis(ms);
        }
        now += ms;
    }
}
