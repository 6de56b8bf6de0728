package io.trelliskv.storage;

/**
 * Settings of the in-memory engine.
 *
 * @param maxMemoryBytes       bound on accounted memory in bytes; 0 means unbounded
 * @param policy               what to do when over the bound
 * @param tombstoneGraceMillis how long a tombstone is kept after a delete before it may be purged;
 *                             0 removes deleted keys at once (a single node has nobody to tell)
 * @param evictionSamples      how many candidates are compared to choose one eviction victim
 */
public record EngineConfig(long maxMemoryBytes, EvictionPolicy policy, long tombstoneGraceMillis,
                           int evictionSamples) {

    public static final int DEFAULT_EVICTION_SAMPLES = 5;

    public EngineConfig {
        if (maxMemoryBytes < 0) {
            throw new IllegalArgumentException("maxMemoryBytes: " + maxMemoryBytes + " (expected: >= 0)");
        }
        if (tombstoneGraceMillis < 0) {
            throw new IllegalArgumentException("tombstoneGraceMillis: " + tombstoneGraceMillis
                    + " (expected: >= 0)");
        }
        if (evictionSamples < 1 || evictionSamples > 64) {
            throw new IllegalArgumentException("evictionSamples: " + evictionSamples + " (expected: 1..64)");
        }
    }

    public static EngineConfig unbounded() {
        return new EngineConfig(0, EvictionPolicy.NOEVICTION, 0, DEFAULT_EVICTION_SAMPLES);
    }
}
