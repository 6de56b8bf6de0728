package io.trelliskv.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.common.ManualClock;
import io.trelliskv.net.peer.PeerAcceptor;
import io.trelliskv.net.peer.PeerConfig;
import io.trelliskv.net.peer.PeerEncoder;
import io.trelliskv.net.peer.PeerHello;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.security.AuthThrottle;
import io.trelliskv.security.PeerAuthenticator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Peer connections on the shared port hold a place under {@code --maxclients} for as long as they are open,
 * a peer refused at accept is known and counted as one, and failed proofs of the cluster secret are counted
 * and, past a burst from one address, refused unchecked.
 */
class PeerConnectionLimitTest {

    private static final PeerHello ALICE = new PeerHello("prod", "10.0.0.1", 7000, 1L);
    private static final byte[] PING = "*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII);

    private final ManualClock clock = new ManualClock(1_000_000);
    private final List<EmbeddedChannel> channels = new ArrayList<>();

    @AfterEach
    void close() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    private EmbeddedChannel connect(ClientRegistry registry, PeerConfig peerConfig) {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, registry.maxClients(),
                NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT, NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        PeerAcceptor acceptor = new PeerAcceptor(peerConfig, new PeerHello("prod", "10.0.0.2", 7000, 2L),
                (type, from, payload) -> CompletableFuture.completedFuture(new byte[0]));
        EmbeddedChannel ch = new EmbeddedChannel();
        channels.add(ch);
        ClientPipeline.configure(ch, net, (connection, args) -> connection.writer().simple("PONG"), registry, clock,
                acceptor);
        ch.pipeline().fireChannelActive();
        return ch;
    }

    private static ByteBuf hello(PeerHello hello) {
        EmbeddedChannel encoder = new EmbeddedChannel(PeerEncoder.INSTANCE);
        encoder.writeOutbound(hello);
        ByteBuf wire = encoder.readOutbound();
        encoder.finishAndReleaseAll();
        return wire;
    }

    private static String written(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            sb.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return sb.toString();
    }

    @Test
    void peersHoldTheirPlaceUnderMaxClientsAndARefusedPeerIsCounted() {
        ClientRegistry registry = new ClientRegistry(2);
        PeerConfig config = PeerConfig.defaults("prod");

        EmbeddedChannel peer = connect(registry, config);
        peer.writeInbound(hello(ALICE));
        assertThat(registry.connectedPeers()).isEqualTo(1);
        assertThat(registry.connected()).as("a peer is no client").isZero();

        EmbeddedChannel client = connect(registry, config);
        client.writeInbound(Unpooled.wrappedBuffer(PING));
        assertThat(written(client)).isEqualTo("+PONG\r\n");

        EmbeddedChannel refusedPeer = connect(registry, config);
        assertThat(written(refusedPeer)).as("refused at accept, as Redis does")
                .isEqualTo("-ERR max number of clients reached\r\n");
        assertThat(refusedPeer.isOpen()).as("it waits for its first byte").isTrue();
        refusedPeer.writeInbound(hello(ALICE));
        assertThat(refusedPeer.isOpen()).isFalse();
        assertThat(registry.rejectedPeerConnections()).isEqualTo(1);
        assertThat(registry.rejectedConnections()).isEqualTo(1);

        EmbeddedChannel refusedClient = connect(registry, config);
        refusedClient.writeInbound(Unpooled.wrappedBuffer(PING));
        assertThat(written(refusedClient)).isEqualTo("-ERR max number of clients reached\r\n");
        assertThat(refusedClient.isOpen()).isFalse();
        assertThat(registry.rejectedPeerConnections()).as("a client is not counted as a peer").isEqualTo(1);

        peer.close();
        assertThat(registry.connectedPeers()).isZero();
        EmbeddedChannel next = connect(registry, config);
        next.writeInbound(Unpooled.wrappedBuffer(PING));
        assertThat(written(next)).as("the closed peer's place is free again").isEqualTo("+PONG\r\n");
        assertThat(registry.connected()).isEqualTo(2);
    }

    @Test
    void failedProofsOfTheClusterSecretAreCountedThenThrottled() {
        ClientRegistry registry = new ClientRegistry(100);
        PeerAuthenticator auth = new PeerAuthenticator("0123456789abcdef-secret".getBytes(StandardCharsets.UTF_8),
                clock);
        PeerConfig config = PeerConfig.defaults("prod").withAuthenticator(auth);

        for (int i = 0; i < AuthThrottle.BURST + 3; i++) {
            EmbeddedChannel guesser = connect(registry, config);
            guesser.writeInbound(hello(ALICE.withProof(new byte[PeerAuthenticator.PROOF_BYTES])));
            assertThat(guesser.isOpen()).as("hello %d refused", i).isFalse();
        }
        assertThat(auth.failures()).isEqualTo(AuthThrottle.BURST);
        assertThat(auth.throttled()).as("refused unchecked past the burst").isEqualTo(3);

        clock.advanceMillis(1000);
        EmbeddedChannel honest = connect(registry, config);
        honest.writeInbound(hello(ALICE.withProof(auth.dialerProof("prod", ALICE.nodeId()))));
        assertThat(honest.isOpen()).as("the address may try again once its bucket refilled").isTrue();
        EmbeddedChannel decoder = new EmbeddedChannel(new io.trelliskv.net.peer.PeerDecoder(1 << 20));
        ByteBuf answer;
        while ((answer = honest.readOutbound()) != null) {
            decoder.writeInbound(answer);
        }
        assertThat((Object) decoder.readInbound()).isInstanceOf(PeerHello.class);
        decoder.finishAndReleaseAll();
    }

    /**
     * A node's own hello sent back to it (recorded on the wire, or reflected) carries a proof that checks out, made
     * with the secret for the node's own id: it is refused, and counted as a failed proof.
     */
    @Test
    void aHelloWithThisNodesOwnIdIsRefusedThoughItsProofChecksOut() {
        ClientRegistry registry = new ClientRegistry(100);
        PeerAuthenticator auth = new PeerAuthenticator("0123456789abcdef-secret".getBytes(StandardCharsets.UTF_8),
                clock);
        PeerConfig config = PeerConfig.defaults("prod").withAuthenticator(auth);
        PeerHello itself = new PeerHello("prod", "10.0.0.2", 7000, 2L); // the acceptor's own identity (connect())

        EmbeddedChannel reflected = connect(registry, config);
        reflected.writeInbound(hello(itself.withProof(auth.dialerProof("prod", itself.nodeId()))));

        assertThat(reflected.isOpen()).isFalse();
        assertThat(written(reflected)).as("no answering hello").isEmpty();
        assertThat(auth.failures()).isEqualTo(1);
    }

    @Test
    void controlCharactersInAPeersNamesDoNotReachTheLog() {
        assertThat(io.trelliskv.net.peer.PeerServerHandler.printable("evil\r\nINFO forged line"))
                .isEqualTo("evil\\u000d\\u000aINFO forged line");
    }

    /** What {@code ch} wrote, decoded: the answering hello, then frames. */
    private static List<Object> answers(EmbeddedChannel ch) {
        EmbeddedChannel decoder = new EmbeddedChannel(new io.trelliskv.net.peer.PeerDecoder(1 << 20));
        List<Object> out = answers(ch, decoder);
        decoder.finishAndReleaseAll();
        return out;
    }

    /** What {@code ch} wrote since the last call with {@code decoder}, decoded by it. */
    private static List<Object> answers(EmbeddedChannel ch, EmbeddedChannel decoder) {
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            decoder.writeInbound(b);
        }
        List<Object> out = new ArrayList<>();
        Object o;
        while ((o = decoder.readInbound()) != null) {
            out.add(o);
        }
        return out;
    }

    private static ByteBuf frame(io.trelliskv.net.peer.PeerFrame f) {
        EmbeddedChannel encoder = new EmbeddedChannel(PeerEncoder.INSTANCE);
        encoder.writeOutbound(f);
        ByteBuf wire = encoder.readOutbound();
        encoder.finishAndReleaseAll();
        return wire;
    }

    /**
     * Challenge and response at the accepting side: the answering hello carries a proof over the caller's challenge;
     * a request before the caller's response is not served (the connection closes, the failure counted); the right
     * response opens the connection to requests; and that response, recorded, does not open another connection.
     */
    @Test
    void requestsAreServedOnlyAfterTheAnswerToTheChallenge() {
        ClientRegistry registry = new ClientRegistry(100);
        PeerAuthenticator auth = new PeerAuthenticator("0123456789abcdef-secret".getBytes(StandardCharsets.UTF_8),
                clock);
        PeerConfig config = PeerConfig.defaults("prod").withAuthenticator(auth);
        io.trelliskv.net.peer.PeerFrame request = new io.trelliskv.net.peer.PeerFrame(
                io.trelliskv.net.peer.PeerMessageType.FORWARD, 1, "x".getBytes(StandardCharsets.UTF_8));

        EmbeddedChannel eager = connect(registry, config);
        eager.writeInbound(hello(ALICE.withChallenge(true).withProof(auth.dialerChallenge())));
        eager.writeInbound(frame(request));
        assertThat(eager.isOpen()).as("a request before the response").isFalse();
        assertThat(answers(eager)).hasSize(1).allMatch(o -> o instanceof PeerHello); // the hello, no reply
        assertThat(auth.failures()).isEqualTo(1);

        EmbeddedChannel honest = connect(registry, config);
        byte[] challenge = auth.dialerChallenge();
        honest.writeInbound(hello(ALICE.withChallenge(true).withProof(challenge)));
        EmbeddedChannel fromAcceptor = new EmbeddedChannel(new io.trelliskv.net.peer.PeerDecoder(1 << 20));
        channels.add(fromAcceptor);
        PeerHello answer = (PeerHello) answers(honest, fromAcceptor).get(0);
        assertThat(answer.challenge()).isTrue();
        assertThat(auth.acceptAcceptor("prod", answer.nodeId(), challenge, answer.proof())).isTrue();
        byte[] response = auth.dialerResponse("prod", ALICE.nodeId(), answer.nodeId(), challenge, answer.proof());
        honest.writeInbound(frame(new io.trelliskv.net.peer.PeerFrame(
                io.trelliskv.net.peer.PeerMessageType.AUTH_RESPONSE, 0, response)));
        honest.writeInbound(frame(request));
        assertThat(honest.isOpen()).isTrue();
        assertThat(answers(honest, fromAcceptor)).singleElement().isInstanceOfSatisfying(io.trelliskv.net.peer.PeerFrame.class,
                f -> assertThat(f.type()).isEqualTo(io.trelliskv.net.peer.PeerMessageType.REPLY));

        EmbeddedChannel replay = connect(registry, config);
        replay.writeInbound(hello(ALICE.withChallenge(true).withProof(challenge)));
        replay.writeInbound(frame(new io.trelliskv.net.peer.PeerFrame(
                io.trelliskv.net.peer.PeerMessageType.AUTH_RESPONSE, 0, response)));
        assertThat(replay.isOpen()).as("the recorded exchange played again").isFalse();
        assertThat(answers(replay)).hasSize(1);
        assertThat(auth.failures()).isEqualTo(2);
    }
}
