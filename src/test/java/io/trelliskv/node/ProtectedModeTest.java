package io.trelliskv.node;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Clock;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.persist.AppendFsync;
import io.trelliskv.persist.PersistConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.testing.SecuredNodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Redis's protected mode on a real node: while the default user needs no password and the node listens beyond
 * loopback, a client from another host gets Redis's explanation and is disconnected; one from this host is served,
 * and so is any client once a password is set or protected mode is switched off. The clients from "another host"
 * are connections whose remote address is a documentation address (192.0.2.0/24), fed into the node's own client
 * pipeline and dispatcher in memory: no packet leaves loopback. The node itself listens on 127.0.0.1, so protected
 * mode is put in force directly on its dispatcher, as the node does at start for an address beyond loopback
 * ({@link Node#listensOnLoopbackOnly}, tested on its own below).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProtectedModeTest {

    private static final String PING = "*1\r\n$4\r\nPING\r\n";

    private final List<AutoCloseable> opened = new ArrayList<>();
    private Node node;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : opened) {
            c.close();
        }
        if (node != null) {
            node.close();
        }
    }

    @Test
    void aClientFromAnotherHostIsToldWhyAndDisconnected() throws Exception {
        node = SecuredNodes.start(SecurityConfig.defaults());
        node.dispatcher().protectedMode(true);

        EmbeddedChannel remote = clientFrom("192.0.2.10");
        String reply = send(remote, PING);

        assertThat(reply).startsWith("-DENIED Redis is running in protected mode because protected mode is enabled and"
                + " no password is set for the default user.").endsWith("\r\n");
        assertThat(remote.isActive()).as("disconnected after the explanation").isFalse();
    }

    @Test
    void aClientFromThisHostIsServed() throws Exception {
        node = SecuredNodes.start(SecurityConfig.defaults());
        node.dispatcher().protectedMode(true);

        EmbeddedChannel local = clientFrom("127.0.0.1");

        assertThat(send(local, PING)).isEqualTo("+PONG\r\n");
        assertThat(local.isActive()).isTrue();
    }

    @Test
    void withAPasswordAClientFromAnotherHostMayLogIn() throws Exception {
        node = SecuredNodes.start(SecurityConfig.defaults());
        node.dispatcher().protectedMode(true);
        node.acl().requirePassword("s3cret");

        EmbeddedChannel remote = clientFrom("192.0.2.11");

        assertThat(send(remote, PING)).isEqualTo("-NOAUTH Authentication required.\r\n");
        assertThat(send(remote, "*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n")).isEqualTo("+OK\r\n");
        assertThat(send(remote, PING)).isEqualTo("+PONG\r\n");
    }

    @Test
    void configSetProtectedModeIsWhatConfigGetAnswersAndWhatTheNodeEnforces() throws Exception {
        node = SecuredNodes.start(SecurityConfig.defaults());
        Jedis j = jedis();
        assertThat(j.configGet("protected-mode")).containsEntry("protected-mode", "yes");
        // Listening on loopback only, the node has nobody to protect itself from.
        assertThat(node.dispatcher().protectedMode()).isFalse();

        node.dispatcher().protectedMode(true); // as on an address beyond loopback
        assertThat(j.configSet("protected-mode", "no")).isEqualTo("OK");

        assertThat(j.configGet("protected-mode")).containsEntry("protected-mode", "no");
        assertThat(node.dispatcher().protectedMode()).isFalse();
        assertThat(send(clientFrom("192.0.2.12"), PING)).isEqualTo("+PONG\r\n");

        assertThat(j.configSet("protected-mode", "yes")).isEqualTo("OK");
        assertThat(j.configGet("protected-mode")).containsEntry("protected-mode", "yes");
        assertThat(node.dispatcher().protectedMode()).as("still loopback only").isFalse();
    }

    @Test
    void onlyLoopbackAddressesAndNamesKeepOtherHostsOut() {
        assertThat(Node.listensOnLoopbackOnly("127.0.0.1")).isTrue();
        assertThat(Node.listensOnLoopbackOnly("127.0.0.72")).isTrue();
        assertThat(Node.listensOnLoopbackOnly("::1")).isTrue();
        assertThat(Node.listensOnLoopbackOnly("localhost")).isTrue();
        assertThat(Node.listensOnLoopbackOnly("0.0.0.0")).isFalse();
        assertThat(Node.listensOnLoopbackOnly("::")).isFalse();
        assertThat(Node.listensOnLoopbackOnly("192.0.2.1")).isFalse();
    }

    @Test
    void configGetAppendonlySaysWhetherTheNodeKeepsALog(@TempDir Path dir) throws Exception {
        node = SecuredNodes.start(SecurityConfig.defaults());
        assertThat(jedis().configGet("appendonly")).containsEntry("appendonly", "no");
        node.close();

        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 10, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        node = new Node(new NodeConfig(net, EngineConfig.defaults(), new ClusterConfig("c", List.of(), null, 16, dir),
                PersistConfig.of(AppendFsync.EVERYSEC)), Clock.SYSTEM);
        node.start();
        assertThat(jedis().configGet("appendonly")).containsEntry("appendonly", "yes");
    }

    private Jedis jedis() {
        InetSocketAddress a = node.address();
        Jedis j = new Jedis(new HostAndPort(a.getHostString(), a.getPort()),
                DefaultJedisClientConfig.builder().socketTimeoutMillis(5_000).build());
        opened.add(j);
        return j;
    }

    /** A client connection of the node's, in memory, whose remote address is {@code ip}. */
    private EmbeddedChannel clientFrom(String ip) throws Exception {
        InetSocketAddress address = new InetSocketAddress(InetAddress.getByName(ip), 40_000);
        NetConfig net = node.config().net();
        ClientRegistry registry = new ClientRegistry(10);
        EmbeddedChannel ch = new RemoteChannel(address, new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel c) {
                ClientPipeline.configure(c, net, node.dispatcher(), registry, Clock.SYSTEM, null);
            }
        });
        ch.register();
        opened.add(() -> ch.finishAndReleaseAll());
        return ch;
    }

    /** Sends {@code request} and returns what the node wrote back. */
    private static String send(EmbeddedChannel ch, String request) {
        ch.writeInbound(Unpooled.copiedBuffer(request, StandardCharsets.UTF_8));
        ch.runPendingTasks();
        StringBuilder reply = new StringBuilder();
        for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
            reply.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        return reply.toString();
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
