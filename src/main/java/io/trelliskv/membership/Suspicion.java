package io.trelliskv.membership;

import java.util.HashSet;
import java.util.Set;

/**
 * One suspicion of one member, with Lifeguard's dynamic timeout.
 *
 * <p>A suspicion starts at a long timeout ({@code max}) and shrinks toward a short one ({@code min}) as
 * independent confirmations arrive: SUSPECT messages about the same member from other accusers. With
 * {@code k} expected confirmations, the n-th cuts the timeout to
 * {@code max - log(n + 1) / log(k + 1) * (max - min)}, so when many members agree the verdict comes fast,
 * and a lone node that is itself in trouble gives its victim the full {@code max} to refute. The timer
 * counts from when the suspicion started, not from the last confirmation. Same formulas as
 * hashicorp/memberlist's {@code suspicion.go} and {@code suspicionTimeout} in {@code util.go}.
 *
 * <p>Not thread-safe: owned by the Swim thread.
 */
final class Suspicion {

    /** Number of independent confirmations we'd like to see to drive the timer to its minimum. */
    private final int k;
    /** The timeout once {@code k} confirmations arrived, ms. */
    private final long minMillis;
    /** The timeout with no confirmation, ms. */
    private final long maxMillis;
    /** Monotonic ms when the suspicion started; the timeout counts from here. */
    private final long startMillis;
    /** Accusers seen so far, the first one included; each confirms only once. */
    private final Set<Long> accusers = new HashSet<>();
    /** Confirmations counted, the first accusation excluded; at most {@code k}. */
    private int confirmations;
    /**
     * Monotonic ms when this node's own probe of the member last failed, directly and indirectly, during
     * the suspicion; -1 if it has not. Such evidence counts for {@code minMillis}: a verdict later than
     * that needs a fresh failure.
     */
    private long witnessedAt = -1;
    /** The timeout passed before this node had witnessed the failure itself; it is probing to find out. */
    private boolean overdue;
    private final Scheduler scheduler;
    private final Runnable onTimeout;
    private Scheduler.Cancellable timer;

    Suspicion(long accuser, int k, long minMillis, long maxMillis, long nowMillis, Scheduler scheduler,
            Runnable onTimeout) {
        this.k = k;
        this.minMillis = minMillis;
        this.maxMillis = maxMillis;
        this.startMillis = nowMillis;
        this.scheduler = scheduler;
        this.onTimeout = onTimeout;
        accusers.add(accuser);
        timer = scheduler.schedule(k < 1 ? minMillis : maxMillis, onTimeout);
    }

    /**
     * Counts a confirmation from {@code accuser} and moves the timer closer. Returns whether it was new
     * (a first-time accuser while fewer than {@code k} had confirmed): only new ones are worth
     * re-gossiping.
     */
    boolean confirm(long accuser, long nowMillis) {
        if (confirmations >= k || !accusers.add(accuser)) {
            return false;
        }
        confirmations++;
        long remaining = remainingSuspicionTime(confirmations, k, nowMillis - startMillis, minMillis, maxMillis);
        timer.cancel();
        timer = scheduler.schedule(Math.max(0, remaining), onTimeout);
        return true;
    }

    /** Records that this node's own probe of the member failed, at {@code nowMillis}. */
    void witness(long nowMillis) {
        witnessedAt = nowMillis;
    }

    /**
     * Whether this node's own probe failed within the last {@code minMillis}. Older evidence is stale: a
     * suspicion that lasts longer than its minimum lacked confirmations, so the member's other probers
     * reached it, and this node may have missed its refutation (at 10 % loss, about one accuser in 1500
     * still had not heard it when the maximum timeout, 20 s at 50 members, ran out).
     */
    boolean witnessedRecently(long nowMillis) {
        return witnessedAt >= 0 && nowMillis - witnessedAt <= minMillis;
    }

    /**
     * The timeout passed without this node's own recent evidence: marks the suspicion overdue and calls the
     * timeout again after {@code recheckMillis}, by when the probe this node starts has come back.
     */
    void awaitWitness(long recheckMillis) {
        overdue = true;
        timer.cancel();
        timer = scheduler.schedule(recheckMillis, onTimeout);
    }

    /** Whether the timeout has passed while this node waits for its own evidence. */
    boolean overdue() {
        return overdue;
    }

    void cancel() {
        timer.cancel();
    }

    int confirmations() {
        return confirmations;
    }

    /**
     * Time left, in ms, for a suspicion {@code elapsedMillis} old with {@code n} of {@code k} expected
     * confirmations: the timeout falls logarithmically from {@code max} (n = 0) to {@code min} (n = k),
     * never below {@code min}, minus the time elapsed. May be negative: the timer is overdue.
     */
    static long remainingSuspicionTime(int n, int k, long elapsedMillis, long minMillis, long maxMillis) {
        double frac = Math.log(n + 1.0) / Math.log(k + 1.0);
        long timeout = (long) Math.floor(maxMillis - frac * (maxMillis - minMillis));
        if (timeout < minMillis) {
            timeout = minMillis;
        }
        return timeout - elapsedMillis;
    }

    /**
     * The minimum suspicion timeout for a cluster of {@code n} members, ms:
     * {@code suspicionMult * max(1, log10(max(1, n))) * probeInterval}. Grows with the logarithm of the
     * cluster size, as the time for a refutation to spread does. The maximum is
     * {@code suspicionMaxTimeoutMult} times this.
     */
    static long minTimeoutMillis(int suspicionMult, int n, long probeIntervalMillis) {
        double nodeScale = Math.max(1.0, Math.log10(Math.max(1.0, n)));
        return suspicionMult * (long) (nodeScale * 1000) * probeIntervalMillis / 1000;
    }
}
