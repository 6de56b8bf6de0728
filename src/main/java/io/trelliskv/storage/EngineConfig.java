package io.trelliskv.storage;

import java.util.Objects;

import static io.trelliskv.common.ConfigException.require;

/**
 * Settings of the in-memory engine.
 *
 * @param maxMemoryBytes       bound on accounted memory in bytes; 0 means unbounded
 * @param policy               what to do when over the bound
 * @param tombstoneGraceMillis how long a tombstone is kept after a delete before it may be purged;
 *                             0 removes deleted keys at once (a single node has nobody to tell)
 * @param evictionSamples      how many candidates are compared to choose one eviction victim
 * @param offHeapSlabs         where the engine's record slabs live: true for direct (off-heap) buffers,
 *                             false for heap arrays (see {@link SlabAllocator}); the four-argument
 *                             constructor takes {@link #defaultOffHeapSlabs()}
 */
public record EngineConfig(long maxMemoryBytes, EvictionPolicy policy, long tombstoneGraceMillis,
                           int evictionSamples, boolean offHeapSlabs) {

    /**
     * System property that chooses the default slab placement: {@code heap} or {@code direct} (the
     * default: off-heap slabs measured the lower RSS per key, see {@link MemoryEngine}).
     */
    public static final String SLABS_PROPERTY = "trelliskv.slabs";

    public static final int DEFAULT_EVICTION_SAMPLES = 5;
    /** Default tombstone grace: 4 h, longer than the default hint window (3 h) and anti-entropy interval (10 min). */
    public static final long DEFAULT_TOMBSTONE_GRACE_MILLIS = 4 * 3_600_000L;

    public EngineConfig {
        require(maxMemoryBytes >= 0, "maxMemoryBytes", maxMemoryBytes, ">= 0");
        Objects.requireNonNull(policy, "policy");
        require(tombstoneGraceMillis >= 0, "tombstoneGraceMillis", tombstoneGraceMillis, ">= 0");
        require(evictionSamples >= 1 && evictionSamples <= 64, "evictionSamples", evictionSamples, "1..64");
    }

    public EngineConfig(long maxMemoryBytes, EvictionPolicy policy, long tombstoneGraceMillis, int evictionSamples) {
        this(maxMemoryBytes, policy, tombstoneGraceMillis, evictionSamples, defaultOffHeapSlabs());
    }

    /** Off heap unless the system property {@value #SLABS_PROPERTY} is {@code heap}. */
    public static boolean defaultOffHeapSlabs() {
        String v = System.getProperty(SLABS_PROPERTY, "direct");
        require(v.equals("heap") || v.equals("direct"), SLABS_PROPERTY, v, "heap or direct");
        return v.equals("direct");
    }

    /**
     * Unbounded, with deletes removed at once: for a node that keeps the only copy of its keys (see
     * {@code NodeConfig}: a replicated node needs {@link #defaults()}' grace).
     */
    public static EngineConfig unbounded() {
        return new EngineConfig(0, EvictionPolicy.NOEVICTION, 0, DEFAULT_EVICTION_SAMPLES);
    }

    /** Unbounded, keeping tombstones {@link #DEFAULT_TOMBSTONE_GRACE_MILLIS}: the command line's defaults. */
    public static EngineConfig defaults() {
        return new EngineConfig(0, EvictionPolicy.NOEVICTION, DEFAULT_TOMBSTONE_GRACE_MILLIS, DEFAULT_EVICTION_SAMPLES);
    }
}
