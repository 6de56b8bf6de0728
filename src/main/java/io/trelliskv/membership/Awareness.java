package io.trelliskv.membership;

/**
 * Lifeguard's local health awareness: how much this node distrusts itself.
 *
 * <p>A node that is overloaded, paused by its garbage collector or behind a slow network link sees acks
 * arrive late and concludes, wrongly, that its peers are failing. Lifeguard (Dadgar et al., "Lifeguard:
 * Local Health Awareness for More Accurate Failure Detection", 2018) makes such a node notice its own
 * trouble and slow down instead: the score goes up when a probe fails without the expected nacks from
 * the indirect probers (they were reachable, so the fault is likely ours), when a probe fails with no
 * indirect probers to ask, and when this node has to refute a suspicion of itself; it goes down by one
 * on each successful probe. The probe interval and probe timeout are multiplied by {@code score + 1}.
 * Same rules and scale as hashicorp/memberlist's {@code awareness.go}.
 *
 * <p>Not thread-safe: owned by the Swim thread.
 */
final class Awareness {

    /** Upper bound of the timeout multiplier; the score stays in {@code [0, max - 1]}. */
    private final int max;
    /** 0 is healthy; each unit adds one probe interval to this node's timeouts. */
    private int score;

    Awareness(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("awareness max multiplier: " + max + " (expected: >= 1)");
        }
        this.max = max;
    }

    /** Adds {@code delta} (may be negative) and clamps the score to {@code [0, max - 1]}. */
    void applyDelta(int delta) {
        score = clamp((long) score + delta, max);
    }

    int score() {
        return score;
    }

    /** {@code timeoutMillis} scaled by the current score. */
    long scale(long timeoutMillis) {
        return scale(timeoutMillis, score);
    }

    /** The clamp of a score after a delta, as a pure formula. */
    static int clamp(long score, int max) {
        return (int) Math.max(0, Math.min(max - 1, score));
    }

    /** The Lifeguard scaling: a timeout grows linearly with the score, {@code timeout * (score + 1)}. */
    static long scale(long timeoutMillis, int score) {
        return timeoutMillis * (score + 1);
    }
}
