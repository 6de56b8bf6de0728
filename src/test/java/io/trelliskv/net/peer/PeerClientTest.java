package io.trelliskv.net.peer;

import io.trelliskv.security.PeerAuthenticator;

import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.net.RespServer;
import io.trelliskv.resp.RespLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

class PeerClientTest {

    private static final Duration LONG = Duration.ofSeconds(30);
    private static final PeerHello CALLER = new PeerHello("prod", "127.0.0.1", 1, 1L);

    private final List<AutoCloseable> resources = new ArrayList<>();
    /** Requests the server has received and not answered, in arrival order. */
    private final List<CompletableFuture<byte[]>> unanswered = new CopyOnWriteArrayList<>();
    private final List<String> received = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    /** Answers FORWARD "echo:x" with "x from <node id>", fails "fail:x", and leaves anything else unanswered. */
    private CompletableFuture<byte[]> serve(PeerMessageType type, PeerHello from, byte[] payload) {
        String s = new String(payload, StandardCharsets.UTF_8);
        received.add(type + " " + s);
        if (s.startsWith("echo:")) {
            return CompletableFuture.completedFuture((s.substring(5) + " from " + from.nodeId())
                    .getBytes(StandardCharsets.UTF_8));
        }
        if (s.startsWith("fail:")) {
            return CompletableFuture.failedFuture(new IllegalStateException(s.substring(5)));
        }
        CompletableFuture<byte[]> f = new CompletableFuture<>();
        unanswered.add(f);
        return f;
    }

    private RespServer startServer(int port) throws IOException {
        return startServer(port, PeerConfig.defaults("prod"));
    }

    private RespServer startServer(int port, PeerConfig config) throws IOException {
        NetConfig net = new NetConfig("127.0.0.1", port, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        PeerAcceptor acceptor = new PeerAcceptor(config,
                new PeerHello("prod", "127.0.0.1", port, 2L), this::serve);
        RespServer server = new RespServer(net, (connection, args) -> connection.writer().simple("PONG"),
                new ClientRegistry(100), new ManualClock(0), acceptor);
        resources.add(server);
        server.start();
        return server;
    }

    private PeerClient client(PeerConfig config, PeerHello self) {
        PeerClient c = new PeerClient(config, self);
        resources.add(c);
        return c;
    }

    private PeerClient client() {
        return client(PeerConfig.defaults("prod").withBackoff(Duration.ofMillis(50), Duration.ofMillis(200)),
                CALLER);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(CompletableFuture<byte[]> f) throws Exception {
        return new String(f.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8);
    }

    private static Throwable failureOf(CompletableFuture<byte[]> f) {
        Throwable t = catchThrowable(() -> f.get(10, TimeUnit.SECONDS));
        assertThat(t).isInstanceOf(ExecutionException.class);
        return t.getCause();
    }

    @Test
    void concurrentCallsAreMultiplexedAndMatchedById() throws Exception {
        InetSocketAddress addr = startServer(0).address();
        PeerClient client = client();
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            calls.add(client.call(addr, PeerMessageType.FORWARD, utf8("slow:" + i), LONG));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> unanswered.size() == 40);
        assertThat(client.stats().inFlight()).isEqualTo(40);
        assertThat(client.stats().openConnections()).isEqualTo(2);

        for (int i = unanswered.size() - 1; i >= 0; i--) { // answer in reverse order of arrival
            unanswered.get(i).complete(utf8("answer to #" + i));
        }
        List<String> replies = new ArrayList<>();
        for (CompletableFuture<byte[]> c : calls) {
            replies.add(text(c));
        }
        assertThat(replies).doesNotHaveDuplicates().hasSize(40);
        // each reply belongs to its own request: the server's arrival order matched up by id
        for (int i = 0; i < 40; i++) {
            int arrival = received.indexOf("FORWARD slow:" + i);
            assertThat(replies.get(i)).isEqualTo("answer to #" + arrival);
        }
        assertThat(text(client.call(addr, PeerMessageType.SWIM_STREAM, utf8("echo:x"), LONG)))
                .isEqualTo("x from " + CALLER.nodeId());
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(client.stats().inFlight()).isZero());
        assertThat(client.stats().failures()).isZero();
    }

    @Test
    void callsOfOneStreamArriveInTheOrderMadeEvenWhileTheConnectionOpens() throws Exception {
        InetSocketAddress addr = startServer(0).address();
        PeerClient client = client();
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        // Made at once, before any connection is open: they wait in the connections' outboxes.
        for (int i = 0; i < 300; i++) {
            long stream = i % 3;
            calls.add(client.call(addr, PeerMessageType.FORWARD, utf8("echo:s" + stream + "." + i), LONG, stream));
            calls.add(client.call(addr, PeerMessageType.FORWARD, utf8("echo:any." + i), LONG));
        }
        for (CompletableFuture<byte[]> c : calls) {
            c.get(10, TimeUnit.SECONDS);
        }
        for (int stream = 0; stream < 3; stream++) {
            String prefix = "FORWARD echo:s" + stream + ".";
            List<Integer> order = received.stream().filter(r -> r.startsWith(prefix))
                    .map(r -> Integer.parseInt(r.substring(prefix.length()))).toList();
            assertThat(order).as("stream %d", stream).hasSize(100).isSorted();
        }
    }

    @Test
    void callsOfOneStreamToAnUnreachablePeerFailInTheOrderMadeAndNeverLeft() throws Exception {
        InetSocketAddress addr = startServer(0).address();
        resources.get(resources.size() - 1).close(); // nothing listens there any more
        PeerClient client = client();
        List<Integer> failedInOrder = new CopyOnWriteArrayList<>();
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            int n = i;
            CompletableFuture<byte[]> c = client.call(addr, PeerMessageType.FORWARD, utf8("echo:" + i), LONG, 7);
            c.whenComplete((r, failure) -> failedInOrder.add(n));
            calls.add(c);
        }
        for (CompletableFuture<byte[]> c : calls) {
            assertThat(failureOf(c)).isInstanceOf(PeerUnavailableException.class)
                    .hasMessageContaining("Connection refused") // cannot connect, or backing off after it
                    .satisfies(e -> assertThat(((PeerUnavailableException) e).mayHaveArrived()).isFalse());
        }
        assertThat(failedInOrder).hasSize(50).isSorted();
    }

    @Test
    void withAClusterSecretOnlyPeersThatKnowItAreServed() throws Exception {
        byte[] secret = utf8("sixteen-bytes-or-more-secret");
        PeerConfig withSecret = PeerConfig.defaults("prod").withBackoff(Duration.ofMillis(50), Duration.ofMillis(200))
                .withAuthenticator(new PeerAuthenticator(secret, io.trelliskv.common.Clock.SYSTEM));
        InetSocketAddress guarded = startServer(0, withSecret).address();
        assertThat(text(client(withSecret, CALLER).call(guarded, PeerMessageType.FORWARD, utf8("echo:hi"), LONG)))
                .startsWith("hi");
        PeerConfig wrongSecret = withSecret.withAuthenticator(
                new PeerAuthenticator(utf8("another-secret-of-16-bytes"), io.trelliskv.common.Clock.SYSTEM));
        assertThat(failureOf(client(wrongSecret, CALLER).call(guarded, PeerMessageType.FORWARD, utf8("echo:x"), LONG)))
                .as("a caller with the wrong secret").isInstanceOf(PeerUnavailableException.class);
        assertThat(failureOf(client().call(guarded, PeerMessageType.FORWARD, utf8("echo:x"), LONG)))
                .as("a caller without a secret").isInstanceOf(PeerUnavailableException.class);
        InetSocketAddress open = startServer(0).address();
        received.clear();
        assertThat(failureOf(client(withSecret, CALLER).call(open, PeerMessageType.FORWARD, utf8("echo:x"), LONG)))
                .as("a node without the secret is not trusted either").isInstanceOf(PeerUnavailableException.class)
                .hasMessageContaining("it has no cluster secret");
        assertThat(received).as("nothing but the hello went to the node that could not prove the secret").isEmpty();
    }

    @Test
    void errorReplyFailsTheCallWithTheMessage() {
        InetSocketAddress addr = startServerQuietly();
        Throwable t = failureOf(client().call(addr, PeerMessageType.FORWARD, utf8("fail:no such key range"), LONG));
        assertThat(t).isInstanceOf(PeerRequestFailedException.class).hasMessageContaining("no such key range")
                .hasMessageContaining("127.0.0.1:" + addr.getPort());
    }

    @Test
    void timeoutNamesThePeer() {
        InetSocketAddress addr = startServerQuietly();
        PeerClient client = client();
        Throwable t = failureOf(client.call(addr, PeerMessageType.FORWARD, utf8("slow"), Duration.ofMillis(200)));
        assertThat(t).isInstanceOf(TimeoutException.class)
                .hasMessageContaining("peer 127.0.0.1:" + addr.getPort()).hasMessageContaining("200 ms");
        // The counters are updated by the future's own callbacks, which may run just after the caller wakes.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(client.stats().timeouts()).isEqualTo(1);
            assertThat(client.stats().failures()).isEqualTo(1);
        });
    }

    @Test
    void serverKilledFailsPendingCallsFastThenBacksOff() throws Exception {
        RespServer server = startServer(0);
        InetSocketAddress addr = server.address();
        PeerClient client = client(PeerConfig.defaults("prod").withBackoff(Duration.ofSeconds(20),
                Duration.ofSeconds(20)), CALLER);
        CompletableFuture<byte[]> pending = client.call(addr, PeerMessageType.FORWARD, utf8("slow"), LONG);
        await().atMost(Duration.ofSeconds(10)).until(() -> unanswered.size() == 1);

        server.close();

        assertThat(failureOf(pending)).isInstanceOf(PeerUnavailableException.class)
                .hasMessageContaining("127.0.0.1:" + addr.getPort());
        // the first call after the drop tries to connect and is refused (if the refusal comes back before
        // the call is queued, it fails as backing off after it); the next fails fast, backing off
        assertThat(failureOf(client.call(addr, PeerMessageType.FORWARD, utf8("echo:a"), LONG)))
                .isInstanceOf(PeerUnavailableException.class).hasMessageContaining("Connection refused");
        assertThat(failureOf(client.call(addr, PeerMessageType.FORWARD, utf8("echo:a"), LONG)))
                .isInstanceOf(PeerUnavailableException.class).hasMessageContaining("reconnecting in");
        assertThat(client.stats().openConnections()).isZero();
    }

    @Test
    void restartedServerIsReachedAgainAfterBackoff() throws Exception {
        RespServer server = startServer(0);
        InetSocketAddress addr = server.address();
        PeerClient client = client();
        assertThat(text(client.call(addr, PeerMessageType.FORWARD, utf8("echo:before"), LONG)))
                .startsWith("before");
        server.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> client.stats().openConnections() == 0);
        assertThat(failureOf(client.call(addr, PeerMessageType.FORWARD, utf8("echo:down"), LONG)))
                .isInstanceOf(PeerUnavailableException.class);

        startServer(addr.getPort());

        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).ignoreExceptions().until(() ->
                text(client.call(addr, PeerMessageType.FORWARD, utf8("echo:after"), LONG)).startsWith("after"));
    }

    @Test
    void peerOfAnotherClusterIsRefused() {
        InetSocketAddress addr = startServerQuietly();
        PeerClient stranger = client(PeerConfig.defaults("staging"), new PeerHello("staging", "127.0.0.1", 1, 9L));
        assertThat(failureOf(stranger.call(addr, PeerMessageType.FORWARD, utf8("echo:x"), LONG)))
                .isInstanceOf(PeerUnavailableException.class);
        assertThat(received).isEmpty();
    }

    @Test
    void respClientsStillWorkOnTheSamePort() throws Exception {
        InetSocketAddress addr = startServerQuietly();
        assertThat(text(client().call(addr, PeerMessageType.FORWARD, utf8("echo:x"), LONG))).startsWith("x");
        try (Socket s = new Socket(addr.getAddress(), addr.getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            byte[] reply = in.readNBytes(7);
            assertThat(new String(reply, StandardCharsets.US_ASCII)).isEqualTo("+PONG\r\n");
        }
    }

    @Test
    void closedClientFailsCalls() {
        InetSocketAddress addr = startServerQuietly();
        PeerClient client = client();
        client.close();
        assertThat(failureOf(client.call(addr, PeerMessageType.FORWARD, utf8("echo:x"), LONG)))
                .isInstanceOf(PeerUnavailableException.class).hasMessageContaining("closed");
    }

    @Test
    void answersAreNotRequestTypes() {
        assertThatThrownBy(() -> client().call(new InetSocketAddress("127.0.0.1", 1), PeerMessageType.REPLY,
                new byte[0], LONG)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("REPLY");
    }

    @Test
    void backoffDoublesFromTheMinimumUpToTheMaximum() {
        long[][] table = {
            // failures, min, max, expected
            {1, 100, 5000, 100},
            {2, 100, 5000, 200},
            {3, 100, 5000, 400},
            {6, 100, 5000, 3200},
            {7, 100, 5000, 5000},
            {1000, 100, 5000, 5000},
            {5, 50, 50, 50},
        };
        for (long[] row : table) {
            assertThat(PeerClient.backoffMillis((int) row[0], row[1], row[2])).as("%s", java.util.Arrays.toString(row))
                    .isEqualTo(row[3]);
        }
    }

    private InetSocketAddress startServerQuietly() {
        try {
            return startServer(0).address();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
