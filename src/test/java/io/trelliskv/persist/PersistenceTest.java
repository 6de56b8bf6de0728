package io.trelliskv.persist;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.persist.Stores.State;
import io.trelliskv.persist.Stores.Store;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EntryView;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.trelliskv.persist.Stores.START_MILLIS;
import static io.trelliskv.persist.Stores.state;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * An engine journaling into a {@link Persistence}, closed and reopened into a fresh engine, holds the same
 * stored entries — values, tombstones, versions, expiry times — and the same flush floor; snapshots keep
 * that true while keeping the disk bounded; a failing disk refuses writes and heals.
 */
class PersistenceTest {

    private static final long GRACE = 60_000;

    @TempDir
    Path dir;
    private final ManualClock clock = new ManualClock(START_MILLIS);
    private final List<Store> opened = new ArrayList<>();

    @AfterEach
    void closeAll() {
        opened.forEach(Store::close);
    }

    private Store open(long grace, PersistConfig config) throws IOException {
        return open(dir, grace, config);
    }

    private Store open(Path where, long grace, PersistConfig config) throws IOException {
        Store s = Stores.open(where, clock, grace, config);
        opened.add(s);
        return s;
    }

    private static Key k(String name) {
        return Key.of(name);
    }

    private static byte[] v(String value) {
        return value.getBytes();
    }

    /**
     * Every kind of stored entry: overwrites, TTLs (in the future and already past), deletes of live and
     * absent keys, merges newer and older than what is stored, merged tombstones, a flush, writes after it.
     */
    private void writeEverything(Store s) {
        var e = s.engine();
        e.put(k("plain"), v("one"), 0);
        e.put(k("plain"), v("two"), 0);
        e.put(k("ttl"), v("lives"), START_MILLIS + 3_600_000);
        e.put(k("expired"), v("gone"), START_MILLIS - 1);
        clock.advanceMillis(5);
        e.put(k("deleted"), v("x"), 0);
        e.delete(k("deleted"));
        e.delete(k("never-there"));
        long ahead = s.hlc().peek() + 1_000;
        e.merge(new Entry(k("merged-newer"), v("from-2"), ahead, 2, 0));
        e.put(k("merged-older"), v("mine"), 0);
        assertThat(e.merge(new Entry(k("merged-older"), v("stale"), 1, 2, 0))).isFalse();
        e.put(k("tombstoned"), v("y"), 0);
        e.merge(new Entry(k("tombstoned"), null, s.hlc().peek() + 10, 3, 0));
        e.merge(new Entry(k("remote-ttl"), v("t"), s.hlc().peek() + 20, 3, START_MILLIS + 99_000));
        clock.advanceMillis(5);
        e.put(k("before-flush"), v("dropped"), 0);
        Version floor = new Version(s.hlc().now(), Stores.NODE);
        e.flush(floor);
        assertThat(e.merge(new Entry(k("below-floor"), v("refused"), floor.hlc() - 1, 2, 0))).isFalse();
        clock.advanceMillis(5);
        e.put(k("after-flush"), v("kept"), 0);
        e.put(k("plain"), v("three"), START_MILLIS + 7_000);
        e.delete(k("after-flush"));
        e.put(k("resurrected"), v("r1"), 0);
        e.delete(k("resurrected"));
        e.put(k("resurrected"), v("r2"), 0);
    }

    /** A replica's plain entry as a view of a buffer holding its key then its value ({@code null}: a tombstone). */
    private static EntryView view(String key, String value, long hlc, long node, long expireAt) {
        byte[] bytes = (key + (value == null ? "" : value)).getBytes();
        return new EntryView().set(ByteBuffer.wrap(bytes), 0, key.length(), key.length(),
                value == null ? -1 : value.length(), hlc, node, expireAt, ValueKind.PLAIN);
    }

    @ParameterizedTest(name = "tombstone grace {0} ms")
    @ValueSource(longs = {0, GRACE})
    void writesMergedInPlaceAreLoggedAsEntryMergesAreAndRecovered(long grace) throws IOException {
        assertThat(Persistence.deferred().records()).as("a journal before its persistence opens").isFalse();
        Store first = open(grace, PersistConfig.of(AppendFsync.EVERYSEC));
        var e = first.engine();
        assertThat(e.merge(view("merged", "from-2", first.hlc().peek() + 1_000, 2, 0))).isTrue();
        e.put(k("tombstoned"), v("y"), 0);
        assertThat(e.merge(view("tombstoned", null, first.hlc().peek() + 10, 3, 0))).isTrue();
        assertThat(e.merge(view("remote-ttl", "t", first.hlc().peek() + 20, 3, START_MILLIS + 99_000))).isTrue();
        assertThat(e.merge(view("remote-ttl", "stale", 1, 2, 0))).isFalse();
        State before = state(e);
        assertThat(before.entries()).extracting(Stores.Stored::key).contains("merged", "remote-ttl");
        first.close();
        opened.remove(first);

        Store again = open(grace, PersistConfig.of(AppendFsync.EVERYSEC));
        assertThat(state(again.engine())).isEqualTo(before);
    }

    @ParameterizedTest(name = "tombstone grace {0} ms")
    @ValueSource(longs = {0, GRACE})
    void aReopenedEngineHoldsEveryStoredEntryAndTheFloor(long grace) throws IOException {
        Store first = open(grace, PersistConfig.of(AppendFsync.EVERYSEC));
        writeEverything(first);
        State before = state(first.engine());
        assertThat(before.entries()).extracting(Stores.Stored::key).contains("plain", "resurrected");
        if (grace > 0) {
            assertThat(before.entries()).filteredOn(x -> x.value().equals("<tombstone>")).isNotEmpty();
        }
        first.close();
        opened.remove(first);

        Store again = open(grace, PersistConfig.of(AppendFsync.EVERYSEC));
        assertThat(state(again.engine())).isEqualTo(before);
        assertThat(again.persistence().keptData()).isTrue();
        assertThat(again.engine().get(k("plain")).value()).isEqualTo(v("three"));
        assertThat(again.engine().get(k("deleted"))).isNull();
        assertThat(again.engine().get(k("before-flush"))).isNull();
        assertThat(again.engine().get(k("resurrected")).value()).isEqualTo(v("r2"));
    }

    @Test
    void aDeleteWithoutTombstonesStaysDeletedAfterARestartEvenOverTheLogOfItsKey() throws IOException {
        Store first = open(0, PersistConfig.of(AppendFsync.ALWAYS));
        first.engine().put(k("a"), v("1"), 0);
        first.engine().delete(k("a"));
        assertThat(state(first.engine()).entries()).isEmpty();
        first.close();
        opened.remove(first);
        Store again = open(0, PersistConfig.of(AppendFsync.ALWAYS));
        assertThat(state(again.engine()).entries()).isEmpty();
    }

    @Test
    void aSnapshotAndTheLogAfterItRecoverWhatTheLogAloneDoes() throws Exception {
        Path logOnly = Files.createDirectory(dir.resolve("log-only"));
        Path withSnapshot = Files.createDirectory(dir.resolve("with-snapshot"));
        // the same writes into two engines on one clock: the same versions
        Store a = open(logOnly, GRACE, PersistConfig.of(AppendFsync.NO));
        Store b = open(withSnapshot, GRACE, PersistConfig.of(AppendFsync.NO));
        for (Store s : List.of(a, b)) {
            for (int i = 0; i < 300; i++) {
                s.engine().put(k("k" + i), v("first-" + i), i % 3 == 0 ? START_MILLIS + 10_000 + i : 0);
            }
        }
        Snapshots.Info snap = b.persistence().snapshot().done().get(30, TimeUnit.SECONDS);
        assertThat(snap.entries()).isEqualTo(300);
        clock.advanceMillis(1);
        for (Store s : List.of(a, b)) {
            for (int i = 0; i < 300; i += 2) {
                s.engine().put(k("k" + i), v("second-" + i), 0); // overwrites
            }
            for (int i = 1; i < 300; i += 7) {
                s.engine().delete(k("k" + i));
            }
            s.engine().flush(new Version(s.hlc().now(), Stores.NODE));
            for (int i = 0; i < 300; i += 5) {
                s.engine().put(k("k" + i), v("third-" + i), 0);
            }
            s.engine().merge(new Entry(k("remote"), v("r"), s.hlc().peek() + 5, 2, 0));
        }
        State live = state(b.engine());
        assertThat(state(a.engine())).isEqualTo(live);
        a.close();
        b.close();
        opened.clear();

        Store a2 = open(logOnly, GRACE, PersistConfig.of(AppendFsync.NO));
        Store b2 = open(withSnapshot, GRACE, PersistConfig.of(AppendFsync.NO));
        assertThat(b2.persistence().recovered().snapshot()).isEqualTo(snap.file());
        assertThat(b2.persistence().recovered().logRecords())
                .isLessThan(a2.persistence().recovered().logRecords());
        assertThat(state(a2.engine())).isEqualTo(live);
        assertThat(state(b2.engine())).isEqualTo(live);
    }

    private static long dirBytes(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            long total = 0;
            for (Path p : files.toList()) {
                total += Files.size(p);
            }
            return total;
        }
    }

    @Test
    void twoSnapshotsAreKeptTheLogBehindThemIsDeletedAndTheDiskStaysBounded() throws Exception {
        Store s = open(GRACE, PersistConfig.of(AppendFsync.NO));
        byte[] value = new byte[100];
        Snapshots.Info last = null;
        long maxDir = 0;
        for (int round = 0; round < 50; round++) {
            clock.advanceMillis(1);
            for (int i = 0; i < 1000; i++) {
                value[0] = (byte) round;
                s.engine().put(k("key:" + i), value.clone(), 0);
            }
            last = s.persistence().snapshot().done().get(30, TimeUnit.SECONDS);
            assertThat(last.entries()).isEqualTo(1000);
            var snapshots = LogFiles.snapshots(dir);
            assertThat(snapshots.size()).isLessThanOrEqualTo(Persistence.SNAPSHOTS_KEPT);
            assertThat(snapshots).containsValue(last.file());
            // no segment before the older kept snapshot's first one survives
            assertThat(LogFiles.segments(dir).firstKey()).isGreaterThanOrEqualTo(snapshots.firstKey());
            maxDir = Math.max(maxDir, dirBytes(dir));
        }
        // two snapshots, the log since the older (two rounds, each about a snapshot) and an empty segment
        assertThat(maxDir).isLessThan(5 * last.bytes());
        assertThat(s.persistence().stats().snapshots()).isEqualTo(50);
        State live = state(s.engine());
        s.close();
        opened.clear();
        Store again = open(GRACE, PersistConfig.of(AppendFsync.NO));
        assertThat(again.persistence().recovered().snapshot()).isEqualTo(last.file());
        assertThat(state(again.engine())).isEqualTo(live);
    }

    @Test
    void keptDataIsFalseOnAnEmptyDirectoryAndTrueOnceSomethingWasWritten() throws IOException {
        Store first = open(GRACE, PersistConfig.of(AppendFsync.ALWAYS));
        assertThat(first.persistence().keptData()).isFalse();
        first.engine().put(k("a"), v("1"), 0);
        first.close();
        opened.clear();
        Store again = open(GRACE, PersistConfig.of(AppendFsync.ALWAYS));
        assertThat(again.persistence().keptData()).isTrue();
        assertThat(again.engine().get(k("a")).value()).isEqualTo(v("1"));
    }

    @Test
    void aFailingDiskRefusesWritesWithMisconfAndTheyResumeWhenItHeals() throws Exception {
        FaultyDisk disk = new FaultyDisk();
        Store s = open(GRACE, PersistConfig.of(AppendFsync.ALWAYS).withChannels(disk));
        Persistence p = s.persistence();
        s.engine().put(k("before"), v("1"), 0);
        p.durable().get(10, TimeUnit.SECONDS);
        p.checkWritable();
        assertThat(p.writable()).isTrue();

        disk.failWrites = true;
        s.engine().put(k("failing"), v("2"), 0); // applied, its log write fails
        CompletableFuture<Void> durable = p.durable();
        assertThatThrownBy(() -> durable.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(LogWriteFailedException.class).hasMessageStartingWith("MISCONF ");
        assertThat(p.writable()).isFalse();
        assertThatThrownBy(p::checkWritable).isInstanceOf(LogWriteFailedException.class)
                .hasMessage("MISCONF Errors writing to the append-only log: Input/output error");
        assertThat(p.stats().log().state()).isEqualTo(WriteAheadLog.State.FAILED);

        disk.failWrites = false;
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(p::writable);
        p.checkWritable();
        s.engine().put(k("after"), v("3"), 0);
        p.durable().get(10, TimeUnit.SECONDS);
        State live = state(s.engine());
        s.close();
        opened.clear();
        Store again = open(GRACE, PersistConfig.of(AppendFsync.ALWAYS));
        // the write applied while the disk failed was kept and written once it healed
        assertThat(state(again.engine())).isEqualTo(live);
        assertThat(again.engine().get(k("failing")).value()).isEqualTo(v("2"));
    }

    /**
     * Not every write goes through the checks of the request path: read repair, anti-entropy and range
     * streams merge into the engine whatever the log's state. What the engine stored while the log failed
     * must still reach the log once the disk heals, or a restart loses it.
     */
    @Test
    void whatTheEngineStoresWhileTheLogFailsIsWrittenOnceTheDiskHeals() throws Exception {
        FaultyDisk disk = new FaultyDisk();
        Store s = open(GRACE, PersistConfig.of(AppendFsync.EVERYSEC).withChannels(disk));
        Persistence p = s.persistence();
        disk.failWrites = true;
        s.engine().put(k("trigger"), v("1"), 0);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1)).until(() -> !p.writable());
        // a repair's merge while the log is FAILED
        assertThat(s.engine().merge(new Entry(k("repaired"), v("r"), s.hlc().peek() + 5, 2, 0))).isTrue();
        disk.failWrites = false;
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(p::writable);
        State live = state(s.engine());
        s.close();
        opened.clear();
        Store again = open(GRACE, PersistConfig.of(AppendFsync.EVERYSEC));
        assertThat(state(again.engine())).isEqualTo(live);
    }
}
