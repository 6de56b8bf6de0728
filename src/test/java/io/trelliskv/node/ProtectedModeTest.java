package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Clock;
import io.trelliskv.net.NetConfig;
import io.trelliskv.persist.AppendFsync;
import io.trelliskv.persist.PersistConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.testing.InMemoryClient;
import io.trelliskv.testing.SecuredNodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.net.InetSocketAddress;
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

        InMemoryClient remote = clientFrom("192.0.2.10");
        String reply = remote.send(PING);

        assertThat(reply).startsWith("-DENIED Redis is running in protected mode because protected mode is enabled and"
                + " no password is set for the default user.").endsWith("\r\n");
        assertThat(remote.isOpen()).as("disconnected after the explanation").isFalse();
    }

    @Test
    void aClientFromThisHostIsServed() throws Exception {
        node = SecuredNodes.start(SecurityConfig.defaults());
        node.dispatcher().protectedMode(true);

        InMemoryClient local = clientFrom("127.0.0.1");

        assertThat(local.send(PING)).isEqualTo("+PONG\r\n");
        assertThat(local.isOpen()).isTrue();
    }

    @Test
    void withAPasswordAClientFromAnotherHostMayLogIn() throws Exception {
        node = SecuredNodes.start(SecurityConfig.defaults());
        node.dispatcher().protectedMode(true);
        node.acl().requirePassword("s3cret");

        InMemoryClient remote = clientFrom("192.0.2.11");

        assertThat(remote.send(PING)).isEqualTo("-NOAUTH Authentication required.\r\n");
        assertThat(remote.send("*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n")).isEqualTo("+OK\r\n");
        assertThat(remote.send(PING)).isEqualTo("+PONG\r\n");
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
        assertThat(clientFrom("192.0.2.12").send(PING)).isEqualTo("+PONG\r\n");

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
    private InMemoryClient clientFrom(String ip) throws Exception {
        InMemoryClient c = InMemoryClient.connect(node, ip);
        opened.add(c);
        return c;
    }
}
