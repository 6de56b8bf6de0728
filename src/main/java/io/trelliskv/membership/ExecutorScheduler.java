package io.trelliskv.membership;

import io.trelliskv.common.DaemonThreads;

import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The real node's {@link Scheduler}: one daemon thread that runs the whole membership protocol. A task
 * that throws is logged and does not stop the thread; after {@link #close()} new tasks are dropped.
 */
public final class ExecutorScheduler implements Scheduler, AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ExecutorScheduler.class.getName());

    private final ScheduledThreadPoolExecutor executor;

    public ExecutorScheduler(String threadName) {
        executor = new ScheduledThreadPoolExecutor(1, DaemonThreads.factory(threadName));
        executor.setRemoveOnCancelPolicy(true);
    }

    @Override
    public Cancellable schedule(long delayMillis, Runnable task) {
        try {
            Future<?> f = executor.schedule(() -> run(task), delayMillis, TimeUnit.MILLISECONDS);
            return () -> f.cancel(false);
        } catch (RejectedExecutionException e) {
            return () -> { };
        }
    }

    private static void run(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "membership task failed", e);
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
