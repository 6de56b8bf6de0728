package io.trelliskv.net.peer;

import io.trelliskv.common.Clock;
import io.trelliskv.security.GossipKeyring;

import io.trelliskv.common.Address;
import io.trelliskv.common.ManualClock;
import io.trelliskv.membership.ExecutorScheduler;
import io.trelliskv.membership.Transport;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.net.RespServer;
import io.trelliskv.resp.RespLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class GossipTransportTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String SWIM_THREAD = "test-swim";

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final ExecutorScheduler scheduler = new ExecutorScheduler(SWIM_THREAD);

    @AfterEach
    void closeAll() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
        scheduler.close();
    }

    /** One node's network: a RespServer on a free TCP port, then gossip on UDP on the same port number. */
    private final class Node {
        final List<String> packets = new CopyOnWriteArrayList<>();
        final List<String> threads = new CopyOnWriteArrayList<>();
        final RespServer server;
        final PeerClient client;
        final GossipTransport transport;
        final Address address;

        Node(PeerConfig config) throws IOException {
            this(config, null);
        }

        Node(PeerConfig config, GossipKeyring keyring) throws IOException {
            NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                    NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
            // the port is only known after binding; the hello's port is the server's, read at each request
            PeerService service = (type, from, payload) -> GossipTransport.serveStream(scheduler, from, payload,
                    (caller, request) -> ("pull for " + caller + ": "
                            + new String(request, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
            server = new RespServer(net, (connection, args) -> connection.writer().simple("PONG"),
                    new ClientRegistry(100), new ManualClock(0),
                    new PeerAcceptor(config, new PeerHello(config.clusterName(), "127.0.0.1", 0, 0L), service));
            resources.add(server);
            server.start();
            int port = server.address().getPort();
            address = new Address("127.0.0.1", port);
            client = new PeerClient(config, new PeerHello(config.clusterName(), "127.0.0.1", port, port));
            resources.add(client);
            transport = new GossipTransport(config, client, scheduler, WAIT, keyring, Clock.SYSTEM);
            resources.add(transport);
            transport.start(new InetSocketAddress("127.0.0.1", port), (from, data) -> {
                threads.add(Thread.currentThread().getName());
                packets.add(from + " " + new String(data, StandardCharsets.UTF_8));
            });
        }
    }

    @Test
    void sealedGossipReachesOnlyNodesWithTheKeyAndAForgedPacketIsCounted() throws Exception {
        PeerConfig config = PeerConfig.defaults("c");
        byte[] key = new byte[32];
        byte[] otherKey = new byte[32];
        otherKey[0] = 1;
        Node a = new Node(config, new GossipKeyring(List.of(key)));
        GossipKeyring bRing = new GossipKeyring(List.of(key));
        Node b = new Node(config, bRing);
        GossipKeyring wrong = new GossipKeyring(List.of(otherKey));
        Node impostor = new Node(config, wrong);
        Node clear = new Node(config);
        impostor.transport.sendPacket(b.address, utf8("node a is dead"));
        clear.transport.sendPacket(b.address, utf8("node a is dead"));
        a.transport.sendPacket(b.address, utf8("ping"));
        await().atMost(WAIT).until(() -> b.packets.size() == 1);
        assertThat(b.packets).containsExactly(a.address + " ping");
        // The impostor's and the clear packet were dropped before reaching membership, and counted.
        await().atMost(WAIT).until(() -> bRing.dropped(GossipKeyring.Drop.UNAUTHENTICATED)
                + bRing.dropped(GossipKeyring.Drop.MALFORMED) == 2);
        b.transport.sendPacket(impostor.address, utf8("hello"));
        await().atMost(WAIT).until(() -> wrong.dropped(GossipKeyring.Drop.UNAUTHENTICATED) == 1);
        assertThat(impostor.packets).isEmpty();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void datagramsCarryTheSendersListeningAddressBothWays() throws IOException {
        Node a = new Node(PeerConfig.defaults("prod"));
        Node b = new Node(PeerConfig.defaults("prod"));
        assertThat(a.transport.address().getPort()).isEqualTo(a.server.address().getPort());

        a.transport.sendPacket(b.address, utf8("ping"));
        await().atMost(WAIT).until(() -> !b.packets.isEmpty());
        assertThat(b.packets).containsExactly(a.address + " ping");
        assertThat(b.threads).containsOnly(SWIM_THREAD);

        b.transport.sendPacket(Address.parse(b.packets.get(0).split(" ")[0]), utf8("ack"));
        await().atMost(WAIT).until(() -> !a.packets.isEmpty());
        assertThat(a.packets).containsExactly(b.address + " ack");
        assertThat(a.transport.stats().packetsSent()).isEqualTo(1);
        assertThat(b.transport.stats().packetsReceived()).isEqualTo(1);
    }

    @Test
    void oversizeDatagramIsDroppedAndCounted() throws IOException {
        Node a = new Node(PeerConfig.defaults("prod"));
        Node b = new Node(PeerConfig.defaults("prod"));

        a.transport.sendPacket(b.address, new byte[PeerConfig.DEFAULT_MAX_DATAGRAM_BYTES + 1]);
        a.transport.sendPacket(b.address, utf8("small"));

        await().atMost(WAIT).until(() -> !b.packets.isEmpty());
        assertThat(b.packets).containsExactly(a.address + " small");
        assertThat(a.transport.stats().oversizeDropped()).isEqualTo(1);
        assertThat(a.transport.stats().packetsSent()).isEqualTo(1);
    }

    @Test
    void oversizeDatagramFromALaxSenderIsDroppedOnReceipt() throws IOException {
        Node lax = new Node(PeerConfig.defaults("prod").withMaxDatagramBytes(4000));
        Node b = new Node(PeerConfig.defaults("prod"));

        lax.transport.sendPacket(b.address, new byte[3000]);
        lax.transport.sendPacket(b.address, utf8("small"));

        await().atMost(WAIT).until(() -> !b.packets.isEmpty());
        await().atMost(WAIT).until(() -> b.transport.stats().oversizeDropped() == 1);
        assertThat(b.packets).containsExactly(lax.address + " small");
    }

    @Test
    void exchangeRoundTripsThroughPeerClientOntoTheSwimThread() throws Exception {
        Node a = new Node(PeerConfig.defaults("prod"));
        Node b = new Node(PeerConfig.defaults("prod"));
        CompletableFuture<String> outcome = new CompletableFuture<>();

        a.transport.exchange(b.address, utf8("push"), new Transport.StreamCallback() {
            @Override
            public void onReply(byte[] reply) {
                outcome.complete(Thread.currentThread().getName() + " " + new String(reply, StandardCharsets.UTF_8));
            }

            @Override
            public void onFailure(Exception cause) {
                outcome.completeExceptionally(cause);
            }
        });

        assertThat(outcome.get(10, java.util.concurrent.TimeUnit.SECONDS))
                .isEqualTo(SWIM_THREAD + " pull for " + a.address + ": push");
    }

    @Test
    void exchangeWithADownPeerFailsOnTheSwimThread() throws Exception {
        Node a = new Node(PeerConfig.defaults("prod"));
        Node b = new Node(PeerConfig.defaults("prod"));
        Address gone = b.address;
        b.server.close();
        CompletableFuture<String> outcome = new CompletableFuture<>();

        a.transport.exchange(gone, utf8("push"), new Transport.StreamCallback() {
            @Override
            public void onReply(byte[] reply) {
                outcome.complete("reply");
            }

            @Override
            public void onFailure(Exception cause) {
                outcome.complete(Thread.currentThread().getName() + " " + cause.getClass().getSimpleName());
            }
        });

        assertThat(outcome.get(10, java.util.concurrent.TimeUnit.SECONDS))
                .isEqualTo(SWIM_THREAD + " PeerUnavailableException");
    }

    @Test
    void sendToAnUnresolvableHostIsCountedNotThrown() throws IOException {
        Node a = new Node(PeerConfig.defaults("prod"));
        a.transport.sendPacket(new Address("no-such-host.invalid", 7000), utf8("ping"));
        assertThat(a.transport.stats().sendFailures()).isEqualTo(1);
    }
}
