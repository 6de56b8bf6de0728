package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Address;
import io.trelliskv.membership.MemberState;
import io.trelliskv.testing.InfoFields;
import io.trelliskv.testing.SecuredNodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Nodes with a cluster secret and a gossip key form a cluster; a node with the wrong ones, pointed at the
 * same seed, cannot join: its peer hellos are refused, and the members never count it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClusterSecurityTest {

    @TempDir
    Path dir;
    private final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        nodes.forEach(Node::close);
    }

    private Node start(List<Address> seeds, Path secret, Path gossipKeys) throws IOException {
        return start(seeds, secret, gossipKeys, null);
    }

    private Node start(List<Address> seeds, Path secret, Path gossipKeys, Path aclFile) throws IOException {
        Node node = SecuredNodes.start(new SecurityConfig(null, aclFile, true, null, gossipKeys, secret),
                new ClusterConfig("test", seeds, null, 16, null));
        nodes.add(node);
        return node;
    }

    private Path file(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void aNodeWithoutTheSecretCannotJoin() throws IOException {
        Path secret = file("secret", "the right cluster secret\n");
        Path keys = file("keys", Base64.getEncoder().encodeToString(new byte[32]) + "\n");
        byte[] otherKey = new byte[32];
        otherKey[0] = 7;
        Path wrongSecret = file("wrong-secret", "not the cluster's secret\n");
        Path wrongKeys = file("wrong-keys", Base64.getEncoder().encodeToString(otherKey) + "\n");

        Node a = start(List.of(), secret, keys);
        Address seed = new Address("127.0.0.1", a.address().getPort());
        Node b = start(List.of(seed), secret, keys);
        await().atMost(Duration.ofSeconds(20)).until(() -> a.clusterState().count(MemberState.ALIVE) == 2
                && b.clusterState().count(MemberState.ALIVE) == 2 && a.clusterState().ring().nodes().size() == 2
                && b.clusterState().ring().nodes().size() == 2);

        Node impostor = start(List.of(seed), wrongSecret, wrongKeys);
        // The impostor's join reaches the seed and is refused: wait until it has failed a few times
        // (its INFO counts the failed peer requests; forged gossip is GossipTransportTest's).
        try (Jedis j = new Jedis("127.0.0.1", impostor.address().getPort(), 5000)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> Long.parseLong(InfoFields.parse(j.info("cluster"))
                    .getOrDefault("peer_request_failures", "0")) >= 2);
        }
        assertThat(a.clusterState().count(MemberState.ALIVE)).isEqualTo(2);
        assertThat(a.clusterState().ring().nodes()).hasSize(2);
        assertThat(b.clusterState().ring().nodes()).hasSize(2);
        assertThat(impostor.clusterState().ring().nodes()).as("the impostor never joined a ring").isEmpty();
        assertThat(impostor.clusterState().count(MemberState.ALIVE)).as("and knows no member but itself").isEqualTo(1);
    }

    /**
     * A command forwarded to the node that coordinates its key runs there with the client's user as that node
     * defines it: where the two nodes' ACL files differ, the owner's rules decide. Read-modify-write commands
     * (INCR) go to their key's first live replica, so of a pipeline of them on one connection about half are
     * forwarded.
     */
    @Test
    void aForwardedCommandRunsWithTheClientsUserAsTheOwnerDefinesIt() throws IOException {
        Path secret = file("secret", "the right cluster secret\n");
        Path wide = file("wide.acl", "user default on nopass ~* +@all\nuser alice on >alice-pw ~* +@all\n");
        Path narrow = file("narrow.acl", "user default on nopass ~* +@all\nuser alice on >alice-pw ~a* +@all\n");
        Node a = start(List.of(), secret, null, wide);
        Node b = start(List.of(new Address("127.0.0.1", a.address().getPort())), secret, null, narrow);
        await().atMost(Duration.ofSeconds(20)).until(() -> a.clusterState().ring().nodes().size() == 2
                && b.clusterState().ring().nodes().size() == 2);

        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            keys.add("b" + i);
        }
        List<Object> replies;
        try (Jedis j = new Jedis("127.0.0.1", a.address().getPort(), 5000)) {
            j.auth("alice", "alice-pw");
            var pipeline = j.pipelined();
            keys.forEach(pipeline::incr);
            replies = pipeline.syncAndReturnAll();
        }
        List<String> ran = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            Object r = replies.get(i);
            if (r instanceof Long one) {
                assertThat(one).isEqualTo(1L);
                ran.add(keys.get(i));
            } else {
                assertThat(r).isInstanceOf(Exception.class).asString().contains("NOPERM this user has no"
                        + " permissions to access one of the keys");
                refused.add(keys.get(i));
            }
        }
        assertThat(ran).as("coordinated where alice may write every key").isNotEmpty();
        assertThat(refused).as("coordinated where alice may write a* only").isNotEmpty();
        try (Jedis j = new Jedis("127.0.0.1", b.address().getPort(), 5000)) {
            for (String k : refused) {
                assertThat(j.get(k)).as("a refused command ran nowhere: " + k).isNull();
            }
            assertThat(j.aclLog().toString()).contains("forwarded-by=" + Long.toHexString(a.nodeId()));
        }
    }
}
