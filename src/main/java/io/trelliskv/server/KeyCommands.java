package io.trelliskv.server;

import io.trelliskv.common.Clock;
import io.trelliskv.storage.Engine;

/** The keyspace commands (DEL, EXPIRE, SCAN and family). Being written. */
final class KeyCommands {

    private final Engine engine;
    private final Clock clock;

    KeyCommands(Engine engine, Clock clock) {
        this.engine = engine;
        this.clock = clock;
    }

    void registerInto(CommandTable table) {
    }
}
