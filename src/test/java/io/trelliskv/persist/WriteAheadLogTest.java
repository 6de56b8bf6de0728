package io.trelliskv.persist;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.storage.Entry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class WriteAheadLogTest {

    @TempDir
    Path dir;
    private final FaultyDisk disk = new FaultyDisk();
    private WriteAheadLog wal;

    @AfterEach
    void close() {
        if (wal != null) {
            wal.close();
        }
    }

    private WriteAheadLog open(AppendFsync fsync) throws IOException {
        return open(fsync, WalConfig.DEFAULT_SEGMENT_BYTES, 5);
    }

    private WriteAheadLog open(AppendFsync fsync, long segmentBytes, long retryMillis) throws IOException {
        Recovery.Report r = Recovery.run(dir, Recovery.Options.DEFAULT, Clock.SYSTEM, rec -> { });
        wal = WriteAheadLog.open(dir, new WalConfig(fsync, segmentBytes, 20, retryMillis, disk), Clock.SYSTEM, r);
        return wal;
    }

    private static void joinAll(List<CompletableFuture<Void>> futures) {
        CompletableFuture.allOf(futures.toArray(new CompletableFuture[0])).orTimeout(10, TimeUnit.SECONDS).join();
    }

    @Test
    void appendedRecordsAreReplayedInOrder() throws IOException {
        open(AppendFsync.ALWAYS);
        List<LogRecord> records = Logs.records(200);
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (LogRecord r : records) {
            futures.add(wal.append(r));
        }
        joinAll(futures);
        wal.close();

        Logs.Recovered back = Logs.recover(dir);
        assertThat(back.records()).containsExactlyElementsOf(records);
        assertThat(back.report().tornTail()).isNull();
        assertThat(back.report().logRecords()).isEqualTo(200);
        assertThat(back.report().nextSegment()).isEqualTo(2);
    }

    @Test
    void anEntryIsLoggedThroughItsAccessors() throws IOException {
        open(AppendFsync.ALWAYS);
        Entry e = new Entry(Key.of("user:1"), "v".getBytes(), 77, 5, 1_700_000_000_123L);
        wal.append(e).join();
        wal.close();
        LogRecord.Write back = (LogRecord.Write) Logs.recover(dir).records().get(0);
        Entry again = back.toEntry();
        assertThat(again.key()).isEqualTo(e.key());
        assertThat(again.value()).isEqualTo(e.value());
        assertThat(again.version()).isEqualTo(e.version());
        assertThat(again.expireAt()).isEqualTo(e.expireAt());
    }

    @Test
    void concurrentAppendsUnderAlwaysShareOneForce() throws Exception {
        open(AppendFsync.ALWAYS);
        int before = disk.forces.get();
        CountDownLatch forcing = disk.holdNextForce();
        CompletableFuture<Void> first = wal.append(Logs.write(0));
        assertThat(forcing.await(10, TimeUnit.SECONDS)).isTrue();

        // while the first batch's force runs, 64 appends from 4 threads queue up
        List<CompletableFuture<Void>> rest = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int base = t * 16;
            Thread thread = new Thread(() -> {
                for (int i = 1; i <= 16; i++) {
                    rest.add(wal.append(Logs.write(base + i)));
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(first).isNotDone();
        assertThat(rest).noneMatch(CompletableFuture::isDone);
        disk.releaseForces();
        first.get(10, TimeUnit.SECONDS);
        joinAll(rest);

        assertThat(disk.forces.get() - before).isEqualTo(2);
        assertThat(wal.stats().batches()).isEqualTo(2);
        assertThat(wal.stats().recordsWritten()).isEqualTo(65);
        assertThat(wal.stats().forces()).isEqualTo(2);
    }

    @Test
    void everysecAcknowledgesOnWriteAndForcesWithinTheInterval() throws Exception {
        open(AppendFsync.EVERYSEC);
        int before = disk.forces.get();
        CountDownLatch forcing = disk.holdNextForce();
        wal.append(Logs.write(1)).get(10, TimeUnit.SECONDS); // acknowledged before any force
        assertThat(forcing.await(10, TimeUnit.SECONDS)).isTrue(); // and the writer forces by itself
        disk.releaseForces();
        await().atMost(Duration.ofSeconds(10)).until(() -> disk.forces.get() == before + 1);
        assertThat(wal.stats().forces()).isEqualTo(1);
    }

    @Test
    void noForcesOnlyWhenClosing() throws IOException {
        open(AppendFsync.NO);
        int before = disk.forces.get();
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            futures.add(wal.append(Logs.write(i)));
        }
        joinAll(futures);
        assertThat(disk.forces.get()).isEqualTo(before);
        wal.close();
        assertThat(disk.forces.get()).isEqualTo(before + 1);
        assertThat(Logs.recover(dir).records()).hasSize(50);
    }

    @Test
    void aFullDiskRefusesWritesLeavesNoHalfBatchAndResumesWhenFreed() throws Exception {
        open(AppendFsync.ALWAYS, WalConfig.DEFAULT_SEGMENT_BYTES, 2);
        wal.append(Logs.write(1)).join();
        Path segment = LogFiles.segment(dir, 1);
        long good = LogFormat.HEADER_BYTES + LogFormat.encode(Logs.write(1)).length;

        disk.spaceLeft.set(10); // the next batch fits in part only
        CompletableFuture<Void> failed = wal.append(Logs.write(2));
        assertThatThrownBy(failed::join).isInstanceOf(CompletionException.class)
                .cause().isInstanceOf(LogWriteFailedException.class)
                .hasMessage("MISCONF Errors writing to the append-only log: No space left on device");
        assertThat(Files.size(segment)).as("cut back, preallocated space included").isEqualTo(good);
        assertThat(wal.state()).isEqualTo(WriteAheadLog.State.FAILED);
        assertThat(wal.stats().lastError()).isEqualTo("No space left on device");
        assertThatThrownBy(wal::checkWritable).isInstanceOf(LogWriteFailedException.class).hasMessageStartingWith("MISCONF");
        assertThat(wal.append(Logs.write(3))).isCompletedExceptionally();

        disk.free();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1))
                .until(() -> wal.state() == WriteAheadLog.State.OK);
        wal.checkWritable();
        wal.append(Logs.write(4)).get(10, TimeUnit.SECONDS);
        wal.close();
        // the failed append is written on the retry (the engine had applied it); the refused one never was
        assertThat(Logs.recover(dir).records()).containsExactly(Logs.write(1), Logs.write(2), Logs.write(4));
        assertThat(wal.stats().writeErrors()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aFailedForceFailsTheBatchAndCutsItBack() throws Exception {
        open(AppendFsync.ALWAYS, WalConfig.DEFAULT_SEGMENT_BYTES, 2);
        wal.append(Logs.write(1)).join();
        long good = LogFormat.HEADER_BYTES + LogFormat.encode(Logs.write(1)).length;
        disk.failForces = true;
        assertThatThrownBy(() -> wal.append(Logs.write(2)).join()).cause()
                .hasMessage("MISCONF Errors writing to the append-only log: Input/output error");
        assertThat(Files.size(LogFiles.segment(dir, 1))).isEqualTo(good);
        disk.failForces = false;
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1))
                .until(() -> wal.state() == WriteAheadLog.State.OK);
        wal.append(Logs.write(3)).join();
        wal.close();
        assertThat(Logs.recover(dir).records()).containsExactly(Logs.write(1), Logs.write(2), Logs.write(3));
    }

    @Test
    void aWriteErrorFailsEveryQueuedAppendAndTheLogKeepsRetrying() throws Exception {
        open(AppendFsync.EVERYSEC, WalConfig.DEFAULT_SEGMENT_BYTES, 1);
        disk.failWrites = true;
        CompletableFuture<Void> a = wal.append(Logs.write(1));
        assertThatThrownBy(a::join).cause().isInstanceOf(LogWriteFailedException.class);
        long errors = wal.stats().writeErrors();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1))
                .until(() -> wal.stats().writeErrors() > errors + 2);
        assertThat(wal.state()).isEqualTo(WriteAheadLog.State.FAILED);
        disk.failWrites = false;
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1))
                .until(() -> wal.state() == WriteAheadLog.State.OK);
        wal.close();
        assertThat(Logs.recover(dir).records()).containsExactly(Logs.write(1));
    }

    @Test
    void aCrashInTheMiddleOfAWriteLeavesATornTailThatRecoveryCuts() throws IOException {
        open(AppendFsync.ALWAYS);
        long good = LogFormat.HEADER_BYTES;
        for (int i = 0; i < 5; i++) {
            wal.append(Logs.write(i)).join();
            good += LogFormat.encode(Logs.write(i)).length;
        }
        disk.crashAfter = 7;
        assertThat(wal.append(Logs.write(5))).failsWithin(Duration.ofSeconds(10));
        wal.close();
        long size = Files.size(LogFiles.segment(dir, 1));
        assertThat(size).as("the torn record, then preallocated space").isGreaterThan(good + 7);

        Logs.Recovered back = Logs.recover(dir);
        assertThat(back.records()).hasSize(5);
        assertThat(back.report().tornTail())
                .isEqualTo(new Recovery.Truncation(LogFiles.segment(dir, 1), good, size - good));
        assertThat(Files.size(LogFiles.segment(dir, 1))).isEqualTo(good);
    }

    @Test
    void alwaysWritesIntoPreallocatedSpaceThatRecoveryAndClosingCutOff() throws IOException {
        open(AppendFsync.ALWAYS);
        Path file = LogFiles.segment(dir, 1);
        long end = LogFormat.HEADER_BYTES;
        for (int i = 0; i < 20; i++) {
            wal.append(Logs.write(i)).join();
            end += LogFormat.encode(Logs.write(i)).length;
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.size(file) > 20_000);
        assertThat(disk.preallocations.get()).isPositive();
        long forcesBefore = disk.forces.get();
        wal.append(Logs.write(20)).join();
        end += LogFormat.encode(Logs.write(20)).length;
        assertThat(disk.forces.get() - forcesBefore).as("a write into the space takes one force").isEqualTo(1);

        // a crash now (a copy of the directory as it is) leaves the space after the last record: no damage
        Path crashed = Files.createDirectory(dir.resolve("crashed"));
        Files.copy(file, crashed.resolve(file.getFileName()));
        Logs.Recovered back = Logs.recover(crashed);
        assertThat(back.records()).hasSize(21);
        assertThat(back.report().tornTail()).isNull();
        assertThat(Files.size(crashed.resolve(file.getFileName()))).as("the space is cut off").isEqualTo(end);

        wal.close();
        assertThat(Files.size(file)).as("a closed log ends at its last record").isEqualTo(end);
    }

    @Test
    void rotatedSegmentsEndAtTheirLastRecordSoOnlyTheLastHasSpace() throws IOException {
        open(AppendFsync.ALWAYS);
        List<LogRecord> appended = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 5; i++) {
                LogRecord r = Logs.write(round * 5 + i);
                wal.append(r).join();
                appended.add(r);
            }
            Path current = LogFiles.segment(dir, wal.stats().segment());
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.size(current) > wal.stats().segmentBytes());
            if (round < 2) {
                wal.rotate().join(); // as a snapshot does, long before the segment is full
            }
        }
        assertThat(wal.stats().segment()).isEqualTo(3);

        // a crash now: space in any segment but the last would be damage, and refused
        Path crashed = Files.createDirectory(dir.resolve("crashed"));
        for (Path segment : LogFiles.segments(dir).values()) {
            Files.copy(segment, crashed.resolve(segment.getFileName()));
        }
        Logs.Recovered back = Logs.recover(crashed);
        assertThat(back.records()).containsExactlyElementsOf(appended);
        assertThat(back.report().tornTail()).isNull();
    }

    @Test
    void segmentsRotateAtTheirSizeAndSnapshotsLetOldOnesGo() throws IOException {
        open(AppendFsync.NO, 300, 5);
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            futures.add(wal.append(Logs.write(i)));
            if (i % 10 == 9) {
                joinAll(futures); // one batch at a time, so each meets the size check
            }
        }
        joinAll(futures);
        long current = wal.stats().segment();
        assertThat(current).isGreaterThan(3);
        assertThat(wal.rotate().join()).isEqualTo(current + 1);
        assertThat(wal.rotate().join()).as("an empty segment is not rotated").isEqualTo(current + 1);
        assertThat(wal.deleteSegmentsBefore(3)).isEqualTo(2);
        wal.close();
        assertThat(LogFiles.segments(dir).firstKey()).isEqualTo(3);
        wal = null;
        assertThatThrownBy(() -> Logs.recover(dir)).isInstanceOf(CorruptLogException.class)
                .hasMessageContaining("no valid snapshot is left");
    }

    @Test
    void aClosedLogRefusesAppends() throws IOException {
        open(AppendFsync.ALWAYS);
        wal.append(Logs.write(1)).join();
        wal.close();
        assertThat(wal.state()).isEqualTo(WriteAheadLog.State.CLOSED);
        assertThatThrownBy(() -> wal.append(Logs.write(2)).join()).cause()
                .hasMessageContaining("the log is closed");
    }

    @Test
    void statsCountBytesRecordsAndForceLatency() throws IOException {
        open(AppendFsync.ALWAYS);
        long bytes = 0;
        for (int i = 0; i < 10; i++) {
            wal.append(Logs.write(i)).join();
            bytes += LogFormat.encode(Logs.write(i)).length;
        }
        WriteAheadLog.Stats s = wal.stats();
        assertThat(s.state()).isEqualTo(WriteAheadLog.State.OK);
        assertThat(s.recordsWritten()).isEqualTo(10);
        assertThat(s.bytesWritten()).isEqualTo(bytes);
        assertThat(s.forces()).isEqualTo(10);
        assertThat(s.maxForceMicros()).isGreaterThanOrEqualTo(s.lastForceMicros());
        assertThat(s.segmentBytes()).isEqualTo(LogFormat.HEADER_BYTES + bytes);
        assertThat(s.lastError()).isNull();
    }

    /**
     * A batch that a rotation splits (a snapshot starting) fails in its first part: the appends after the
     * rotation were queued before anything queued while the failing write ran, and the retry must write
     * them in that order. (Order matters: without tombstones, a key's delete replayed before the older put
     * of the same key brings the key back.)
     */
    @Test
    void theRetryKeepsTheOrderOfAppendsWhenAFailureSplitsABatchAtARotation() throws Exception {
        open(AppendFsync.ALWAYS, WalConfig.DEFAULT_SEGMENT_BYTES, 2);
        CountDownLatch forcing = disk.holdNextForce();
        wal.write(Logs.write(0));
        assertThat(forcing.await(10, TimeUnit.SECONDS)).isTrue();
        // queued while the first batch's force runs: one batch of A, a rotation, B
        wal.write(Logs.write(1));
        CompletableFuture<Long> rotated = wal.rotate();
        wal.write(Logs.write(2));
        CountDownLatch writing = disk.holdNextWrite();
        disk.releaseForces();
        assertThat(writing.await(10, TimeUnit.SECONDS)).isTrue(); // A's write, held
        wal.write(Logs.write(3)); // C, queued while A's write runs
        disk.failWrites = true;
        disk.releaseWrites();
        assertThatThrownBy(() -> rotated.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(LogWriteFailedException.class);
        disk.failWrites = false;
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1))
                .until(() -> wal.state() == WriteAheadLog.State.OK);
        wal.close();
        assertThat(Logs.recover(dir).records())
                .containsExactly(Logs.write(0), Logs.write(1), Logs.write(2), Logs.write(3));
    }
}
