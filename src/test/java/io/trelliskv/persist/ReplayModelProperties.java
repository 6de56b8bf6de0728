package io.trelliskv.persist;

import io.trelliskv.common.Clock;
import io.trelliskv.version.Version;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Replaying the log gives the state the writes made, by a model that applies last-writer-wins by version
 * and the flush floor as simply as possible; a fuzzy snapshot with the log after it gives the same state
 * as the whole log.
 */
class ReplayModelProperties {

    /** The state records make: per key the newest write at or above the floor, and the floor. */
    static final class Model {
        final Map<String, LogRecord.Write> keys = new HashMap<>();
        Version floor = Version.ZERO;

        void apply(LogRecord r) {
            if (r instanceof LogRecord.Flush f) {
                if (f.floor().isNewerThan(floor)) {
                    floor = f.floor();
                    keys.values().removeIf(w -> w.version().compareTo(floor) < 0);
                }
                return;
            }
            LogRecord.Write w = (LogRecord.Write) r;
            if (w.version().compareTo(floor) < 0) {
                return;
            }
            keys.merge(new String(w.key()), w, (old, now) -> now.version().isNewerThan(old.version()) ? now : old);
        }

        Model copy() {
            Model m = new Model();
            m.keys.putAll(keys);
            m.floor = floor;
            return m;
        }

        static Model of(List<LogRecord> records) {
            Model m = new Model();
            records.forEach(m::apply);
            return m;
        }

        void assertSameAs(Model other) {
            assertThat(keys).isEqualTo(other.keys);
            assertThat(floor).isEqualTo(other.floor);
        }
    }

    @Provide
    Arbitrary<List<LogRecord>> histories() {
        // few keys, clashing versions, tombstones, expiries and the odd FLUSHALL
        Arbitrary<LogRecord> write = Combinators.combine(Arbitraries.integers().between(0, 5),
                        Arbitraries.longs().between(1, 60), Arbitraries.longs().between(1, 3),
                        Arbitraries.integers().between(-1, 20), Arbitraries.of(0L, 1_700_000_000_000L))
                .as((k, hlc, node, len, exp) -> Logs.write(k, hlc, node, len, exp));
        Arbitrary<LogRecord> flush = Combinators.combine(Arbitraries.longs().between(1, 60),
                Arbitraries.longs().between(1, 3)).as((h, n) -> new LogRecord.Flush(new Version(h, n)));
        return Arbitraries.frequencyOf(Tuple.of(15, write), Tuple.of(1, flush)).list().ofMaxSize(80);
    }

    @Property(tries = 60, seed = "20250116")
    void replayingTheLogGivesTheStateThatProducedIt(@ForAll("histories") List<LogRecord> history) throws IOException {
        Path dir = Files.createTempDirectory("replay");
        try {
            Recovery.Report none = Recovery.run(dir, Recovery.Options.DEFAULT, Clock.SYSTEM, r -> { });
            // small segments, so replay crosses several
            try (WriteAheadLog wal = WriteAheadLog.open(dir, new WalConfig(AppendFsync.NO, 256, 1000, 10,
                    LogChannel.FILES), Clock.SYSTEM, none)) {
                appendAll(wal, history);
            }
            Model replayed = new Model();
            Recovery.run(dir, Recovery.Options.DEFAULT, Clock.SYSTEM, replayed::apply);
            replayed.assertSameAs(Model.of(history));
        } finally {
            delete(dir);
        }
    }

    @Property(tries = 60, seed = "20250117")
    void aFuzzySnapshotAndTheLogAfterItGiveTheStateOfTheWholeLog(@ForAll("histories") List<LogRecord> history,
                                                                @ForAll long seed) throws IOException {
        Random random = new Random(seed);
        int start = random.nextInt(history.size() + 1);
        int end = start + random.nextInt(history.size() - start + 1);
        Path dir = Files.createTempDirectory("snapshot");
        Path logOnly = Files.createTempDirectory("log-only");
        try {
            Recovery.Report none = Recovery.run(dir, Recovery.Options.DEFAULT, Clock.SYSTEM, r -> { });
            Model engine = new Model();
            List<Model> during = new ArrayList<>();
            Version floorAtStart;
            long first;
            try (WriteAheadLog wal = WriteAheadLog.open(dir, new WalConfig(AppendFsync.NO, 256, 1000, 10,
                    LogChannel.FILES), Clock.SYSTEM, none)) {
                // the engine applies each write, then the log takes it
                for (LogRecord r : history.subList(0, start)) {
                    engine.apply(r);
                    wal.append(r).join();
                }
                first = wal.rotate().join();
                floorAtStart = engine.floor;
                during.add(engine.copy());
                for (LogRecord r : history.subList(start, end)) {
                    engine.apply(r);
                    wal.append(r).join();
                    during.add(engine.copy());
                }
                // the snapshot's iterator met each key at some moment between start and end
                List<io.trelliskv.storage.Entry> seen = new ArrayList<>();
                for (int k = 0; k <= 5; k++) {
                    LogRecord.Write w = during.get(random.nextInt(during.size())).keys.get("k" + k);
                    if (w != null) {
                        seen.add(w.toEntry());
                    }
                }
                Snapshots.write(dir, first, floorAtStart, seen.iterator(), LogChannel.FILES);
                for (LogRecord r : history.subList(end, history.size())) {
                    engine.apply(r);
                    wal.append(r).join();
                }
                try (Stream<Path> files = Files.list(dir)) {
                    for (Path p : files.filter(p -> p.getFileName().toString().startsWith("log-")).toList()) {
                        Files.copy(p, logOnly.resolve(p.getFileName()));
                    }
                }
                wal.deleteSegmentsBefore(first);
            }
            Model fromSnapshot = new Model();
            Recovery.Report report = Recovery.run(dir, Recovery.Options.DEFAULT, Clock.SYSTEM, fromSnapshot::apply);
            assertThat(report.snapshot()).isNotNull();
            Model fromLog = new Model();
            Recovery.run(logOnly, Recovery.Options.DEFAULT, Clock.SYSTEM, fromLog::apply);

            fromLog.assertSameAs(Model.of(history));
            fromSnapshot.assertSameAs(fromLog);
        } finally {
            delete(dir);
            delete(logOnly);
        }
    }

    private static void appendAll(WriteAheadLog wal, List<LogRecord> history) {
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (LogRecord r : history) {
            futures.add(wal.append(r));
        }
        CompletableFuture.allOf(futures.toArray(new CompletableFuture[0])).join();
    }

    static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
