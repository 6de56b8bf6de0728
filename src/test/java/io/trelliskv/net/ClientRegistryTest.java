package io.trelliskv.net;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code --maxclients} places: taken once each, whatever threads accept at once, and given back. */
class ClientRegistryTest {

    /**
     * Eight threads accept 50 connections each at once (as event loops do) under a limit of 100: exactly 100 are
     * registered and 300 refused, never more than the limit.
     */
    @Test
    void connectionsAcceptedAtOnceNeverTakeMorePlacesThanTheLimit() throws Exception {
        ClientRegistry registry = new ClientRegistry(100);
        ExecutorService threads = Executors.newFixedThreadPool(8);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Integer>> registered = new ArrayList<>();
        try {
            for (int t = 0; t < 8; t++) {
                registered.add(threads.submit(() -> {
                    start.await();
                    int n = 0;
                    for (int i = 0; i < 50; i++) {
                        if (registry.register(new EmbeddedChannel(), 0) != null) {
                            n++;
                        }
                    }
                    return n;
                }));
            }
            start.countDown();
            int total = 0;
            for (Future<Integer> f : registered) {
                total += f.get(30, TimeUnit.SECONDS);
            }
            assertThat(total).isEqualTo(100);
            assertThat(registry.rejectedConnections()).isEqualTo(300);
        } finally {
            threads.shutdownNow();
        }
    }

    /** A client's place is given back when it goes; a peer's, when its connection closes, not before. */
    @Test
    void placesAreGivenBackByClientsAndByPeers() {
        ClientRegistry registry = new ClientRegistry(2);
        ClientConnection client = registry.register(new EmbeddedChannel(), 0);
        ClientConnection peer = registry.register(new EmbeddedChannel(), 0);
        assertThat(registry.register(new EmbeddedChannel(), 0)).isNull();

        registry.clientBecamePeer(peer);
        registry.unregister(peer); // its place passed to the peer count: this frees nothing
        assertThat(registry.register(new EmbeddedChannel(), 0)).as("the peer keeps its place").isNull();
        registry.unregister(client);
        ClientConnection next = registry.register(new EmbeddedChannel(), 0);
        assertThat(next).isNotNull();
        registry.peerClosed();
        assertThat(registry.register(new EmbeddedChannel(), 0)).isNotNull();
        assertThat(registry.register(new EmbeddedChannel(), 0)).isNull();
    }
}
