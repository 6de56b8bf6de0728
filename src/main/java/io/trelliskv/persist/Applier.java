package io.trelliskv.persist;

import io.trelliskv.common.DaemonThreads;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.Consumer;

/**
 * Applies the records recovery hands out on a thread of its own, in the order they come, while recovery
 * reads, checks and decodes the next ones: a restart then takes about as long as the slower of the two
 * halves, not both together. Records travel in batches through a short queue, so the decoded records
 * waiting are bounded ({@link #QUEUED_BATCHES} x {@link #BATCH}).
 *
 * <p>{@link #accept} is called by one thread (recovery's); {@link #finish} waits until every record has
 * been applied and throws what applying one threw. If applying fails, the records after it are not
 * applied, and the next {@link #accept} throws the failure too, so recovery stops early. {@link #close}
 * stops the thread on any path (after {@code finish}, or when recovery itself failed).
 */
final class Applier implements Consumer<LogRecord>, AutoCloseable {

    /** Records handed over at once. */
    static final int BATCH = 4096;
    /** Batches decoded and not yet applied, at most. */
    static final int QUEUED_BATCHES = 4;
    private static final List<LogRecord> END = List.of();

    private final Consumer<LogRecord> apply;
    private final BlockingQueue<List<LogRecord>> queue = new ArrayBlockingQueue<>(QUEUED_BATCHES);
    private final Thread thread;
    private volatile RuntimeException failure;
    private List<LogRecord> batch = new ArrayList<>(BATCH);
    private boolean ended;

    Applier(Consumer<LogRecord> apply) {
        this.apply = apply;
        this.thread = DaemonThreads.start("trellis-recovery-apply", this::run);
    }

    @Override
    public void accept(LogRecord record) {
        batch.add(record);
        if (batch.size() == BATCH) {
            hand(batch);
            batch = new ArrayList<>(BATCH);
        }
    }

    /** Waits until every record accepted has been applied; throws what applying one threw. */
    void finish() {
        if (!batch.isEmpty()) {
            hand(batch);
            batch = new ArrayList<>(0);
        }
        end();
        RuntimeException f = failure;
        if (f != null) {
            throw f;
        }
    }

    @Override
    public void close() {
        end();
    }

    private void hand(List<LogRecord> records) {
        RuntimeException f = failure;
        if (f != null) {
            throw f;
        }
        put(records);
    }

    private void end() {
        if (ended) {
            return;
        }
        ended = true;
        put(END);
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the records must be applied (or dropped) before this returns
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void put(List<LogRecord> records) {
        boolean interrupted = false;
        while (true) {
            try {
                queue.put(records); // the applier always drains the queue, even after a failure
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        while (true) {
            List<LogRecord> records;
            try {
                records = queue.take();
            } catch (InterruptedException e) {
                continue; // a daemon nobody interrupts; only END ends it
            }
            if (records == END) {
                return;
            }
            if (failure != null) {
                continue; // drained, not applied: recovery stops at its next hand-over
            }
            try {
                for (LogRecord r : records) {
                    apply.accept(r);
                }
            } catch (RuntimeException e) {
                failure = e;
            } catch (Error e) {
                failure = new IllegalStateException("applying a recovered record failed: " + e, e);
            }
        }
    }
}
