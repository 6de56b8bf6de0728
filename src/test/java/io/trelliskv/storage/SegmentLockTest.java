package io.trelliskv.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SegmentLockTest {

    private final SegmentLock lock = new SegmentLock();

    /** Plain fields, written only under the lock: a lost update or a stale read shows in the totals. */
    private long counter;
    private long shadow;

    @Test
    void excludesAndPublishesWhatItsHoldersWrote() throws Exception {
        int threads = 4;
        int rounds = 50_000;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            boolean tries = t % 2 == 1; // half of them take it with tryLock, as eviction does
            Thread w = new Thread(() -> {
                try {
                    start.await();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    for (int i = 0; i < rounds; i++) {
                        if (tries) {
                            while (!lock.tryLock()) {
                                if (System.nanoTime() > deadline) {
                                    throw new AssertionError("tryLock never succeeded within 20 s");
                                }
                                Thread.onSpinWait();
                            }
                        } else {
                            lock.lock();
                        }
                        try {
                            if (counter != shadow) {
                                throw new AssertionError("a half-done update: " + counter + " vs " + shadow);
                            }
                            counter++;
                            shadow++;
                        } finally {
                            lock.unlock();
                        }
                    }
                } catch (Throwable e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            });
            w.setDaemon(true);
            w.start();
            workers.add(w);
        }
        start.countDown();
        for (Thread w : workers) {
            w.join(TimeUnit.SECONDS.toMillis(20));
            assertThat(w.isAlive()).as("worker finished").isFalse();
        }
        assertThat(failures).isEmpty();
        lock.lock();
        try {
            assertThat(counter).isEqualTo((long) threads * rounds);
            assertThat(shadow).isEqualTo(counter);
        } finally {
            lock.unlock();
        }
    }

    @Test
    void isReentrantAndFreeOnlyAfterTheLastRelease() throws Exception {
        lock.lock();
        assertThat(lock.tryLock()).as("taken again by its holder").isTrue();
        lock.lock();
        assertThat(lock.isHeldByCurrentThread()).isTrue();
        lock.unlock();
        lock.unlock();
        assertThat(lock.isLocked()).as("held once more").isTrue();
        assertThat(CompletableFuture.supplyAsync(lock::tryLock).get(10, TimeUnit.SECONDS))
                .as("another thread's tryLock while held").isFalse();
        lock.unlock();
        assertThat(lock.isLocked()).isFalse();
        assertThat(lock.isHeldByCurrentThread()).isFalse();
        assertThat(CompletableFuture.supplyAsync(() -> {
            boolean taken = lock.tryLock();
            if (taken) {
                lock.unlock();
            }
            return taken;
        }).get(10, TimeUnit.SECONDS)).as("another thread's tryLock once free").isTrue();
    }

    @Test
    void aReleaseByAnotherThreadIsRefusedAndLeavesItHeld() throws Exception {
        lock.lock();
        try {
            CompletableFuture<Void> foreign = CompletableFuture.runAsync(lock::unlock);
            assertThatThrownBy(() -> foreign.get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(IllegalMonitorStateException.class);
            assertThat(lock.isHeldByCurrentThread()).isTrue();
            assertThat(lock.isLocked()).isTrue();
        } finally {
            lock.unlock();
        }
        assertThatThrownBy(lock::unlock).isInstanceOf(IllegalMonitorStateException.class);
    }

    @Test
    void aParkedWaiterTakesItOnceReleased() throws Exception {
        lock.lock();
        CompletableFuture<Long> took = new CompletableFuture<>();
        Thread waiter = new Thread(() -> {
            lock.lock(); // spins, yields, then parks in short, growing naps until this test's release
            try {
                took.complete(++counter);
            } finally {
                lock.unlock();
            }
        });
        waiter.setDaemon(true);
        waiter.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (waiter.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(waiter.getState()).as("the waiter parks while the lock is held")
                    .isEqualTo(Thread.State.TIMED_WAITING);
            assertThat(took).isNotDone();
            counter = 41;
        } finally {
            lock.unlock();
        }
        assertThat(took.get(10, TimeUnit.SECONDS)).as("took it and saw the holder's write").isEqualTo(42L);
        waiter.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(lock.isLocked()).isFalse();
    }
}
