package io.trelliskv.replication;

import static io.trelliskv.common.ConfigException.require;

/**
 * Bounds and pacing of hinted handoff. {@link #defaults()} gives the values below; the bounds are
 * shared by all targets, so one long-dead replica cannot hold more than the whole budget.
 *
 * @param windowMillis        a hint older than this (counted from when it was stored) is dropped:
 *                            a replica down longer than the window is left to repair, as in
 *                            Cassandra's {@code max_hint_window}; default 3 h
 * @param maxHints            most hints held, all targets together; default 100 000
 * @param maxBytes            most bytes held, all targets together, as {@link HintStore#sizeOf} counts
 *                            them; default 64 MiB
 * @param replayRatePerSecond most hints replayed per second to one target, so a replica that comes
 *                            back is not flooded while it also takes live traffic; default 5 000
 * @param replayBatch         most hints in one write to a target; default 256
 */
public record HintConfig(
        long windowMillis,
        int maxHints,
        long maxBytes,
        int replayRatePerSecond,
        int replayBatch) {

    public HintConfig {
        require(windowMillis >= 1, "windowMillis", windowMillis, ">= 1");
        require(maxHints >= 1, "maxHints", maxHints, ">= 1");
        require(maxBytes >= 1, "maxBytes", maxBytes, ">= 1");
        require(replayRatePerSecond >= 1, "replayRatePerSecond", replayRatePerSecond, ">= 1");
        require(replayBatch >= 1, "replayBatch", replayBatch, ">= 1");
    }

    public static HintConfig defaults() {
        return new HintConfig(
                3 * 60 * 60 * 1_000L, // window: 3 h
                100_000,              // max hints
                64L << 20,            // max bytes: 64 MiB
                5_000,                // replay rate per target
                256);                 // replay batch
    }
}
