package io.trelliskv.storage;

/**
 * Counters since start (or since the last stats reset).
 *
 * @param expiredKeys  entries reclaimed because their TTL passed (lazily or actively)
 * @param evictedKeys  entries evicted to stay under the memory bound
 * @param keyspaceHits lookups by {@link Engine#get} that found a live entry
 * @param keyspaceMisses lookups that found nothing
 * @param tombstones   tombstones currently held
 */
public record EngineStats(long expiredKeys, long evictedKeys, long keyspaceHits, long keyspaceMisses,
                          long tombstones) {
}
