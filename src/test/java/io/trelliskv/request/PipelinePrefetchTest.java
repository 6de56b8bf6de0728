package io.trelliskv.request;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.command.CommandTable;
import io.trelliskv.command.KeyCommands;
import io.trelliskv.command.StringCommands;
import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.persist.Durability;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.resp.RespRequestEncoder;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.testing.EmbeddedOutput;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A read's keys are handed to the engine together before its commands run ({@link Dispatcher#arriving}),
 * through a connection's real pipeline: the decoder tells the dispatcher of each read's requests, and the
 * dispatcher asks the engine to prefetch their keys when there are two or more. A hint only: the replies
 * are those of the same commands sent one by one.
 */
class PipelinePrefetchTest {

    private final ManualClock clock = new ManualClock(1_700_000_000_000L);
    private final MemoryEngine real = new MemoryEngine(EngineConfig.unbounded(), clock, new Hlc(clock), 1);
    /** Each prefetch the engine was asked for: the tokens it was given. */
    private final List<long[]> prefetched = new ArrayList<>();
    private final EmbeddedChannel channel;

    PipelinePrefetchTest() {
        Engine recording = (Engine) Proxy.newProxyInstance(Engine.class.getClassLoader(), new Class<?>[] {Engine.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("prefetch")) {
                        prefetched.add(Arrays.copyOf((long[]) args[0], (int) args[1]));
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        CommandTable table = new CommandTable();
        Dispatcher dispatcher = new Dispatcher(table, recording, clock, false, Durability.NONE);
        new StringCommands(real, clock, RespLimits.DEFAULTS.maxBulkLength()).registerInto(table);
        new KeyCommands(real, clock).registerInto(table);
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        channel = new EmbeddedChannel();
        ClientPipeline.configure(channel, net, dispatcher, new ClientRegistry(10), clock, null);
        channel.pipeline().fireChannelActive();
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
        real.close();
    }

    /** One request, as a client encodes it. */
    private static String resp(String... args) {
        List<byte[]> argv = new ArrayList<>();
        for (String a : args) {
            argv.add(a.getBytes(StandardCharsets.UTF_8));
        }
        return new String(RespRequestEncoder.encode(argv), StandardCharsets.UTF_8);
    }

    /** Sends {@code raw} as one read and returns every byte written back. */
    private String send(String raw) {
        channel.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.UTF_8));
        return EmbeddedOutput.drain(channel);
    }

    private static long token(String key) {
        return Key.of(key.getBytes(StandardCharsets.UTF_8)).token();
    }

    @Test
    void aPipelinesKeysArePrefetchedTogetherBeforeItRunsAndItsRepliesAreUnchanged() {
        send(resp("set", "b", "old"));
        prefetched.clear();

        String replies = send(resp("set", "a", "1") + resp("keys", "nomatch*") + resp("get", "b")
                + resp("nosuchcommand", "x") + resp("set", "b", "2") + resp("get", "b"));

        assertThat(prefetched).hasSize(1);
        assertThat(prefetched.get(0)).containsExactly(token("a"), token("b"), token("b"), token("b"));
        assertThat(replies).isEqualTo("+OK\r\n*0\r\n$3\r\nold\r\n"
                + "-ERR unknown command 'nosuchcommand', with args beginning with: 'x' \r\n+OK\r\n$1\r\n2\r\n");
    }

    @Test
    void everyKeyOfAMultiKeyCommandIsPrefetched() {
        String replies = send(resp("mset", "a", "1", "b", "2", "c", "3") + resp("mget", "c", "x"));

        assertThat(replies).isEqualTo("+OK\r\n*2\r\n$1\r\n3\r\n$-1\r\n");
        assertThat(prefetched).hasSize(1);
        assertThat(prefetched.get(0)).containsExactly(token("a"), token("b"), token("c"), token("c"), token("x"));
    }

    @Test
    void aReadOfOneKeyIsNotPrefetched() {
        assertThat(send(resp("set", "a", "1"))).isEqualTo("+OK\r\n");
        assertThat(send(resp("get", "a") + resp("keys", "*") + resp("nosuchcommand")))
                .isEqualTo("$1\r\n1\r\n*1\r\n$1\r\na\r\n"
                        + "-ERR unknown command 'nosuchcommand', with args beginning with: \r\n");

        assertThat(prefetched).isEmpty(); // one key in each read: no misses to overlap
    }

    @Test
    void aPipelineSplitAcrossReadsIsPrefetchedReadByRead() {
        String pipeline = resp("set", "a", "1") + resp("set", "b", "2") + resp("set", "c", "3");
        int cut = pipeline.indexOf("*3", 1) + 5; // inside the second request

        String replies = send(pipeline.substring(0, cut)) + send(pipeline.substring(cut));

        assertThat(replies).isEqualTo("+OK\r\n+OK\r\n+OK\r\n");
        assertThat(prefetched).hasSize(1); // the first read held one request whole: one key, no prefetch
        assertThat(prefetched.get(0)).containsExactly(token("b"), token("c"));
    }
}
