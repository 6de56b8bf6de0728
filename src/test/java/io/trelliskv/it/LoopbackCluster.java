package io.trelliskv.it;

import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A started cluster of real nodes for process tests that are about what clients see rather than
 * about membership: each node a JVM started through {@code bin/trellis} (the small-JVM launcher of
 * {@link ClusterIT}) on its own loopback address, with the node defaults (three replicas, QUORUM)
 * unless the caller adds flags. {@link #start} returns only once every node sees every other ALIVE and
 * has every node's tokens on its ring; if anything fails before that, what was started is stopped and
 * the failure is thrown, so a test never holds a half-started cluster.
 *
 * <p>Nodes join one at a time through the first: two nodes taking tokens against the same ring
 * snapshot would pick the same tokens (see {@link ClusterIT}). Every node is stopped through its own
 * process handle (SIGTERM, then SIGKILL), never by name.
 */
final class LoopbackCluster implements AutoCloseable {

    /** From a node serving to its tokens on the seed's ring, and from the last join to all ALIVE everywhere. */
    static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(100);
    /** Socket timeout of the Jedis clients {@link Node#client()} opens. */
    static final int CLIENT_TIMEOUT_MILLIS = 10_000;

    private static final ProtocolCommand CONSISTENCY = () -> SafeEncoder.encode("CONSISTENCY");

    /** A serving node of the cluster. */
    record Node(int index, Endpoint at, TrellisProcess process) {

        String host() {
            return at.host();
        }

        int port() {
            return at.port();
        }

        String address() {
            return at.address();
        }

        /** A new Jedis connection to this node; the caller closes it. */
        Jedis client() {
            return at.client();
        }

        @Override
        public String toString() {
            return "node " + (index + 1) + " (" + address() + ")";
        }
    }

    private final List<Node> nodes;
    private final Path logs;

    private LoopbackCluster(List<Node> nodes, Path logs) {
        this.nodes = List.copyOf(nodes);
        this.logs = logs;
    }

    /**
     * Starts one node on each of {@code hosts} (loopback addresses of the caller's own range), named
     * {@code clusterName}, with {@code extraArgs} added to every node's command line; logs go to
     * {@code target/<clusterName>-logs/<millis>/}.
     */
    static LoopbackCluster start(String clusterName, Path stagingDir, List<String> hosts, String... extraArgs)
            throws IOException {
        Path home = ClusterIT.stageSmallNodeHome(stagingDir.resolve("home"));
        Path logs = ClusterIT.logDir(clusterName + "-logs");
        List<Node> started = new ArrayList<>();
        try {
            for (int i = 0; i < hosts.size(); i++) {
                Endpoint at = Endpoint.free(hosts.get(i), CLIENT_TIMEOUT_MILLIS);
                Node node = new Node(i, at,
                        at.start(home, logs, clusterName, i == 0 ? null : started.get(0).at(), extraArgs));
                started.add(node);
                int ringNodes = i + 1;
                await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> assertThat(
                        started.get(0).at().info("cluster"))
                        .as("INFO cluster of the seed, waiting for %s to take its tokens", node)
                        .containsEntry("ring_nodes", Integer.toString(ringNodes)));
            }
            LoopbackCluster cluster = new LoopbackCluster(started, logs);
            cluster.awaitAllAlive();
            return cluster;
        } catch (RuntimeException | Error e) {
            started.forEach(n -> n.process().close());
            throw e;
        }
    }

    /** Waits until every node counts every node ALIVE and on its ring. */
    void awaitAllAlive() {
        String size = Integer.toString(nodes.size());
        Endpoint.awaitInfo(nodes.stream().map(Node::at).toList(), CONVERGE_TIMEOUT, "cluster",
                Map.of("members_alive", size, "ring_nodes", size));
    }

    List<Node> nodes() {
        return nodes;
    }

    Node node(int index) {
        return nodes.get(index);
    }

    /** The node after {@code node} (the first after the last): another node to read back through. */
    Node next(Node node) {
        return nodes.get((node.index() + 1) % nodes.size());
    }

    /** Where the nodes' stdout and stderr are kept (and where tests may leave files to replay a failure). */
    Path logs() {
        return logs;
    }

    /** {@code CONSISTENCY level} on {@code j}'s connection: the read and write levels of its later commands. */
    static void consistency(Jedis j, String level) {
        Object reply = j.sendCommand(CONSISTENCY, level);
        assertThat(SafeEncoder.encode((byte[]) reply)).as("CONSISTENCY %s", level).isEqualTo("OK");
    }

    /** Stops every node (SIGTERM, then SIGKILL after {@link TrellisProcess#STOP_TIMEOUT}). */
    @Override
    public void close() {
        nodes.forEach(n -> n.process().close());
    }
}
