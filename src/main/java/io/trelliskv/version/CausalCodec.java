package io.trelliskv.version;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Byte encodings of the causal values a key can hold instead of a plain string: a {@link DvvSet} of
 * byte-string siblings, a {@link PnCounter} and a {@link CounterState} (what a counter key stores). These bytes are what the engine stores, replicas exchange
 * and the log keeps for such keys, so each layout starts with its own format byte and is append-only.
 *
 * <pre>
 *   DvvSet:    {@link #DVV_FORMAT} | entries (varint) | per entry: node (8) | counter (varint) | values (varint)
 *              | per value: length (varint) | bytes
 *   PnCounter: {@link #COUNTER_FORMAT} | entries (varint) | per entry: node (8) | up (varint) | down (varint)
 *   CounterState: {@link #COUNTER_STATE_FORMAT} | base (8, signed) | epoch hlc (8) | epoch node (8)
 *              | entries, as a PnCounter's
 * </pre>
 * A counter key's value decodes with {@link #decodeCounterState}, which also reads a bare PnCounter as a
 * counter of base 0 and epoch {@link Version#ZERO}.
 * Decoding refuses, naming the reason, anything these methods would not have written.
 */
public final class CausalCodec {

    /** First byte of an encoded {@link DvvSet}. */
    public static final byte DVV_FORMAT = 1;
    /** First byte of an encoded {@link PnCounter}. */
    public static final byte COUNTER_FORMAT = 1;
    /** First byte of an encoded {@link CounterState}: a base and an epoch, then a PnCounter's entries. */
    public static final byte COUNTER_STATE_FORMAT = 2;

    private CausalCodec() {
    }

    public static byte[] encode(DvvSet<byte[]> set) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(DVV_FORMAT);
        writeVarint(out, set.entries().size());
        for (DvvSet.Entry<byte[]> e : set.entries()) {
            writeLong(out, e.node());
            writeVarint(out, e.counter());
            writeVarint(out, e.values().size());
            for (byte[] v : e.values()) {
                writeVarint(out, v.length);
                out.write(v, 0, v.length);
            }
        }
        return out.toByteArray();
    }

    /** @throws IllegalArgumentException naming what is wrong */
    public static DvvSet<byte[]> decodeDvv(byte[] bytes) {
        Reader r = new Reader(bytes);
        if (r.u8() != DVV_FORMAT) {
            throw new IllegalArgumentException("unknown versioned value format " + (bytes[0] & 0xff));
        }
        int n = r.count();
        List<DvvSet.Entry<byte[]>> entries = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long node = r.int64();
            long counter = r.varint();
            int values = r.count();
            List<byte[]> vs = new ArrayList<>(values);
            for (int k = 0; k < values; k++) {
                vs.add(r.bytes(r.count()));
            }
            try {
                entries.add(new DvvSet.Entry<>(node, counter, vs));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("versioned value entry " + i + ": " + e.getMessage());
            }
        }
        r.end();
        return DvvSet.of(entries);
    }

    public static byte[] encode(PnCounter c) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(COUNTER_FORMAT);
        writeEntries(out, c);
        return out.toByteArray();
    }

    public static byte[] encode(CounterState c) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(COUNTER_STATE_FORMAT);
        writeLong(out, c.base());
        writeLong(out, c.epoch().hlc());
        writeLong(out, c.epoch().nodeId());
        writeEntries(out, c.increments());
        return out.toByteArray();
    }

    private static void writeEntries(ByteArrayOutputStream out, PnCounter c) {
        writeVarint(out, c.size());
        for (int i = 0; i < c.size(); i++) {
            writeLong(out, c.node(i));
            writeVarint(out, c.up(i));
            writeVarint(out, c.down(i));
        }
    }

    /** @throws IllegalArgumentException naming what is wrong */
    public static PnCounter decodeCounter(byte[] bytes) {
        Reader r = new Reader(bytes);
        if (r.u8() != COUNTER_FORMAT) {
            throw new IllegalArgumentException("unknown counter format " + (bytes[0] & 0xff));
        }
        PnCounter c = readEntries(r);
        r.end();
        return c;
    }

    /**
     * A counter key's value: a {@link #COUNTER_STATE_FORMAT} state, or a bare {@link #COUNTER_FORMAT}
     * PnCounter (base 0, epoch {@link Version#ZERO}).
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static CounterState decodeCounterState(byte[] bytes) {
        Reader r = new Reader(bytes);
        int format = r.u8();
        long base = 0;
        Version epoch = Version.ZERO;
        if (format == COUNTER_STATE_FORMAT) {
            base = r.int64();
            epoch = new Version(r.int64(), r.int64());
        } else if (format != COUNTER_FORMAT) {
            throw new IllegalArgumentException("unknown counter format " + format);
        }
        PnCounter c = readEntries(r);
        r.end();
        return CounterState.of(base, epoch, c);
    }

    private static PnCounter readEntries(Reader r) {
        int n = r.count();
        long[] nodes = new long[n];
        long[] up = new long[n];
        long[] down = new long[n];
        for (int i = 0; i < n; i++) {
            nodes[i] = r.int64();
            up[i] = r.varint();
            down[i] = r.varint();
        }
        return PnCounter.of(nodes, up, down);
    }

    private static void writeLong(ByteArrayOutputStream out, long v) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.write((int) (v >>> shift));
        }
    }

    private static void writeVarint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    /** Reads the encodings, refusing truncation, overlong numbers and trailing bytes. */
    private static final class Reader {
        private final byte[] b;
        private int pos;

        Reader(byte[] b) {
            this.b = b;
        }

        int u8() {
            need(1);
            return b[pos++] & 0xff;
        }

        long int64() {
            need(8);
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | (b[pos++] & 0xff);
            }
            return v;
        }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 63; shift += 7) {
                need(1);
                byte x = b[pos++];
                v |= (long) (x & 0x7F) << shift;
                if (x >= 0) {
                    return v;
                }
            }
            throw new IllegalArgumentException("number too long at byte " + pos);
        }

        /** A count or length: a varint that must fit what is left of the input. */
        int count() {
            long v = varint();
            if (v > b.length - pos) {
                throw new IllegalArgumentException("count " + v + " at byte " + pos + " exceeds the " + (b.length - pos)
                        + " bytes left");
            }
            return (int) v;
        }

        byte[] bytes(int n) {
            need(n);
            byte[] out = java.util.Arrays.copyOfRange(b, pos, pos + n);
            pos += n;
            return out;
        }

        void need(int n) {
            if (b.length - pos < n) {
                throw new IllegalArgumentException("truncated at byte " + pos);
            }
        }

        void end() {
            if (pos != b.length) {
                throw new IllegalArgumentException((b.length - pos) + " bytes after the value");
            }
        }
    }
}
