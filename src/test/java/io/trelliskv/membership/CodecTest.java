package io.trelliskv.membership;

import io.trelliskv.common.Address;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CodecTest {

    private static final long SENDER = 0x0102030405060708L;
    private static final Address ADDRESS = new Address("10.1.2.3", 7946);
    private final Codec codec = new Codec("trellis");

    static Stream<Message> messages() {
        return Stream.of(
                new Ping(0, 42),
                new Ping(-1, Long.MIN_VALUE),
                new IndirectPing(7, -5, ADDRESS, true),
                new IndirectPing(Integer.MAX_VALUE, 5, new Address("::1", 0), false),
                new Ack(12345),
                new Nack(-12345),
                new Alive(1, 0, ADDRESS, new byte[0]),
                new Alive(-1, Long.MAX_VALUE, new Address("näme.example", 65535), new byte[Member.MAX_META_BYTES]),
                new Suspect(3, 127, 4),
                new Suspect(3, 128, -4),
                new Dead(5, 1L << 40, 6),
                new Left(7, 300),
                new Removed(8, 9));
    }

    @ParameterizedTest
    @MethodSource("messages")
    void everyMessageRoundTrips(Message m) {
        Packet p = codec.decodePacket(codec.packet(SENDER, List.of(codec.encode(m))));
        assertThat(p.senderId()).isEqualTo(SENDER);
        assertThat(p.messages()).containsExactly(m);
    }

    @Test
    void aCompoundPacketCarriesItsMessagesInOrder() {
        List<Message> all = messages().toList();
        List<byte[]> encoded = all.stream().map(codec::encode).toList();
        assertThat(codec.decodePacket(codec.packet(SENDER, encoded)).messages()).containsExactlyElementsOf(all);
    }

    @Test
    void pingLayoutByteByByte() {
        byte[] packet = codec.packet(SENDER, List.of(codec.encode(new Ping(0x0a0b0c0d, 0x1112131415161718L))));
        ByteBuffer expected = ByteBuffer.allocate(Codec.PACKET_HEADER_SIZE + 13)
                .put((byte) 1)                              // protocol version
                .putLong(Codec.clusterHash("trellis"))      // cluster
                .putLong(SENDER)                            // sender id
                .put((byte) 1)                              // one message
                .put((byte) 0)                              // PING
                .putInt(0x0a0b0c0d)                         // seq
                .putLong(0x1112131415161718L);              // target id
        assertThat(packet).isEqualTo(expected.array());
    }

    @Test
    void aliveLayoutUsesVarintsAndLengthPrefixes() {
        byte[] m = codec.encode(new Alive(1, 300, new Address("h", 258), new byte[] {9}));
        assertThat(m).containsExactly(
                4,                                          // ALIVE
                0, 0, 0, 0, 0, 0, 0, 1,                     // id
                (byte) 0xac, 0x02,                          // incarnation 300 as LEB128
                1, 'h', 1, 2,                               // host length, host, port 258
                1, 9);                                      // meta length, meta
    }

    @Test
    void pushPullRoundTrips() {
        byte[] meta = "tokens".getBytes(StandardCharsets.UTF_8);
        PushPull pp = new PushPull(SENDER, true, List.of(
                new PushPull.Entry(1, ADDRESS, 0, MemberState.ALIVE, meta),
                new PushPull.Entry(2, new Address("b", 1), 5, MemberState.SUSPECT, new byte[0]),
                new PushPull.Entry(3, new Address("c", 2), 500, MemberState.DEAD, new byte[0]),
                new PushPull.Entry(4, new Address("d", 3), 1, MemberState.LEFT, new byte[0])),
                List.of(new Removed(9, 4)));
        PushPull back = codec.decodePushPull(codec.encodePushPull(pp));
        assertThat(back.senderId()).isEqualTo(SENDER);
        assertThat(back.join()).isTrue();
        assertThat(back.members()).containsExactlyElementsOf(pp.members());
        assertThat(back.removed()).containsExactlyElementsOf(pp.removed());

        PushPull empty = new PushPull(SENDER, false, List.of(), List.of());
        assertThat(codec.decodePushPull(codec.encodePushPull(empty))).isEqualTo(empty);
    }

    @Test
    void theSameAddressDecodesEqualAndPortsAreNotConfused() {
        byte[] a = codec.packet(SENDER, List.of(codec.encode(new Alive(1, 0, new Address("h", 1), new byte[0]))));
        byte[] b = codec.packet(SENDER, List.of(codec.encode(new Alive(1, 0, new Address("h", 2), new byte[0]))));
        for (int i = 0; i < 3; i++) {
            assertThat(((Alive) codec.decodePacket(a).messages().get(0)).address()).isEqualTo(new Address("h", 1));
            assertThat(((Alive) codec.decodePacket(b).messages().get(0)).address()).isEqualTo(new Address("h", 2));
        }
    }

    // ---------------------------------------------------------------- malformed input

    private void assertRejected(byte[] data, Reason reason) {
        assertThatThrownBy(() -> codec.decodePacket(data))
                .isInstanceOfSatisfying(PacketRejectedException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    private void assertStreamRejected(byte[] data, Reason reason) {
        assertThatThrownBy(() -> codec.decodePushPull(data))
                .isInstanceOfSatisfying(PacketRejectedException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    @Test
    void everyTruncationIsMalformed() {
        byte[] full = codec.packet(SENDER, messages().map(codec::encode).toList());
        for (int length = 0; length < full.length; length++) {
            assertRejected(Arrays.copyOf(full, length), Reason.MALFORMED);
        }
        byte[] stream = codec.encodePushPull(new PushPull(SENDER, false,
                List.of(new PushPull.Entry(1, ADDRESS, 3, MemberState.ALIVE, new byte[] {1, 2})), List.of(new Removed(2, 3))));
        for (int length = 0; length < stream.length; length++) {
            assertStreamRejected(Arrays.copyOf(stream, length), Reason.MALFORMED);
        }
    }

    @Test
    void anotherVersionIsRejectedAsSuch() {
        byte[] packet = codec.packet(SENDER, List.of(codec.encode(new Ack(1))));
        packet[0] = 2;
        assertThatThrownBy(() -> codec.decodePacket(packet)).hasMessage("protocol version: 2 (expected: 1)");
        assertRejected(packet, Reason.UNSUPPORTED_VERSION);
        byte[] stream = codec.encodePushPull(new PushPull(SENDER, false, List.of(), List.of()));
        stream[0] = 0;
        assertStreamRejected(stream, Reason.UNSUPPORTED_VERSION);
    }

    @Test
    void anotherClusterIsRejectedAsSuch() {
        Codec other = new Codec("other");
        assertRejected(other.packet(SENDER, List.of(other.encode(new Ack(1)))), Reason.FOREIGN_CLUSTER);
        assertStreamRejected(other.encodePushPull(new PushPull(SENDER, false, List.of(), List.of())),
                Reason.FOREIGN_CLUSTER);
    }

    private byte[] withBody(int count, int... body) {
        ByteBuffer b = ByteBuffer.allocate(Codec.PACKET_HEADER_SIZE + body.length)
                .put((byte) Codec.PROTOCOL_VERSION).putLong(Codec.clusterHash("trellis")).putLong(SENDER)
                .put((byte) count);
        for (int x : body) {
            b.put((byte) x);
        }
        return b.array();
    }

    @Test
    void structuralErrorsAreMalformed() {
        assertRejected(withBody(0), Reason.MALFORMED);                                  // no message
        assertRejected(withBody(1, 99), Reason.MALFORMED);                              // unknown type
        assertRejected(withBody(1, 8), Reason.MALFORMED);                               // PUSH_PULL in a datagram
        assertRejected(withBody(1, 2, 0, 0, 0, 1, 0), Reason.MALFORMED);                // ACK + a trailing byte
        assertRejected(withBody(2, 2, 0, 0, 0, 1), Reason.MALFORMED);                   // count says 2, has 1
        assertRejected(withBody(1, 7, 0, 0, 0, 0, 0, 0, 0, 1,                           // LEFT, incarnation varint
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), Reason.MALFORMED); // of 64 bits
        assertRejected(withBody(1, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0), Reason.MALFORMED); // empty host
        assertRejected(withBody(1, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0xff, 0, 1, 0), Reason.MALFORMED); // not UTF-8
        assertRejected(withBody(1, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 'h', 0, 1,          // meta of 513 bytes
                0x81, 0x04), Reason.MALFORMED);
        assertThatThrownBy(() -> codec.decodePacket(withBody(1, 99))).hasMessage("message type: 99 (expected: a MessageType code)");
    }

    @Test
    void pushPullErrorsAreMalformed() {
        byte[] good = codec.encodePushPull(new PushPull(SENDER, false,
                List.of(new PushPull.Entry(1, new Address("h", 1), 0, MemberState.ALIVE, new byte[0])), List.of()));
        int stateOffset = 1 + 8 + 8 + 1 + 1 + 1 + 8 + 1 + 1 + 2 + 1;
        byte[] badState = good.clone();
        badState[stateOffset] = 9;
        assertStreamRejected(badState, Reason.MALFORMED);
        byte[] wrongType = good.clone();
        wrongType[17] = 2;
        assertStreamRejected(wrongType, Reason.MALFORMED);
        byte[] trailing = Arrays.copyOf(good, good.length + 1);
        assertStreamRejected(trailing, Reason.MALFORMED);
        // A count of a million members in a 30-byte stream is refused before anything is allocated.
        ByteBuffer huge = ByteBuffer.allocate(30).put((byte) 1).putLong(Codec.clusterHash("trellis")).putLong(SENDER)
                .put((byte) 8).put((byte) 0).put((byte) 0xc0).put((byte) 0x84).put((byte) 0x3d);
        assertStreamRejected(huge.array(), Reason.MALFORMED);
    }

    /** Garbage and bit flips of good packets either decode or are rejected; nothing else escapes. */
    @Test
    void fuzzNeverThrowsAnythingElse() {
        Random random = new Random(7);
        byte[] good = codec.packet(SENDER, messages().map(codec::encode).toList());
        byte[] goodStream = codec.encodePushPull(new PushPull(SENDER, true, List.of(
                new PushPull.Entry(1, ADDRESS, 3, MemberState.DEAD, new byte[] {1, 2})), List.of(new Removed(2, 3))));
        List<Throwable> unexpected = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            byte[] data;
            boolean stream = i % 2 == 0;
            if (i % 4 < 2) {
                data = (stream ? goodStream : good).clone();
                for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                    data[random.nextInt(data.length)] ^= (byte) (1 << random.nextInt(8));
                }
            } else {
                data = new byte[random.nextInt(64)];
                random.nextBytes(data);
                if (data.length > 9) {
                    data[0] = 1;
                    System.arraycopy(ByteBuffer.allocate(8).putLong(Codec.clusterHash("trellis")).array(), 0, data, 1, 8);
                }
            }
            try {
                if (stream) {
                    codec.decodePushPull(data);
                } else {
                    codec.decodePacket(data);
                }
            } catch (PacketRejectedException expected) {
                // fine
            } catch (RuntimeException e) {
                unexpected.add(e);
            }
        }
        assertThat(unexpected).isEmpty();
    }

    @Test
    void encodingRefusesWhatCannotBeSent() {
        assertThatThrownBy(() -> codec.encode(new Alive(1, 0, ADDRESS, new byte[Member.MAX_META_BYTES + 1])))
                .hasMessage("meta: 513 bytes (expected: <= 512)");
        assertThatThrownBy(() -> codec.encode(new Alive(1, -1, ADDRESS, new byte[0])))
                .hasMessage("varint: -1 (expected: >= 0)");
        assertThatThrownBy(() -> codec.encode(new PushPull(1, false, List.of(), List.of())))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> codec.packet(1, List.of())).hasMessage("messages: 0 (expected: 1..255)");
    }
}
