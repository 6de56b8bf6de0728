package io.trelliskv.persist;

import io.trelliskv.common.Key;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LogFormatTest {

    @Provide
    Arbitrary<LogRecord> records() {
        Arbitrary<byte[]> keys = Arbitraries.bytes().array(byte[].class).ofMaxSize(40);
        Arbitrary<byte[]> values = Arbitraries.bytes().array(byte[].class).ofMaxSize(300).injectNull(0.2);
        Arbitrary<Long> longs = Arbitraries.longs();
        Arbitrary<Long> expiry = Arbitraries.oneOf(Arbitraries.just(0L), Arbitraries.longs());
        Arbitrary<Byte> kinds = Arbitraries.bytes().between((byte) 0, io.trelliskv.storage.ValueKind.MAX);
        Arbitrary<LogRecord.Write> writes = Combinators.combine(keys, values, longs, longs, expiry, kinds)
                .as((k, v, h, n, e, kind) -> new LogRecord.Write(k, v, h, n, e, v == null ? 0 : kind));
        Arbitrary<LogRecord> flushes = Combinators.combine(longs, longs)
                .as((h, n) -> new LogRecord.Flush(new Version(h, n)));
        Arbitrary<LogRecord> hints = Combinators.combine(longs, longs, writes).as(LogRecord.Hint::new);
        Arbitrary<LogRecord> hintsDone = Combinators.combine(longs, keys, longs, longs)
                .as((t, k, h, n) -> new LogRecord.HintDone(t, k, new Version(h, n)));
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(9, writes.map(w -> w)),
                net.jqwik.api.Tuple.of(1, flushes), net.jqwik.api.Tuple.of(2, hints), net.jqwik.api.Tuple.of(2, hintsDone));
    }

    @Property(tries = 500, seed = "20250112")
    void everyRecordDecodesToItself(@ForAll("records") LogRecord r) {
        byte[] bytes = LogFormat.encode(r);
        assertThat(LogFormat.encodedBytes(r)).isEqualTo(bytes.length);
        LogFormat.Decoded d = LogFormat.decode(bytes, 0, bytes.length);
        assertThat(d.status()).isEqualTo(LogFormat.Status.RECORD);
        assertThat(d.size()).isEqualTo(bytes.length);
        assertThat(d.record()).isEqualTo(r);
    }

    @Property(tries = 100, seed = "20250113")
    void everyCutOfARecordIsIncomplete(@ForAll("records") LogRecord r) {
        byte[] bytes = LogFormat.encode(r);
        for (int cut = 0; cut < bytes.length; cut++) {
            assertThat(LogFormat.decode(bytes, 0, cut).status()).as("cut at %d", cut)
                    .isEqualTo(LogFormat.Status.INCOMPLETE);
        }
    }

    @Property(tries = 100, seed = "20250114")
    void everySingleBitFlipIsCaught(@ForAll("records") LogRecord r) {
        byte[] bytes = LogFormat.encode(r);
        for (int bit = 0; bit < bytes.length * 8; bit++) {
            byte[] flipped = bytes.clone();
            flipped[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(LogFormat.decode(flipped, 0, flipped.length).status()).as("bit %d", bit)
                    .isNotEqualTo(LogFormat.Status.RECORD);
        }
    }

    @Test
    void theBytesArePinned() {
        // a change here is a change of the format: a new LogFormat.VERSION, and readers kept for the old one
        HexFormat hex = HexFormat.of();
        LogRecord.Write w = new LogRecord.Write("k".getBytes(), "v".getBytes(), 0x0102, 3, 0x10);
        assertThat(hex.formatHex(LogFormat.encode(w))).isEqualTo("00000024" + "20bbf88f"
                + "01" + "02" + "0000000000000102" + "0000000000000003" + "0000000000000010"
                + "00000001" + "6b" + "00000001" + "76");
        assertThat(hex.formatHex(LogFormat.encode(new LogRecord.Flush(new Version(5, 6)))))
                .isEqualTo("00000011" + "843a0b27" + "02" + "0000000000000005" + "0000000000000006");
        assertThat(hex.formatHex(LogFormat.header(LogFormat.LOG_MAGIC, 7)))
                .isEqualTo("544b4c47" + "0001" + "0000" + "0000000000000007" + "a9689ef0");
    }

    @Test
    void aValuesKindIsInTheEntryFlagsAndATombstoneCannotHaveOne() {
        HexFormat hex = HexFormat.of();
        LogRecord.Write counter = new LogRecord.Write("k".getBytes(), "v".getBytes(), 0x0102, 3, 0,
                io.trelliskv.storage.ValueKind.COUNTER);
        byte[] bytes = LogFormat.encode(counter);
        assertThat(hex.formatHex(bytes).substring(16, 20)).as("kind ENTRY, flags: kind 2 in bits 2-3").isEqualTo("0108");
        assertThat(LogFormat.decode(bytes, 0, bytes.length).record()).isEqualTo(counter);
        byte[] tombstoneWithKind = LogFormat.encode(new LogRecord.Write("k".getBytes(), null, 1, 2, 0));
        tombstoneWithKind[9] |= 1 << 2;
        // re-frame with a valid checksum: the decoder must refuse the body, not just the checksum
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(tombstoneWithKind, 0, 4);
        crc.update(tombstoneWithKind, 8, tombstoneWithKind.length - 8);
        ByteBuffer.wrap(tombstoneWithKind).putInt(4, (int) crc.getValue());
        LogFormat.Decoded d = LogFormat.decode(tombstoneWithKind, 0, tombstoneWithKind.length);
        assertThat(d.status()).isEqualTo(LogFormat.Status.BAD);
        assertThat(d.problem()).contains("value kind 1 on a tombstone");
    }

    @Test
    void theHintKindsBytesArePinned() {
        HexFormat hex = HexFormat.of();
        LogRecord.Write w = new LogRecord.Write("k".getBytes(), "v".getBytes(), 0x0102, 3, 0x10);
        // a hint is its target and time, then the fields of an entry after its kind byte
        assertThat(hex.formatHex(LogFormat.encode(new LogRecord.Hint(0xab, 0x18c, w)))).isEqualTo("00000034" + "0972e84c"
                + "04" + "00000000000000ab" + "000000000000018c"
                + "02" + "0000000000000102" + "0000000000000003" + "0000000000000010"
                + "00000001" + "6b" + "00000001" + "76");
        assertThat(hex.formatHex(LogFormat.encode(new LogRecord.HintDone(0xab, "k".getBytes(), new Version(5, 6)))))
                .isEqualTo("0000001e" + "7f1d0b07" + "05" + "00000000000000ab" + "0000000000000005" + "0000000000000006"
                        + "00000001" + "6b");
    }

    @Test
    void aHintDoneMustEndWithItsKey() {
        byte[] bytes = LogFormat.encode(new LogRecord.HintDone(1, "ke".getBytes(), new Version(1, 2)));
        ByteBuffer.wrap(bytes).putInt(LogFormat.FRAME_BYTES + 1 + 8 + 16, 1);
        ByteBuffer.wrap(bytes).putInt(4, crcOfFrame(bytes));
        assertThat(LogFormat.decode(bytes, 0, bytes.length).problem()).isEqualTo("1 bytes after the hint done");
    }

    @Test
    void entriesConvertThroughTheirAccessors() {
        Entry value = new Entry(Key.of("a"), new byte[]{1, 2}, 5, 6, 7);
        Entry tombstone = new Entry(Key.of("b"), null, 8, 9, 0);
        for (Entry e : List.of(value, tombstone)) {
            Entry back = LogRecord.of(e).toEntry();
            assertThat(back.key()).isEqualTo(e.key());
            assertThat(back.value()).isEqualTo(e.value());
            assertThat(back.version()).isEqualTo(e.version());
            assertThat(back.expireAt()).isEqualTo(e.expireAt());
            assertThat(back.isTombstone()).isEqualTo(e.isTombstone());
        }
    }

    @Test
    void headersNameTheirFileAndVersion() {
        byte[] h = LogFormat.header(LogFormat.LOG_MAGIC, 42);
        assertThat(h).hasSize(LogFormat.HEADER_BYTES);
        assertThat(LogFormat.readHeader(h, LogFormat.LOG_MAGIC)).isEqualTo(42);
        assertThatThrownBy(() -> LogFormat.readHeader(h, LogFormat.SNAPSHOT_MAGIC))
                .hasMessage("bad magic 0x544b4c47 (expected: 0x544b534e)");
        for (int bit = 0; bit < h.length * 8; bit++) {
            byte[] flipped = h.clone();
            flipped[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThatThrownBy(() -> LogFormat.readHeader(flipped, LogFormat.LOG_MAGIC))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void aNewerFormatVersionIsRefused() {
        byte[] h = LogFormat.header(LogFormat.LOG_MAGIC, 1);
        ByteBuffer b = ByteBuffer.wrap(h);
        b.putShort(4, (short) (LogFormat.VERSION + 1));
        b.putInt(16, LogFormat.crc(h, 0, 16));
        assertThatThrownBy(() -> LogFormat.readHeader(h, LogFormat.LOG_MAGIC))
                .hasMessageContaining("format version 2 (expected: 1..1; written by a newer TrellisKV?)");
    }

    @Test
    void aWellChecksummedBodyOfUnknownKindIsRefused() {
        byte[] bytes = LogFormat.encode(new LogRecord.Flush(new Version(1, 2)));
        bytes[LogFormat.FRAME_BYTES] = 99;
        ByteBuffer.wrap(bytes).putInt(4, crcOfFrame(bytes));
        LogFormat.Decoded d = LogFormat.decode(bytes, 0, bytes.length);
        assertThat(d.status()).isEqualTo(LogFormat.Status.BAD);
        assertThat(d.problem()).isEqualTo("unknown record kind 99");
    }

    @Test
    void lengthsInsideTheBodyMustAddUp() {
        byte[] bytes = LogFormat.encode(new LogRecord.Write("key".getBytes(), "value".getBytes(), 1, 2, 0));
        int keyLength = LogFormat.FRAME_BYTES + 1 + 1 + 16;
        ByteBuffer.wrap(bytes).putInt(keyLength, 4);
        ByteBuffer.wrap(bytes).putInt(4, crcOfFrame(bytes));
        assertThat(LogFormat.decode(bytes, 0, bytes.length).problem()).isEqualTo("value length does not fit the body");
    }

    private static int crcOfFrame(byte[] bytes) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(bytes, 0, 4);
        c.update(bytes, LogFormat.FRAME_BYTES, bytes.length - LogFormat.FRAME_BYTES);
        return (int) c.getValue();
    }
}
