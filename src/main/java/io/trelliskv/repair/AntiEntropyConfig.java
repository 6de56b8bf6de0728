package io.trelliskv.repair;

import static io.trelliskv.common.ConfigException.require;

/**
 * How a node runs anti-entropy.
 *
 * @param intervalMillis     mean time between two periodic rounds, each jittered by up to 10 % either way
 *                           so that nodes started together do not repair together; 0 = no periodic rounds
 *                           (REPAIR still runs one on demand)
 * @param cpuFraction        share of one core that scanning the engine (tree builds, key listings) may
 *                           use, 0 exclusive to 1: after each step the scanner sleeps long enough to keep
 *                           to it
 * @param minDepth           fewest tree levels below the root: 2^minDepth leaves however few keys
 * @param maxDepth           most levels: 2^maxDepth leaves however many keys (at most
 *                           {@link MerkleTree#MAX_DEPTH}); between the two, about 8 keys per leaf
 * @param maxKeysPerRequest  most (key, version) pairs a peer lists in one reply
 * @param maxBatchBytes      most bytes of entries pushed or pulled in one message (a single larger entry
 *                           goes alone); below the peer frame limit
 * @param maxLeavesPerRun    most adjacent differing leaves compared as one run, which bounds the keys held
 *                           in memory for one comparison to about 8 times this
 * @param timeoutMillis      how long one message to a peer may take before the exchange with it is given
 *                           up for this round (a tree build on a big range takes a while)
 */
public record AntiEntropyConfig(long intervalMillis, double cpuFraction, int minDepth, int maxDepth,
                                int maxKeysPerRequest, int maxBatchBytes, int maxLeavesPerRun,
                                long timeoutMillis) {

    public static final long DEFAULT_INTERVAL_MILLIS = 10 * 60 * 1000L;
    public static final double DEFAULT_CPU_FRACTION = 0.5;
    public static final int DEFAULT_MIN_DEPTH = 6;
    public static final int DEFAULT_MAX_DEPTH = 15;
    public static final int DEFAULT_MAX_KEYS_PER_REQUEST = 4096;
    public static final int DEFAULT_MAX_BATCH_BYTES = 4 << 20;
    public static final int DEFAULT_MAX_LEAVES_PER_RUN = 64;
    public static final long DEFAULT_TIMEOUT_MILLIS = 30_000;

    public AntiEntropyConfig {
        require(intervalMillis >= 0, "intervalMillis", intervalMillis, ">= 0, 0 = only on REPAIR");
        require(cpuFraction > 0 && cpuFraction <= 1, "cpuFraction", cpuFraction, "above 0, up to 1");
        require(minDepth >= 0, "minDepth", minDepth, ">= 0");
        require(maxDepth >= minDepth && maxDepth <= MerkleTree.MAX_DEPTH, "maxDepth", maxDepth,
                "minDepth (" + minDepth + ") to " + MerkleTree.MAX_DEPTH);
        require(maxKeysPerRequest >= 1, "maxKeysPerRequest", maxKeysPerRequest, ">= 1");
        require(maxBatchBytes >= 1024, "maxBatchBytes", maxBatchBytes, ">= 1024");
        require(maxLeavesPerRun >= 1, "maxLeavesPerRun", maxLeavesPerRun, ">= 1");
        require(timeoutMillis >= 1, "timeoutMillis", timeoutMillis, ">= 1");
    }

    public static AntiEntropyConfig defaults() {
        return new AntiEntropyConfig(DEFAULT_INTERVAL_MILLIS, DEFAULT_CPU_FRACTION, DEFAULT_MIN_DEPTH,
                DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEYS_PER_REQUEST, DEFAULT_MAX_BATCH_BYTES,
                DEFAULT_MAX_LEAVES_PER_RUN, DEFAULT_TIMEOUT_MILLIS);
    }

    public AntiEntropyConfig withInterval(long millis) {
        return new AntiEntropyConfig(millis, cpuFraction, minDepth, maxDepth, maxKeysPerRequest, maxBatchBytes,
                maxLeavesPerRun, timeoutMillis);
    }

    public AntiEntropyConfig withCpuFraction(double fraction) {
        return new AntiEntropyConfig(intervalMillis, fraction, minDepth, maxDepth, maxKeysPerRequest, maxBatchBytes,
                maxLeavesPerRun, timeoutMillis);
    }

    /** The same with other per-message bounds (tests use small ones to exercise continuation). */
    public AntiEntropyConfig withBounds(int keysPerRequest, int batchBytes, int leavesPerRun) {
        return new AntiEntropyConfig(intervalMillis, cpuFraction, minDepth, maxDepth, keysPerRequest, batchBytes,
                leavesPerRun, timeoutMillis);
    }
}
