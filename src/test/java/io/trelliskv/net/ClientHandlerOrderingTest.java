package io.trelliskv.net;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ResourceLeakDetector;
import io.trelliskv.common.ManualClock;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.resp.RespProtocolException;
import io.trelliskv.testing.EmbeddedOutput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Replies reach the client in request order when some complete later ({@link DeferredReply}), with
 * the back-pressure rules intact and nothing leaked when the connection closes first. Commands go
 * straight into the {@link ClientHandler} on an embedded channel; a scripted sink answers
 * {@code sync x} at once with {@code +x}, {@code big n} with n bytes, and defers {@code defer name}
 * until the test completes it.
 */
class ClientHandlerOrderingTest {

    private static ResourceLeakDetector.Level previousLevel;

    private final RecordingAllocator alloc = new RecordingAllocator();
    private final List<String> executed = new ArrayList<>();
    private final Map<String, DeferredReply> deferred = new HashMap<>();
    private final List<ByteBuf> handedIn = new ArrayList<>();
    private EmbeddedChannel channel;

    @BeforeAll
    static void paranoid() {
        previousLevel = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }

    @AfterAll
    static void restore() {
        ResourceLeakDetector.setLevel(previousLevel);
    }

    private final CommandSink sink = (connection, args) -> {
        String name = str(args[0]);
        executed.add(name + (args.length > 1 ? " " + str(args[1]) : ""));
        switch (name) {
            case "sync" -> connection.writer().simple(str(args[1]));
            case "big" -> connection.writer().bulk("x".repeat(Integer.parseInt(str(args[1]))));
            case "defer" -> deferred.put(str(args[1]), connection.deferReply());
            case "held" -> held(connection, str(args[1]));
            case "release" -> {
                connection.releaseReplies();
                connection.writer().simple(str(args[1]));
            }
            case "quit" -> {
                connection.closeAfterReply();
                connection.writer().ok();
            }
            default -> throw new IllegalArgumentException(name);
        }
    };

    /** The replies held since the first {@code held x} of a hold; its release cuts them out, as a write run does. */
    private final List<String> releases = new ArrayList<>();
    private boolean holding;

    /**
     * {@code held x}: writes {@code +x}, holding the replies from the first such reply on; the release cuts what
     * was held out of the output into a deferred slot named {@code held<n>} that the test completes, so the bytes
     * go out then, in their place.
     */
    private void held(ClientConnection connection, String text) {
        ByteBuf out = connection.writer().target();
        int mark = out.writerIndex();
        connection.writer().simple(text);
        if (holding) {
            return;
        }
        holding = true;
        connection.holdReplies(() -> {
            holding = false;
            byte[] cut = new byte[out.writerIndex() - mark];
            out.getBytes(mark, cut);
            out.writerIndex(mark);
            String name = "held" + releases.size();
            releases.add(new String(cut, StandardCharsets.UTF_8));
            deferred.put(name, connection.deferReply());
        });
    }

    /** Completes the slot of the {@code n}th release of held replies with the bytes it cut out. */
    private void completeHeld(int n) {
        ByteBuf reply = Unpooled.copiedBuffer(releases.get(n), StandardCharsets.UTF_8);
        handedIn.add(reply);
        deferred.get("held" + n).complete(reply);
        channel.runPendingTasks();
    }

    private void open(int softBytes, long hardBytes) {
        open(sink, softBytes, hardBytes);
    }

    private void open(CommandSink sink, int softBytes, long hardBytes) {
        NetConfig config = new NetConfig("127.0.0.1", 0, null, 1, 10, softBytes, hardBytes, RespLimits.DEFAULTS);
        channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(new ClientHandler(sink, new ClientRegistry(10), config, new ManualClock(0)));
        channel.pipeline().fireChannelActive();
    }

    private void open() {
        open(NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT, NetConfig.DEFAULT_OUTPUT_BUFFER_HARD);
    }

    @AfterEach
    void noLeaks() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
        for (ByteBuf b : alloc.made) {
            assertThat(b.refCnt()).as("every buffer the handler allocated is released").isZero();
        }
        for (ByteBuf b : handedIn) {
            assertThat(b.refCnt()).as("every completed reply is released").isZero();
        }
    }

    /** Sends the commands as one read, then runs pending tasks. */
    private void read(String... commands) {
        Object[] msgs = new Object[commands.length];
        for (int i = 0; i < commands.length; i++) {
            String[] words = commands[i].split(" ");
            byte[][] args = new byte[words.length][];
            for (int j = 0; j < words.length; j++) {
                args[j] = words[j].getBytes(StandardCharsets.UTF_8);
            }
            msgs[i] = args;
        }
        channel.writeInbound(msgs);
        channel.runPendingTasks();
    }

    /** Everything written to the client so far. */
    private String output() {
        return EmbeddedOutput.drain(channel);
    }

    private void complete(String name, String simple) {
        ByteBuf reply = Unpooled.copiedBuffer("+" + simple + "\r\n", StandardCharsets.UTF_8);
        handedIn.add(reply);
        deferred.get(name).complete(reply);
        channel.runPendingTasks();
    }

    @Test
    void withoutDeferralTheRepliesOfOneReadGoOutInOneBuffer() {
        open();
        read("sync a", "sync b", "sync c");
        assertThat((ByteBuf) channel.readOutbound()).satisfies(b -> {
            assertThat(b.toString(StandardCharsets.UTF_8)).isEqualTo("+a\r\n+b\r\n+c\r\n");
            b.release();
        });
        assertThat((Object) channel.readOutbound()).isNull();
    }

    @Test
    void heldRepliesAreReleasedAtTheEndOfTheReadAndGoOutInTheirPlace() {
        open();
        read("sync 0", "held a", "held b", "sync c", "held d");
        assertThat(releases).as("one release, at the read's end, of everything from the first held reply on")
                .containsExactly("+a\r\n+b\r\n+c\r\n+d\r\n");
        assertThat(output()).isEqualTo("+0\r\n");
        read("sync e");
        assertThat(output()).as("behind the held replies").isEmpty();
        completeHeld(0);
        assertThat(output()).isEqualTo("+a\r\n+b\r\n+c\r\n+d\r\n+e\r\n");
    }

    @Test
    void heldRepliesAreReleasedBeforeALaterCommandReservesItsSlot() {
        open();
        read("held a", "sync b", "defer C", "held d");
        assertThat(releases).as("the first hold released at the deferral, the second at the read's end")
                .containsExactly("+a\r\n+b\r\n", "+d\r\n");
        complete("C", "c");
        completeHeld(1);
        assertThat(output()).as("C waits for the first hold").isEmpty();
        completeHeld(0);
        assertThat(output()).isEqualTo("+a\r\n+b\r\n+c\r\n+d\r\n");
    }

    @Test
    void aCommandThatReleasesTheHeldRepliesWritesItsOwnAfterThem() {
        open();
        read("held a", "release b", "sync c");
        assertThat(releases).containsExactly("+a\r\n");
        assertThat(output()).isEmpty();
        completeHeld(0);
        assertThat(output()).isEqualTo("+a\r\n+b\r\n+c\r\n");
    }

    @Test
    void heldRepliesAreReleasedBeforeTheOutputIsFlushedAtItsSoftLimit() {
        open(1024, 0);
        read("held a", "big 1100", "sync after");
        assertThat(releases).hasSize(1);
        assertThat(releases.get(0)).startsWith("+a\r\n$1100\r\n").hasSize(4 + 1100 + 9);
        assertThat(output()).as("nothing flushed ahead of the held replies").isEmpty();
        completeHeld(0);
        assertThat(output()).startsWith("+a\r\n$1100").endsWith("+after\r\n");
    }

    @Test
    void aProtocolErrorGoesOutAfterTheHeldReplies() {
        open();
        // as the decoder does: the commands decoded before the error, then the error, within one read
        channel.pipeline().fireChannelRead(new byte[][] {"held".getBytes(StandardCharsets.UTF_8),
                "a".getBytes(StandardCharsets.UTF_8)});
        channel.pipeline().fireExceptionCaught(new RespProtocolException("Protocol error: bad"));
        channel.runPendingTasks();
        assertThat(releases).containsExactly("+a\r\n");
        assertThat(output()).isEmpty();
        assertThat(channel.isOpen()).as("open until the held replies are out").isTrue();
        completeHeld(0);
        assertThat(output()).isEqualTo("+a\r\n-ERR Protocol error: bad\r\n");
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void laterRepliesWaitBehindAnIncompleteDeferredOne() {
        open();
        read("sync 0", "defer A", "sync 1", "defer B", "sync 2");
        assertThat(output()).isEqualTo("+0\r\n");
        complete("B", "b");
        assertThat(output()).as("B is complete but A is not").isEmpty();
        complete("A", "a");
        assertThat(output()).isEqualTo("+a\r\n+1\r\n+b\r\n+2\r\n");
        read("sync 3");
        assertThat(output()).as("back on the direct path").isEqualTo("+3\r\n");
    }

    @Test
    void aReplyCompletedWhileTheCommandRunsIsWrittenInOrder() {
        CommandSink eager = (connection, args) -> {
            if (str(args[0]).equals("now")) {
                connection.deferReply().fail("TRYAGAIN at once");
            } else {
                connection.writer().simple(str(args[1]));
            }
        };
        open(eager, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT, 0);
        read("sync 0", "now", "sync 1");
        assertThat(output()).isEqualTo("+0\r\n-TRYAGAIN at once\r\n+1\r\n");
    }

    @Test
    void commandsParkAtTheDeferredBoundAndRunAsRepliesComplete() {
        open();
        String[] cmds = new String[ClientHandler.MAX_DEFERRED + 1];
        for (int i = 0; i < ClientHandler.MAX_DEFERRED; i++) {
            cmds[i] = "defer d" + i;
        }
        cmds[ClientHandler.MAX_DEFERRED] = "sync last";
        read(cmds);
        assertThat(executed).hasSize(ClientHandler.MAX_DEFERRED);
        assertThat(channel.config().isAutoRead()).isFalse();
        complete("d0", "r0");
        assertThat(executed).hasSize(ClientHandler.MAX_DEFERRED + 1).last().isEqualTo("sync last");
        assertThat(channel.config().isAutoRead()).isTrue();
        assertThat(output()).isEqualTo("+r0\r\n");
        for (int i = 1; i < ClientHandler.MAX_DEFERRED; i++) {
            complete("d" + i, "r" + i);
        }
        assertThat(output()).startsWith("+r1\r\n").endsWith("+r1023\r\n+last\r\n");
    }

    @Test
    void heldRepliesPastTheSoftLimitParkWhatFollows() {
        open(1024, 0);
        read("defer A", "big 600", "big 600", "sync after");
        assertThat(executed).containsExactly("defer A", "big 600", "big 600");
        assertThat(output()).isEmpty();
        complete("A", "a");
        assertThat(executed).last().isEqualTo("sync after");
        String out = output();
        assertThat(out).startsWith("+a\r\n$600\r\n").endsWith("+after\r\n").hasSize(4 + 2 * 608 + 8);
    }

    @Test
    void anUnwritableChannelKeepsCommandsParkedEvenWhenDeferredRepliesComplete() {
        open();
        read("defer A");
        channel.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
        read("sync 1");
        assertThat(executed).containsExactly("defer A");
        complete("A", "a");
        assertThat(executed).containsExactly("defer A");
        channel.unsafe().outboundBuffer().setUserDefinedWritability(1, true);
        channel.runPendingTasks();
        assertThat(executed).containsExactly("defer A", "sync 1");
        assertThat(output()).isEqualTo("+a\r\n+1\r\n");
        assertThat(channel.config().isAutoRead()).isTrue();
    }

    @Test
    void heldRepliesCountTowardsTheHardLimit() {
        open(1024, 2048);
        read("defer A", "big 3000", "sync never");
        assertThat(channel.isOpen()).isFalse();
        assertThat(executed).containsExactly("defer A", "big 3000");
        complete("A", "late"); // released, not written
        assertThat(output()).isEmpty();
    }

    @Test
    void quitClosesOnlyAfterTheDeferredReplyIsWritten() {
        open();
        read("defer A", "quit", "sync ignored");
        assertThat(channel.isOpen()).isTrue();
        assertThat(executed).containsExactly("defer A", "quit");
        complete("A", "a");
        assertThat(output()).isEqualTo("+a\r\n+OK\r\n");
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void aProtocolErrorWaitsBehindTheDeferredReplies() {
        open();
        read("sync 0", "defer A", "sync 1");
        channel.pipeline().fireExceptionCaught(new RespProtocolException("Protocol error: invalid bulk length"));
        assertThat(output()).isEqualTo("+0\r\n");
        assertThat(channel.isOpen()).isTrue();
        complete("A", "a");
        assertThat(output()).isEqualTo("+a\r\n+1\r\n-ERR Protocol error: invalid bulk length\r\n");
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void closingWithOutstandingDeferredRepliesReleasesEverything() {
        open();
        read("sync 0", "defer A", "big 100", "defer B", "sync 2");
        complete("B", "b"); // held behind A
        assertThat(output()).isEqualTo("+0\r\n");
        channel.close();
        complete("A", "too late");
        assertThat(output()).isEmpty();
        // noLeaks() checks that the held replies and both completed buffers were released
    }

    /**
     * Replies given as bytes wait in order like the others; those ready together go out copied into one
     * buffer, between the buffers written in place.
     */
    @Test
    void repliesGivenAsBytesAreWrittenInOrderAndThoseReadyTogetherInOneBuffer() {
        open();
        read("defer A", "defer B", "sync 1", "defer C", "defer D", "defer E");
        completeBytes("D", "d");
        completeBytes("B", "b");
        complete("C", "c");
        assertThat(output()).as("A is not complete").isEmpty();
        completeBytes("A", "a");
        List<String> buffers = outputBuffers();
        assertThat(buffers).containsExactly("+a\r\n+b\r\n", "+1\r\n", "+c\r\n", "+d\r\n");
        completeBytes("E", "e");
        completeBytes("E", "again");
        assertThat(output()).isEqualTo("+e\r\n");
    }

    private void completeBytes(String name, String simple) {
        deferred.get(name).complete(("+" + simple + "\r\n").getBytes(StandardCharsets.UTF_8));
        channel.runPendingTasks();
    }

    /** Each buffer written to the client so far. */
    private List<String> outputBuffers() {
        channel.runPendingTasks();
        List<String> out = new ArrayList<>();
        for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
            out.add(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        return out;
    }

    @Test
    void aSecondCompletionIsIgnored() {
        open();
        read("defer A");
        complete("A", "first");
        complete("A", "second");
        assertThat(output()).isEqualTo("+first\r\n");
    }

    private static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Remembers every buffer it makes, to check that each was released. */
    private static final class RecordingAllocator extends AbstractByteBufAllocator {
        final List<ByteBuf> made = new ArrayList<>();

        RecordingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
            made.add(b);
            return b;
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity);
            made.add(b);
            return b;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }
    }
}
