package io.trelliskv.server;

import io.trelliskv.common.Clock;
import io.trelliskv.storage.Engine;

/** The string commands (GET, SET and family). Being written. */
final class StringCommands {

    private final Engine engine;
    private final Clock clock;
    /** Largest value a command may create (APPEND, SETRANGE), in bytes: the protocol's bulk limit. */
    private final long maxValueLength;

    StringCommands(Engine engine, Clock clock, long maxValueLength) {
        this.engine = engine;
        this.clock = clock;
        this.maxValueLength = maxValueLength;
    }

    void registerInto(CommandTable table) {
    }
}
