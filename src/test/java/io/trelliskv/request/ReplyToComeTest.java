package io.trelliskv.request;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.DeferredReply;
import io.trelliskv.net.NetConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.testing.EmbeddedOutput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** A reply to come reaches its connection's deferred slot once, whichever of the two happens first. */
class ReplyToComeTest {

    private EmbeddedChannel channel;
    private DeferredReply slot;

    @BeforeEach
    void connectAndDeferOneReply() {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 10, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        channel = new EmbeddedChannel();
        ClientPipeline.configure(channel, net, (connection, args) -> slot = connection.deferReply(),
                new ClientRegistry(10), new ManualClock(0), null);
        channel.pipeline().fireChannelActive();
        channel.writeInbound(Unpooled.copiedBuffer("*1\r\n$3\r\nGET\r\n", StandardCharsets.US_ASCII));
        assertThat(slot).isNotNull();
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    @Test
    void aSlotGivenBeforeTheReplyCompletesGetsItWhenItDoes() {
        ReplyToCome reply = new ReplyToCome();
        reply.deliverTo(slot);
        assertThat(output()).isEmpty();
        reply.complete(bytes("+OK\r\n"));
        assertThat(output()).isEqualTo("+OK\r\n");
        reply.complete(bytes("+again\r\n"));
        assertThat(output()).as("only the first completion counts").isEmpty();
    }

    @Test
    void aSlotGivenAfterTheReplyCompletedGetsItAtOnce() {
        ReplyToCome reply = new ReplyToCome();
        reply.complete(bytes("$1\r\nv\r\n"));
        reply.deliverTo(slot);
        assertThat(output()).isEqualTo("$1\r\nv\r\n");
    }

    @Test
    void aReplyThatFailsLeavesTheSlotAlone() {
        ReplyToCome reply = new ReplyToCome();
        reply.completeExceptionally(new IllegalStateException("never"));
        reply.deliverTo(slot);
        assertThat(output()).isEmpty();
    }

    private String output() {
        return EmbeddedOutput.drain(channel);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
