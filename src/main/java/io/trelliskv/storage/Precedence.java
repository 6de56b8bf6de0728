package io.trelliskv.storage;

import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.Version;

/**
 * Which of two entries of one key wins: the one rank order that the engine's merge, a coordinator's
 * quorum read and read repair all follow, so that what a read returns is what every replica keeps.
 *
 * <p>An entry ranks at its version, except a live (unexpired) counter, which ranks at its epoch (the
 * version of the state it counts from), just above the state of that version. So a counter beats the
 * state it was made from and the counters of older epochs, and a SET or DEL newer than its epoch beats
 * it, even when an increment concurrent with that reset was stamped later. Two live counters of one
 * epoch rank equal: they are joined, not ordered. {@link ValueKind} tells why counters need this.
 *
 * <p>For entries that are not live counters the rank is the version, so the order is last writer wins.
 */
public final class Precedence {

    private Precedence() {
    }

    /**
     * Compares {@code a} and {@code b} (both non-null) by rank at {@code nowMillis}: positive if {@code a}
     * wins, negative if {@code b} does, 0 if they rank equal (one version, or two live counters of one epoch).
     */
    public static int compare(Entry a, Entry b, long nowMillis) {
        int c = rank(a, nowMillis).compareTo(rank(b, nowMillis));
        return c != 0 ? c : Boolean.compare(liveCounter(a, nowMillis), liveCounter(b, nowMillis));
    }

    /**
     * The version {@code e} ranks at: a live counter's epoch, else its version. An entry whose version is
     * newer than this one's rank may outrank it; one whose version is not newer never does (a live counter
     * ranks just above its epoch).
     */
    public static Version rank(Entry e, long nowMillis) {
        if (liveCounter(e, nowMillis)) {
            try {
                return CausalCodec.decodeCounterState(e.value()).epoch();
            } catch (IllegalArgumentException damaged) {
                return e.version(); // bytes that do not decode rank by their version, as a plain value
            }
        }
        return e.version();
    }

    /** True if {@code e} is an unexpired counter. */
    public static boolean liveCounter(Entry e, long nowMillis) {
        return e.kind() == ValueKind.COUNTER && e.value() != null && !e.isExpired(nowMillis);
    }
}
