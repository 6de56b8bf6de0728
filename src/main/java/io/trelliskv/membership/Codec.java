package io.trelliskv.membership;

import io.trelliskv.common.Address;

import io.trelliskv.common.Murmur3;
import io.trelliskv.membership.Message.Ack;
import io.trelliskv.membership.Message.Alive;
import io.trelliskv.membership.Message.Dead;
import io.trelliskv.membership.Message.IndirectPing;
import io.trelliskv.membership.Message.Left;
import io.trelliskv.membership.Message.Nack;
import io.trelliskv.membership.Message.Packet;
import io.trelliskv.membership.Message.Ping;
import io.trelliskv.membership.Message.PushPull;
import io.trelliskv.membership.Message.Removed;
import io.trelliskv.membership.Message.Suspect;
import io.trelliskv.membership.PacketRejectedException.Reason;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The membership wire format: datagrams of piggy-backed messages, and push-pull state over a stream.
 *
 * <h2>Layout</h2>
 * All integers are big-endian; {@code var} is an unsigned LEB128 varint (incarnations and lengths are
 * small, so they usually take one byte).
 * <pre>
 * datagram  = version:u8 clusterHash:i64 senderId:i64 count:u8 message{count}
 * stream    = version:u8 clusterHash:i64 senderId:i64 PUSH_PULL:u8 flags:u8
 *             members:var entry{members} removed:var (id:i64 incarnation:var){removed}
 * message   = type:u8 body
 *   PING          seq:i32 targetId:i64
 *   INDIRECT_PING seq:i32 targetId:i64 address flags:u8      (flags bit 0: want a nack)
 *   ACK, NACK     seq:i32
 *   ALIVE         id:i64 incarnation:var address meta
 *   SUSPECT, DEAD id:i64 incarnation:var accuser:i64
 *   LEFT, REMOVED id:i64 incarnation:var
 * entry     = id:i64 address incarnation:var state:u8 meta      (push-pull flags bit 0: join)
 * address   = hostLength:u8 host:utf8 port:u16
 * meta      = length:var bytes                                  (at most Member.MAX_META_BYTES)
 * </pre>
 * The first message of a datagram is the primary one (a probe, or the first broadcast of a gossip
 * packet); every message is self-delimiting, so the broadcasts that follow are simply concatenated
 * encodings from the {@link DisseminationQueue}.
 *
 * <h2>Versions and clusters</h2>
 * Every datagram and stream starts with {@link #PROTOCOL_VERSION}; a receiver rejects versions it does
 * not speak rather than guess. The cluster name travels as its 64-bit Murmur3 hash, so a packet from
 * another cluster is recognised at the cost of 8 bytes. Message type codes ({@link MessageType}) and
 * state codes ({@link MemberState}) are append-only.
 *
 * <h2>Errors</h2>
 * Decoding validates everything (truncation, trailing bytes, unknown codes, lengths and counts against
 * the bytes actually present) and throws {@link PacketRejectedException}, which the receive path counts
 * and drops. Encoding is trusted input and throws {@link IllegalArgumentException} on misuse.
 *
 * <p>Thread-safe: its only mutable state is a cache of decoded addresses that tolerates races.
 */
public final class Codec {

    /** The protocol version this node speaks; bump on any incompatible change of the layout above. */
    public static final int PROTOCOL_VERSION = 1;
    /** Bytes before the first message of a datagram. */
    public static final int PACKET_HEADER_SIZE = 1 + 8 + 8 + 1;
    /** Most messages in one datagram (the count is one byte). */
    public static final int MAX_MESSAGES_PER_PACKET = 255;
    /** Most members a push-pull may carry; far above any real cluster, it bounds a hostile stream. */
    public static final int MAX_PUSH_PULL_MEMBERS = 1 << 20;

    private static final int MIN_ENTRY_SIZE = 8 + 1 + 1 + 2 + 1 + 1 + 1;
    private static final int FLAG_WANT_NACK = 1;
    private static final int FLAG_JOIN = 1;

    /** Hash of the cluster name, carried by every datagram and stream. */
    private final long clusterHash;
    /**
     * Recently decoded addresses, direct-mapped by a hash of their bytes (a power of two in size). Slots
     * are written without locks: a reader sees either an older or a newer immutable entry, both valid.
     */
    private final CachedAddress[] addressCache = new CachedAddress[1024];

    public Codec(String clusterName) {
        this.clusterHash = clusterHash(clusterName);
    }

    public static long clusterHash(String clusterName) {
        byte[] name = clusterName.getBytes(StandardCharsets.UTF_8);
        return Murmur3.hash64(name, 0, name.length);
    }

    // ---------------------------------------------------------------- encoding

    /** Encodes one message (not PUSH_PULL), to be sent as a primary message or queued as a broadcast. */
    public byte[] encode(Message message) {
        Out out = new Out(32);
        if (message instanceof Ping p) {
            out.u8(MessageType.PING.code).i32(p.seq()).i64(p.targetId());
        } else if (message instanceof IndirectPing p) {
            out.u8(MessageType.INDIRECT_PING.code).i32(p.seq()).i64(p.targetId()).address(p.target())
                    .u8(p.wantNack() ? FLAG_WANT_NACK : 0);
        } else if (message instanceof Ack a) {
            out.u8(MessageType.ACK.code).i32(a.seq());
        } else if (message instanceof Nack n) {
            out.u8(MessageType.NACK.code).i32(n.seq());
        } else if (message instanceof Alive a) {
            out.u8(MessageType.ALIVE.code).i64(a.id()).var(a.incarnation()).address(a.address()).meta(a.meta());
        } else if (message instanceof Suspect s) {
            out.u8(MessageType.SUSPECT.code).i64(s.id()).var(s.incarnation()).i64(s.accuser());
        } else if (message instanceof Dead d) {
            out.u8(MessageType.DEAD.code).i64(d.id()).var(d.incarnation()).i64(d.accuser());
        } else if (message instanceof Left l) {
            out.u8(MessageType.LEFT.code).i64(l.id()).var(l.incarnation());
        } else if (message instanceof Removed r) {
            out.u8(MessageType.REMOVED.code).i64(r.id()).var(r.incarnation());
        } else {
            throw new IllegalArgumentException("message: " + message.getClass().getSimpleName()
                    + " (expected: a datagram message; PUSH_PULL goes through encodePushPull)");
        }
        return out.toArray();
    }

    /**
     * A datagram from {@code senderId} holding {@code messages}, each from {@link #encode(Message)}, in
     * order. The caller keeps the total within the packet size.
     */
    public byte[] packet(long senderId, List<byte[]> messages) {
        if (messages.isEmpty() || messages.size() > MAX_MESSAGES_PER_PACKET) {
            throw new IllegalArgumentException("messages: " + messages.size() + " (expected: 1.."
                    + MAX_MESSAGES_PER_PACKET + ")");
        }
        int size = PACKET_HEADER_SIZE;
        for (byte[] m : messages) {
            size += m.length;
        }
        ByteBuffer buf = ByteBuffer.allocate(size);
        buf.put((byte) PROTOCOL_VERSION).putLong(clusterHash).putLong(senderId).put((byte) messages.size());
        for (byte[] m : messages) {
            buf.put(m);
        }
        return buf.array();
    }

    public byte[] encodePushPull(PushPull pp) {
        Out out = new Out(32 + pp.members().size() * 40);
        out.u8(PROTOCOL_VERSION).i64(clusterHash).i64(pp.senderId()).u8(MessageType.PUSH_PULL.code)
                .u8(pp.join() ? FLAG_JOIN : 0).var(pp.members().size());
        for (PushPull.Entry e : pp.members()) {
            out.i64(e.id()).address(e.address()).var(e.incarnation()).u8(e.state().code).meta(e.meta());
        }
        out.var(pp.removed().size());
        for (Removed r : pp.removed()) {
            out.i64(r.id()).var(r.incarnation());
        }
        return out.toArray();
    }

    // ---------------------------------------------------------------- decoding

    public Packet decodePacket(byte[] data) {
        try {
            ByteBuffer in = ByteBuffer.wrap(data);
            long sender = header(in);
            int count = Byte.toUnsignedInt(in.get());
            if (count == 0) {
                throw malformed("message count: 0 (expected: >= 1)");
            }
            List<Message> messages = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                messages.add(message(in));
            }
            requireConsumed(in);
            return new Packet(sender, messages);
        } catch (BufferUnderflowException e) {
            throw malformed("truncated packet of " + data.length + " bytes");
        }
    }

    public PushPull decodePushPull(byte[] data) {
        try {
            ByteBuffer in = ByteBuffer.wrap(data);
            long sender = header(in);
            int type = Byte.toUnsignedInt(in.get());
            if (type != MessageType.PUSH_PULL.code) {
                throw malformed("stream message type: " + type + " (expected: " + MessageType.PUSH_PULL.code + ")");
            }
            boolean join = (in.get() & FLAG_JOIN) != 0;
            int count = count(in, MIN_ENTRY_SIZE, "push-pull members");
            List<PushPull.Entry> members = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                long id = in.getLong();
                Address address = address(in);
                long incarnation = var(in);
                int code = Byte.toUnsignedInt(in.get());
                MemberState state = MemberState.fromCode(code);
                if (state == null) {
                    throw malformed("member state: " + code + " (expected: a MemberState code)");
                }
                members.add(new PushPull.Entry(id, address, incarnation, state, meta(in)));
            }
            int removedCount = count(in, 9, "push-pull removed");
            List<Removed> removed = new ArrayList<>(removedCount);
            for (int i = 0; i < removedCount; i++) {
                removed.add(new Removed(in.getLong(), var(in)));
            }
            requireConsumed(in);
            return new PushPull(sender, join, members, removed);
        } catch (BufferUnderflowException e) {
            throw malformed("truncated push-pull of " + data.length + " bytes");
        }
    }

    /** Checks version and cluster, returns the sender id. */
    private long header(ByteBuffer in) {
        int version = Byte.toUnsignedInt(in.get());
        if (version != PROTOCOL_VERSION) {
            throw new PacketRejectedException(Reason.UNSUPPORTED_VERSION,
                    "protocol version: " + version + " (expected: " + PROTOCOL_VERSION + ")");
        }
        long cluster = in.getLong();
        if (cluster != clusterHash) {
            throw new PacketRejectedException(Reason.FOREIGN_CLUSTER, "cluster hash: "
                    + Long.toHexString(cluster) + " (expected: " + Long.toHexString(clusterHash) + ")");
        }
        return in.getLong();
    }

    private Message message(ByteBuffer in) {
        int code = Byte.toUnsignedInt(in.get());
        MessageType type = MessageType.fromCode(code);
        if (type == null) {
            throw malformed("message type: " + code + " (expected: a MessageType code)");
        }
        return switch (type) {
            case PING -> new Ping(in.getInt(), in.getLong());
            case INDIRECT_PING -> new IndirectPing(in.getInt(), in.getLong(), address(in),
                    (in.get() & FLAG_WANT_NACK) != 0);
            case ACK -> new Ack(in.getInt());
            case NACK -> new Nack(in.getInt());
            case ALIVE -> new Alive(in.getLong(), var(in), address(in), meta(in));
            case SUSPECT -> new Suspect(in.getLong(), var(in), in.getLong());
            case DEAD -> new Dead(in.getLong(), var(in), in.getLong());
            case LEFT -> new Left(in.getLong(), var(in));
            case REMOVED -> new Removed(in.getLong(), var(in));
            case PUSH_PULL -> throw malformed("PUSH_PULL in a datagram (expected: on a stream only)");
        };
    }

    private Address address(ByteBuffer in) {
        int length = Byte.toUnsignedInt(in.get());
        if (length == 0) {
            throw malformed("host length: 0 (expected: 1.." + Address.MAX_HOST_BYTES + ")");
        }
        if (in.remaining() < length + 2) {
            throw new BufferUnderflowException();
        }
        // Every packet repeats the addresses of the same few hundred members: look the bytes up first.
        int start = in.position();
        int port = Short.toUnsignedInt(in.getShort(start + length));
        int hash = port;
        for (int i = start; i < start + length; i++) {
            hash = 31 * hash + in.get(i);
        }
        int slot = (hash ^ (hash >>> 16)) & (addressCache.length - 1);
        CachedAddress cached = addressCache[slot];
        if (cached != null && cached.matches(in.array(), start, length, port)) {
            in.position(start + length + 2);
            return cached.address;
        }
        byte[] host = new byte[length];
        in.get(host);
        in.getShort();
        Address address = decodeAddress(host, port);
        addressCache[slot] = new CachedAddress(host, address);
        return address;
    }

    private static Address decodeAddress(byte[] host, int port) {
        if (isAscii(host)) {
            return new Address(new String(host, StandardCharsets.ISO_8859_1), port); // the common case, fast
        }
        try {
            String h = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(host)).toString();
            return new Address(h, port);
        } catch (CharacterCodingException e) {
            throw malformed("host: not UTF-8");
        }
    }

    /** A decoded address and the host bytes it came from; immutable, so safe to share between threads. */
    private static final class CachedAddress {
        final byte[] host;
        final Address address;

        CachedAddress(byte[] host, Address address) {
            this.host = host;
            this.address = address;
        }

        boolean matches(byte[] data, int offset, int length, int port) {
            return address.port() == port && host.length == length
                    && Arrays.equals(host, 0, length, data, offset, offset + length);
        }
    }

    private static boolean isAscii(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return false;
            }
        }
        return true;
    }

    private static byte[] meta(ByteBuffer in) {
        long length = var(in);
        if (length > Member.MAX_META_BYTES) {
            throw malformed("meta length: " + length + " (expected: <= " + Member.MAX_META_BYTES + ")");
        }
        byte[] meta = new byte[(int) length];
        in.get(meta);
        return meta;
    }

    /** A count of items of at least {@code minItemSize} bytes each, checked against the bytes left. */
    private static int count(ByteBuffer in, int minItemSize, String what) {
        long count = var(in);
        if (count > MAX_PUSH_PULL_MEMBERS || count * minItemSize > in.remaining()) {
            throw malformed(what + ": " + count + " (expected: <= " + Math.min(MAX_PUSH_PULL_MEMBERS,
                    in.remaining() / minItemSize) + " for " + in.remaining() + " bytes left)");
        }
        return (int) count;
    }

    /** An unsigned LEB128 varint of at most 63 bits. */
    private static long var(ByteBuffer in) {
        long value = 0;
        for (int shift = 0; shift < 63; shift += 7) {
            int b = Byte.toUnsignedInt(in.get());
            value |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                if (value < 0) {
                    break;
                }
                return value;
            }
        }
        throw malformed("varint longer than 63 bits");
    }

    private static void requireConsumed(ByteBuffer in) {
        if (in.hasRemaining()) {
            throw malformed(in.remaining() + " trailing bytes");
        }
    }

    private static PacketRejectedException malformed(String message) {
        return new PacketRejectedException(Reason.MALFORMED, message);
    }

    /** A growable big-endian output buffer. */
    private static final class Out {
        private byte[] buf;
        private int size;

        Out(int capacity) {
            buf = new byte[capacity];
        }

        private void ensure(int more) {
            if (size + more > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
            }
        }

        Out u8(int v) {
            ensure(1);
            buf[size++] = (byte) v;
            return this;
        }

        Out u16(int v) {
            ensure(2);
            buf[size++] = (byte) (v >>> 8);
            buf[size++] = (byte) v;
            return this;
        }

        Out i32(int v) {
            ensure(4);
            for (int shift = 24; shift >= 0; shift -= 8) {
                buf[size++] = (byte) (v >>> shift);
            }
            return this;
        }

        Out i64(long v) {
            ensure(8);
            for (int shift = 56; shift >= 0; shift -= 8) {
                buf[size++] = (byte) (v >>> shift);
            }
            return this;
        }

        Out var(long v) {
            if (v < 0) {
                throw new IllegalArgumentException("varint: " + v + " (expected: >= 0)");
            }
            ensure(10);
            while ((v & ~0x7fL) != 0) {
                buf[size++] = (byte) ((v & 0x7f) | 0x80);
                v >>>= 7;
            }
            buf[size++] = (byte) v;
            return this;
        }

        Out bytes(byte[] b) {
            ensure(b.length);
            System.arraycopy(b, 0, buf, size, b.length);
            size += b.length;
            return this;
        }

        Out address(Address a) {
            byte[] host = a.host().getBytes(StandardCharsets.UTF_8);
            if (host.length > Address.MAX_HOST_BYTES) {
                throw new IllegalArgumentException("host: " + host.length + " bytes (expected: <= "
                        + Address.MAX_HOST_BYTES + ")");
            }
            return u8(host.length).bytes(host).u16(a.port());
        }

        Out meta(byte[] meta) {
            if (meta.length > Member.MAX_META_BYTES) {
                throw new IllegalArgumentException("meta: " + meta.length + " bytes (expected: <= "
                        + Member.MAX_META_BYTES + ")");
            }
            return var(meta.length).bytes(meta);
        }

        byte[] toArray() {
            return Arrays.copyOf(buf, size);
        }
    }
}
