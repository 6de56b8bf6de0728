package io.trelliskv.net.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.resp.RespLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PeerCodecTest {

    private static final PeerHello ALICE = new PeerHello("prod", "10.0.0.1", 7000, 0x0102030405060708L);
    private static final int MAX = 4096;

    private final List<EmbeddedChannel> channels = new ArrayList<>();

    @AfterEach
    void closeChannels() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    private EmbeddedChannel channel(io.netty.channel.ChannelHandler... handlers) {
        EmbeddedChannel ch = new EmbeddedChannel(handlers);
        channels.add(ch);
        return ch;
    }

    private byte[] encode(Object... messages) {
        EmbeddedChannel ch = channel(PeerEncoder.INSTANCE);
        ByteBuf all = Unpooled.buffer();
        for (Object m : messages) {
            ch.writeOutbound(m);
            ByteBuf b;
            while ((b = ch.readOutbound()) != null) {
                all.writeBytes(b);
                b.release();
            }
        }
        return ByteBufUtil.getBytes(all);
    }

    private static List<Object> drain(EmbeddedChannel ch) {
        List<Object> out = new ArrayList<>();
        Object o;
        while ((o = ch.readInbound()) != null) {
            out.add(o);
        }
        return out;
    }

    private static String describe(Object o) {
        return o instanceof PeerFrame f
                ? f.type() + "/" + f.requestId() + "/" + new String(f.payload(), StandardCharsets.UTF_8)
                : o.toString();
    }

    private static List<String> describeAll(List<Object> list) {
        return list.stream().map(PeerCodecTest::describe).toList();
    }

    @Test
    void helloAndFrameHaveTheDocumentedLayout() {
        byte[] hello = encode(new PeerHello("c", "h", 0x1F90, 5L).withDeadlines(false));
        assertThat(ByteBufUtil.hexDump(hello)).isEqualTo("f7" + "01" + "01" + "63" + "01" + "68" + "1f90"
                + "0000000000000005");
        byte[] withDeadlines = encode(new PeerHello("c", "h", 0x1F90, 5L).withUsers(false));
        assertThat(ByteBufUtil.hexDump(withDeadlines)).isEqualTo("f7" + "03" + "01" + "63" + "01" + "68" + "1f90"
                + "0000000000000005" + "00");
        byte[] thisBuild = encode(new PeerHello("c", "h", 0x1F90, 5L));
        assertThat(ByteBufUtil.hexDump(thisBuild)).as("version 5: no proof, then the features (users)")
                .isEqualTo("f7" + "05" + "01" + "63" + "01" + "68" + "1f90" + "0000000000000005" + "00" + "02");
        byte[] challenge = encode(new PeerHello("c", "h", 0x1F90, 5L).withChallenge(true).withProof(new byte[] {9}));
        assertThat(ByteBufUtil.hexDump(challenge)).as("version 5 with a challenge: its nonce, then both features")
                .isEqualTo("f7" + "05" + "01" + "63" + "01" + "68" + "1f90" + "0000000000000005" + "01" + "09" + "03");

        byte[] frame = encode(new PeerFrame(PeerMessageType.FORWARD, 258L, new byte[] {'x', 'y'}));
        assertThat(ByteBufUtil.hexDump(frame)).isEqualTo("0000000b" + "02" + "0000000000000102" + "7879");
    }

    /** A body written into the frame's buffer, as a replica write batch is: "xy" written a byte at a time. */
    private static final PeerPayload XY = new PeerPayload() {
        @Override
        public int length() {
            return 2;
        }

        @Override
        public void writeTo(java.nio.ByteBuffer out) {
            out.put((byte) 'x').put((byte) 'y');
        }
    };

    @Test
    void aRequestWithAWrittenBodyIsTheFrameOfItsBytesOnTheWire() {
        for (long deadline : new long[] {PeerFrame.NO_DEADLINE, 0x0102030405060708L}) {
            byte[] written = encode(new PeerRequest(PeerMessageType.REPLICA_WRITE, 258L, XY, deadline));
            byte[] bytes = encode(new PeerFrame(PeerMessageType.REPLICA_WRITE, 258L, new byte[] {'x', 'y'}, deadline));
            assertThat(ByteBufUtil.hexDump(written)).isEqualTo(ByteBufUtil.hexDump(bytes));
            assertThat(encode(new PeerRequest(PeerMessageType.REPLICA_WRITE, 258L, PeerPayload.of(new byte[] {'x', 'y'}),
                    deadline))).isEqualTo(bytes);
        }
        assertThat(XY.toBytes()).containsExactly('x', 'y');
    }

    @Test
    void aBodyThatWritesOtherThanItsLengthIsRefusedAndItsBufferReleased() {
        PeerPayload shortOne = new PeerPayload() {
            @Override
            public int length() {
                return 3;
            }

            @Override
            public void writeTo(java.nio.ByteBuffer out) {
                out.put((byte) 'x');
            }
        };
        io.netty.buffer.UnpooledByteBufAllocator alloc = new io.netty.buffer.UnpooledByteBufAllocator(false);
        PeerRequest request = new PeerRequest(PeerMessageType.REPLICA_WRITE, 1, shortOne, PeerFrame.NO_DEADLINE);
        assertThatThrownBy(() -> PeerCodec.encodeRequest(alloc, request))
                .isInstanceOf(IllegalStateException.class).hasMessage("REPLICA_WRITE payload wrote 1 bytes (expected: 3)");
        assertThatThrownBy(shortOne::toBytes).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void messageTypeCodesAreFixed() {
        assertThat(PeerMessageType.SWIM_STREAM.code()).isEqualTo(1);
        assertThat(PeerMessageType.FORWARD.code()).isEqualTo(2);
        assertThat(PeerMessageType.REPLY.code()).isEqualTo(3);
        assertThat(PeerMessageType.ERROR_REPLY.code()).isEqualTo(4);
        assertThat(PeerMessageType.fromCode(0)).isNull();
        assertThat(PeerMessageType.fromCode(255)).isNull();
    }

    @Test
    void streamRoundTripsWhenSplitAtEveryByte() {
        List<Object> sent = List.of(ALICE,
                new PeerFrame(PeerMessageType.SWIM_STREAM, 1, "push".getBytes(StandardCharsets.UTF_8)),
                new PeerFrame(PeerMessageType.REPLY, Long.MAX_VALUE, new byte[0]),
                new PeerFrame(PeerMessageType.ERROR_REPLY, -7, "no".getBytes(StandardCharsets.UTF_8)));
        byte[] wire = encode(sent.toArray());
        List<String> expected = describeAll(sent);

        for (int split = 0; split <= wire.length; split++) {
            EmbeddedChannel ch = channel(new PeerDecoder(MAX));
            ch.writeInbound(Unpooled.wrappedBuffer(wire, 0, split));
            ch.writeInbound(Unpooled.wrappedBuffer(wire, split, wire.length - split));
            assertThat(describeAll(drain(ch))).as("split at %d", split).isEqualTo(expected);
            assertThat(ch.isOpen()).isTrue();
        }

        EmbeddedChannel oneByOne = channel(new PeerDecoder(MAX));
        for (byte b : wire) {
            oneByOne.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        assertThat(describeAll(drain(oneByOne))).isEqualTo(expected);
    }

    @Test
    void frameOfExactlyTheMaximumIsAccepted() {
        byte[] payload = new byte[MAX - PeerCodec.FRAME_OVERHEAD];
        EmbeddedChannel ch = channel(new PeerDecoder(MAX));
        ch.writeInbound(Unpooled.wrappedBuffer(encode(ALICE, new PeerFrame(PeerMessageType.FORWARD, 3, payload))));
        List<Object> got = drain(ch);
        assertThat(got).hasSize(2);
        assertThat(((PeerFrame) got.get(1)).payload()).hasSize(payload.length);
    }

    @Test
    void badMagicClosesTheConnection() {
        assertClosedBy(new byte[] {'*', '1'});
    }

    @Test
    void otherVersionClosesTheConnection() {
        byte[] wire = encode(ALICE);
        wire[1] = 6; // 1, 2 (a proof), 3 (deadlines), 4 (challenge) and 5 (features) are this build's
        assertClosedBy(wire);
    }

    @Test
    void aHelloWithAChallengeRoundTripsInVersion4() {
        PeerHello challenge = ALICE.withUsers(false).withChallenge(true).withProof(new byte[16]);
        byte[] wire = encode(challenge);
        assertThat(wire[1]).isEqualTo(PeerCodec.VERSION_WITH_CHALLENGE);
        io.netty.channel.embedded.EmbeddedChannel ch = new io.netty.channel.embedded.EmbeddedChannel(new PeerDecoder(4096));
        ch.writeInbound(io.netty.buffer.Unpooled.wrappedBuffer(wire));
        PeerHello decoded = ch.readInbound();
        assertThat(decoded).isEqualTo(challenge);
        assertThat(decoded.challenge()).isTrue();
        assertThat(decoded.readsDeadlines()).isTrue();
        assertThat(challenge.withDeadlines(false).challenge()).as("an earlier build's hello has no challenge").isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void aHelloWithFeaturesRoundTripsInVersion5AndUnknownFeatureBitsAreIgnored() {
        for (PeerHello hello : List.of(ALICE, ALICE.withChallenge(true).withProof(new byte[16]))) {
            byte[] wire = encode(hello);
            assertThat(wire[1]).isEqualTo(PeerCodec.VERSION_WITH_FEATURES);
            EmbeddedChannel ch = new EmbeddedChannel(new PeerDecoder(4096));
            ch.writeInbound(Unpooled.wrappedBuffer(wire));
            PeerHello decoded = ch.readInbound();
            assertThat(decoded).isEqualTo(hello);
            assertThat(decoded.namesUsers()).isTrue();
            assertThat(decoded.readsDeadlines()).isTrue();
            ch.finishAndReleaseAll();

            byte[] later = wire.clone();
            later[later.length - 1] |= (byte) 0xF0; // bits a later build may set
            ch = new EmbeddedChannel(new PeerDecoder(4096));
            ch.writeInbound(Unpooled.wrappedBuffer(later));
            assertThat((Object) ch.readInbound()).as("a later build's features").isEqualTo(hello);
            ch.finishAndReleaseAll();
        }
        assertThat(ALICE.withDeadlines(false).namesUsers()).as("an earlier build's hello names no users").isFalse();
        assertThat(ALICE.withUsers(false).version()).isEqualTo(PeerCodec.VERSION_WITH_DEADLINES);
    }

    @Test
    void aHelloWithAProofRoundTripsAndAnEmptyProofIsRefused() {
        PeerHello withProof = ALICE.withDeadlines(false).withProof(new byte[] {1, 2, 3});
        byte[] wire = encode(withProof);
        assertThat(wire[1]).isEqualTo(PeerCodec.VERSION_WITH_PROOF);
        assertThat(encode(ALICE.withDeadlines(false))[1]).as("no secret: the old version, so older nodes still talk")
                .isEqualTo(PeerCodec.VERSION);
        io.netty.channel.embedded.EmbeddedChannel ch = new io.netty.channel.embedded.EmbeddedChannel(new PeerDecoder(4096));
        ch.writeInbound(io.netty.buffer.Unpooled.wrappedBuffer(wire));
        assertThat((Object) ch.readInbound()).isEqualTo(withProof);
        byte[] old = encode(ALICE.withDeadlines(false));
        byte[] empty = java.util.Arrays.copyOf(old, old.length + 1);
        empty[1] = PeerCodec.VERSION_WITH_PROOF;
        assertClosedBy(empty);
    }

    @Test
    void emptyClusterNameClosesTheConnection() {
        assertClosedBy(new byte[] {PeerCodec.MAGIC, PeerCodec.VERSION, 0, 1, 'h', 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});
    }

    @Test
    void oversizeFrameClosesTheConnectionBeforeItsPayloadArrives() {
        ByteBuf wire = Unpooled.buffer().writeBytes(encode(ALICE)).writeInt(MAX + 1).writeByte(2);
        assertClosedBy(ByteBufUtil.getBytes(wire));
    }

    @Test
    void negativeOrShortFrameLengthClosesTheConnection() {
        assertClosedBy(ByteBufUtil.getBytes(Unpooled.buffer().writeBytes(encode(ALICE)).writeInt(-1)));
        assertClosedBy(ByteBufUtil.getBytes(Unpooled.buffer().writeBytes(encode(ALICE)).writeInt(8)));
    }

    @Test
    void unknownFrameTypeClosesTheConnection() {
        assertClosedBy(ByteBufUtil.getBytes(Unpooled.buffer().writeBytes(encode(ALICE)).writeInt(9).writeByte(200)));
    }

    private void assertClosedBy(byte[] wire) {
        EmbeddedChannel ch = channel(new PeerDecoder(MAX));
        ch.writeInbound(Unpooled.wrappedBuffer(wire));
        assertThat(ch.isOpen()).isFalse();
        assertThat(drain(ch)).allMatch(o -> o instanceof PeerHello);
    }

    // ------------------------------------------------------------ the shared port's pipeline

    private final ClientRegistry registry = new ClientRegistry(10);

    private EmbeddedChannel sharedPort(PeerService service) {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 10, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        PeerHello self = new PeerHello("prod", "10.0.0.2", 7000, 2L);
        PeerAcceptor acceptor = service == null ? null : new PeerAcceptor(PeerConfig.defaults("prod"), self, service);
        EmbeddedChannel ch = channel();
        ClientPipeline.configure(ch, net, (connection, args) -> connection.writer().simple("PONG"),
                registry, new ManualClock(0), acceptor);
        ch.pipeline().fireChannelActive();
        return ch;
    }

    private static List<Object> decodeOutbound(EmbeddedChannel ch) {
        EmbeddedChannel decoder = new EmbeddedChannel(new PeerDecoder(MAX));
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            decoder.writeInbound(b);
        }
        List<Object> out = drain(decoder);
        decoder.finishAndReleaseAll();
        return out;
    }

    @Test
    void peerOnTheSharedPortIsGreetedAndAnsweredById() {
        EmbeddedChannel ch = sharedPort((type, from, payload) -> type == PeerMessageType.FORWARD
                ? CompletableFuture.completedFuture(("hi " + from.nodeId() + " " + new String(payload,
                StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8))
                : CompletableFuture.failedFuture(new IllegalStateException("not here")));
        assertThat(registry.connected()).isEqualTo(1);

        ch.writeInbound(Unpooled.wrappedBuffer(encode(ALICE,
                new PeerFrame(PeerMessageType.FORWARD, 41, "x".getBytes(StandardCharsets.UTF_8)),
                new PeerFrame(PeerMessageType.SWIM_STREAM, 42, new byte[0]))));

        assertThat(describeAll(decodeOutbound(ch))).containsExactly(
                "PeerHello[clusterName=prod, host=10.0.0.2, port=7000, nodeId=2, readsDeadlines=true, namesUsers]",
                "REPLY/41/hi " + ALICE.nodeId() + " x",
                "ERROR_REPLY/42/not here");
        assertThat(ch.pipeline().names()).doesNotContain(ClientPipeline.DETECTOR, ClientPipeline.RESP_DECODER,
                ClientPipeline.CLIENT_HANDLER);
        assertThat(registry.connected()).as("a peer is no client").isZero();
        assertThat(ch.isOpen()).isTrue();
    }

    @Test
    void peerOfAnotherClusterIsRefusedAtHello() {
        EmbeddedChannel ch = sharedPort((type, from, payload) -> CompletableFuture.completedFuture(new byte[0]));
        ch.writeInbound(Unpooled.wrappedBuffer(encode(new PeerHello("staging", "10.0.0.9", 7000, 9L),
                new PeerFrame(PeerMessageType.FORWARD, 1, new byte[0]))));
        assertThat(ch.isOpen()).isFalse();
        assertThat(decodeOutbound(ch)).isEmpty();
    }

    @Test
    void replyFrameFromTheCallingSideClosesTheConnection() {
        EmbeddedChannel ch = sharedPort((type, from, payload) -> CompletableFuture.completedFuture(new byte[0]));
        ch.writeInbound(Unpooled.wrappedBuffer(encode(ALICE, new PeerFrame(PeerMessageType.REPLY, 1, new byte[0]))));
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void peerIsClosedWhenTheNodeTakesNoPeers() {
        EmbeddedChannel ch = sharedPort(null);
        ch.writeInbound(Unpooled.wrappedBuffer(encode(ALICE)));
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void respClientKeepsThePlainPipelineAfterItsFirstByte() {
        EmbeddedChannel ch = sharedPort((type, from, payload) -> CompletableFuture.completedFuture(new byte[0]));
        ch.writeInbound(Unpooled.copiedBuffer("P", StandardCharsets.US_ASCII));
        ch.writeInbound(Unpooled.copiedBuffer("ING\r\n", StandardCharsets.US_ASCII));
        ByteBuf reply = ch.readOutbound();
        assertThat(reply.toString(StandardCharsets.US_ASCII)).isEqualTo("+PONG\r\n");
        reply.release();
        assertThat(ch.pipeline().names()).doesNotContain(ClientPipeline.DETECTOR)
                .contains(ClientPipeline.RESP_DECODER, ClientPipeline.CLIENT_HANDLER);
    }
}
