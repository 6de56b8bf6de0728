package io.trelliskv.membership;

/**
 * Runs tasks on the single thread that drives a {@link Swim}. The real node backs it with a
 * one-thread {@link java.util.concurrent.ScheduledExecutorService} ({@link ExecutorScheduler}); the
 * simulation with a priority queue over a manual clock, so a thousand nodes share one thread and every
 * run replays exactly.
 */
public interface Scheduler {

    /** Runs {@code task} once on the Swim thread after {@code delayMillis} (0: as soon as possible). */
    Cancellable schedule(long delayMillis, Runnable task);

    /** Runs {@code task} on the Swim thread as soon as possible: how a transport hands over input. */
    default void execute(Runnable task) {
        schedule(0, task);
    }

    /** A scheduled task that may be called off; cancelling a task that already ran does nothing. */
    interface Cancellable {
        void cancel();
    }
}
