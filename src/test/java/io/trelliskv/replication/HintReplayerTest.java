package io.trelliskv.replication;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.storage.Entry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

import static io.trelliskv.replication.HintStoreTest.entry;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

class HintReplayerTest {

    private static final long TARGET = 0xbeef;
    private static final long OTHER = 0xcafe;

    private final ManualClock clock = new ManualClock(1_700_000_000_000L);
    private final HintConfig config = HintConfig.defaults();
    private final HintStore store = new HintStore(config, clock);
    private final Set<Long> alive = new HashSet<>();
    private final FakeTransport transport = new FakeTransport();
    private final HintReplayer replayer = new HintReplayer(store, transport, alive::contains, config, clock);

    @AfterEach
    void close() {
        replayer.close();
    }

    /** Records every batch; answers each with {@link #answer} (null: left for the test to complete). */
    static final class FakeTransport implements ReplicaTransport {
        record Sent(long nodeId, List<Entry> entries, CompletableFuture<Void> reply) {
        }

        final List<Sent> sent = new ArrayList<>();
        Function<List<Entry>, CompletableFuture<Void>> answer = batch -> CompletableFuture.completedFuture(null);

        @Override
        public synchronized CompletableFuture<Void> write(long nodeId, List<Entry> entries) {
            CompletableFuture<Void> reply = answer.apply(entries);
            if (reply == null) {
                reply = new CompletableFuture<>();
            }
            sent.add(new Sent(nodeId, entries, reply));
            return reply;
        }

        @Override
        public CompletableFuture<List<ReadReply>> read(long nodeId, List<Key> keys, Entry[] known) {
            throw new UnsupportedOperationException();
        }

        synchronized int entriesSent() {
            return sent.stream().mapToInt(s -> s.entries.size()).sum();
        }

        synchronized Sent last() {
            return sent.get(sent.size() - 1);
        }
    }

    private void addHints(long target, int n) {
        for (int i = 0; i < n; i++) {
            assertThat(store.add(target, entry("k" + i, "v" + i, 1))).isTrue();
        }
    }

    /** Ticks every 100 simulated ms, for {@code millis}. */
    private void run(long millis) {
        for (long t = 0; t < millis; t += HintReplayer.TICK_MILLIS) {
            clock.advanceMillis(HintReplayer.TICK_MILLIS);
            replayer.tick();
        }
    }

    @ParameterizedTest(name = "failure {0} -> {1} ms")
    @CsvSource({"0, 1000", "1, 1000", "2, 2000", "3, 4000", "5, 16000", "6, 30000", "7, 30000",
            "1000, 30000", "2147483647, 30000"})
    void backoffDoublesFromOneSecondToThirty(int consecutiveFailures, long expected) {
        assertThat(HintReplayer.backoffMillis(consecutiveFailures)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "rate {0}, batch {1} -> burst {2}")
    @CsvSource({"5000, 256, 500", "1000, 256, 256", "5001, 256, 501", "1, 1, 1"})
    void theBucketSavesOneTickOrOneBatch(int rate, int batch, long expected) {
        assertThat(HintReplayer.burst(new HintConfig(1_000, 1, 1, rate, batch))).isEqualTo(expected);
    }

    @Test
    void nothingIsSentWhileTheTargetIsNotAlive() {
        addHints(TARGET, 10);
        replayer.tick();
        run(10_000);
        assertThat(transport.sent).isEmpty();
        assertThat(store.pending(TARGET)).isEqualTo(10);
    }

    @Test
    void replayStartsAtTheFirstTickThatFindsTheTargetAlive() {
        addHints(TARGET, 10);
        replayer.tick();
        run(5_000);
        alive.add(TARGET);
        replayer.tick();

        assertThat(transport.sent).hasSize(1);
        assertThat(transport.last().nodeId()).isEqualTo(TARGET);
        assertThat(transport.last().entries()).extracting(e -> e.key().toString())
                .containsExactly("k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9");
        assertThat(store.pending()).isZero();
        assertThat(store.stats().replayed()).isEqualTo(10);
        assertThat(replayer.batchesSent()).isEqualTo(1);
    }

    @Test
    void onlyAliveTargetsAreReplayed() {
        addHints(TARGET, 3);
        addHints(OTHER, 3);
        alive.add(OTHER);
        replayer.tick();
        run(100);
        assertThat(transport.sent).extracting(FakeTransport.Sent::nodeId).containsExactly(OTHER);
        assertThat(store.pendingByTarget()).containsOnlyKeys(TARGET);
    }

    @Test
    void replayKeepsToTheRateInBatchesOfAtMostTheConfiguredSize() {
        addHints(TARGET, 10_000);
        alive.add(TARGET);
        long start = clock.millis();
        replayer.tick();
        long finishedAfter = -1;
        for (int i = 0; i < 40 && finishedAfter < 0; i++) {
            run(100);
            long elapsed = clock.millis() - start;
            assertThat(transport.entriesSent()).as("after %d ms", elapsed)
                    .isLessThanOrEqualTo(500 + 5 * (int) elapsed);
            if (elapsed == 1_000) {
                assertThat(transport.entriesSent()).as("one second at 5000/s").isEqualTo(5_000);
            }
            if (store.pending() == 0) {
                finishedAfter = elapsed;
            }
        }
        assertThat(finishedAfter).isEqualTo(2_000);
        assertThat(transport.sent).allSatisfy(s -> assertThat(s.entries()).hasSizeBetween(1, 256));
        assertThat(transport.entriesSent()).isEqualTo(10_000);
        assertThat(store.stats().replayed()).isEqualTo(10_000);
    }

    @Test
    void oneBatchInFlightPerTarget() {
        transport.answer = batch -> null;
        addHints(TARGET, 1_000);
        addHints(OTHER, 1_000);
        alive.add(TARGET);
        alive.add(OTHER);
        replayer.tick();
        run(1_000);
        assertThat(transport.sent).extracting(FakeTransport.Sent::nodeId).containsExactlyInAnyOrder(TARGET, OTHER);

        transport.answer = batch -> CompletableFuture.completedFuture(null);
        transport.sent.get(0).reply().complete(null);
        assertThat(transport.sent).as("the completion sends the next batches at once, within the rate")
                .hasSizeGreaterThan(2);
        assertThat(store.pending(transport.sent.get(0).nodeId()))
                .as("the first batch, then the 500 permits saved while it was in flight")
                .isEqualTo(1_000 - 256 - 500);
        assertThat(store.pending(transport.sent.get(1).nodeId())).isEqualTo(1_000);
    }

    @Test
    void aFailureBacksTheTargetOffAndTheRetryGetsTheSameHints() {
        transport.answer = batch -> CompletableFuture.failedFuture(new TimeoutException("no answer in 2 s"));
        addHints(TARGET, 3);
        alive.add(TARGET);
        replayer.tick();
        run(100);
        assertThat(transport.sent).hasSize(1);
        assertThat(replayer.failures()).isEqualTo(1);
        assertThat(store.pending(TARGET)).isEqualTo(3);

        run(900);
        assertThat(transport.sent).as("backing off for 1 s").hasSize(1);
        run(100);
        assertThat(transport.sent).hasSize(2);
        run(1_900);
        assertThat(transport.sent).as("then 2 s").hasSize(2);
        transport.answer = batch -> CompletableFuture.completedFuture(null);
        run(100);
        assertThat(transport.sent).hasSize(3);
        assertThat(transport.sent).extracting(FakeTransport.Sent::entries).allSatisfy(b -> assertThat(b).hasSize(3));
        assertThat(store.pending()).isZero();
        assertThat(replayer.failures()).isEqualTo(2);
    }

    @Test
    void aSuccessResetsTheBackoff() {
        transport.answer = batch -> CompletableFuture.failedFuture(new IOException("connection reset"));
        addHints(TARGET, 1);
        alive.add(TARGET);
        replayer.tick();
        run(100);
        run(1_000);
        run(2_000);
        assertThat(transport.sent).as("failures at 0, 1 s and 3 s").hasSize(3);

        transport.answer = batch -> CompletableFuture.completedFuture(null);
        run(4_000);
        assertThat(transport.sent).hasSize(4);
        assertThat(store.pending()).isZero();

        transport.answer = batch -> CompletableFuture.failedFuture(new IOException("connection reset"));
        addHints(TARGET, 1);
        store.add(TARGET, entry("k0", "newer", 2));
        run(100);
        assertThat(transport.sent).hasSize(5);
        run(1_000);
        assertThat(transport.sent).as("back to 1 s").hasSize(6);
    }

    @Test
    void aFailureCompletedLaterAlsoBacksOff() {
        transport.answer = batch -> null;
        addHints(TARGET, 3);
        alive.add(TARGET);
        replayer.tick();
        run(100);
        run(5_000);
        assertThat(transport.sent).as("still in flight").hasSize(1);

        transport.sent.get(0).reply().completeExceptionally(new CompletionException(new IOException("reset")));
        assertThat(replayer.failures()).isEqualTo(1);
        run(900);
        assertThat(transport.sent).hasSize(1);
        run(100);
        assertThat(transport.sent).hasSize(2);
    }

    @Test
    void refusedHintsAreDiscarded() {
        transport.answer = batch -> CompletableFuture.failedFuture(
                new CompletionException(new ReplicaRefusedException("version 3 s ahead of this clock")));
        addHints(TARGET, 300);
        alive.add(TARGET);
        replayer.tick();
        run(100);

        assertThat(transport.sent).extracting(s -> s.entries().size()).containsExactly(256, 44);
        assertThat(store.pending()).isZero();
        assertThat(store.stats().refused()).isEqualTo(300);
        assertThat(replayer.failures()).isZero();
        run(1_000);
        assertThat(transport.sent).hasSize(2);
    }

    @Test
    void aNewerHintAddedWhileABatchIsInFlightSurvivesItsAcknowledgement() {
        transport.answer = batch -> null;
        Entry v1 = entry("k", "one", 1);
        store.add(TARGET, v1);
        alive.add(TARGET);
        replayer.tick();
        run(100);
        assertThat(transport.sent).hasSize(1);
        assertThat(transport.last().entries()).containsExactly(v1);

        Entry v2 = entry("k", "two", 2);
        store.add(TARGET, v2);
        run(100);
        assertThat(transport.sent).as("one batch in flight").hasSize(1);

        transport.sent.get(0).reply().complete(null);
        assertThat(store.stats().replayed()).isZero();
        assertThat(transport.sent).as("the newer hint goes next").hasSize(2);
        assertThat(transport.last().entries()).containsExactly(v2);
        transport.last().reply().complete(null);
        assertThat(store.pending()).isZero();
        assertThat(store.stats().replayed()).isEqualTo(1);
    }

    @Test
    void hintsPastTheWindowAreNotReplayed() {
        addHints(TARGET, 5);
        replayer.tick();
        clock.advanceMillis(config.windowMillis() + 1);
        alive.add(TARGET);
        replayer.tick();
        assertThat(transport.sent).isEmpty();
        assertThat(store.stats().expired()).isEqualTo(5);
    }

    @Test
    void tickNeverThrows() {
        addHints(TARGET, 3);
        alive.add(TARGET);
        transport.answer = batch -> {
            throw new IllegalStateException("pool closed");
        };
        replayer.tick();
        run(100);
        assertThat(replayer.failures()).as("a write that throws is a failure").isEqualTo(1);

        HintReplayer broken = new HintReplayer(store, transport, node -> {
            throw new IllegalStateException("membership stopped");
        }, config, clock);
        assertThatCode(broken::tick).doesNotThrowAnyException();
    }

    @Test
    void nothingIsSentAfterClose() {
        transport.answer = batch -> null;
        addHints(TARGET, 1_000);
        alive.add(TARGET);
        replayer.tick();
        run(100);
        replayer.close();
        transport.sent.get(0).reply().complete(null);
        run(1_000);
        assertThat(transport.sent).hasSize(1);
        assertThat(store.pending()).as("the batch in flight still counts").isEqualTo(1_000 - 256);
    }

    @Test
    void startTicksOnItsOwnDaemonThread() throws InterruptedException {
        CountDownLatch ticked = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        HintReplayer threaded = new HintReplayer(store, transport, node -> {
            synchronized (threads) {
                threads.add(Thread.currentThread());
            }
            ticked.countDown();
            return false;
        }, config, clock);
        addHints(TARGET, 1);
        threaded.start();
        try {
            assertThat(ticked.await(10, TimeUnit.SECONDS)).isTrue();
            synchronized (threads) {
                assertThat(threads.get(0).getName()).isEqualTo("trellis-hints");
                assertThat(threads.get(0).isDaemon()).isTrue();
            }
        } finally {
            threaded.close();
        }
    }

    @Test
    void anIdleReplayerSleepsUntilAHintIsStoredAndAgainOnceNoneIsLeft() {
        // Real time: the replay rate's bucket fills with it. Liveness read from the replayer's thread.
        HintStore real = new HintStore(config, Clock.SYSTEM);
        Set<Long> up = ConcurrentHashMap.newKeySet();
        up.add(TARGET);
        HintReplayer threaded = new HintReplayer(real, transport, up::contains, config, Clock.SYSTEM);
        threaded.start();
        try {
            awaitCondition(() -> threaded.ticks() >= 1 && !threaded.awake(), "the first tick, then sleep");
            long ticks = threaded.ticks();
            assertThat(transport.entriesSent()).isZero();
            for (int i = 0; i < 3; i++) { // the first wakes it
                assertThat(real.add(TARGET, entry("k" + i, "v" + i, 1))).isTrue();
            }
            awaitCondition(() -> transport.entriesSent() == 3, "the hints replayed");
            awaitCondition(() -> real.pending() == 0 && !threaded.awake(), "asleep once they are acknowledged");
            assertThat(threaded.ticks()).isGreaterThan(ticks);
            long before = threaded.ticks();
            assertThat(real.add(OTHER, entry("o", "v", 1))).isTrue(); // a target that is down: it stays awake
            awaitCondition(() -> threaded.ticks() >= before + 3, "ticks while the hint waits");
            assertThat(threaded.awake()).isTrue();
            assertThat(real.pending()).isEqualTo(1);
            up.add(OTHER);
            awaitCondition(() -> real.pending() == 0 && !threaded.awake(), "delivered, then asleep");
            assertThat(transport.entriesSent()).isEqualTo(4);
        } finally {
            threaded.close();
        }
    }

    /** Waits up to 10 s for {@code condition}, checking every few ms. */
    private static void awaitCondition(BooleanSupplier condition, String what) {
        await(what).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(condition::getAsBoolean);
    }
}
