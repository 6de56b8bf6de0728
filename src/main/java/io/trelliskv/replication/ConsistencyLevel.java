package io.trelliskv.replication;

import io.trelliskv.common.ParseException;

/**
 * How many of a key's replicas must answer before a read or write completes. With N replicas,
 * QUORUM is a majority, so a QUORUM write and a later QUORUM read always share a replica.
 */
public enum ConsistencyLevel {
    ONE,
    QUORUM,
    ALL;

    /** Replicas that must answer, out of {@code replicas} (at least 1). */
    public int required(int replicas) {
        if (replicas < 1) {
            throw new IllegalArgumentException("replicas: " + replicas + " (expected: >= 1)");
        }
        return switch (this) {
            case ONE -> 1;
            case QUORUM -> replicas / 2 + 1;
            case ALL -> replicas;
        };
    }

    /**
     * The level named {@code text}, in any case.
     *
     * @throws ParseException naming the accepted levels
     */
    public static ConsistencyLevel parse(String text) {
        for (ConsistencyLevel level : values()) {
            if (level.name().equalsIgnoreCase(text)) {
                return level;
            }
        }
        throw new ParseException("unknown consistency level '" + text + "' (expected: ONE, QUORUM or ALL)");
    }
}
