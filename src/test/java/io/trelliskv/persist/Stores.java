package io.trelliskv.persist;

import io.trelliskv.common.Clock;
import io.trelliskv.common.ManualClock;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

/** Helpers of the tests that run an engine over a {@link Persistence}: opening one, and its stored state. */
final class Stores {

    static final long NODE = 7;
    static final long START_MILLIS = 1_700_000_000_000L;

    private Stores() {
    }

    /** An engine journaling into a persistence opened on {@code dir}; the engine runs on {@code clock}. */
    record Store(MemoryEngine engine, Hlc hlc, Persistence persistence) implements AutoCloseable {
        @Override
        public void close() {
            persistence.close();
            engine.close();
        }
    }

    /**
     * Opens {@code dir} into a fresh engine with tombstone grace {@code graceMillis} on {@code clock}; the
     * log itself runs on the system clock, so that its retries happen in real time.
     */
    static Store open(Path dir, ManualClock clock, long graceMillis, PersistConfig config) throws IOException {
        Persistence.Deferred journal = Persistence.deferred();
        Hlc hlc = new Hlc(clock);
        MemoryEngine engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, graceMillis,
                EngineConfig.DEFAULT_EVICTION_SAMPLES), clock, hlc, NODE, journal);
        Persistence p = Persistence.open(dir, config, Clock.SYSTEM, engine, journal);
        return new Store(engine, hlc, p);
    }

    /** One stored entry, comparable field by field and readable in a failure. */
    record Stored(String key, String value, long hlc, long node, long expireAt) {
    }

    /** The engine's whole stored state: every entry (tombstones and expired ones included) and the flush floor. */
    record State(List<Stored> entries, Version floor) {
    }

    static State state(Engine engine) {
        List<Stored> out = new ArrayList<>();
        engine.forEachInRange(0, 0, e -> out.add(new Stored(new String(e.key().bytes()),
                e.value() == null ? "<tombstone>" : HexFormat.of().formatHex(e.value()), e.hlc(), e.nodeId(),
                e.expireAt())));
        out.sort(Comparator.comparing(Stored::key));
        return new State(out, engine.flushFloor());
    }
}
