package io.trelliskv.net.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.net.RespServer;
import io.trelliskv.resp.RespLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Deadlines on the peer protocol: the version-3 hello, the {@link PeerMessageType#DEADLINE} envelope,
 * and the way a node speaks to peers of earlier builds (no deadline: no check).
 */
class PeerDeadlineTest {

    private static final PeerHello ALICE = new PeerHello("prod", "10.0.0.1", 7000, 0x0102030405060708L);
    private static final int MAX = 4096;
    private static final long DEADLINE = 1_700_000_005_000L;
    private static final Duration LONG = Duration.ofSeconds(30);

    private final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    private EmbeddedChannel channel(io.netty.channel.ChannelHandler... handlers) {
        EmbeddedChannel ch = new EmbeddedChannel(handlers);
        resources.add(ch::finishAndReleaseAll);
        return ch;
    }

    private byte[] encode(Object... messages) {
        EmbeddedChannel ch = channel(PeerEncoder.INSTANCE);
        ByteBuf all = Unpooled.buffer();
        for (Object m : messages) {
            ch.writeOutbound(m);
            for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
                all.writeBytes(b);
                b.release();
            }
        }
        return ByteBufUtil.getBytes(all);
    }

    private List<Object> decode(byte[] wire) {
        EmbeddedChannel ch = channel(new PeerDecoder(MAX));
        ch.writeInbound(Unpooled.wrappedBuffer(wire));
        List<Object> out = new ArrayList<>();
        for (Object o; (o = ch.readInbound()) != null; ) {
            out.add(o);
        }
        return out;
    }

    // ---- the codec ----

    @Test
    void helloesOfEarlierBuildsDecodeAsNotReadingDeadlines() {
        byte[] v1 = HexFormat.of().parseHex("f7" + "01" + "01" + "63" + "01" + "68" + "1f90" + "0000000000000005");
        byte[] v2 = HexFormat.of().parseHex("f7" + "02" + "01" + "63" + "01" + "68" + "1f90" + "0000000000000005"
                + "02" + "0a0b");
        assertThat(decode(v1)).containsExactly(new PeerHello("c", "h", 0x1F90, 5L, null, false));
        assertThat(decode(v2)).containsExactly(new PeerHello("c", "h", 0x1F90, 5L, new byte[] {10, 11}, false));
    }

    @Test
    void aVersion3HelloRoundTripsWithAndWithoutAProof() {
        PeerHello v3 = ALICE.withUsers(false);
        PeerHello withProof = v3.withProof(new byte[] {1, 2, 3});
        assertThat(encode(v3)[1]).isEqualTo(PeerCodec.VERSION_WITH_DEADLINES);
        assertThat(encode(withProof)[1]).isEqualTo(PeerCodec.VERSION_WITH_DEADLINES);
        assertThat(decode(encode(v3))).containsExactly(v3);
        assertThat(decode(encode(withProof))).containsExactly(withProof);
        assertThat(((PeerHello) decode(encode(v3)).get(0)).readsDeadlines()).isTrue();
    }

    @Test
    void aRequestWithADeadlineTravelsInAnEnvelope() {
        byte[] wire = encode(new PeerFrame(PeerMessageType.FORWARD, 258L, new byte[] {'x', 'y'}, DEADLINE));
        assertThat(ByteBufUtil.hexDump(wire)).isEqualTo("00000014" + "0b" + "0000000000000102"
                + String.format("%016x", DEADLINE) + "02" + "7879");
    }

    @Test
    void framesWithAndWithoutDeadlinesDecodeWhenSplitAtEveryByte() {
        byte[] wire = encode(ALICE,
                new PeerFrame(PeerMessageType.FORWARD, 1, "a".getBytes(StandardCharsets.UTF_8), DEADLINE),
                new PeerFrame(PeerMessageType.REPLICA_WRITE, 2, "b".getBytes(StandardCharsets.UTF_8)),
                new PeerFrame(PeerMessageType.REPLICA_WRITE, 3, new byte[0], DEADLINE + 1));
        List<String> expected = List.of(ALICE.toString(), "FORWARD/1/a/" + DEADLINE,
                "REPLICA_WRITE/2/b/" + PeerFrame.NO_DEADLINE, "REPLICA_WRITE/3//" + (DEADLINE + 1));
        for (int split = 0; split <= wire.length; split++) {
            EmbeddedChannel ch = channel(new PeerDecoder(MAX));
            ch.writeInbound(Unpooled.wrappedBuffer(wire, 0, split));
            ch.writeInbound(Unpooled.wrappedBuffer(wire, split, wire.length - split));
            List<String> got = new ArrayList<>();
            for (Object o; (o = ch.readInbound()) != null; ) {
                got.add(describe(o));
            }
            assertThat(got).as("split at %d", split).isEqualTo(expected);
        }
    }

    @Test
    void malformedEnvelopesCloseTheConnection() {
        byte[] hello = encode(ALICE);
        // wraps a reply; wraps itself; too short for a deadline and a type; a deadline of 0
        assertClosedBy(hello, envelope(1, DEADLINE, PeerMessageType.REPLY.code(), new byte[0]));
        assertClosedBy(hello, envelope(1, DEADLINE, PeerMessageType.DEADLINE.code(), new byte[0]));
        assertClosedBy(hello, ByteBufUtil.getBytes(Unpooled.buffer().writeInt(PeerCodec.FRAME_OVERHEAD + 4)
                .writeByte(PeerMessageType.DEADLINE.code()).writeLong(1).writeInt(7)));
        assertClosedBy(hello, envelope(1, 0, PeerMessageType.FORWARD.code(), new byte[0]));
        assertClosedBy(hello, envelope(1, DEADLINE, 200, new byte[0]));
    }

    private void assertClosedBy(byte[] hello, byte[] frame) {
        EmbeddedChannel ch = channel(new PeerDecoder(MAX));
        ch.writeInbound(Unpooled.wrappedBuffer(hello, frame));
        assertThat(ch.isOpen()).isFalse();
        for (Object o; (o = ch.readInbound()) != null; ) {
            assertThat(o).isInstanceOf(PeerHello.class);
        }
    }

    private static byte[] envelope(long id, long deadline, int innerType, byte[] payload) {
        return ByteBufUtil.getBytes(Unpooled.buffer().writeInt(PeerCodec.FRAME_OVERHEAD + 9 + payload.length)
                .writeByte(PeerMessageType.DEADLINE.code()).writeLong(id).writeLong(deadline).writeByte(innerType)
                .writeBytes(payload));
    }

    private static String describe(Object o) {
        return o instanceof PeerFrame f
                ? f.type() + "/" + f.requestId() + "/" + new String(f.payload(), StandardCharsets.UTF_8) + "/"
                + f.deadlineMillis()
                : o.toString();
    }

    // ---- the accepting side ----

    /** What the service was handed: type, payload and deadline. */
    private final List<String> served = new CopyOnWriteArrayList<>();

    private final PeerService service = new PeerService() {
        @Override
        public CompletableFuture<byte[]> handle(PeerMessageType type, PeerHello from, byte[] payload) {
            return handle(type, from, payload, PeerFrame.NO_DEADLINE);
        }

        @Override
        public CompletableFuture<byte[]> handle(PeerMessageType type, PeerHello from, byte[] payload,
                                                long deadlineMillis) {
            served.add(type + " " + new String(payload, StandardCharsets.UTF_8) + " " + deadlineMillis);
            return CompletableFuture.completedFuture("ok".getBytes(StandardCharsets.UTF_8));
        }
    };

    private EmbeddedChannel sharedPort() {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 10, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        PeerAcceptor acceptor = new PeerAcceptor(PeerConfig.defaults("prod"),
                new PeerHello("prod", "10.0.0.2", 7000, 2L), service);
        EmbeddedChannel ch = channel();
        ClientPipeline.configure(ch, net, (connection, args) -> connection.writer().simple("PONG"),
                new ClientRegistry(10), new ManualClock(0), acceptor);
        ch.pipeline().fireChannelActive();
        return ch;
    }

    private byte[] outbound(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
            all.writeBytes(b);
            b.release();
        }
        return ByteBufUtil.getBytes(all);
    }

    @Test
    void theAcceptorAnswersADialerOfAnEarlierBuildInItsVersionAndServesItsRequestsWithoutDeadline() {
        EmbeddedChannel ch = sharedPort();
        ch.writeInbound(Unpooled.wrappedBuffer(encode(ALICE.withDeadlines(false),
                new PeerFrame(PeerMessageType.FORWARD, 1, "old".getBytes(StandardCharsets.UTF_8)))));
        byte[] answer = outbound(ch);
        assertThat(answer[1]).as("a version 1 dialer refuses any other").isEqualTo(PeerCodec.VERSION);
        assertThat(served).containsExactly("FORWARD old " + PeerFrame.NO_DEADLINE);
    }

    @Test
    void theAcceptorAnswersADialerOfThisBuildInVersion5AndHandsTheDeadlineToTheService() {
        EmbeddedChannel ch = sharedPort();
        ch.writeInbound(Unpooled.wrappedBuffer(encode(ALICE,
                new PeerFrame(PeerMessageType.FORWARD, 1, "new".getBytes(StandardCharsets.UTF_8), DEADLINE))));
        byte[] answer = outbound(ch);
        assertThat(answer[1]).isEqualTo(PeerCodec.VERSION_WITH_FEATURES);
        assertThat(served).containsExactly("FORWARD new " + DEADLINE);
    }

    @Test
    void theAcceptorAnswersADialerOfTheBuildBeforeUsersInVersion3() {
        EmbeddedChannel ch = sharedPort();
        ch.writeInbound(Unpooled.wrappedBuffer(encode(ALICE.withUsers(false),
                new PeerFrame(PeerMessageType.FORWARD, 1, "v3".getBytes(StandardCharsets.UTF_8), DEADLINE))));
        byte[] answer = outbound(ch);
        assertThat(answer[1]).as("a version that build reads").isEqualTo(PeerCodec.VERSION_WITH_DEADLINES);
        assertThat(served).containsExactly("FORWARD v3 " + DEADLINE);
    }

    @Test
    void requestsTheServiceReadsInPlaceReachItAsViewsThatAreReleasedOnceItReturns() {
        PeerService inPlace = new PeerService() {
            @Override
            public CompletableFuture<byte[]> handle(PeerMessageType type, PeerHello from, byte[] payload) {
                return service.handle(type, from, payload);
            }

            @Override
            public CompletableFuture<byte[]> handle(PeerMessageType type, PeerHello from, byte[] payload,
                                                    long deadlineMillis) {
                return service.handle(type, from, payload, deadlineMillis);
            }

            @Override
            public boolean readsInPlace(PeerMessageType type) {
                return type == PeerMessageType.REPLICA_WRITE;
            }

            @Override
            public CompletableFuture<byte[]> handleInPlace(PeerMessageType type, PeerHello from, ByteBuffer payload,
                                                           long deadlineMillis) {
                byte[] read = new byte[payload.remaining()];
                payload.get(read);
                String text = new String(read, StandardCharsets.UTF_8);
                served.add("in place " + type + " " + text + " " + deadlineMillis);
                if (text.equals("bad")) {
                    throw new MalformedMessageException("write: bad");
                }
                return CompletableFuture.completedFuture("ok".getBytes(StandardCharsets.UTF_8));
            }
        };
        EmbeddedChannel ch = channel(new PeerDecoder(MAX, inPlace::readsInPlace), PeerEncoder.INSTANCE,
                new PeerServerHandler(new PeerAcceptor(PeerConfig.defaults("prod"),
                        new PeerHello("prod", "10.0.0.2", 7000, 2L), inPlace)));
        ByteBuf wire = Unpooled.wrappedBuffer(encode(ALICE,
                new PeerFrame(PeerMessageType.REPLICA_WRITE, 1, "a".getBytes(StandardCharsets.UTF_8), DEADLINE),
                new PeerFrame(PeerMessageType.REPLICA_WRITE, 2, "b".getBytes(StandardCharsets.UTF_8)),
                new PeerFrame(PeerMessageType.FORWARD, 3, "c".getBytes(StandardCharsets.UTF_8), DEADLINE),
                new PeerFrame(PeerMessageType.REPLICA_WRITE, 4, "bad".getBytes(StandardCharsets.UTF_8))));
        ch.writeInbound(wire);

        assertThat(served).containsExactly("in place REPLICA_WRITE a " + DEADLINE,
                "in place REPLICA_WRITE b " + PeerFrame.NO_DEADLINE, "FORWARD c " + DEADLINE,
                "in place REPLICA_WRITE bad " + PeerFrame.NO_DEADLINE);
        assertThat(wire.refCnt()).as("every view released").isZero();
        assertThat(ch.isOpen()).isTrue();
        List<Object> replies = new ArrayList<>();
        EmbeddedChannel reader = channel(new PeerDecoder(MAX));
        reader.writeInbound(Unpooled.wrappedBuffer(outbound(ch)));
        for (Object o; (o = reader.readInbound()) != null; ) {
            replies.add(o instanceof PeerFrame f ? f.type() + "/" + f.requestId() + " "
                    + new String(f.payload(), StandardCharsets.UTF_8) : "hello");
        }
        assertThat(replies).containsExactly("hello", "REPLY/1 ok", "REPLY/2 ok", "REPLY/3 ok", "ERROR_REPLY/4 write: bad");
    }

    // ---- the calling side ----

    private PeerClient client() {
        PeerClient c = new PeerClient(PeerConfig.defaults("prod").withBackoff(Duration.ofMillis(20),
                Duration.ofMillis(100)), new PeerHello("prod", "127.0.0.1", 1, 1L));
        resources.add(c);
        return c;
    }

    /** A started node port of this build whose peer requests go to {@link #service}. */
    private RespServer nodeOfThisBuild() throws Exception {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        RespServer server = new RespServer(net, (connection, args) -> connection.writer().simple("PONG"),
                new ClientRegistry(100), new ManualClock(0),
                new PeerAcceptor(PeerConfig.defaults("prod"), new PeerHello("prod", "127.0.0.1", 0, 2L), service));
        resources.add(server);
        server.start();
        return server;
    }

    @Test
    void aClientSendsTheDeadlineOnceThePeerSaidItReadsThem() throws Exception {
        RespServer server = nodeOfThisBuild();
        PeerClient client = client();
        // One stream, so one connection. The first call opens it and races the peer's hello: written before
        // the hello has arrived it goes without its deadline (the peer may be of an earlier build), after it
        // with (a CI run saw the hello win). Its answer comes after the hello, so the second call, made
        // then, carries the deadline. That nothing with a deadline goes to a peer that cannot read it is
        // aClientSpeaksTheEarlierVersionToAPeerThatRefusedVersion3AndSendsItNoDeadline's.
        long stream = 5;
        client.call(server.address(), PeerMessageType.FORWARD, "first".getBytes(StandardCharsets.UTF_8), LONG,
                stream, DEADLINE).get(10, TimeUnit.SECONDS);
        client.call(server.address(), PeerMessageType.FORWARD, "second".getBytes(StandardCharsets.UTF_8), LONG,
                stream, DEADLINE).get(10, TimeUnit.SECONDS);
        assertThat(served).hasSize(2).endsWith("FORWARD second " + DEADLINE);
        assertThat(served.get(0)).isIn("FORWARD first " + PeerFrame.NO_DEADLINE, "FORWARD first " + DEADLINE);
    }

    @Test
    void aClientSpeaksTheEarlierVersionToAPeerThatRefusedVersion3AndSendsItNoDeadline() throws Exception {
        EarlierBuildPeer old = new EarlierBuildPeer();
        resources.add(old);
        PeerClient client = client();
        InetSocketAddress at = old.address();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).ignoreExceptions().until(() ->
                client.call(at, PeerMessageType.FORWARD, "x".getBytes(StandardCharsets.UTF_8), LONG,
                        PeerClient.NO_STREAM, DEADLINE).get(10, TimeUnit.SECONDS) != null);
        client.call(at, PeerMessageType.REPLICA_WRITE, "y".getBytes(StandardCharsets.UTF_8), LONG,
                PeerClient.NO_STREAM, DEADLINE).get(10, TimeUnit.SECONDS);
        assertThat(old.helloVersions).startsWith((int) PeerCodec.VERSION_WITH_FEATURES)
                .contains((int) PeerCodec.VERSION_WITH_DEADLINES, (int) PeerCodec.VERSION);
        assertThat(old.frameTypes).as("only the types an earlier build knows")
                .doesNotContain(PeerMessageType.DEADLINE.code()).contains(PeerMessageType.REPLICA_WRITE.code());
    }

    /**
     * With a cluster secret, a node of the build before challenge and response refuses this build's hello (version
     * 4) by closing the connection; the next connection proves the secret in its hello alone, as that build
     * expects, and is served. Nothing is sent to it before its proof checked out.
     */
    @Test
    void withASecretAClientProvesItInTheHelloToAPeerThatRefusedTheChallenge() throws Exception {
        io.trelliskv.security.PeerAuthenticator auth = new io.trelliskv.security.PeerAuthenticator(
                "sixteen-bytes-or-more-secret".getBytes(StandardCharsets.UTF_8), io.trelliskv.common.Clock.SYSTEM);
        EarlierBuildPeer old = new EarlierBuildPeer(auth, PeerCodec.VERSION_WITH_DEADLINES);
        resources.add(old);
        PeerClient c = new PeerClient(PeerConfig.defaults("prod").withBackoff(Duration.ofMillis(20),
                Duration.ofMillis(100)).withAuthenticator(auth), new PeerHello("prod", "127.0.0.1", 1, 1L));
        resources.add(c);
        InetSocketAddress at = old.address();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).ignoreExceptions().until(() ->
                c.call(at, PeerMessageType.FORWARD, "x".getBytes(StandardCharsets.UTF_8), LONG,
                        PeerClient.NO_STREAM, DEADLINE).get(10, TimeUnit.SECONDS) != null);
        assertThat(old.helloVersions).startsWith((int) PeerCodec.VERSION_WITH_FEATURES)
                .contains((int) PeerCodec.VERSION_WITH_CHALLENGE, (int) PeerCodec.VERSION_WITH_DEADLINES)
                .doesNotContain((int) PeerCodec.VERSION);
        assertThat(old.frameTypes).as("the call (in a deadline envelope once the hello is in), no answer to a challenge")
                .hasSize(1).allMatch(t -> t == PeerMessageType.FORWARD.code() || t == PeerMessageType.DEADLINE.code());
    }

    /**
     * A peer that answered version 5 is not taken for an earlier build when one connection to it is closed before its
     * hello (a throttled or reset connection looks the same): the next connection offers version 5 again. Falling
     * back there would turn off the client's user on forwards.
     */
    @Test
    void aPeerThatAnsweredVersion5KeepsItThroughAConnectionClosedBeforeItsHello() throws Exception {
        EarlierBuildPeer peer = new EarlierBuildPeer(null, PeerCodec.VERSION_WITH_FEATURES, c -> c == 2, c -> c == 1);
        forwardUntilGreeted(peer, 3);
        assertThat(peer.helloVersions).containsOnly((int) PeerCodec.VERSION_WITH_FEATURES);
        assertThat(peer.payloads).containsOnly("with-user");
    }

    /**
     * A peer that answered version 5, then closes {@value PeerClient#REFUSALS_BEFORE_FALLBACK} connections in a row
     * before its hello (as a node of an earlier build put in its place without a connect failing would), is spoken
     * to in the version before.
     */
    @Test
    void aPeerThatAnsweredVersion5IsSpokenToInTheVersionBeforeAfterRefusingItSeveralTimesInARow() throws Exception {
        int refusals = PeerClient.REFUSALS_BEFORE_FALLBACK;
        EarlierBuildPeer peer = new EarlierBuildPeer(null, PeerCodec.VERSION_WITH_FEATURES,
                c -> c >= 2 && c <= 1 + refusals, c -> c == 1);
        forwardUntilGreeted(peer, 2 + refusals);
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i <= refusals; i++) {
            expected.add((int) PeerCodec.VERSION_WITH_FEATURES);
        }
        expected.add((int) PeerCodec.VERSION_WITH_DEADLINES);
        assertThat(peer.helloVersions).isEqualTo(expected);
        assertThat(peer.payloads).containsExactly("with-user", "plain");
    }

    /**
     * Forwards on one stream to {@code peer} (whose first connection closes after its reply), and again until a call
     * is served once the peer has been sent {@code hellos} hellos: each call made while the client backs off fails.
     */
    private void forwardUntilGreeted(EarlierBuildPeer peer, int hellos) throws Exception {
        resources.add(peer);
        PeerClient client = client();
        InetSocketAddress at = peer.address();
        client.call(at, PeerMessageType.FORWARD, WITH_USER, LONG, 5, DEADLINE).get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).ignoreExceptions().until(() ->
                client.call(at, PeerMessageType.FORWARD, WITH_USER, LONG, 5, DEADLINE).get(10, TimeUnit.SECONDS) != null
                        && peer.helloVersions.size() >= hellos);
    }

    /** A body that names the client's user, and its form for a peer that reads none. */
    private static final PeerPayload WITH_USER = new PeerPayload() {
        @Override
        public int length() {
            return "with-user".length();
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put("with-user".getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public PeerPayload withoutUser() {
            return PeerPayload.of("plain".getBytes(StandardCharsets.UTF_8));
        }
    };

    /**
     * A forward that names the client's user goes so to a peer of this build from the connection's first frame (a
     * peer either reads the version offered or refuses the hello unread), and without it to a node of the build
     * before, which refuses version 5 and would refuse the user.
     */
    @Test
    void aForwardNamesTheUserToAPeerOfThisBuildAndNotToOneOfTheBuildBefore() throws Exception {
        RespServer server = nodeOfThisBuild();
        PeerClient client = client();
        client.call(server.address(), PeerMessageType.FORWARD, WITH_USER, LONG, 5, DEADLINE).get(10, TimeUnit.SECONDS);
        assertThat(served).singleElement().asString().startsWith("FORWARD with-user ");

        EarlierBuildPeer old = new EarlierBuildPeer(null, PeerCodec.VERSION_WITH_DEADLINES);
        resources.add(old);
        InetSocketAddress at = old.address();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).ignoreExceptions().until(() ->
                client.call(at, PeerMessageType.FORWARD, WITH_USER, LONG, 5, DEADLINE).get(10, TimeUnit.SECONDS) != null);
        assertThat(old.helloVersions).startsWith((int) PeerCodec.VERSION_WITH_FEATURES)
                .contains((int) PeerCodec.VERSION_WITH_DEADLINES);
        assertThat(old.payloads).as("what it was sent once its hello answered").containsOnly("plain");
    }

    /**
     * A node of an earlier build, on a plain socket: it refuses any hello of a version above {@code newest}
     * (by default 2, the build before deadlines) by closing the connection, as that build's decoder does,
     * answers with a hello of the version it was sent (version 1 before deadlines; with {@code auth}, the
     * acceptor's proof over the dialer's, once that checked out), and answers every request frame with "ok".
     * Records the hello versions and frame types it was sent.
     */
    private static final class EarlierBuildPeer implements AutoCloseable {
        final List<Integer> helloVersions = new CopyOnWriteArrayList<>();
        final List<Integer> frameTypes = new CopyOnWriteArrayList<>();
        /** The requests' payloads, as text (a deadline envelope's unwrapped). */
        final List<String> payloads = new CopyOnWriteArrayList<>();
        private final ServerSocket server;
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();

        private final io.trelliskv.security.PeerAuthenticator auth;
        private final int newest;
        private final java.util.function.IntPredicate closeBeforeHello;
        private final java.util.function.IntPredicate closeAfterReply;
        private final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();

        EarlierBuildPeer() throws IOException {
            this(null, PeerCodec.VERSION_WITH_PROOF);
        }

        EarlierBuildPeer(io.trelliskv.security.PeerAuthenticator auth, int newest) throws IOException {
            this(auth, newest, connection -> false, connection -> false);
        }

        /**
         * @param closeBeforeHello the connections (counted from 1) closed before the hello, whatever their version
         * @param closeAfterReply  the connections closed after their first reply
         */
        EarlierBuildPeer(io.trelliskv.security.PeerAuthenticator auth, int newest,
                         java.util.function.IntPredicate closeBeforeHello,
                         java.util.function.IntPredicate closeAfterReply) throws IOException {
            this.auth = auth;
            this.newest = newest;
            this.closeBeforeHello = closeBeforeHello;
            this.closeAfterReply = closeAfterReply;
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread acceptor = new Thread(this::acceptLoop, "earlier-build-peer");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        InetSocketAddress address() {
            return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    sockets.add(s);
                    int connection = connections.incrementAndGet();
                    Thread t = new Thread(() -> serve(s, connection), "earlier-build-peer-connection");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException closed) {
                    return;
                }
            }
        }

        private void serve(Socket s, int connection) {
            try (s) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                in.readUnsignedByte(); // magic
                int version = in.readUnsignedByte();
                helloVersions.add(version);
                if (version < PeerCodec.VERSION || version > newest || closeBeforeHello.test(connection)) {
                    return;
                }
                String cluster = new String(in.readNBytes(in.readUnsignedByte()), StandardCharsets.UTF_8);
                in.skipNBytes(in.readUnsignedByte());
                in.skipNBytes(2);
                long nodeId = in.readLong();
                byte[] proof = null;
                if (version != PeerCodec.VERSION) {
                    int n = in.readUnsignedByte();
                    proof = n == 0 ? null : in.readNBytes(n);
                }
                if (version == PeerCodec.VERSION_WITH_FEATURES) {
                    in.readUnsignedByte(); // the features: this peer reads users, and has no secret
                }
                PeerHello answer = new PeerHello("prod", "127.0.0.1", server.getLocalPort(), 3L).withUsers(false)
                        .withDeadlines(version >= PeerCodec.VERSION_WITH_DEADLINES)
                        .withUsers(version == PeerCodec.VERSION_WITH_FEATURES);
                if (auth != null) {
                    if (!auth.acceptDialer(cluster, nodeId, proof)) {
                        return;
                    }
                    answer = answer.withProof(auth.acceptorProof("prod", 3L, proof));
                }
                out.write(ByteBufUtil.getBytes(PeerCodec.encodeHello(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT,
                        answer)));
                while (true) {
                    int length = in.readInt();
                    int type = in.readUnsignedByte();
                    long id = in.readLong();
                    byte[] body = in.readNBytes(length - PeerCodec.FRAME_OVERHEAD);
                    frameTypes.add(type);
                    int from = type == PeerMessageType.DEADLINE.code() ? PeerCodec.DEADLINE_HEADER : 0;
                    payloads.add(new String(body, from, body.length - from, StandardCharsets.UTF_8));
                    out.writeInt(PeerCodec.FRAME_OVERHEAD + 2);
                    out.writeByte(PeerMessageType.REPLY.code());
                    out.writeLong(id);
                    out.write("ok".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    if (closeAfterReply.test(connection)) {
                        return;
                    }
                }
            } catch (IOException endOfConnection) {
                // the caller closed the connection, or the test ended
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }
}
