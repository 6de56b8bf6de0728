package io.trelliskv.request;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** The start order of one stream's commands ({@link InOrder}) and of forwarded streams ({@link ForwardedStreams}). */
class InOrderTest {

    private final List<String> started = new ArrayList<>();

    /** A command that starts by logging its name and finishes its handler when {@code ran} completes. */
    private java.util.function.Supplier<CompletableFuture<Void>> command(String name, CompletableFuture<Void> ran) {
        return () -> {
            started.add(name);
            return ran;
        };
    }

    private static final CompletableFuture<Void> AT_ONCE = CompletableFuture.completedFuture(null);
    /** The token of the key most commands here are on. */
    private static final long[] K = {42};

    @Test
    void commandsThatRunAtOnceStartAtOnce() {
        InOrder order = new InOrder();
        assertThat(order.submit(K, true, command("a", AT_ONCE)).isDone()).isTrue();
        assertThat(order.submit(K, true, command("b", AT_ONCE)).isDone()).isTrue();
        assertThat(started).containsExactly("a", "b");
        assertThat(order.idle()).isTrue();
    }

    @Test
    void aWaitingCommandHoldsBackLaterOnesUntilItsHandlerRanThenTheyStartInOrder() {
        InOrder order = new InOrder();
        CompletableFuture<Void> incr = new CompletableFuture<>();
        CompletableFuture<Void> del = new CompletableFuture<>();
        order.submit(K, true, command("INCR", incr));
        order.submit(K, true, command("GET", AT_ONCE));
        order.submit(K, true, command("DEL", del));
        CompletableFuture<Void> settled = order.submit(K, true, command("SET", AT_ONCE));
        assertThat(started).containsExactly("INCR");
        assertThat(order.idle()).isFalse();

        incr.complete(null);
        assertThat(started).containsExactly("INCR", "GET", "DEL"); // DEL waits for its own read now
        assertThat(settled).isNotDone();

        del.complete(null);
        assertThat(started).containsExactly("INCR", "GET", "DEL", "SET");
        assertThat(settled).isDone();
        assertThat(order.idle()).isTrue();
    }

    @Test
    void onlyCommandsOnTheWaitingCommandsKeysWaitForIt() {
        InOrder order = new InOrder();
        CompletableFuture<Void> incrA = new CompletableFuture<>();
        order.submit(new long[] {1}, true, command("INCR a", incrA));
        order.submit(new long[] {2}, false, command("GET b", AT_ONCE));
        order.submit(new long[] {2, 1}, false, command("MGET b a", AT_ONCE));
        order.submit(new long[] {3}, true, command("SET c", AT_ONCE));
        order.submit(new long[] {2}, true, command("SET b", AT_ONCE));
        // SET b waits too: MGET b a, waiting on a, reads b, and must not see a later write of it
        assertThat(started).containsExactly("INCR a", "GET b", "SET c");

        incrA.complete(null);
        assertThat(started).containsExactly("INCR a", "GET b", "SET c", "MGET b a", "SET b");
        assertThat(order.idle()).isTrue();
    }

    @Test
    void aCommandOnTwoWaitingKeysWaitsForBoth() {
        InOrder order = new InOrder();
        CompletableFuture<Void> delA = new CompletableFuture<>();
        CompletableFuture<Void> delB = new CompletableFuture<>();
        order.submit(new long[] {1}, true, command("DEL a", delA));
        order.submit(new long[] {2}, true, command("DEL b", delB));
        order.submit(new long[] {1, 2}, true, command("MSET a b", AT_ONCE));
        delB.complete(null);
        assertThat(started).containsExactly("DEL a", "DEL b");
        delA.complete(null);
        assertThat(started).containsExactly("DEL a", "DEL b", "MSET a b");
    }

    @Test
    void readsOfAKeyDoNotWaitForEachOtherButAWriteWaitsForThemAll() {
        InOrder order = new InOrder();
        CompletableFuture<Void> get1 = new CompletableFuture<>();
        CompletableFuture<Void> get2 = new CompletableFuture<>();
        order.submit(K, false, command("GET 1", get1));
        order.submit(K, false, command("GET 2", get2));
        order.submit(K, true, command("SET", AT_ONCE));
        order.submit(K, false, command("GET 3", AT_ONCE));
        assertThat(started).containsExactly("GET 1", "GET 2");
        get2.complete(null);
        assertThat(started).containsExactly("GET 1", "GET 2");
        get1.complete(null);
        assertThat(started).containsExactly("GET 1", "GET 2", "SET", "GET 3");
        assertThat(order.idle()).isTrue();
    }

    @Test
    void aRetiredStreamStartsNothing() {
        InOrder order = new InOrder();
        CompletableFuture<Void> ran = new CompletableFuture<>();
        order.submit(K, true, command("a", ran));
        assertThat(order.retireIfIdle()).isFalse();
        ran.complete(null);
        assertThat(order.retireIfIdle()).isTrue();
        assertThat(order.submit(K, true, command("b", AT_ONCE))).isSameAs(InOrder.RETIRED);
        assertThat(started).containsExactly("a");
    }

    @Test
    void forwardedStreamsWaitOnlyForTheirOwnCommandsAndAreForgottenWhenIdle() {
        ForwardedStreams streams = new ForwardedStreams();
        CompletableFuture<Void> read = new CompletableFuture<>();
        streams.submit(1, 10, K, true, command("n1c10 INCR", read));
        streams.submit(1, 10, K, true, command("n1c10 GET", AT_ONCE));
        streams.submit(1, 11, K, true, command("n1c11 GET", AT_ONCE)); // another connection of the same node
        streams.submit(2, 10, K, true, command("n2c10 GET", AT_ONCE)); // the same connection id on another node
        assertThat(started).containsExactly("n1c10 INCR", "n1c11 GET", "n2c10 GET");
        assertThat(streams.size()).isEqualTo(1);

        read.complete(null);
        assertThat(started).endsWith("n1c10 GET");
        assertThat(streams.size()).isZero();

        streams.submit(1, 10, K, true, command("n1c10 SET", AT_ONCE));
        assertThat(started).endsWith("n1c10 SET");
        assertThat(streams.size()).isZero();
    }

    /**
     * Against a model (per key, the latest write not yet run and the reads after it): seeded random
     * commands over few tokens, chosen to collide in the table, whose handlers run at once or later and
     * finish in random order. A command starts at once exactly when the model has nothing on its keys it
     * must follow; every command starts, and the stream ends idle. Growth, probing, deletion by shifting
     * back and the sweeps of keys whose commands ran all happen.
     */
    @Test
    void startsACommandAtOnceExactlyWhenNoEarlierCommandItMustFollowIsStillToRun() {
        for (long seed = 1; seed <= 20; seed++) {
            java.util.Random random = new java.util.Random(seed);
            int tokenCount = 2 + random.nextInt(100);
            InOrder order = new InOrder();
            java.util.Map<Long, CompletableFuture<Void>> lastWrite = new java.util.HashMap<>();
            java.util.Map<Long, List<CompletableFuture<Void>>> readsAfter = new java.util.HashMap<>();
            List<CompletableFuture<Void>> unfinished = new ArrayList<>();
            started.clear();
            int commands = 3_000;
            for (int c = 0; c < commands; c++) {
                long[] tokens = new long[1 + random.nextInt(3)];
                for (int i = 0; i < tokens.length; i++) {
                    int t = random.nextInt(tokenCount);
                    // Tokens differing in high bits only share a home slot; a few spread ones besides.
                    tokens[i] = random.nextBoolean() ? (long) t << 40 : t;
                }
                boolean write = random.nextBoolean();
                boolean mustWait = false;
                for (long token : tokens) {
                    CompletableFuture<Void> w = lastWrite.get(token);
                    mustWait |= w != null && !w.isDone();
                    if (write) {
                        for (CompletableFuture<Void> r : readsAfter.getOrDefault(token, List.of())) {
                            mustWait |= !r.isDone();
                        }
                    }
                }
                CompletableFuture<Void> handler = random.nextInt(3) == 0 ? AT_ONCE : new CompletableFuture<>();
                int before = started.size();
                CompletableFuture<Void> ran = order.submit(tokens, write, command("c" + c, handler));
                assertThat(started.size() > before).as("seed %d command %d starts at once", seed, c)
                        .isEqualTo(!mustWait);
                for (long token : tokens) {
                    if (write) {
                        lastWrite.put(token, ran);
                        readsAfter.remove(token);
                    } else {
                        readsAfter.computeIfAbsent(token, t -> new ArrayList<>()).add(ran);
                    }
                }
                if (!handler.isDone()) {
                    unfinished.add(handler);
                }
                for (int n = random.nextInt(3); n > 0 && !unfinished.isEmpty(); n--) {
                    unfinished.remove(random.nextInt(unfinished.size())).complete(null);
                }
            }
            for (int bound = 0; !unfinished.isEmpty() && bound < commands; bound++) {
                unfinished.remove(0).complete(null);
            }
            assertThat(started).as("seed %d", seed).hasSize(commands);
            assertThat(order.idle()).isTrue();
        }
    }
}
