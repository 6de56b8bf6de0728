package io.trelliskv.persist;

import io.trelliskv.common.Key;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SnapshotsTest {

    @TempDir
    Path dir;

    private static List<Entry> entries(int n, long hlc) {
        return java.util.stream.IntStream.range(0, n)
                .mapToObj(i -> new Entry(Key.of("k" + i), i % 4 == 3 ? null : ("v" + hlc).getBytes(), hlc, 1,
                        i % 2 == 0 ? 0 : 1_700_000_000_000L))
                .toList();
    }

    private Snapshots.Info write(long first, long hlc) throws IOException {
        return Snapshots.write(dir, first, new Version(hlc - 1, 9), entries(10, hlc).iterator(), LogChannel.FILES);
    }

    private static void flip(Path file, int offset) throws IOException {
        byte[] b = Files.readAllBytes(file);
        b[offset] ^= 0x40;
        Files.write(file, b);
    }

    @Test
    void aSnapshotLoadsItsFloorThenItsEntries() throws IOException {
        Snapshots.Info info = write(1, 50);
        assertThat(info.entries()).isEqualTo(10);
        assertThat(info.bytes()).isEqualTo(Files.size(info.file()));
        Logs.Recovered back = Logs.recover(dir);
        assertThat(back.report().snapshot()).isEqualTo(info.file());
        assertThat(back.records().get(0)).isEqualTo(new LogRecord.Flush(new Version(49, 9)));
        assertThat(back.records().subList(1, 11))
                .isEqualTo(entries(10, 50).stream().map(LogRecord::of).toList());
        assertThat(back.report().nextSegment()).isEqualTo(1);
    }

    @Test
    void aCorruptNewestSnapshotFallsBackToThePreviousOne() throws IOException {
        Snapshots.Info older = write(1, 50);
        Snapshots.Info newer = write(2, 60);
        flip(newer.file(), (int) newer.bytes() - 12);
        Logs.Recovered back = Logs.recover(dir);
        assertThat(back.report().snapshot()).isEqualTo(older.file());
        assertThat(back.report().skippedSnapshots()).singleElement().asString()
                .startsWith(newer.file() + " is corrupt at offset");
    }

    @Test
    void withNoValidSnapshotAWholeLogIsReplayedAlone() throws IOException {
        Files.write(LogFiles.segment(dir, 1), RecoveryTest.segment(1, Logs.records(4)));
        Snapshots.Info snap = write(2, 50);
        flip(snap.file(), 3);
        Logs.Recovered back = Logs.recover(dir);
        assertThat(back.report().snapshot()).isNull();
        assertThat(back.records()).isEqualTo(Logs.records(4));
    }

    @Test
    void aSnapshotCutShortOnARecordBoundaryIsRecognised() throws IOException {
        Snapshots.Info snap = write(1, 50);
        byte[] b = Files.readAllBytes(snap.file());
        int endRecord = LogFormat.encodeSnapshotEnd(10).length;
        Files.write(snap.file(), Arrays.copyOf(b, b.length - endRecord));
        assertThatThrownBy(() -> Snapshots.load(snap.file(), r -> { })).isInstanceOf(CorruptLogException.class)
                .hasMessageEndingWith("cut short before its end record");
    }

    @Test
    void aFailedSnapshotLeavesNothingBehind() throws IOException {
        FaultyDisk disk = new FaultyDisk();
        disk.spaceLeft.set(100);
        Iterator<Entry> it = entries(100, 70).iterator();
        assertThatThrownBy(() -> Snapshots.write(dir, 3, Version.ZERO, it, disk))
                .hasMessage("No space left on device");
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void pruneKeepsTheNewestAndSaysWhereTheLogMayStart() throws IOException {
        write(1, 10);
        write(4, 20);
        write(9, 30);
        Files.write(dir.resolve("snapshot-0000000000000012.tks.tmp"), new byte[]{1});
        assertThat(Snapshots.prune(dir, 2)).isEqualTo(4);
        assertThat(LogFiles.snapshots(dir).keySet()).containsExactly(4L, 9L);
        try (var files = Files.list(dir)) {
            assertThat(files).hasSize(2);
        }
        assertThat(Snapshots.prune(dir, 5)).isEqualTo(4);
    }
}
