package io.trelliskv.replication;

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
        if (replicationFactor < 1 || replicationFactor > 16) {
            throw new IllegalArgumentException("replication factor: " + replicationFactor + " (expected: 1 to 16)");
        }
        if (readLevel == null || writeLevel == null) {
            throw new IllegalArgumentException("consistency levels must be given");
        }
        if (maxClockDriftMillis < 1) {
            throw new IllegalArgumentException("max clock drift: " + maxClockDriftMillis + " ms (expected: >= 1)");
        }
        if (!(readRepairChance >= 0 && readRepairChance <= 1)) {
            throw new IllegalArgumentException("read repair chance: " + readRepairChance + " (expected: 0 to 1)");
        }
        if (replicaTimeoutMillis < 1) {
            throw new IllegalArgumentException("replica timeout: " + replicaTimeoutMillis + " ms (expected: >= 1)");
        }
    }

    public static ReplicationConfig defaults() {
        return new ReplicationConfig(DEFAULT_REPLICATION_FACTOR, ConsistencyLevel.QUORUM, ConsistencyLevel.QUORUM,
                false, DEFAULT_MAX_CLOCK_DRIFT_MILLIS, DEFAULT_READ_REPAIR_CHANCE, DEFAULT_REPLICA_TIMEOUT_MILLIS);
    }
}
