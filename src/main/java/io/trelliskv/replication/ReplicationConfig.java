package io.trelliskv.replication;

import static io.trelliskv.common.ConfigException.require;

/**
 * How a node replicates.
 *
 * @param replicationFactor   N: copies of each key (effective: min(N, nodes))
 * @param readLevel           the node's default read consistency
 * @param writeLevel          the node's default write consistency
 * @param sloppyQuorum        whether a write kept as a hint counts toward the write level
 * @param maxClockDriftMillis a version further ahead of this node's clock than this is refused
 * @param readRepairChance    chance that a read at ONE checks the other replicas in the background
 * @param replicaTimeoutMillis how long a coordinator waits for a replica's answer
 * @param readSpeculativeRetryMillis how long a read waits at least for a replica it asked before it also asks
 *                            another (a speculative retry; the peer transport waits longer while the 99th
 *                            percentile of its recent replica reads is longer); 0 never asks another for
 *                            slowness, only when one fails.
 *                            A delay at or past {@code replicaTimeoutMillis} is cut to it: by then the replica
 *                            has failed anyway ({@link #speculativeDelayMillis})
 */
public record ReplicationConfig(int replicationFactor, ConsistencyLevel readLevel, ConsistencyLevel writeLevel,
                                boolean sloppyQuorum, long maxClockDriftMillis, double readRepairChance,
                                long replicaTimeoutMillis, long readSpeculativeRetryMillis) {

    public static final int DEFAULT_REPLICATION_FACTOR = 3;
    public static final long DEFAULT_MAX_CLOCK_DRIFT_MILLIS = 500;
    public static final double DEFAULT_READ_REPAIR_CHANCE = 0.1;
    public static final long DEFAULT_REPLICA_TIMEOUT_MILLIS = 2_000;
    /**
     * A replica read on loopback or in one data centre answers in well under a millisecond; one that has not
     * after 5 ms is paused (GC, a full socket buffer) or gone, and asking the next costs one more read.
     */
    public static final long DEFAULT_READ_SPECULATIVE_RETRY_MILLIS = 5;

    public ReplicationConfig {
        require(replicationFactor >= 1 && replicationFactor <= 16, "replicationFactor", replicationFactor, "1 to 16");
        require(readLevel != null, "readLevel", null, "ONE, QUORUM or ALL");
        require(writeLevel != null, "writeLevel", null, "ONE, QUORUM or ALL");
        require(maxClockDriftMillis >= 1, "maxClockDriftMillis", maxClockDriftMillis, ">= 1");
        require(readRepairChance >= 0 && readRepairChance <= 1, "readRepairChance", readRepairChance, "0 to 1");
        require(replicaTimeoutMillis >= 1, "replicaTimeoutMillis", replicaTimeoutMillis, ">= 1");
        require(readSpeculativeRetryMillis >= 0, "readSpeculativeRetryMillis", readSpeculativeRetryMillis,
                ">= 0 (0: off)");
    }

    /** A configuration with the default speculative retry of reads. */
    public ReplicationConfig(int replicationFactor, ConsistencyLevel readLevel, ConsistencyLevel writeLevel,
                             boolean sloppyQuorum, long maxClockDriftMillis, double readRepairChance,
                             long replicaTimeoutMillis) {
        this(replicationFactor, readLevel, writeLevel, sloppyQuorum, maxClockDriftMillis, readRepairChance,
                replicaTimeoutMillis, DEFAULT_READ_SPECULATIVE_RETRY_MILLIS);
    }

    /** How long a read waits for a replica before asking another: bounded by the replica timeout; 0 for never. */
    public long speculativeDelayMillis() {
        return Math.min(readSpeculativeRetryMillis, replicaTimeoutMillis);
    }

    public static ReplicationConfig defaults() {
        return new ReplicationConfig(DEFAULT_REPLICATION_FACTOR, ConsistencyLevel.QUORUM, ConsistencyLevel.QUORUM,
                false, DEFAULT_MAX_CLOCK_DRIFT_MILLIS, DEFAULT_READ_REPAIR_CHANCE, DEFAULT_REPLICA_TIMEOUT_MILLIS,
                DEFAULT_READ_SPECULATIVE_RETRY_MILLIS);
    }

    /** The defaults with another replication factor. */
    public ReplicationConfig withReplicationFactor(int n) {
        return new ReplicationConfig(n, readLevel, writeLevel, sloppyQuorum, maxClockDriftMillis, readRepairChance,
                replicaTimeoutMillis, readSpeculativeRetryMillis);
    }
}
