package io.trelliskv.persist;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.persist.Stores.State;
import io.trelliskv.persist.Stores.Store;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random histories of puts, deletes, merges (newer, older, tombstones), flushes, snapshots (some still
 * running when the next operations come, some abandoned by a close) and restarts, in both tombstone
 * modes: after every restart the recovered engine's stored state is exactly the live engine's before the
 * close (the live engine is the model: recovery must reproduce whatever it stored).
 */
class PersistenceModelProperties {

    sealed interface Op {
    }

    record Put(int key, int len, long ttl) implements Op {
    }

    record Delete(int key) implements Op {
    }

    /** A versioned entry from node {@code node}, {@code skew} ms ahead of (or behind) the engine's clock. */
    record Merge(int key, int len, long node, long skew) implements Op {
    }

    record Flush() implements Op {
    }

    /** Starts a snapshot; {@code await} waits for it, otherwise it runs on while the next operations come. */
    record Snapshot(boolean await) implements Op {
    }

    record Reopen() implements Op {
    }

    record Tick(long millis) implements Op {
    }

    @Provide
    Arbitrary<List<Op>> histories() {
        Arbitrary<Integer> key = Arbitraries.integers().between(0, 7);
        Arbitrary<Op> put = Combinators.combine(key, Arbitraries.integers().between(0, 30),
                Arbitraries.of(0L, 0L, 5_000L, -1L)).as(Put::new);
        Arbitrary<Op> delete = key.map(Delete::new);
        Arbitrary<Op> merge = Combinators.combine(key, Arbitraries.integers().between(-1, 30),
                Arbitraries.longs().between(1, 3), Arbitraries.of(-50L, -1L, 0L, 1L, 50L)).as(Merge::new);
        Arbitrary<Op> flush = Arbitraries.just(new Flush());
        Arbitrary<Op> snapshot = Arbitraries.of(true, false).map(Snapshot::new);
        Arbitrary<Op> reopen = Arbitraries.just(new Reopen());
        Arbitrary<Op> tick = Arbitraries.longs().between(0, 20).map(Tick::new);
        return Arbitraries.frequencyOf(Tuple.of(10, put), Tuple.of(4, delete), Tuple.of(5, merge),
                Tuple.of(1, flush), Tuple.of(2, snapshot), Tuple.of(2, reopen), Tuple.of(3, tick)).list().ofMaxSize(70);
    }

    @Property(tries = 40, seed = "20250201")
    void theRecoveredEngineIsTheLiveOneWithTombstones(@ForAll("histories") List<Op> history) throws Exception {
        run(history, 60_000);
    }

    @Property(tries = 40, seed = "20250202")
    void theRecoveredEngineIsTheLiveOneWithoutTombstones(@ForAll("histories") List<Op> history) throws Exception {
        run(history, 0);
    }

    private static void run(List<Op> history, long grace) throws Exception {
        Path dir = Files.createTempDirectory("persistence-model");
        ManualClock clock = new ManualClock(Stores.START_MILLIS);
        PersistConfig config = PersistConfig.of(AppendFsync.NO).withRewrite(0, 0);
        Store store = Stores.open(dir, clock, grace, config);
        try {
            for (Op op : history) {
                var engine = store.engine();
                if (op instanceof Put p) {
                    engine.put(key(p.key()), value(p.len(), clock.millis()),
                            p.ttl() == 0 ? 0 : clock.millis() + p.ttl());
                } else if (op instanceof Delete d) {
                    engine.delete(key(d.key()));
                } else if (op instanceof Merge m) {
                    engine.merge(new Entry(key(m.key()),
                            m.len() < 0 ? null : value(m.len(), clock.millis() + m.node()),
                            Math.max(1, store.hlc().peek() + m.skew()), m.node(), 0));
                } else if (op instanceof Flush) {
                    engine.flush(new Version(store.hlc().now(), Stores.NODE));
                } else if (op instanceof Snapshot s) {
                    Persistence.Started running = store.persistence().snapshot();
                    if (s.await()) {
                        running.done().get(30, TimeUnit.SECONDS);
                    }
                } else if (op instanceof Tick t) {
                    clock.advanceMillis(t.millis());
                } else {
                    State before = Stores.state(engine);
                    store.close(); // a snapshot still running is abandoned
                    store = Stores.open(dir, clock, grace, config);
                    assertThat(Stores.state(store.engine())).as("after a restart").isEqualTo(before);
                }
            }
            State before = Stores.state(store.engine());
            store.close();
            store = Stores.open(dir, clock, grace, config);
            assertThat(Stores.state(store.engine())).as("at the end").isEqualTo(before);
        } finally {
            store.close();
            ReplayModelProperties.delete(dir);
        }
    }

    private static Key key(int k) {
        return Key.of("k" + k);
    }

    private static byte[] value(int len, long seed) {
        byte[] v = new byte[len];
        for (int i = 0; i < len; i++) {
            v[i] = (byte) (seed + i);
        }
        return v;
    }
}
