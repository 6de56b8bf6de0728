package io.trelliskv.request;

import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;

import io.trelliskv.net.peer.PeerPayload;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The payloads of a forwarded command and of its answer, big-endian.
 *
 * <pre>
 * request := [byte protocol | USER][byte readLevel][byte writeLevel]   levels: 0 = the owner's default, 1 + ordinal
 *            [long stream]                                         the client connection's id on the sender
 *            ([int n][n bytes user name, UTF-8])                   only with the USER bit (0x80): the client's user
 *            [int floors]([long hlc][long node])*                  0, or one per key of the command
 *            [int argc]([int length][bytes])*
 * reply   := [int writes]([long token][long hlc][long node])*      versions the command wrote
 *            [the RESP reply, encoded for the client's protocol]
 * </pre>
 * The request carries what the client's connection chose (protocol, consistency levels) and knows
 * (the versions of its own writes, for read-your-writes), and names the connection (its stream), so
 * the owner starts the commands of one connection in the order they were sent; the reply tells the
 * forwarding node which versions the command wrote, for read-your-writes.
 *
 * <p>The client's user, whose permissions the owner checks again ({@code Dispatcher#executeForwarded}), goes only
 * to a peer whose hello offered {@code net.peer.PeerCodec#FEATURE_USERS}: a node of an earlier build refuses the
 * USER bit as a protocol it does not know, so {@link #payload} drops the user for it ({@link Payload#withoutUser}).
 */
public final class ForwardCodec {

    private ForwardCodec() {
    }

    /**
     * A forwarded command: the client's protocol (2 or 3), levels (null: default), the client
     * connection's stream id on the forwarding node, floors (null: none).
     */
    public record Request(int protocol, ConsistencyLevel readLevel, ConsistencyLevel writeLevel, long stream,
                   Version[] floors, byte[][] args, String user) {

        /** A forwarded command that names no user: what a node of an earlier build sends. */
        public Request(int protocol, ConsistencyLevel readLevel, ConsistencyLevel writeLevel, long stream,
                       Version[] floors, byte[][] args) {
            this(protocol, readLevel, writeLevel, stream, floors, args, null);
        }

        Request withoutUser() {
            return new Request(protocol, readLevel, writeLevel, stream, floors, args, null);
        }
    }

    /** The bit of the protocol byte that says a user name follows the stream. */
    private static final int USER = 0x80;

    /** A forwarded command's body, encoded once, which drops the user for a peer that does not read it. */
    public record Payload(byte[] bytes, Request request) implements PeerPayload {

        @Override
        public int length() {
            return bytes.length;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(bytes);
        }

        @Override
        public byte[] toBytes() {
            return bytes;
        }

        @Override
        public PeerPayload withoutUser() {
            return request.user() == null ? this : PeerPayload.of(encode(request.withoutUser()));
        }
    }

    /** The body of a forwarded command, as {@link #encode(Request)}, for the peer connection to write. */
    public static Payload payload(Request r) {
        return new Payload(encode(r), r);
    }

    /**
     * The answer to a forwarded command.
     *
     * @param resp    the raw RESP reply
     * @param written token, hlc and node id of each version the command wrote, three longs each
     */
    public record Reply(byte[] resp, long[] written) {

        static final long[] NONE = new long[0];

        static Reply of(byte[] resp) {
            return new Reply(resp, NONE);
        }

        static Reply of(byte[] resp, List<Entry> written) {
            long[] w = new long[3 * written.size()];
            for (int i = 0; i < written.size(); i++) {
                Entry e = written.get(i);
                w[3 * i] = e.key().token();
                w[3 * i + 1] = e.hlc();
                w[3 * i + 2] = e.nodeId();
            }
            return new Reply(resp, w);
        }

        /** Remembers the written versions in the client's session. */
        void recordInto(Session session) {
            for (int i = 0; i + 2 < written.length; i += 3) {
                session.record(written[i], written[i + 1], written[i + 2]);
            }
        }
    }

    public static byte[] encode(Request r) {
        int floors = r.floors() == null ? 0 : r.floors().length;
        byte[] user = r.user() == null ? null : r.user().getBytes(StandardCharsets.UTF_8);
        int size = 3 + 8 + (user == null ? 0 : 4 + user.length) + 4 + 16 * floors + 4;
        for (byte[] a : r.args()) {
            size += 4 + a.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put((byte) (r.protocol() | (user == null ? 0 : USER))).put(level(r.readLevel())).put(level(r.writeLevel()))
                .putLong(r.stream());
        if (user != null) {
            b.putInt(user.length).put(user);
        }
        b.putInt(floors);
        for (int i = 0; i < floors; i++) {
            Version v = r.floors()[i];
            b.putLong(v == null ? 0 : v.hlc()).putLong(v == null ? 0 : v.nodeId());
        }
        b.putInt(r.args().length);
        for (byte[] a : r.args()) {
            b.putInt(a.length).put(a);
        }
        return b.array();
    }

    /** @throws MalformedMessageException if the payload is malformed */
    public static Request decodeRequest(byte[] payload) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        need(b, 11, "header");
        int first = b.get() & 0xFF;
        int protocol = first & ~USER;
        ConsistencyLevel read = level(b.get());
        ConsistencyLevel write = level(b.get());
        if (protocol != 2 && protocol != 3) {
            throw new MalformedMessageException("forwarded command: protocol " + protocol + " (expected: 2 or 3)");
        }
        long stream = b.getLong();
        String user = null;
        if ((first & USER) != 0) {
            need(b, 4, "user name");
            int n = b.getInt();
            if (n < 1 || n > b.remaining()) {
                throw new MalformedMessageException("forwarded command: user name of " + n + " bytes in "
                        + payload.length + " bytes");
            }
            byte[] name = new byte[n];
            b.get(name);
            user = new String(name, StandardCharsets.UTF_8);
        }
        need(b, 4, "floor count");
        int floorCount = b.getInt();
        if (floorCount < 0 || floorCount > b.remaining() / 16) {
            throw new MalformedMessageException("forwarded command: " + floorCount + " floors in " + payload.length + " bytes");
        }
        Version[] floors = floorCount == 0 ? null : new Version[floorCount];
        for (int i = 0; i < floorCount; i++) {
            long hlc = b.getLong();
            long node = b.getLong();
            floors[i] = hlc == 0 && node == 0 ? null : new Version(hlc, node);
        }
        need(b, 4, "argument count");
        int argc = b.getInt();
        if (argc < 1 || argc > b.remaining() / 4) {
            throw new MalformedMessageException("forwarded command: " + argc + " arguments in " + payload.length + " bytes");
        }
        byte[][] args = new byte[argc][];
        for (int i = 0; i < argc; i++) {
            int len = b.remaining() >= 4 ? b.getInt() : -1;
            if (len < 0 || len > b.remaining()) {
                throw new MalformedMessageException("forwarded command: argument " + i + " is truncated");
            }
            args[i] = new byte[len];
            b.get(args[i]);
        }
        if (b.hasRemaining()) {
            throw new MalformedMessageException("forwarded command: " + b.remaining() + " trailing bytes");
        }
        return new Request(protocol, read, write, stream, floors, args, user);
    }

    public static byte[] encode(Reply r) {
        int writes = r.written().length / 3;
        ByteBuffer b = ByteBuffer.allocate(4 + 24 * writes + r.resp().length);
        b.putInt(writes);
        for (long v : r.written()) {
            b.putLong(v);
        }
        b.put(r.resp());
        return b.array();
    }

    /** @throws MalformedMessageException if the payload is malformed */
    public static Reply decodeReply(byte[] payload) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        need(b, 4, "reply header");
        int writes = b.getInt();
        if (writes < 0 || writes > b.remaining() / 24) {
            throw new MalformedMessageException("forward reply: " + writes + " versions in " + payload.length + " bytes");
        }
        long[] written = new long[3 * writes];
        for (int i = 0; i < written.length; i++) {
            written[i] = b.getLong();
        }
        return new Reply(Arrays.copyOfRange(payload, b.position(), payload.length), written);
    }

    private static byte level(ConsistencyLevel level) {
        return (byte) (level == null ? 0 : 1 + level.ordinal());
    }

    private static ConsistencyLevel level(byte code) {
        if (code == 0) {
            return null;
        }
        ConsistencyLevel[] all = ConsistencyLevel.values();
        if (code < 0 || code > all.length) {
            throw new MalformedMessageException("forwarded command: consistency level code " + code);
        }
        return all[code - 1];
    }

    private static void need(ByteBuffer b, int n, String what) {
        if (b.remaining() < n) {
            throw new MalformedMessageException("forwarded command: " + what + " is truncated");
        }
    }
}
