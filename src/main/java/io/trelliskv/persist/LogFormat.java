package io.trelliskv.persist;

import io.trelliskv.version.Version;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The on-disk format of the write-ahead log and of snapshots, version {@value #VERSION}: the bytes, and
 * nothing of the engine's in-memory layout, so the engine can change without the files changing.
 *
 * <h2>Files</h2>
 * Every file starts with a header of {@value #HEADER_BYTES} bytes, big-endian:
 * <pre>
 *   magic      4   "TKLG" (a log segment) or "TKSN" (a snapshot)
 *   version    2   the format version; a reader refuses a newer one rather than guess
 *   flags      2   0 (reserved)
 *   sequence   8   a segment: its sequence number (1, 2, ...); a snapshot: the first segment to
 *                  replay after loading it
 *   crc32c     4   over the 16 bytes above
 * </pre>
 * followed by records, back to back. A snapshot's records are one {@link Kind#FLUSH} (the flush floor it
 * was taken under), its entries, and one {@link Kind#SNAPSHOT_END} carrying the number of entries, so a
 * snapshot cut short is recognised as such even where it ends on a record boundary.
 *
 * <h2>Records</h2>
 * <pre>
 *   length     4   bytes of the body (1 .. {@value #MAX_BODY_BYTES})
 *   crc32c     4   over the length's 4 bytes and the body
 *   body       length bytes: a kind byte, then the kind's fields
 * </pre>
 * The checksum covers the length too, so a damaged length is caught as such and never makes a reader
 * take a slice of other records for a record. CRC32C (Castagnoli) because the JDK computes it with the
 * CPU's instruction, at several GB/s, and it is what ext4, iSCSI and RocksDB use for the same purpose.
 * Bodies by kind:
 * <pre>
 *   ENTRY          kind 1, flags 1 (bit 0 tombstone, bit 1 has expiry, bits 2-3 the value's kind:
 *                  0 string, 1 versioned, 2 counter), hlc 8, node id 8,
 *                  [expire-at epoch ms 8], key length 4, key, [value length 4, value]
 *   FLUSH          kind 2, hlc 8, node id 8                 (the FLUSHALL floor version)
 *   SNAPSHOT_END   kind 3, entry count 8                    (snapshots only)
 *   HINT           kind 4, target node id 8, stored-at epoch ms 8, then an ENTRY's fields after its
 *                  kind byte                                (hint logs only: a hint stored for target)
 *   HINT_DONE      kind 5, target node id 8, hlc 8, node id 8, key length 4, key
 *                                                           (hint logs only: that hint removed)
 * </pre>
 * Every length inside a body must add up to the body's length exactly; a body that does not is as
 * corrupt as one whose checksum fails. That structure is also what lets recovery tell a torn tail from
 * damage in the middle: it looks for a well-formed record after the bad one (see {@link Recovery}).
 *
 * <h2>Compatibility</h2>
 * Kind codes and flag bits are part of the format: only append to them. A change of the layout of an
 * existing kind is a new {@link #VERSION}; readers keep reading every older version. HINT and HINT_DONE
 * were appended without a new version: they are only ever written to a hint log, which no reader of
 * an older version opens.
 */
public final class LogFormat {

    /** The format version this code writes, and the newest it reads. */
    public static final int VERSION = 1;
    /** "TKLG": the first bytes of a log segment. */
    public static final int LOG_MAGIC = 0x544B4C47;
    /** "TKSN": the first bytes of a snapshot. */
    public static final int SNAPSHOT_MAGIC = 0x544B534E;
    /** Bytes of a file header. */
    public static final int HEADER_BYTES = 20;
    /** Bytes of a record's frame before its body: the length and the checksum. */
    public static final int FRAME_BYTES = 8;
    /**
     * What a log segment holds after its last record where the writer preallocated space: a byte no record
     * starts with (a length of {@code 0xFFFFFFFF} is never valid), so that preallocated space is told from
     * zeros a crash left in a file it had grown.
     */
    public static final byte PREALLOCATED = (byte) 0xFF;
    /** The largest body accepted: a value of the largest bulk length Redis allows (512 MiB) and its key. */
    public static final int MAX_BODY_BYTES = (512 << 20) + (64 << 20);

    private static final int FLAG_TOMBSTONE = 1;
    private static final int FLAG_EXPIRY = 2;
    /** Position of the value's kind ({@link io.trelliskv.storage.ValueKind}, two bits) in an ENTRY's flags. */
    private static final int FLAG_KIND_SHIFT = 2;
    private static final int FLAG_KIND_MASK = 3 << FLAG_KIND_SHIFT;

    /** Record kinds. The codes are part of the format: ONLY APPEND TO THIS LIST. */
    public enum Kind {
        ENTRY(1), FLUSH(2), SNAPSHOT_END(3), HINT(4), HINT_DONE(5);

        final int code;

        Kind(int code) {
            this.code = code;
        }
    }

    private LogFormat() {
    }

    // ---- headers ----

    /** A file header: {@code magic} names the kind of file, {@code sequence} as the class comment says. */
    public static byte[] header(int magic, long sequence) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
        b.putInt(magic).putShort((short) VERSION).putShort((short) 0).putLong(sequence);
        b.putInt(crc(b.array(), 0, 16));
        return b.array();
    }

    /**
     * The sequence of a header read from a file, checked against the magic expected.
     *
     * @throws IllegalArgumentException naming what is wrong (magic, version, checksum)
     */
    public static long readHeader(byte[] h, int expectedMagic) {
        if (h.length < HEADER_BYTES) {
            throw new IllegalArgumentException("header of " + h.length + " bytes (expected: " + HEADER_BYTES + ")");
        }
        ByteBuffer b = ByteBuffer.wrap(h);
        int magic = b.getInt();
        if (magic != expectedMagic) {
            throw new IllegalArgumentException("bad magic 0x" + Integer.toHexString(magic) + " (expected: 0x"
                    + Integer.toHexString(expectedMagic) + ")");
        }
        int version = b.getShort() & 0xFFFF;
        b.getShort();
        long sequence = b.getLong();
        int stored = b.getInt();
        if (stored != crc(h, 0, 16)) {
            throw new IllegalArgumentException("header checksum mismatch");
        }
        if (version > VERSION || version < 1) {
            throw new IllegalArgumentException("format version " + version + " (expected: 1.." + VERSION
                    + "; written by a newer TrellisKV?)");
        }
        return sequence;
    }

    // ---- encoding ----

    /** The framed bytes of one record. */
    public static byte[] encode(LogRecord record) {
        if (record instanceof LogRecord.Write w) {
            return encodeWrite(w);
        }
        if (record instanceof LogRecord.Hint h) {
            return encodeHint(h);
        }
        if (record instanceof LogRecord.HintDone d) {
            return encodeHintDone(d);
        }
        Version floor = ((LogRecord.Flush) record).floor();
        return frame(ByteBuffer.allocate(FRAME_BYTES + 17).putInt(0).putInt(0).put((byte) Kind.FLUSH.code)
                .putLong(floor.hlc()).putLong(floor.nodeId()).array());
    }

    /** The framed bytes of a snapshot's last record. */
    static byte[] encodeSnapshotEnd(long entries) {
        return frame(ByteBuffer.allocate(FRAME_BYTES + 9).putInt(0).putInt(0).put((byte) Kind.SNAPSHOT_END.code)
                .putLong(entries).array());
    }

    /**
     * The record every write the engine stores becomes: written straight into its array (a ByteBuffer's
     * bounds and session checks were a third of the encoding's time, which is on the event loops).
     */
    private static byte[] encodeWrite(LogRecord.Write w) {
        long body = 1 + entryFieldBytes(w);
        checkBody(body);
        byte[] a = new byte[FRAME_BYTES + (int) body];
        int p = FRAME_BYTES;
        a[p++] = (byte) Kind.ENTRY.code;
        a[p++] = (byte) ((w.value() == null ? FLAG_TOMBSTONE : 0) | (w.expireAt() != 0 ? FLAG_EXPIRY : 0)
                | w.kind() << FLAG_KIND_SHIFT);
        LONG.set(a, p, w.hlc());
        LONG.set(a, p + 8, w.nodeId());
        p += 16;
        if (w.expireAt() != 0) {
            LONG.set(a, p, w.expireAt());
            p += 8;
        }
        byte[] key = w.key();
        INT.set(a, p, key.length);
        System.arraycopy(key, 0, a, p + 4, key.length);
        p += 4 + key.length;
        byte[] value = w.value();
        if (value != null) {
            INT.set(a, p, value.length);
            System.arraycopy(value, 0, a, p + 4, value.length);
        }
        return frame(a);
    }

    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private static byte[] encodeHint(LogRecord.Hint h) {
        long body = 1 + 16 + entryFieldBytes(h.write());
        checkBody(body);
        ByteBuffer b = ByteBuffer.allocate(FRAME_BYTES + (int) body).putInt(0).putInt(0);
        b.put((byte) Kind.HINT.code).putLong(h.target()).putLong(h.storedAtMillis());
        putEntryFields(b, h.write());
        return frame(b.array());
    }

    private static byte[] encodeHintDone(LogRecord.HintDone d) {
        long body = hintDoneBodyBytes(d);
        checkBody(body);
        return frame(ByteBuffer.allocate(FRAME_BYTES + (int) body).putInt(0).putInt(0)
                .put((byte) Kind.HINT_DONE.code).putLong(d.target()).putLong(d.version().hlc())
                .putLong(d.version().nodeId()).putInt(d.key().length).put(d.key()).array());
    }

    private static long hintDoneBodyBytes(LogRecord.HintDone d) {
        return 1 + 8 + 16 + 4 + d.key().length;
    }

    private static void checkBody(long body) {
        if (body > MAX_BODY_BYTES) {
            throw new IllegalArgumentException("record of " + body + " bytes (expected: <= " + MAX_BODY_BYTES + ")");
        }
    }

    /** Bytes of an ENTRY's fields after its kind byte: flags, version, [expiry], key, [value]. */
    private static long entryFieldBytes(LogRecord.Write w) {
        return 1 + 16 + (w.expireAt() != 0 ? 8 : 0) + 4 + w.key().length
                + (w.value() != null ? 4 + w.value().length : 0);
    }

    private static void putEntryFields(ByteBuffer b, LogRecord.Write w) {
        int flags = (w.value() == null ? FLAG_TOMBSTONE : 0) | (w.expireAt() != 0 ? FLAG_EXPIRY : 0)
                | w.kind() << FLAG_KIND_SHIFT;
        b.put((byte) flags).putLong(w.hlc()).putLong(w.nodeId());
        if (w.expireAt() != 0) {
            b.putLong(w.expireAt());
        }
        b.putInt(w.key().length).put(w.key());
        if (w.value() != null) {
            b.putInt(w.value().length).put(w.value());
        }
    }

    /**
     * The length of {@link #encode}'s result for {@code record} (frame and body), computed without
     * encoding it: what a caller that appends records counts its log's bytes with.
     */
    public static long encodedBytes(LogRecord record) {
        if (record instanceof LogRecord.Write w) {
            return FRAME_BYTES + 1 + entryFieldBytes(w);
        }
        if (record instanceof LogRecord.Hint h) {
            return FRAME_BYTES + 1 + 16 + entryFieldBytes(h.write());
        }
        if (record instanceof LogRecord.HintDone d) {
            return FRAME_BYTES + hintDoneBodyBytes(d);
        }
        return FRAME_BYTES + 17;
    }

    /** Fills in the length and checksum of a buffer laid out as frame + body. */
    private static byte[] frame(byte[] a) {
        int body = a.length - FRAME_BYTES;
        INT.set(a, 0, body);
        CRC32C c = new CRC32C();
        c.update(a, 0, 4);
        c.update(a, FRAME_BYTES, body);
        INT.set(a, 4, (int) c.getValue());
        return a;
    }

    static int crc(byte[] a, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(a, off, len);
        return (int) c.getValue();
    }

    // ---- decoding ----

    /** What {@link #decode} found at an offset. */
    public enum Status {
        /** A whole, valid record: {@link Decoded#record} or {@link Decoded#snapshotEnd}. */
        RECORD,
        /** The bytes available end inside the record (its frame or its body). */
        INCOMPLETE,
        /** The bytes are not a record: checksum, length or structure. */
        BAD
    }

    /**
     * One decoding step.
     *
     * @param status      what was found
     * @param size        bytes of the whole record (frame and body); 0 unless {@link Status#RECORD}
     * @param record      the record, or null (not a record, or a snapshot's end)
     * @param snapshotEnd the entry count of a {@link Kind#SNAPSHOT_END}, else -1
     * @param problem     why it is not a record, or null
     */
    public record Decoded(Status status, int size, LogRecord record, long snapshotEnd, String problem) {
        static Decoded incomplete(String problem) {
            return new Decoded(Status.INCOMPLETE, 0, null, -1, problem);
        }

        static Decoded bad(String problem) {
            return new Decoded(Status.BAD, 0, null, -1, problem);
        }
    }

    /** Decodes the record that starts at {@code a[off]}, with {@code avail} bytes available from there. */
    public static Decoded decode(byte[] a, int off, int avail) {
        if (avail < FRAME_BYTES) {
            return Decoded.incomplete("frame cut short: " + avail + " of " + FRAME_BYTES + " bytes");
        }
        int length = (int) INT.get(a, off);
        if (length < 1 || length > MAX_BODY_BYTES) {
            return Decoded.bad("record length " + Integer.toUnsignedString(length) + " (expected: 1.."
                    + MAX_BODY_BYTES + ")");
        }
        if (avail - FRAME_BYTES < length) {
            return Decoded.incomplete("record of " + length + " bytes cut short at " + (avail - FRAME_BYTES));
        }
        CRC32C c = new CRC32C();
        c.update(a, off, 4);
        c.update(a, off + FRAME_BYTES, length);
        if ((int) c.getValue() != (int) INT.get(a, off + 4)) {
            return Decoded.bad("checksum mismatch");
        }
        int body = off + FRAME_BYTES;
        if ((a[body] & 0xFF) == Kind.ENTRY.code) { // nearly every record: straight from the array
            Fields f = entryFields(a, body + 1, body + length, length);
            return f.problem != null ? Decoded.bad(f.problem)
                    : new Decoded(Status.RECORD, FRAME_BYTES + length, f.write, -1, null);
        }
        return decodeBody(ByteBuffer.wrap(a, body, length).slice(), FRAME_BYTES + length);
    }

    private static Decoded decodeBody(ByteBuffer b, int size) {
        int kind = b.get() & 0xFF;
        if (kind == Kind.ENTRY.code) {
            Fields f = entryFields(b);
            return f.problem != null ? Decoded.bad(f.problem) : new Decoded(Status.RECORD, size, f.write, -1, null);
        }
        if (kind == Kind.HINT.code) {
            if (b.remaining() < 16) {
                return Decoded.bad("hint body of " + b.limit() + " bytes too short");
            }
            long target = b.getLong();
            long storedAt = b.getLong();
            Fields f = entryFields(b);
            return f.problem != null ? Decoded.bad("hint: " + f.problem)
                    : new Decoded(Status.RECORD, size, new LogRecord.Hint(target, storedAt, f.write), -1, null);
        }
        if (kind == Kind.HINT_DONE.code) {
            if (b.remaining() < 8 + 16 + 4) {
                return Decoded.bad("hint done body of " + b.limit() + " bytes too short");
            }
            long target = b.getLong();
            Version version = new Version(b.getLong(), b.getLong());
            byte[] key = lengthPrefixed(b);
            if (key == null) {
                return Decoded.bad("hint done: key length does not fit the body");
            }
            if (b.hasRemaining()) {
                return Decoded.bad(b.remaining() + " bytes after the hint done");
            }
            return new Decoded(Status.RECORD, size, new LogRecord.HintDone(target, key, version), -1, null);
        }
        if (kind == Kind.FLUSH.code) {
            if (b.remaining() != 16) {
                return Decoded.bad("flush body of " + b.limit() + " bytes (expected: 17)");
            }
            return new Decoded(Status.RECORD, size, new LogRecord.Flush(new Version(b.getLong(), b.getLong())), -1,
                    null);
        }
        if (kind == Kind.SNAPSHOT_END.code) {
            if (b.remaining() != 8) {
                return Decoded.bad("snapshot end body of " + b.limit() + " bytes (expected: 9)");
            }
            long count = b.getLong();
            if (count < 0) {
                return Decoded.bad("snapshot end count " + count);
            }
            return new Decoded(Status.RECORD, size, null, count, null);
        }
        return Decoded.bad("unknown record kind " + kind);
    }

    /** An ENTRY's fields decoded, or why they are not. */
    private record Fields(LogRecord.Write write, String problem) {
        static Fields bad(String problem) {
            return new Fields(null, problem);
        }
    }

    /** Decodes an ENTRY's fields (after its kind byte), which must fill the rest of {@code b} exactly. */
    private static Fields entryFields(ByteBuffer b) {
        return entryFields(b.array(), b.arrayOffset() + b.position(), b.arrayOffset() + b.limit(), b.limit());
    }

    /**
     * Decodes an ENTRY's fields from {@code a[p, end)} (after its kind byte), which they must fill exactly;
     * {@code bodyBytes} is the record's body length, for the messages. Read straight from the array: this
     * is most of what a restart does besides storing the entries.
     */
    private static Fields entryFields(byte[] a, int p, int end, int bodyBytes) {
        if (end - p < 1 + 16 + 4) {
            return Fields.bad("entry body of " + bodyBytes + " bytes too short");
        }
        int flags = a[p++] & 0xFF;
        if ((flags & ~(FLAG_TOMBSTONE | FLAG_EXPIRY | FLAG_KIND_MASK)) != 0) {
            return Fields.bad("unknown entry flags 0x" + Integer.toHexString(flags));
        }
        byte kind = (byte) ((flags & FLAG_KIND_MASK) >>> FLAG_KIND_SHIFT);
        if (kind > io.trelliskv.storage.ValueKind.MAX || (kind != 0 && (flags & FLAG_TOMBSTONE) != 0)) {
            return Fields.bad("unknown value kind " + kind + ((flags & FLAG_TOMBSTONE) != 0 ? " on a tombstone" : ""));
        }
        long hlc = (long) LONG.get(a, p);
        long nodeId = (long) LONG.get(a, p + 8);
        p += 16;
        long expireAt = 0;
        if ((flags & FLAG_EXPIRY) != 0) {
            if (end - p < 8 + 4) {
                return Fields.bad("entry body cut short at its expiry");
            }
            expireAt = (long) LONG.get(a, p);
            p += 8;
            if (expireAt == 0) {
                return Fields.bad("expiry flag with expiry 0");
            }
        }
        int keyLength = lengthAt(a, p, end);
        if (keyLength < 0) {
            return Fields.bad("key length does not fit the body");
        }
        byte[] key = Arrays.copyOfRange(a, p + 4, p + 4 + keyLength);
        p += 4 + keyLength;
        byte[] value = null;
        if ((flags & FLAG_TOMBSTONE) == 0) {
            int valueLength = lengthAt(a, p, end);
            if (valueLength < 0) {
                return Fields.bad("value length does not fit the body");
            }
            value = Arrays.copyOfRange(a, p + 4, p + 4 + valueLength);
            p += 4 + valueLength;
        }
        if (p != end) {
            return Fields.bad((end - p) + " bytes after the entry");
        }
        return new Fields(new LogRecord.Write(key, value, hlc, nodeId, expireAt, kind), null);
    }

    /** The length prefix at {@code a[p]}, or -1 if it or the bytes it counts do not fit before {@code end}. */
    private static int lengthAt(byte[] a, int p, int end) {
        if (end - p < 4) {
            return -1;
        }
        int n = (int) INT.get(a, p);
        return n < 0 || n > end - p - 4 ? -1 : n;
    }

    private static byte[] lengthPrefixed(ByteBuffer b) {
        if (b.remaining() < 4) {
            return null;
        }
        int n = b.getInt();
        if (n < 0 || n > b.remaining()) {
            return null;
        }
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }
}
