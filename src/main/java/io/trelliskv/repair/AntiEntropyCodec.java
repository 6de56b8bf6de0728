package io.trelliskv.repair;

import io.trelliskv.common.Key;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.ring.TokenRange;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Wire layouts of the anti-entropy messages, big-endian. Malformed input throws
 * {@link MalformedMessageException} saying what was wrong. Entries themselves travel as replica reads and
 * writes ({@link ReplicaCodec}), so they meet the same last-writer-wins merge and clock-drift check as
 * every other write.
 *
 * <pre>
 * tree        := [long start][long end][byte depth][long root]      the initiator's tree of (start, end]
 * tree reply  := [byte 0]                                          same root: nothing differs
 *              | [byte 1][int count][long leafHash]*               count = 2^depth, in token order
 * keys        := [int maxKeys][int count] ([long start][long end])*  runs of differing leaves
 * keys reply  := [int runsDone][byte partial][long cut][int count] keyVersion* [digests]
 * keyVersion  := [int keyLen][key][long hlc][long node][int valueLen (-1: tombstone or expired)]
 * digests     := [int n] ([int index][long digest])*   the keys whose value joins, by index, ascending
 * </pre>
 * The digests ({@link MerkleTree#valueDigest}) name the value of the keys whose values join (versioned
 * siblings, counters), which two replicas can hold differently under one version. They trail the keys
 * and are left out when no key has one, so a reply of plain values is what earlier builds wrote, and a
 * reply of an earlier build reads with every digest 0.
 * A keys reply lists the first {@code runsDone} runs completely, in request order, then — if
 * {@code partial} is 1 — the keys of the next run up to and including token {@code cut}, in token
 * order; the asker continues with {@code (cut, end]}. A reply holds at most {@code maxKeys} pairs unless
 * one token carries more keys than that.
 */
public final class AntiEntropyCodec {

    private static final byte SAME = 0;
    private static final byte LEAVES = 1;
    /** Fixed bytes of one keyVersion besides its key. */
    static final int KEY_VERSION_FIXED = 4 + 8 + 8 + 4;
    /** Most runs one keys request may carry. */
    public static final int MAX_RUNS = 1 << 16;

    private AntiEntropyCodec() {
    }

    /** A decoded tree request. */
    public record TreeRequest(TokenRange range, int depth, long root) {
    }

    /** A decoded keys request. */
    public record KeysRequest(List<TokenRange> runs, int maxKeys) {
    }

    /**
     * One key's version as a peer holds it; {@code valueLength} -1 for a tombstone or an expired value;
     * {@code digest} that of a value that joins, 0 for any other.
     */
    public record KeyVersion(Key key, long hlc, long nodeId, int valueLength, long digest) {
        public KeyVersion(Key key, long hlc, long nodeId, int valueLength) {
            this(key, hlc, nodeId, valueLength, 0);
        }
    }

    /** A decoded keys reply; {@code cut} means something only when {@code partial}. */
    public record KeysReply(int runsDone, boolean partial, long cut, List<KeyVersion> keys) {
    }

    // ---- tree ----

    public static byte[] encodeTreeRequest(TokenRange range, int depth, long root) {
        return ByteBuffer.allocate(8 + 8 + 1 + 8).putLong(range.start()).putLong(range.end()).put((byte) depth)
                .putLong(root).array();
    }

    public static TreeRequest decodeTreeRequest(byte[] payload) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        need(b, 25, "tree request");
        TokenRange range = new TokenRange(b.getLong(), b.getLong());
        int depth = b.get();
        if (depth < 0 || depth > MerkleTree.MAX_DEPTH) {
            throw new MalformedMessageException("tree request: depth " + depth + " (expected: 0 to " + MerkleTree.MAX_DEPTH + ")");
        }
        long root = b.getLong();
        done(b, "tree request");
        return new TreeRequest(range, depth, root);
    }

    /** The reply to a tree request: SAME if {@code sameRoot}, else every leaf hash. */
    public static byte[] encodeTreeReply(boolean sameRoot, long[] leaves) {
        if (sameRoot) {
            return new byte[] {SAME};
        }
        ByteBuffer b = ByteBuffer.allocate(1 + 4 + 8 * leaves.length).put(LEAVES).putInt(leaves.length);
        for (long leaf : leaves) {
            b.putLong(leaf);
        }
        return b.array();
    }

    /** The peer's leaf hashes, or null if its root was the same. */
    public static long[] decodeTreeReply(byte[] payload, int expectedLeaves) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        need(b, 1, "tree reply");
        byte kind = b.get();
        if (kind == SAME) {
            done(b, "tree reply");
            return null;
        }
        if (kind != LEAVES) {
            throw new MalformedMessageException("tree reply: kind " + kind + " (expected: 0 or 1)");
        }
        need(b, 4, "tree reply count");
        int count = b.getInt();
        if (count != expectedLeaves) {
            throw new MalformedMessageException("tree reply: " + count + " leaves (expected: " + expectedLeaves + ")");
        }
        need(b, 8L * count, "tree reply leaves");
        long[] leaves = new long[count];
        for (int i = 0; i < count; i++) {
            leaves[i] = b.getLong();
        }
        done(b, "tree reply");
        return leaves;
    }

    // ---- keys ----

    public static byte[] encodeKeysRequest(List<TokenRange> runs, int maxKeys) {
        ByteBuffer b = ByteBuffer.allocate(8 + 16 * runs.size()).putInt(maxKeys).putInt(runs.size());
        for (TokenRange r : runs) {
            b.putLong(r.start()).putLong(r.end());
        }
        return b.array();
    }

    public static KeysRequest decodeKeysRequest(byte[] payload) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        need(b, 8, "keys request");
        int maxKeys = b.getInt();
        int count = b.getInt();
        if (maxKeys < 1 || count < 0 || count > MAX_RUNS || (long) count * 16 != b.remaining()) {
            throw new MalformedMessageException("keys request: max keys " + maxKeys + ", " + count + " runs in "
                    + b.remaining() + " bytes (expected: max keys >= 1, 0 to " + MAX_RUNS + " runs of 16 bytes)");
        }
        List<TokenRange> runs = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            runs.add(new TokenRange(b.getLong(), b.getLong()));
        }
        return new KeysRequest(runs, maxKeys);
    }

    public static byte[] encodeKeysReply(KeysReply reply) {
        int size = 4 + 1 + 8 + 4;
        int digests = 0;
        for (KeyVersion k : reply.keys()) {
            size += KEY_VERSION_FIXED + k.key().length();
            digests += k.digest() != 0 ? 1 : 0;
        }
        if (digests > 0) {
            size += 4 + 12 * digests;
        }
        ByteBuffer b = ByteBuffer.allocate(size).putInt(reply.runsDone()).put((byte) (reply.partial() ? 1 : 0))
                .putLong(reply.cut()).putInt(reply.keys().size());
        for (KeyVersion k : reply.keys()) {
            b.putInt(k.key().length()).put(k.key().bytes()).putLong(k.hlc()).putLong(k.nodeId()).putInt(k.valueLength());
        }
        if (digests > 0) {
            b.putInt(digests);
            for (int i = 0; i < reply.keys().size(); i++) {
                if (reply.keys().get(i).digest() != 0) {
                    b.putInt(i).putLong(reply.keys().get(i).digest());
                }
            }
        }
        return b.array();
    }

    /** @param runsAsked how many runs the request carried: a reply claiming more is malformed */
    public static KeysReply decodeKeysReply(byte[] payload, int runsAsked) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        need(b, 17, "keys reply");
        int done = b.getInt();
        byte partial = b.get();
        long cut = b.getLong();
        int count = b.getInt();
        if (done < 0 || done > runsAsked || (partial != 0 && partial != 1) || (partial == 1 && done == runsAsked)) {
            throw new MalformedMessageException("keys reply: " + done + " runs done, partial " + partial
                    + " (expected: 0 to " + runsAsked + " runs, partial 0 or 1, partial only before the last run)");
        }
        if (count < 0 || (long) count * KEY_VERSION_FIXED > b.remaining()) {
            throw new MalformedMessageException("keys reply: " + count + " keys in " + b.remaining() + " bytes");
        }
        List<KeyVersion> keys = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            need(b, 4, "keys reply key length");
            int len = b.getInt();
            if (len < 0 || len > b.remaining()) {
                throw new MalformedMessageException("keys reply key: length " + len + " with " + b.remaining() + " bytes left");
            }
            byte[] key = new byte[len];
            b.get(key);
            need(b, 20, "keys reply version");
            keys.add(new KeyVersion(Key.of(key), b.getLong(), b.getLong(), b.getInt()));
        }
        if (b.hasRemaining()) {
            readDigests(b, keys);
        }
        done(b, "keys reply");
        return new KeysReply(done, partial == 1, cut, keys);
    }

    /** Reads the trailing digests into {@code keys}, refusing indexes out of range or order, and 0 digests. */
    private static void readDigests(ByteBuffer b, List<KeyVersion> keys) {
        need(b, 4, "keys reply digest count");
        int n = b.getInt();
        if (n < 1 || n > keys.size() || (long) n * 12 != b.remaining()) {
            throw new MalformedMessageException("keys reply: " + n + " digests in " + b.remaining() + " bytes (expected: 1 to "
                    + keys.size() + " digests of 12 bytes)");
        }
        int last = -1;
        for (int i = 0; i < n; i++) {
            int index = b.getInt();
            long digest = b.getLong();
            if (index <= last || index >= keys.size() || digest == 0) {
                throw new MalformedMessageException("keys reply: digest " + i + " for key " + index + (digest == 0 ? " is 0" : "")
                        + " (expected: ascending key indexes below " + keys.size() + ", non-zero digests)");
            }
            KeyVersion k = keys.get(index);
            keys.set(index, new KeyVersion(k.key(), k.hlc(), k.nodeId(), k.valueLength(), digest));
            last = index;
        }
    }

    private static void need(ByteBuffer b, long n, String what) {
        if (b.remaining() < n) {
            throw new MalformedMessageException(what + ": truncated (" + b.remaining() + " bytes, expected: >= " + n + ")");
        }
    }

    private static void done(ByteBuffer b, String what) {
        if (b.hasRemaining()) {
            throw new MalformedMessageException(what + ": " + b.remaining() + " trailing bytes");
        }
    }
}
