package io.trelliskv.persist;

import io.trelliskv.common.Clock;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RecoveryTest {

    @TempDir
    Path dir;

    /** The bytes of segment {@code seq} holding {@code records}. */
    static byte[] segment(long seq, List<LogRecord> records) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(LogFormat.header(LogFormat.LOG_MAGIC, seq));
        for (LogRecord r : records) {
            out.writeBytes(LogFormat.encode(r));
        }
        return out.toByteArray();
    }

    /** Offsets at which each record of {@code records} starts, and the end. */
    static int[] boundaries(List<LogRecord> records) {
        int[] at = new int[records.size() + 1];
        at[0] = LogFormat.HEADER_BYTES;
        for (int i = 0; i < records.size(); i++) {
            at[i + 1] = at[i] + LogFormat.encode(records.get(i)).length;
        }
        return at;
    }

    private static void clear(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
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

    @Test
    void everyCutOfTheLastSegmentRecoversTheWholeRecordsBeforeIt() throws IOException {
        List<LogRecord> records = Logs.records(12);
        byte[] full = segment(1, records);
        int[] at = boundaries(records);
        Path file = LogFiles.segment(dir, 1);
        for (int cut = 0; cut <= full.length; cut++) {
            clear(dir);
            Files.write(file, Arrays.copyOf(full, cut));
            Logs.Recovered back = Logs.recover(dir);

            int whole = 0;
            while (whole < records.size() && at[whole + 1] <= cut) {
                whole++;
            }
            assertThat(back.records()).as("cut at %d", cut).isEqualTo(records.subList(0, whole));
            boolean onBoundary = cut >= LogFormat.HEADER_BYTES && at[whole] == cut;
            if (onBoundary) {
                assertThat(back.report().tornTail()).as("cut at %d", cut).isNull();
                assertThat(Files.size(file)).isEqualTo(cut);
            } else if (cut < LogFormat.HEADER_BYTES) {
                assertThat(back.report().tornTail()).isEqualTo(new Recovery.Truncation(file, 0, cut));
                assertThat(file).doesNotExist();
            } else {
                assertThat(back.report().tornTail()).as("cut at %d", cut)
                        .isEqualTo(new Recovery.Truncation(file, at[whole], cut - at[whole]));
                assertThat(Files.size(file)).isEqualTo(at[whole]);
            }
            // and the log goes on from there
            assertThat(Logs.recover(dir).report().tornTail()).isNull();
        }
    }

    @Property(tries = 300, seed = "20250115")
    void aFlippedBitIsNeverAppliedSilently(@ForAll @IntRange(min = 1, max = 30) int n,
                                           @ForAll @IntRange(min = 0, max = Integer.MAX_VALUE - 1) int where,
                                           @ForAll @IntRange(min = 0, max = 7) int bit) throws IOException {
        Path tmp = Files.createTempDirectory("flip");
        try {
            List<LogRecord> records = Logs.records(n);
            byte[] bytes = segment(1, records);
            int at = where % bytes.length;
            bytes[at] ^= (byte) (1 << bit);
            Files.write(LogFiles.segment(tmp, 1), bytes);
            int[] bounds = boundaries(records);
            int damaged = 0;
            while (damaged < records.size() && bounds[damaged + 1] <= at) {
                damaged++;
            }
            try {
                Logs.Recovered back = Logs.recover(tmp);
                // accepted only as a torn tail: the damaged record was the last one, and nothing after it
                assertThat(damaged).isEqualTo(records.size() - 1);
                assertThat(back.records()).isEqualTo(records.subList(0, damaged));
                assertThat(back.report().tornTail().offset()).isEqualTo(bounds[damaged]);
            } catch (CorruptLogException e) {
                assertThat(e.offset()).isEqualTo(at < LogFormat.HEADER_BYTES ? 0 : bounds[damaged]);
                Logs.Recovered fixed = Logs.recover(tmp, new Recovery.Options(true));
                assertThat(fixed.records()).isEqualTo(records.subList(0, at < LogFormat.HEADER_BYTES ? 0 : damaged));
            }
        } finally {
            clear(tmp);
            Files.delete(tmp);
        }
    }

    @Test
    void zerosAfterTheLastRecordAreATornTail() throws IOException {
        List<LogRecord> records = Logs.records(5);
        byte[] bytes = segment(1, records);
        Files.write(LogFiles.segment(dir, 1), Arrays.copyOf(bytes, bytes.length + 4096));
        Logs.Recovered back = Logs.recover(dir);
        assertThat(back.records()).isEqualTo(records);
        assertThat(back.report().tornTail()).isEqualTo(new Recovery.Truncation(LogFiles.segment(dir, 1), bytes.length, 4096));
    }

    /** {@code bytes} followed by {@code n} bytes of preallocated space. */
    private static byte[] withSpace(byte[] bytes, int n) {
        byte[] out = Arrays.copyOf(bytes, bytes.length + n);
        Arrays.fill(out, bytes.length, out.length, LogFormat.PREALLOCATED);
        return out;
    }

    @Test
    void preallocatedSpaceAfterTheLastRecordIsCutOffWithoutAWord() throws IOException {
        List<LogRecord> records = Logs.records(5);
        byte[] bytes = segment(1, records);
        Path file = LogFiles.segment(dir, 1);
        Files.write(file, withSpace(bytes, 4096));
        Logs.Recovered back = Logs.recover(dir);
        assertThat(back.records()).isEqualTo(records);
        assertThat(back.report().tornTail()).isNull();
        assertThat(Files.size(file)).isEqualTo(bytes.length);
    }

    @Test
    void aTornRecordBeforePreallocatedSpaceIsATornTail() throws IOException {
        List<LogRecord> records = Logs.records(6);
        byte[] bytes = segment(1, records);
        int[] at = boundaries(records);
        Path file = LogFiles.segment(dir, 1);
        Files.write(file, withSpace(Arrays.copyOf(bytes, at[5] + 9), 4096));
        Logs.Recovered back = Logs.recover(dir);
        assertThat(back.records()).isEqualTo(records.subList(0, 5));
        assertThat(back.report().tornTail()).isEqualTo(new Recovery.Truncation(file, at[5], 9 + 4096));
        assertThat(Files.size(file)).isEqualTo(at[5]);
    }

    @Test
    void preallocatedSpaceInASegmentThatIsNotTheLastIsDamage() throws IOException {
        byte[] first = segment(1, Logs.records(4));
        Files.write(LogFiles.segment(dir, 1), withSpace(first, 100));
        Files.write(LogFiles.segment(dir, 2), segment(2, Logs.records(2)));
        assertThatThrownBy(() -> Logs.recover(dir)).isInstanceOf(CorruptLogException.class)
                .hasMessageContaining("log-0000000000000001.tkl is corrupt at offset " + first.length);
    }

    @Test
    void damageInTheMiddleIsRefusedNamingFileAndOffset() throws IOException {
        List<LogRecord> records = Logs.records(10);
        byte[] bytes = segment(1, records);
        int[] at = boundaries(records);
        bytes[at[3] + LogFormat.FRAME_BYTES + 2] ^= 0x10;
        Path file = LogFiles.segment(dir, 1);
        Files.write(file, bytes);
        assertThatThrownBy(() -> Logs.recover(dir)).isInstanceOf(CorruptLogException.class)
                .hasMessage(file + " is corrupt at offset " + at[3] + ": checksum mismatch");
        assertThat(Files.size(file)).as("refusing changes nothing").isEqualTo(bytes.length);
    }

    @Test
    void damageInTheMiddleIsCutThereOnRequest() throws IOException {
        List<LogRecord> records = Logs.records(10);
        byte[] bytes = segment(1, records);
        int[] at = boundaries(records);
        bytes[at[3] + 1] ^= 0x01; // the length
        Path file = LogFiles.segment(dir, 1);
        Files.write(file, bytes);
        Files.write(LogFiles.segment(dir, 2), segment(2, Logs.records(3)));
        Logs.Recovered back = Logs.recover(dir, new Recovery.Options(true));
        assertThat(back.records()).isEqualTo(records.subList(0, 3));
        assertThat(back.report().truncated().offset()).isEqualTo(at[3]);
        assertThat(back.report().truncated().droppedBytes())
                .isEqualTo(bytes.length - at[3] + segment(2, Logs.records(3)).length);
        assertThat(LogFiles.segments(dir).keySet()).containsExactly(1L);
        assertThat(back.report().nextSegment()).isEqualTo(2);
    }

    @Test
    void aTornEndOfASegmentThatIsNotTheLastIsDamage() throws IOException {
        byte[] first = segment(1, Logs.records(4));
        Files.write(LogFiles.segment(dir, 1), Arrays.copyOf(first, first.length - 3));
        Files.write(LogFiles.segment(dir, 2), segment(2, Logs.records(2)));
        assertThatThrownBy(() -> Logs.recover(dir)).isInstanceOf(CorruptLogException.class)
                .hasMessageContaining("log-0000000000000001.tkl is corrupt at offset");
    }

    @Test
    void aMissingSegmentIsRefused() throws IOException {
        Files.write(LogFiles.segment(dir, 1), segment(1, Logs.records(2)));
        Files.write(LogFiles.segment(dir, 3), segment(3, Logs.records(2)));
        assertThatThrownBy(() -> Logs.recover(dir)).isInstanceOf(CorruptLogException.class)
                .hasMessage(LogFiles.segment(dir, 2) + " is corrupt at offset 0: segment 2 is missing");
    }

    @Test
    void aSegmentWhoseHeaderNamesAnotherIsRefused() throws IOException {
        Files.write(LogFiles.segment(dir, 1), segment(5, Logs.records(2)));
        assertThatThrownBy(() -> Logs.recover(dir)).hasMessageEndingWith("header names segment 5");
    }

    @Test
    void theReportCountsRecordsSegmentsAndTime() throws IOException {
        Files.write(LogFiles.segment(dir, 1), segment(1, Logs.records(3)));
        Files.write(LogFiles.segment(dir, 2), segment(2, Logs.records(4)));
        Recovery.Report r = Recovery.run(dir, Recovery.Options.DEFAULT, Clock.SYSTEM, rec -> { });
        assertThat(r.records()).isEqualTo(7);
        assertThat(r.segmentsReplayed()).isEqualTo(2);
        assertThat(r.nextSegment()).isEqualTo(3);
        assertThat(r.snapshot()).isNull();
        assertThat(r.nanos()).isPositive();
    }

    @Test
    void anEmptyDirectoryRecoversNothing() throws IOException {
        Logs.Recovered back = Logs.recover(dir.resolve("new"));
        assertThat(back.records()).isEmpty();
        assertThat(back.report().nextSegment()).isEqualTo(1);
    }
}
