package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EntryView;
import io.trelliskv.storage.ValueKind;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Wire layouts of the replica messages, big-endian. Malformed input throws
 * {@link MalformedMessageException} with what was wrong; nothing is applied from a malformed batch.
 *
 * <pre>
 * entry       := [int keyLen][key][int valueLen (-1: tombstone)][value][long hlc][long node][long expireAt]
 * kindedEntry := entry [byte kind]                 the value's {@link ValueKind}; PLAIN for a tombstone
 * write       := [int count] entry*                every entry PLAIN
 *              | [int -2][int count] kindedEntry*  some entry of another kind ({@link #KINDED_WRITE})
 * write reply := [byte 0]                          applied
 *              | [byte 1][UTF-8 reason]            refused, nothing applied
 * read        := [int count] ([int keyLen][key][long knownHlc][long knownNode])*   (0, 0: none known)
 * read reply  := [int count] ([byte 0]                          missing
 *                           | [byte 1][long hlc][long node]     version only: not newer than known
 *                           | [byte 2] entry                    newer than known: the whole entry
 *                           | [byte 3] kindedEntry)*            the same, for a value not PLAIN
 * </pre>
 *
 * <h2>Value kinds, and peers of earlier builds</h2>
 * Entries carry their value's kind ({@link ValueKind}: a string, versioned siblings, a counter) only where
 * it is not PLAIN, in layouts that earlier builds never wrote: a write whose count is {@link #KINDED_WRITE}
 * and a read reply item {@link #WHOLE_KINDED}. A message of an earlier build (no kinds) therefore reads as
 * it always did, every value PLAIN; a message of plain values is written exactly as earlier builds wrote it,
 * so they keep reading it; and an earlier build that meets a kinded message refuses it as malformed rather
 * than storing siblings or a counter as a string. The peer hello's protocol version does not change: the
 * frames' layouts only grew. The codes below are part of the protocol: ONLY APPEND.
 */
public final class ReplicaCodec {

    private static final byte APPLIED = 0;
    private static final byte REFUSED = 1;
    private static final byte MISSING = 0;
    private static final byte VERSION_ONLY = 1;
    private static final byte WHOLE = 2;
    /** Read reply item: the whole entry followed by its value's kind. */
    private static final byte WHOLE_KINDED = 3;
    /** The count field of a write whose entries carry their kinds; a plain write's count is never negative. */
    static final int KINDED_WRITE = -2;
    private static final int ENTRY_FIXED = 4 + 4 + 8 + 8 + 8;

    private ReplicaCodec() {
    }

    // ---- write ----

    /** A batch of entries; in the layout of earlier builds when every value is PLAIN (see the class comment). */
    public static byte[] encodeWrite(List<Entry> entries) {
        ByteBuffer b = ByteBuffer.allocate(writeSize(entries));
        encodeWrite(entries, b);
        return b.array();
    }

    /** Bytes {@link #encodeWrite} takes for {@code entries}. */
    public static int writeSize(List<Entry> entries) {
        int plain = 4;
        boolean kinded = false;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            plain += entrySize(e.key().length(), e.value() == null ? 0 : e.value().length);
            kinded |= e.kind() != ValueKind.PLAIN;
        }
        return kinded ? plain + 4 + entries.size() : plain; // the kinded count field, and a kind per entry
    }

    /**
     * Writes a batch of entries, {@link #writeSize} bytes, at {@code out}'s position: straight into the buffer
     * a frame is sent from.
     */
    public static void encodeWrite(List<Entry> entries, ByteBuffer out) {
        boolean kinded = false;
        for (int i = 0; i < entries.size(); i++) {
            kinded |= entries.get(i).kind() != ValueKind.PLAIN;
        }
        if (kinded) {
            out.putInt(KINDED_WRITE);
        }
        out.putInt(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            putEntry(out, e);
            if (kinded) {
                out.put(e.kind());
            }
        }
    }

    public static List<Entry> decodeWrite(byte[] payload) {
        return decodeWrite(ByteBuffer.wrap(payload));
    }

    /**
     * A batch of entries from {@code b}'s position to its limit (big-endian): the keys and values are copied
     * out, so {@code b} may be a view of a buffer that is reused once this returns.
     */
    public static List<Entry> decodeWrite(ByteBuffer b) {
        WriteBatch batch = new WriteBatch().read(b);
        List<Entry> entries = new ArrayList<>(batch.size());
        for (EntryView e = batch.next(); e != null; e = batch.next()) {
            entries.add(e.toEntry());
        }
        return entries;
    }

    /**
     * A write batch read in place: {@link #read} checks the whole batch (so nothing is applied from a
     * malformed one), then {@link #next} visits its entries as views of the buffer's bytes, one
     * {@link EntryView} reused for all. A reader is reusable, batch after batch, so a replica that keeps one
     * per thread reads a batch without an object per batch or per entry. Not thread-safe.
     */
    public static final class WriteBatch {

        private final EntryView view = new EntryView();
        private ByteBuffer buffer;
        /** Absolute index of the first entry. */
        private int first;
        private int count;
        private boolean kinded;
        /** Absolute index of the next entry to visit. */
        private int next;
        /** Entries visited since {@link #read} or the last {@link #rewind}. */
        private int visited;
        /** The ring tokens of the batch's keys, in order ({@link #tokens}); kept for the next batch. */
        private long[] tokens = new long[16];
        @SuppressWarnings("unused")
        private int prefetched;

        /**
         * Reads the batch from {@code b}'s position to its limit, checking all of it, and moves {@code b}'s
         * position to its limit. The entries are views of {@code b}, valid while its bytes are.
         *
         * @return this reader, at the first entry
         * @throws MalformedMessageException if the batch is malformed; the reader then holds no batch
         */
        public WriteBatch read(ByteBuffer b) {
            release();
            boolean kindedBatch = b.remaining() >= 4 && b.getInt(b.position()) == KINDED_WRITE;
            if (kindedBatch) {
                b.getInt();
            }
            int n = count(b, ENTRY_FIXED + (kindedBatch ? 1 : 0), "write");
            int start = b.position();
            int p = start;
            for (int i = 0; i < n; i++) {
                p = viewEntry(b, p, kindedBatch, view);
            }
            b.position(p);
            done(b, "write");
            this.buffer = b;
            this.first = start;
            this.count = n;
            this.kinded = kindedBatch;
            rewind();
            return this;
        }

        /** Entries in the batch read. */
        public int size() {
            return count;
        }

        /** The next entry, as this reader's one view (moved on by the next call), or null after the last. */
        public EntryView next() {
            if (visited == count) {
                return null;
            }
            next = viewEntry(buffer, next, kinded, view);
            visited++;
            return view;
        }

        /**
         * The ring tokens of the batch's keys, in entry order, in {@code [0, size())} of an array this reader
         * reuses (valid until the next {@link #read}); starts the visit again from the first entry.
         */
        public long[] tokens() {
            if (tokens.length < count) {
                tokens = new long[Math.max(count, 2 * tokens.length)];
            }
            rewind();
            for (int i = 0; i < count; i++) {
                tokens[i] = next().token();
            }
            rewind();
            return tokens;
        }

        /**
         * Keeps what {@link io.trelliskv.storage.Engine#prefetch} returned for this batch, in this reader (one
         * per thread, so no other processor's cache line is written): stored, it keeps the reads that made it.
         */
        public void prefetched(int value) {
            prefetched = value;
        }

        /** Starts the visit again from the first entry. */
        public void rewind() {
            next = first;
            visited = 0;
        }

        /** Forgets the batch, so that a reader kept for the next one holds no reference to this one's buffer. */
        public void release() {
            buffer = null;
            count = 0;
            rewind();
            view.set(null, 0, 0, 0, -1, 0, 0, 0, ValueKind.PLAIN);
        }
    }

    /**
     * Points {@code into} at the entry (a kinded one if {@code kinded}) at absolute index {@code p} of
     * {@code b}, checking that it lies before {@code b}'s limit; returns the index after it.
     */
    private static int viewEntry(ByteBuffer b, int p, boolean kinded, EntryView into) {
        int limit = b.limit();
        if (limit - p < 4) {
            throw new MalformedMessageException("entry key length: truncated");
        }
        int keyLength = b.getInt(p);
        p += 4;
        if (keyLength < 0 || keyLength > limit - p) {
            throw new MalformedMessageException("entry key: length " + keyLength + " with " + (limit - p) + " bytes left");
        }
        int keyOffset = p;
        p += keyLength;
        if (limit - p < 4) {
            throw new MalformedMessageException("entry value length: truncated");
        }
        int valueLength = b.getInt(p);
        p += 4;
        int valueOffset = p;
        if (valueLength != -1) {
            if (valueLength < 0 || valueLength > limit - p) {
                throw new MalformedMessageException("entry value: length " + valueLength + " with " + (limit - p)
                        + " bytes left");
            }
            p += valueLength;
        }
        if (limit - p < 24) {
            throw new MalformedMessageException("entry version: truncated");
        }
        long hlc = b.getLong(p);
        long node = b.getLong(p + 8);
        long expireAt = b.getLong(p + 16);
        p += 24;
        byte kind = ValueKind.PLAIN;
        if (kinded) {
            if (limit - p < 1) {
                throw new MalformedMessageException("entry kind: truncated");
            }
            kind = b.get(p++);
            checkKind(kind, valueLength == -1);
        }
        into.set(b, keyOffset, keyLength, valueOffset, valueLength, hlc, node, expireAt, kind);
        return p;
    }

    private static void checkKind(byte kind, boolean tombstone) {
        if (kind < 0 || kind > ValueKind.MAX || (tombstone && kind != ValueKind.PLAIN)) {
            throw new MalformedMessageException("entry kind " + kind + (tombstone ? " for a tombstone" : "")
                    + " (expected: 0 to " + ValueKind.MAX + ", 0 for a tombstone)");
        }
    }

    public static byte[] writeApplied() {
        return new byte[] {APPLIED};
    }

    public static byte[] writeRefused(String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[1 + text.length];
        out[0] = REFUSED;
        System.arraycopy(text, 0, out, 1, text.length);
        return out;
    }

    /** @throws ReplicaRefusedException if the replica refused the batch */
    public static void checkWriteReply(byte[] reply) {
        if (reply.length == 0) {
            throw new MalformedMessageException("write reply: empty");
        }
        if (reply[0] == REFUSED) {
            throw new ReplicaRefusedException(new String(reply, 1, reply.length - 1, StandardCharsets.UTF_8));
        }
        if (reply[0] != APPLIED || reply.length != 1) {
            throw new MalformedMessageException("write reply: status " + reply[0] + ", " + reply.length + " bytes");
        }
    }

    // ---- read ----

    /** A decoded read request. */
    public record ReadRequest(List<Key> keys, long[] knownHlc, long[] knownNode) {
    }

    public static byte[] encodeRead(List<Key> keys, Entry[] known) {
        int size = 4;
        for (Key k : keys) {
            size += 4 + k.length() + 16;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            byte[] key = keys.get(i).bytes();
            b.putInt(key.length).put(key);
            Entry k = known[i];
            b.putLong(k == null ? 0 : k.hlc()).putLong(k == null ? 0 : k.nodeId());
        }
        return b.array();
    }

    public static ReadRequest decodeRead(byte[] payload) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        int count = count(b, 4 + 16, "read");
        List<Key> keys = new ArrayList<>(count);
        long[] hlc = new long[count];
        long[] node = new long[count];
        for (int i = 0; i < count; i++) {
            keys.add(Key.of(bytes(b, "read key")));
            need(b, 16, "read version");
            hlc[i] = b.getLong();
            node[i] = b.getLong();
        }
        done(b, "read");
        return new ReadRequest(keys, hlc, node);
    }

    public static byte[] encodeReadReply(List<ReadReply> replies) {
        int size = 4;
        for (ReadReply r : replies) {
            size += 1 + (r.entry() != null ? entrySize(r.entry()) : r.missing() ? 0 : 16);
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(replies.size());
        for (ReadReply r : replies) {
            if (r.entry() != null && r.entry().kind() != ValueKind.PLAIN) {
                b.put(WHOLE_KINDED);
                putEntry(b, r.entry());
                b.put(r.entry().kind());
            } else if (r.entry() != null) {
                b.put(WHOLE);
                putEntry(b, r.entry());
            } else if (r.missing()) {
                b.put(MISSING);
            } else {
                b.put(VERSION_ONLY).putLong(r.hlc()).putLong(r.nodeId());
            }
        }
        return b.array();
    }

    public static List<ReadReply> decodeReadReply(byte[] payload) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        int count = count(b, 1, "read reply");
        List<ReadReply> replies = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            need(b, 1, "read reply kind");
            byte kind = b.get();
            switch (kind) {
                case MISSING -> replies.add(ReadReply.MISSING);
                case VERSION_ONLY -> {
                    need(b, 16, "read reply version");
                    replies.add(new ReadReply(b.getLong(), b.getLong(), null));
                }
                case WHOLE, WHOLE_KINDED -> {
                    Entry e = kind == WHOLE ? getEntry(b) : getKindedEntry(b);
                    replies.add(new ReadReply(e.hlc(), e.nodeId(), e));
                }
                default -> throw new MalformedMessageException("read reply: kind " + kind + " (expected: 0 to 3)");
            }
        }
        done(b, "read reply");
        return replies;
    }

    // ---- entries ----

    /** Encoded bytes of an entry (its kind byte included, where it has one). */
    public static int entrySize(Entry e) {
        return entrySize(e.key().length(), e.value() == null ? 0 : e.value().length)
                + (e.kind() != ValueKind.PLAIN ? 1 : 0);
    }

    /** Encoded bytes of an entry with a key and a value of these lengths (0 for a tombstone). */
    public static int entrySize(int keyLength, int valueLength) {
        return ENTRY_FIXED + keyLength + valueLength;
    }

    private static void putEntry(ByteBuffer b, Entry e) {
        byte[] key = e.key().bytes();
        b.putInt(key.length).put(key);
        if (e.value() == null) {
            b.putInt(-1);
        } else {
            b.putInt(e.value().length).put(e.value());
        }
        b.putLong(e.hlc()).putLong(e.nodeId()).putLong(e.expireAt());
    }

    private static Entry getEntry(ByteBuffer b) {
        Key key = Key.of(bytes(b, "entry key"));
        need(b, 4, "entry value length");
        int len = b.getInt();
        byte[] value = null;
        if (len != -1) {
            if (len < 0 || len > b.remaining()) {
                throw new MalformedMessageException("entry value: length " + len + " with " + b.remaining() + " bytes left");
            }
            value = new byte[len];
            b.get(value);
        }
        need(b, 24, "entry version");
        return new Entry(key, value, b.getLong(), b.getLong(), b.getLong());
    }

    private static Entry getKindedEntry(ByteBuffer b) {
        Entry plain = getEntry(b);
        need(b, 1, "entry kind");
        byte kind = b.get();
        checkKind(kind, plain.isTombstone());
        return kind == ValueKind.PLAIN ? plain
                : new Entry(plain.key(), plain.value(), plain.hlc(), plain.nodeId(), plain.expireAt(), kind);
    }

    private static byte[] bytes(ByteBuffer b, String what) {
        need(b, 4, what, " length");
        int len = b.getInt();
        if (len < 0 || len > b.remaining()) {
            throw new MalformedMessageException(what + ": length " + len + " with " + b.remaining() + " bytes left");
        }
        byte[] out = new byte[len];
        b.get(out);
        return out;
    }

    private static int count(ByteBuffer b, int minEach, String what) {
        need(b, 4, what, " count");
        int count = b.getInt();
        if (count < 0 || (long) count * minEach > b.remaining()) {
            throw new MalformedMessageException(what + ": " + count + " items in " + b.remaining() + " bytes");
        }
        return count;
    }

    private static void need(ByteBuffer b, int n, String what) {
        if (b.remaining() < n) {
            throw new MalformedMessageException(what + ": truncated");
        }
    }

    /** {@link #need(ByteBuffer, int, String)} for the field {@code what + part}, named only if it is missing. */
    private static void need(ByteBuffer b, int n, String what, String part) {
        if (b.remaining() < n) {
            throw new MalformedMessageException(what + part + ": truncated");
        }
    }

    private static void done(ByteBuffer b, String what) {
        if (b.hasRemaining()) {
            throw new MalformedMessageException(what + ": " + b.remaining() + " trailing bytes");
        }
    }
}
