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
 */
public record ReplicationConfig(int replicationFactor, ConsistencyLevel readLevel, ConsistencyLevel writeLevel,
                                boolean sloppyQuorum, long maxClockDriftMillis, double readRepairChance,
                                long replicaTimeoutMillis) {

    public static final int DEFAULT_REPLICATION_FACTOR = 3;
    public static final long DEFAULT_MAX_CLOCK_DRIFT_MILLIS = 500;
    public static final double DEFAULT_READ_REPAIR_CHANCE = 0.1;
    public static final long DEFAULT_REPLICA_TIMEOUT_MILLIS = 2_000;

    public ReplicationConfig {
        require(replicationFactor >= 1 && replicationFactor <= 16, "replicationFactor", replicationFactor, "1 to 16");
        require(readLevel != null, "readLevel", null, "ONE, QUORUM or ALL");
        require(writeLevel != null, "writeLevel", null, "ONE, QUORUM or ALL");
        require(maxClockDriftMillis >= 1, "maxClockDriftMillis", maxClockDriftMillis, ">= 1");
        require(readRepairChance >= 0 && readRepairChance <= 1, "readRepairChance", readRepairChance, "0 to 1");
        require(replicaTimeoutMillis >= 1, "replicaTimeoutMillis", replicaTimeoutMillis, ">= 1");
    }

    public static ReplicationConfig defaults() {
        return new ReplicationConfig(DEFAULT_REPLICATION_FACTOR, ConsistencyLevel.QUORUM, ConsistencyLevel.QUORUM,
                false, DEFAULT_MAX_CLOCK_DRIFT_MILLIS, DEFAULT_READ_REPAIR_CHANCE, DEFAULT_REPLICA_TIMEOUT_MILLIS);
    }

    /** The defaults with another replication factor. */
    public ReplicationConfig withReplicationFactor(int n) {
        return new ReplicationConfig(n, readLevel, writeLevel, sloppyQuorum, maxClockDriftMillis, readRepairChance,
                replicaTimeoutMillis);
    }
}
