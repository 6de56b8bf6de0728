package io.trelliskv.membership;

/** Exponential backoff for retrying a join while no seed answers. */
final class Backoff {

    private Backoff() {
    }

    /**
     * Delay before retry number {@code attempt} (0 for the first retry), ms: {@code initial * 2^attempt},
     * capped at {@code max}.
     */
    static long delayMillis(int attempt, long initialMillis, long maxMillis) {
        if (attempt >= 62 || initialMillis > (maxMillis >> Math.min(attempt, 62))) {
            return maxMillis;
        }
        return Math.min(maxMillis, initialMillis << attempt);
    }
}
