package io.trelliskv.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.common.Clock;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.node.Node;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A client connection of a running node's, in memory: RESP goes through the node's own client pipeline and
 * dispatcher, from a remote address of the test's choosing, and no packet is sent. The connection is not in the
 * node's registry of clients (it has one of its own), so nothing the node does to its connected clients reaches
 * it: what it meets is decided at its own commands.
 */
public final class InMemoryClient implements AutoCloseable {

    private final EmbeddedChannel channel;

    private InMemoryClient(EmbeddedChannel channel) {
        this.channel = channel;
    }

    /** A connection to {@code node} from {@code ip}. */
    public static InMemoryClient connect(Node node, String ip) throws Exception {
        InetSocketAddress address = new InetSocketAddress(InetAddress.getByName(ip), 40_000);
        ClientRegistry registry = new ClientRegistry(10);
        RemoteChannel ch = new RemoteChannel(address, new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel c) {
                ClientPipeline.configure(c, node.config().net(), node.dispatcher(), registry, Clock.SYSTEM, null);
            }
        });
        ch.register();
        return new InMemoryClient(ch);
    }

    /** Sends {@code request} (RESP) and returns what the node wrote back. */
    public String send(String request) {
        channel.writeInbound(Unpooled.copiedBuffer(request, StandardCharsets.UTF_8));
        channel.runPendingTasks();
        StringBuilder reply = new StringBuilder();
        for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
            reply.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        return reply.toString();
    }

    /** A command as RESP. */
    public static String command(String... words) {
        StringBuilder b = new StringBuilder("*").append(words.length).append("\r\n");
        for (String w : words) {
            b.append('$').append(w.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(w).append("\r\n");
        }
        return b.toString();
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
    }

    /** An in-memory channel with a remote address of the test's choosing, known before it is registered. */
    private static final class RemoteChannel extends EmbeddedChannel {
        private final InetSocketAddress remote;

        RemoteChannel(InetSocketAddress remote, ChannelInitializer<Channel> init) {
            super(DefaultChannelId.newInstance(), false, false, init);
            this.remote = remote;
        }

        @Override
        protected SocketAddress remoteAddress0() {
            return remote;
        }
    }
}
