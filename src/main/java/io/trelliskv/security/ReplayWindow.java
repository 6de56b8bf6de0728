package io.trelliskv.security;

import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The nonces seen in the last stretch of time, to refuse a message seen before: a sealed gossip packet or
 * a peer's proof of the cluster secret. A message carries its sender's time, accepted within
 * {@code window} of the receiver's clock either way, so a nonce must be remembered for two windows after
 * it arrives (its time may be a window ahead); older ones are forgotten, and past {@code maxRemembered}
 * the oldest go first, so a flood cannot grow memory without bound. Thread-safe.
 */
final class ReplayWindow {

    private final long windowMillis;
    private final int maxRemembered;
    /** Nonces seen, with the receiver's clock when each arrived, oldest first. Guarded by this. */
    private final LinkedHashMap<ByteBuffer, Long> seen = new LinkedHashMap<>();

    ReplayWindow(long windowMillis, int maxRemembered) {
        this.windowMillis = windowMillis;
        this.maxRemembered = maxRemembered;
    }

    /** True if a message sent at {@code sentAtMillis} may still be accepted at {@code nowMillis}. */
    boolean inWindow(long sentAtMillis, long nowMillis) {
        return Math.abs(nowMillis - sentAtMillis) <= windowMillis;
    }

    /** Remembers {@code nonce}; false if it was seen within the last two windows. */
    synchronized boolean firstSighting(byte[] nonce, long nowMillis) {
        Iterator<Map.Entry<ByteBuffer, Long>> it = seen.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<ByteBuffer, Long> e = it.next();
            if (nowMillis - e.getValue() <= 2 * windowMillis && seen.size() < maxRemembered) {
                break;
            }
            it.remove();
        }
        return seen.putIfAbsent(ByteBuffer.wrap(nonce.clone()), nowMillis) == null;
    }
}
