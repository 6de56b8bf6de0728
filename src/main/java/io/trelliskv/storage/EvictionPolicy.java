package io.trelliskv.storage;

import io.trelliskv.common.ParseException;

import java.util.Locale;

/** What the engine does when a write finds memory in use above the configured bound. */
public enum EvictionPolicy {
    /** Refuse writes with an OOM error; reads keep working. */
    NOEVICTION,
    /** Evict the approximately least recently used key among all keys. */
    ALLKEYS_LRU,
    /** Evict the approximately least recently used key among keys with a TTL. */
    VOLATILE_LRU,
    /** Evict the key with the nearest expiry time among keys with a TTL. */
    VOLATILE_TTL;

    /** The Redis-style name: {@code allkeys-lru}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Parses a Redis-style name, case-insensitively; a {@link ParseException} names the accepted ones. */
    public static EvictionPolicy parse(String s) {
        for (EvictionPolicy p : values()) {
            if (p.configName().equalsIgnoreCase(s)) {
                return p;
            }
        }
        throw new ParseException("unknown eviction policy '" + s
                + "' (expected: noeviction, allkeys-lru, volatile-lru, volatile-ttl)");
    }
}
