package io.trelliskv.security;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Slows password guessing down: each client address has a bucket of failed logins that refills at
 * {@link #REFILL_PER_SECOND} a second up to {@link #BURST}; while an address's bucket is empty its logins
 * are refused without looking at the password. A client that logs in right never notices; a guesser gets
 * a few attempts a second instead of hundreds of thousands. Addresses are forgotten oldest first past
 * {@link #MAX_ADDRESSES}, so a flood from many addresses cannot grow memory without bound.
 */
public final class AuthThrottle {

    /** Failed logins an address may make at once. */
    public static final int BURST = 10;
    /** Failed logins an address regains each second. */
    public static final int REFILL_PER_SECOND = 5;
    /** Addresses remembered. */
    static final int MAX_ADDRESSES = 10_000;

    /** Tokens (failed logins still allowed) per address, and when they were last counted. */
    private static final class Bucket {
        double tokens = BURST;
        long atMillis;
    }

    private final Map<String, Bucket> buckets = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
            return size() > MAX_ADDRESSES;
        }
    };
    private final LongAdder throttled = new LongAdder();

    /** True if {@code address} may try to log in now; false (and counted) while its failures are used up. */
    public synchronized boolean mayTry(String address, long nowMillis) {
        Bucket b = buckets.get(address);
        if (b == null) {
            return true;
        }
        refill(b, nowMillis);
        if (b.tokens >= 1) {
            return true;
        }
        throttled.increment();
        return false;
    }

    /** Records a failed login from {@code address}. */
    public synchronized void failed(String address, long nowMillis) {
        Bucket b = buckets.computeIfAbsent(address, a -> {
            Bucket fresh = new Bucket();
            fresh.atMillis = nowMillis;
            return fresh;
        });
        refill(b, nowMillis);
        b.tokens = Math.max(0, b.tokens - 1);
    }

    private static void refill(Bucket b, long nowMillis) {
        long elapsed = Math.max(0, nowMillis - b.atMillis);
        b.tokens = Math.min(BURST, b.tokens + elapsed * REFILL_PER_SECOND / 1000.0);
        b.atMillis = nowMillis;
    }

    /** Logins refused because their address had failed too often. */
    public long throttled() {
        return throttled.sum();
    }
}
