package io.trelliskv.storage;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * A segment's lock: reentrant, not fair, and released with a plain releasing store.
 *
 * <h2>Why not {@link java.util.concurrent.locks.ReentrantLock}</h2>
 * A {@code ReentrantLock} releases with a volatile store, which on x86 is a full fence: the thread waits
 * until every store of the critical section has left its store buffer. A write's critical section
 * stores a record into slab memory that is rarely in the cache, so that wait is the write's cache
 * misses paid at once, on every write of every node (0.13–0.15 ms per 1,000 SETs in profiles, about 5 %
 * of a single node's CPU per SET; this lock measured 0.94× the CPU per SET of a {@code ReentrantLock}).
 * The fence is there so that a releasing thread sees a waiter that queued itself to be woken. A segment
 * lock is held for a few hundred nanoseconds (one key's work) or a few tens of microseconds (one
 * segment's keys handed to a visitor), so its waiters need not queue and sleep: they spin, then yield,
 * then park for short, growing times, and check the lock again. Then the release needs no fence, only
 * release ordering (a plain store on x86): the next holder's acquiring compare-and-set sees everything
 * the critical section wrote.
 *
 * <p>Contention is rare: one key's operations and a background task (expiry, eviction, a Merkle tree's
 * range walk) meet on one of 4,096 segments only when they touch it at the same moment.
 */
class SegmentLock {

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(SegmentLock.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Spins before a waiter starts to yield. */
    private static final int SPINS = 64;
    /** Yields before a waiter starts to park. */
    private static final int YIELDS = 8;
    /** A waiter's first and longest parks. */
    private static final long MIN_PARK_NANOS = 10_000;
    private static final long MAX_PARK_NANOS = 1_000_000;

    /** 0 free, 1 held: set by compare-and-set, cleared by a releasing store. */
    @SuppressWarnings("unused") // through STATE
    private volatile int state;
    /** The holder; written and cleared by it alone, under the lock. */
    private Thread owner;
    /** How many times the holder has taken it. */
    private int holds;

    final void lock() {
        Thread me = Thread.currentThread();
        if (!STATE.compareAndSet(this, 0, 1)) {
            if (owner == me) { // only this thread could have written itself here
                holds++;
                return;
            }
            contended();
        }
        owner = me;
        holds = 1;
    }

    /** Takes the lock if it is free or held by this thread, without waiting. */
    final boolean tryLock() {
        Thread me = Thread.currentThread();
        if (STATE.compareAndSet(this, 0, 1)) {
            owner = me;
            holds = 1;
            return true;
        }
        if (owner == me) {
            holds++;
            return true;
        }
        return false;
    }

    final void unlock() {
        if (owner != Thread.currentThread()) {
            throw new IllegalMonitorStateException("segment lock released by a thread that does not hold it");
        }
        if (--holds == 0) {
            owner = null;
            STATE.setRelease(this, 0);
        }
    }

    /** Whether some thread holds it (a racy read, for hints). */
    final boolean isLocked() {
        return (int) STATE.getOpaque(this) != 0;
    }

    final boolean isHeldByCurrentThread() {
        return owner == Thread.currentThread();
    }

    private void contended() {
        long park = MIN_PARK_NANOS;
        for (int attempt = 0; ; attempt++) {
            if ((int) STATE.getOpaque(this) == 0 && STATE.compareAndSet(this, 0, 1)) {
                return;
            }
            if (attempt < SPINS) {
                Thread.onSpinWait();
            } else if (attempt < SPINS + YIELDS) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(this, park);
                park = Math.min(2 * park, MAX_PARK_NANOS);
            }
        }
    }
}
