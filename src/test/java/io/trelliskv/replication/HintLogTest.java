package io.trelliskv.replication;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.persist.AppendFsync;
import io.trelliskv.persist.LogChannel;
import io.trelliskv.persist.LogFormat;
import io.trelliskv.persist.LogRecord;
import io.trelliskv.persist.Recovery;
import io.trelliskv.persist.WalConfig;
import io.trelliskv.persist.WriteAheadLog;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.PnCounter;
import io.trelliskv.version.Version;
import io.trelliskv.version.VersionVector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** {@link HintStore#open}: hints that survive a restart, through {@link HintLog}. */
class HintLogTest {

    private static final long A = 0xa;
    private static final long B = 0xb;
    private static final long WINDOW = 3 * 60 * 60 * 1_000L;

    @TempDir
    Path dir;

    private final ManualClock clock = new ManualClock(1_700_000_000_000L);
    private final List<HintStore> opened = new ArrayList<>();
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger hintLogLogger = (Logger) LoggerFactory.getLogger(HintLog.class);

    @BeforeEach
    void captureLog() {
        logged.start();
        hintLogLogger.addAppender(logged);
    }

    @AfterEach
    void closeAll() {
        opened.forEach(HintStore::close);
        hintLogLogger.detachAppender(logged);
    }

    private HintStore open() throws IOException {
        return open(HintConfig.defaults(), HintLog.DEFAULT_COMPACT_BYTES);
    }

    private HintStore open(HintConfig config, long compactBytes) throws IOException {
        HintStore s = HintStore.open(config, clock, dir, WalConfig.of(AppendFsync.EVERYSEC), compactBytes);
        opened.add(s);
        return s;
    }

    private HintStore reopen(HintStore s) throws IOException {
        s.close();
        return open();
    }

    static Entry entry(String key, String value, long hlc) {
        return new Entry(Key.of(key), value == null ? null : value.getBytes(StandardCharsets.UTF_8), hlc, 0x1, 0);
    }

    private List<String> warnings() {
        return logged.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
                .toList();
    }

    private long dirBytes() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private Path lastSegment() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().matches("log-\\d{16}\\.tkl")).sorted()
                    .reduce((a, b) -> b).orElseThrow();
        }
    }

    @Test
    void hintsSurviveCloseAndReopenInTheirOrder() throws IOException {
        HintStore s = open();
        Entry k1 = entry("k1", "one", 1);
        Entry k2 = entry("k2", null, 2);
        Entry k3 = new Entry(Key.of("k3"), "three".getBytes(StandardCharsets.UTF_8), 3, 0x2, 1_800_000_000_000L);
        s.add(A, k1);
        s.add(A, k2);
        s.add(B, k3);

        HintStore back = reopen(s);

        assertThat(back.pendingByTarget()).containsExactly(java.util.Map.entry(A, 2), java.util.Map.entry(B, 1));
        assertThat(back.next(A, 10)).extracting(LogRecord::of)
                .containsExactly(LogRecord.of(k1), LogRecord.of(k2));
        assertThat(back.next(B, 10)).extracting(LogRecord::of).containsExactly(LogRecord.of(k3));
        assertThat(back.pendingBytes()).isEqualTo(HintStore.sizeOf(k1) + HintStore.sizeOf(k2) + HintStore.sizeOf(k3));
        assertThat(warnings()).isEmpty();
    }

    @Test
    void hintsKeepTheirValuesKindAcrossAReopen() throws IOException {
        HintStore s = open();
        Entry siblings = new Entry(Key.of("v"), CausalCodec.encode(DvvSet.<byte[]>empty()
                .update(VersionVector.EMPTY, "a".getBytes(StandardCharsets.UTF_8), 1)), 4, 0x1, 0,
                ValueKind.VERSIONED);
        Entry counter = new Entry(Key.of("c"), CausalCodec.encode(PnCounter.ZERO.add(1, 3)),
                5, 0x1, 0, ValueKind.COUNTER);
        s.add(A, siblings);
        s.add(A, counter);

        HintStore back = reopen(s);

        assertThat(back.next(A, 10)).extracting(Entry::kind)
                .containsExactly(ValueKind.VERSIONED, ValueKind.COUNTER);
    }

    @Test
    void removedHintsDoNotComeBack() throws IOException {
        HintStore s = open();
        Entry acked = entry("acked", "v", 10);
        Entry refused = entry("refused", "v", 11);
        Entry expired = entry("expired", "v", 12);
        Entry flushed = entry("flushed", "v", 5);
        Entry kept = entry("kept", "v", 30);
        s.add(A, expired);
        clock.advanceMillis(WINDOW / 2);
        s.add(A, acked);
        s.add(A, refused);
        s.add(A, flushed);
        s.add(A, kept);
        s.add(B, entry("gone with its target", "v", 40));

        s.acknowledged(A, List.of(acked));
        s.discard(A, List.of(refused));
        s.dropTarget(B);
        assertThat(s.dropOlderThan(new Version(6, 0))).isEqualTo(1);
        clock.advanceMillis(WINDOW / 2 + 1);
        assertThat(s.expire()).isEqualTo(1);

        HintStore back = reopen(s);

        assertThat(back.pendingByTarget()).containsExactly(java.util.Map.entry(A, 1));
        assertThat(back.next(A, 10)).extracting(LogRecord::of).containsExactly(LogRecord.of(kept));
    }

    @Test
    void aReplacedHintComesBackAsItsNewestVersionOnly() throws IOException {
        HintStore s = open();
        s.add(A, entry("k", "one", 1));
        s.add(A, entry("other", "x", 1));
        s.add(A, entry("k", "two", 3));
        s.add(A, entry("k", "older, ignored", 2));
        // the delivery of the old version, acknowledged after the newer one was stored, removes nothing
        s.acknowledged(A, List.of(entry("k", "one", 1)));

        HintStore back = reopen(s);

        assertThat(back.pending()).isEqualTo(2);
        assertThat(back.next(A, 10)).extracting(LogRecord::of)
                .containsExactly(LogRecord.of(entry("other", "x", 1)), LogRecord.of(entry("k", "two", 3)));
    }

    @Test
    void loadedHintsKeepTheirAgeAndRespectTheBoundsOldestFirst() throws IOException {
        HintStore s = open();
        s.add(B, entry("older", "v", 9));
        clock.advanceMillis(WINDOW / 4);
        for (int i = 0; i < 5; i++) {
            s.add(A, entry("k" + i, "v", i + 1));
        }
        s.close();
        clock.advanceMillis(WINDOW / 4);

        HintStore back = open(new HintConfig(WINDOW, 4, 1L << 20, 5_000, 256), HintLog.DEFAULT_COMPACT_BYTES);

        assertThat(back.pendingByTarget()).containsExactly(java.util.Map.entry(A, 3), java.util.Map.entry(B, 1));
        assertThat(back.stats().dropped()).isEqualTo(2);
        back.close();
        HintStore again = open(); // from the log the first open rewrote
        assertThat(again.pending()).isEqualTo(4);
        clock.advanceMillis(WINDOW / 2 - 1);
        assertThat(again.expire()).isZero();
        clock.advanceMillis(2);
        assertThat(again.expire()).isEqualTo(1);
        assertThat(again.pendingByTarget()).containsOnlyKeys(A);
        clock.advanceMillis(WINDOW / 4);
        assertThat(reopen(again).pending()).as("loaded past the window: expired at once").isZero();
    }

    @Test
    void aWallClockSteppedBackCountsAsNoAge() throws IOException {
        HintStore s = open();
        s.add(A, entry("k", "v", 1));
        s.close();
        clock.stepWallClock(-WINDOW);

        HintStore back = open();
        clock.advanceMillis(WINDOW);
        assertThat(back.expire()).isZero();
        clock.advanceMillis(1);
        assertThat(back.expire()).isEqualTo(1);
    }

    @Test
    void compactionKeepsTheDirectorySmallWhileHintsComeAndGo() throws IOException {
        long compactBytes = 64 << 10;
        HintStore s = open(HintConfig.defaults(), compactBytes);
        byte[] value = new byte[100];
        List<Entry> live = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            Entry e = new Entry(Key.of("key-" + i), value, i + 1, 0x1, 0);
            s.add(A, e);
            if (i % 100 == 0) {
                live.add(e); // one in a hundred stays pending
            } else if (i % 10 == 9) {
                s.acknowledged(A, s.next(A, 1000).stream().filter(h -> !live.contains(h)).toList());
            }
        }
        s.acknowledged(A, s.next(A, 100_000).stream().filter(h -> !live.contains(h)).toList());
        assertThat(s.pending()).isEqualTo(100);
        // about 1.3 MB of hint records were appended, and as many removals
        assertThat(s.log().compactions()).isGreaterThan(10);
        long bound = 3 * compactBytes + 4 * s.log().liveBytes() + 64 * LogFormat.HEADER_BYTES;
        await().atMost(Duration.ofSeconds(10)).until(() -> dirBytes() <= bound);

        HintStore back = reopen(s);

        assertThat(dirBytes()).isLessThanOrEqualTo(bound);
        assertThat(back.next(A, 1000)).extracting(LogRecord::of)
                .containsExactlyElementsOf(live.stream().map(LogRecord::of).toList());
    }

    @Test
    void aStoreThatEmptiesCompactsToAnEmptyLog() throws IOException {
        HintStore s = open(HintConfig.defaults(), 1 << 10);
        for (int i = 0; i < 100; i++) {
            Entry e = entry("k" + i, "value " + i, i + 1);
            s.add(A, e);
            s.acknowledged(A, List.of(e));
        }
        s.close();

        // what was appended since the last compaction (under 1 KiB and a record) and a segment's header
        assertThat(dirBytes()).isLessThanOrEqualTo(2 * LogFormat.HEADER_BYTES + 2 * 1024);
        assertThat(open().pending()).isZero();
    }

    @Test
    void aTornTailIsCutAndTheHintsBeforeItKept() throws IOException {
        HintStore s = open();
        Entry k1 = entry("k1", "one", 1);
        s.add(A, k1);
        s.close();
        byte[] next = LogFormat.encode(LogRecord.Hint.of(A, 0, entry("k2", "two", 2)));
        Path last = lastSegment();
        long size = Files.size(last);
        Files.write(last, Arrays.copyOf(next, next.length / 2), StandardOpenOption.APPEND);

        HintStore back = open();

        assertThat(back.next(A, 10)).extracting(LogRecord::of).containsExactly(LogRecord.of(k1));
        assertThat(warnings()).singleElement().asString().contains("torn write").contains(last.toString())
                .contains("offset " + size);
    }

    @Test
    void aDamagedLogIsDroppedWithOneWarningAndTheStoreStartsEmpty() throws IOException {
        HintStore s = open();
        for (int i = 0; i < 3; i++) {
            s.add(A, entry("k" + i, "value", i + 1));
        }
        s.close();
        Path last = lastSegment();
        byte[] bytes = Files.readAllBytes(last);
        int firstRecord = LogFormat.HEADER_BYTES;
        bytes[firstRecord + LogFormat.FRAME_BYTES + 3] ^= 0x5a; // inside the first record's body; good ones follow
        Files.write(last, bytes);

        HintStore back = open();

        assertThat(back.pending()).isZero();
        assertThat(warnings()).singleElement().asString().contains("damaged").contains(last.toString())
                .contains("offset " + firstRecord);
        assertThat(Files.exists(last)).isFalse();

        // and the fresh log works
        back.add(B, entry("after", "v", 9));
        logged.list.clear();
        HintStore again = reopen(back);
        assertThat(again.next(B, 10)).extracting(LogRecord::of).containsExactly(LogRecord.of(entry("after", "v", 9)));
        assertThat(warnings()).isEmpty();
    }

    @Test
    void aDirectoryHoldingTheEnginesLogIsRefused() throws IOException {
        Recovery.Report empty = Recovery.run(dir, Recovery.Options.DEFAULT, clock, r -> { });
        try (WriteAheadLog engineLog = WriteAheadLog.open(dir, WalConfig.of(AppendFsync.NO), clock, empty)) {
            engineLog.append(entry("k", "v", 1)).join();
        }

        assertThatThrownBy(this::open).isInstanceOf(IOException.class).hasMessageContaining("not hints");
        assertThat(dirBytes()).isGreaterThan(2 * LogFormat.HEADER_BYTES); // nothing deleted
    }

    @Test
    void withoutADirectoryTheStoreIsInMemory() throws IOException {
        HintStore s = HintStore.open(HintConfig.defaults(), clock, null, AppendFsync.EVERYSEC);
        s.add(A, entry("k", "v", 1));
        assertThat(s.log()).isNull();
        s.close();
        assertThat(s.pending()).isEqualTo(1);
    }

    @Test
    void afterCloseTheStoreGoesOnInMemory() throws IOException {
        HintStore s = open();
        s.add(A, entry("k1", "v", 1));
        s.close();
        s.add(A, entry("k2", "v", 2));
        s.close();
        assertThat(s.pending()).isEqualTo(2);
        assertThat(open().pending()).isEqualTo(1);
    }

    /** The real disk, but one that can be full: writes fail while it is. */
    private static final class FillableDisk implements LogChannel.Factory {
        volatile boolean full;

        @Override
        public LogChannel open(Path path) throws IOException {
            LogChannel real = LogChannel.FILES.open(path);
            return new LogChannel() {
                @Override
                public int write(ByteBuffer src) throws IOException {
                    if (full) {
                        throw new IOException("No space left on device");
                    }
                    return real.write(src);
                }

                @Override
                public void force() throws IOException {
                    real.force();
                }

                @Override
                public long size() throws IOException {
                    return real.size();
                }

                @Override
                public void truncate(long size) throws IOException {
                    real.truncate(size);
                }

                @Override
                public void close() throws IOException {
                    real.close();
                }
            };
        }

        @Override
        public void syncDirectory(Path d) throws IOException {
            LogChannel.FILES.syncDirectory(d);
        }
    }

    @Test
    void afterTheLogRefusedAppendsItIsRewrittenOnceItWritesAgain() throws IOException {
        FillableDisk disk = new FillableDisk();
        HintStore s = HintStore.open(HintConfig.defaults(), clock, dir,
                new WalConfig(AppendFsync.EVERYSEC, WalConfig.DEFAULT_SEGMENT_BYTES, 1000, 10, disk),
                HintLog.DEFAULT_COMPACT_BYTES);
        opened.add(s);
        Entry delivered = entry("delivered", "v", 1);
        s.add(A, delivered);
        disk.full = true;
        s.add(A, entry("failed, retried by the log", "v", 2));
        await().atMost(Duration.ofSeconds(10)).until(() -> s.log().walStats().state() == WriteAheadLog.State.FAILED);
        s.add(A, entry("refused", "v", 3));
        s.acknowledged(A, List.of(delivered));
        assertThat(warnings()).singleElement().asString().contains("refused an append");
        disk.full = false;
        // the log retries on its clock, the store's: move it on until the retry has happened
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            clock.advanceMillis(20);
            return s.log().walStats().state() == WriteAheadLog.State.OK;
        });
        long compactions = s.log().compactions();

        s.add(B, entry("after", "v", 4));

        assertThat(s.log().compactions()).isEqualTo(compactions + 1);
        HintStore back = reopen(s);
        assertThat(back.next(A, 10)).extracting(LogRecord::of).containsExactly(
                LogRecord.of(entry("failed, retried by the log", "v", 2)), LogRecord.of(entry("refused", "v", 3)));
        assertThat(back.next(B, 10)).extracting(LogRecord::of).containsExactly(LogRecord.of(entry("after", "v", 4)));
    }

    @Test
    void manyHintsSurviveAReopen() throws IOException {
        HintStore s = open();
        for (int i = 0; i < 20_000; i++) {
            s.add(i % 2 == 0 ? A : B, entry("k" + i, "v" + i, i + 1));
        }
        HintStore back = reopen(s);
        assertThat(back.pendingByTarget()).containsExactly(java.util.Map.entry(A, 10_000), java.util.Map.entry(B, 10_000));
        assertThat(back.next(B, 1)).extracting(LogRecord::of).containsExactly(LogRecord.of(entry("k1", "v1", 2)));
    }
}
