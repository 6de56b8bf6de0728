package io.trelliskv.command;

import java.util.Locale;

/** Properties of a command, as COMMAND reports them and as the dispatcher acts on them. */
public enum CommandFlag {
    /** Modifies the keyspace. */
    WRITE,
    /** Only reads. */
    READONLY,
    /** Refused with OOM when memory is over the bound and nothing can be evicted. */
    DENYOOM,
    /** Runs in constant or logarithmic time. */
    FAST,
    /** Administrative. */
    ADMIN,
    /** Allowed while the node is loading or stale. */
    STALE,
    /** Allowed before authentication. */
    NO_AUTH,
    /** Not part of the keyspace: connection handling. */
    LOADING;

    /** The name COMMAND prints: {@code denyoom}, {@code no_auth}. */
    public String redisName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
