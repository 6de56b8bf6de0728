package io.trelliskv.it;

import io.trelliskv.testing.InfoFields;
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
    record Node(int index, String host, int port, TrellisProcess process) {

        String address() {
            return host + ":" + port;
        }

        /** A new Jedis connection to this node; the caller closes it. */
        Jedis client() {
            return new Jedis(host, port, CLIENT_TIMEOUT_MILLIS);
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
                String host = hosts.get(i);
                int port = ClusterIT.freePort(host);
                List<String> args = new ArrayList<>(List.of(Integer.toString(port)));
                if (i > 0) {
                    args.add(started.get(0).address());
                }
                args.addAll(List.of("--host", host, "--cluster-name", clusterName));
                args.addAll(List.of(extraArgs));
                Node node = new Node(i, host, port,
                        TrellisProcess.launch(home, logs, ClusterIT.LAUNCHER, args.toArray(String[]::new)));
                started.add(node);
                awaitServing(node);
                int ringNodes = i + 1;
                await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> assertThat(
                        clusterInfo(started.get(0))).as("INFO cluster of the seed, waiting for %s to take its tokens",
                        node).containsEntry("ring_nodes", Integer.toString(ringNodes)));
            }
            LoopbackCluster cluster = new LoopbackCluster(started, logs);
            cluster.awaitAllAlive();
            return cluster;
        } catch (RuntimeException | Error e) {
            started.forEach(n -> n.process().close());
            throw e;
        }
    }

    private static void awaitServing(Node node) {
        await().atMost(TrellisProcess.START_TIMEOUT).pollInterval(POLL).until(() -> {
            Process p = node.process().process();
            if (!p.isAlive()) {
                throw new AssertionError(node + " exited with status " + p.exitValue() + " before serving; stderr:\n"
                        + node.process().stderr());
            }
            return ClusterIT.answersPing(node.host(), node.port());
        });
    }

    /** Waits until every node counts every node ALIVE and on its ring. */
    void awaitAllAlive() {
        String size = Integer.toString(nodes.size());
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (Node node : nodes) {
                assertThat(clusterInfo(node)).as("INFO cluster of %s", node)
                        .containsEntry("members_alive", size).containsEntry("ring_nodes", size);
            }
        });
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

    private static Map<String, String> clusterInfo(Node node) {
        try (Jedis j = node.client()) {
            return InfoFields.parse(j.info("cluster"));
        }
    }

    /** Stops every node (SIGTERM, then SIGKILL after {@link TrellisProcess#STOP_TIMEOUT}). */
    @Override
    public void close() {
        nodes.forEach(n -> n.process().close());
    }
}
