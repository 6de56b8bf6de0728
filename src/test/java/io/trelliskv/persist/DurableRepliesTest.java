package io.trelliskv.persist;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.command.CommandTable;
import io.trelliskv.command.KeyCommands;
import io.trelliskv.command.StringCommands;
import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.persist.Stores.Store;
import io.trelliskv.request.Dispatcher;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.testing.EmbeddedOutput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The request path over a real log under {@code appendfsync always}, on a disk that holds or fails its
 * forces on command: a write's reply leaves only once its force is done, replies keep their order, writes
 * are refused with MISCONF while the disk fails (reads go on) and work again once it heals.
 *
 * <p>The log completes its barriers on its own thread; the durability the dispatcher gets hands each
 * completion to the test's thread ({@link #settle}), so the embedded channel is only ever touched here.
 */
class DurableRepliesTest {

    private static final String MISCONF = "-MISCONF Errors writing to the append-only log: Input/output error\r\n";

    @TempDir
    Path dir;
    private final ManualClock clock = new ManualClock(Stores.START_MILLIS);
    private final FaultyDisk disk = new FaultyDisk();
    private final LinkedBlockingQueue<Runnable> handedBack = new LinkedBlockingQueue<>();
    /** The durability futures the dispatcher got, one per barrier of the log. */
    private final List<CompletableFuture<Void>> handedOut = new ArrayList<>();
    private Store store;
    private EmbeddedChannel channel;

    @BeforeEach
    void open() throws IOException {
        store = Stores.open(dir, clock, 0, PersistConfig.of(AppendFsync.ALWAYS).withChannels(disk));
        Persistence p = store.persistence();
        Durability onTestThread = new Durability() {
            @Override
            public void checkWritable() {
                p.checkWritable();
            }

            @Override
            public boolean acknowledgesDurably() {
                return p.acknowledgesDurably();
            }

            private CompletableFuture<Void> lastBarrier;
            private CompletableFuture<Void> lastHandedBack;

            @Override
            public CompletableFuture<Void> durable() {
                CompletableFuture<Void> barrier = p.durable();
                if (barrier != lastBarrier) { // one barrier, one future: as the log hands them out
                    lastBarrier = barrier;
                    lastHandedBack = barrier.whenCompleteAsync((v, e) -> { }, handedBack::add);
                    handedOut.add(lastHandedBack);
                }
                return lastHandedBack;
            }
        };
        CommandTable table = new CommandTable();
        Dispatcher dispatcher = new Dispatcher(table, store.engine(), clock, false, onTestThread);
        new StringCommands(store.engine(), clock, RespLimits.DEFAULTS.maxBulkLength()).registerInto(table);
        new KeyCommands(store.engine(), clock).registerInto(table);
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        channel = new EmbeddedChannel();
        ClientPipeline.configure(channel, net, dispatcher, new ClientRegistry(10), clock, null);
        channel.pipeline().fireChannelActive();
    }

    @AfterEach
    void close() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
        disk.releaseForcesIfHeld();
        if (store != null) {
            store.close();
        }
    }

    private static String resp(String... args) {
        StringBuilder sb = new StringBuilder().append('*').append(args.length).append("\r\n");
        for (String a : args) {
            sb.append('$').append(a.length()).append("\r\n").append(a).append("\r\n");
        }
        return sb.toString();
    }

    /** Sends raw requests; returns what the client has received by the time they ran. */
    private String send(String raw) {
        channel.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.UTF_8));
        return output();
    }

    private String output() {
        return EmbeddedOutput.drain(channel);
    }

    /** Waits (bounded) for the next durability completion and runs it here; returns what the client got. */
    private String settle() throws InterruptedException {
        Runnable completion = handedBack.poll(10, TimeUnit.SECONDS);
        assertThat(completion).as("a durability completion within 10 s").isNotNull();
        completion.run();
        return output();
    }

    @Test
    void aSetIsAnsweredOnlyOnceItsForceIsDone() throws Exception {
        CountDownLatch forcing = disk.holdNextForce();
        assertThat(send(resp("SET", "a", "1"))).isEmpty();
        assertThat(forcing.await(10, TimeUnit.SECONDS)).as("the log is forcing the SET").isTrue();
        // the force has not returned: no reply, and nothing for the reply to wait on has completed
        assertThat(output()).isEmpty();
        assertThat(handedBack).isEmpty();

        disk.releaseForces();
        assertThat(settle()).isEqualTo("+OK\r\n");
        assertThat(disk.forces.get()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aPipelinedSetThenGetAreAnsweredInOrderAfterTheForce() throws Exception {
        CountDownLatch forcing = disk.holdNextForce();
        assertThat(send(resp("SET", "a", "1") + resp("GET", "a"))).isEmpty(); // the GET waits behind the SET
        assertThat(forcing.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(output()).isEmpty();
        disk.releaseForces();
        assertThat(settle()).isEqualTo("+OK\r\n$1\r\n1\r\n");
    }

    @Test
    void writesThatShareAForceAreAnsweredTogetherAndInOrder() throws Exception {
        CountDownLatch forcing = disk.holdNextForce();
        assertThat(send(resp("SET", "k0", "v"))).isEmpty();
        assertThat(forcing.await(10, TimeUnit.SECONDS)).isTrue();
        // while the first force is held, 50 pipelined writes queue behind one barrier
        StringBuilder pipeline = new StringBuilder();
        for (int i = 1; i <= 50; i++) {
            pipeline.append(resp("SET", "k" + i, "v"));
        }
        assertThat(send(pipeline.toString())).isEmpty();
        assertThat(handedOut).allSatisfy(f -> assertThat(f.getNumberOfDependents())
                .as("one callback per barrier, not one per reply").isEqualTo(1));
        disk.releaseForces();

        StringBuilder got = new StringBuilder();
        for (int settled = 0; settled < handedOut.size() && got.length() < 51 * "+OK\r\n".length(); settled++) {
            got.append(settle());
        }
        assertThat(got.toString()).isEqualTo("+OK\r\n".repeat(51));
    }

    @Test
    void whileTheDiskFailsSetGetsMisconfGetAnswersAndSetWorksAgainOnceItHeals() throws Exception {
        assertThat(send(resp("SET", "a", "1")) + settle()).isEqualTo("+OK\r\n");

        disk.failWrites = true;
        // applied, but its write fails: the reply is the log's error, not OK
        assertThat(send(resp("SET", "b", "2")) + settle()).isEqualTo(MISCONF);
        assertThat(store.persistence().writable()).isFalse();
        // refused before it runs
        assertThat(send(resp("SET", "c", "3")) + settle()).isEqualTo(MISCONF);
        assertThat(store.engine().get(io.trelliskv.common.Key.of("c"))).isNull();
        assertThat(send(resp("GET", "a"))).isEqualTo("$1\r\n1\r\n");
        assertThat(handedBack).as("a read waits for no barrier").isEmpty();

        disk.failWrites = false;
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                .until(store.persistence()::writable);
        assertThat(send(resp("SET", "c", "3")) + settle()).isEqualTo("+OK\r\n");
        assertThat(send(resp("GET", "c"))).isEqualTo("$1\r\n3\r\n");
    }
}
