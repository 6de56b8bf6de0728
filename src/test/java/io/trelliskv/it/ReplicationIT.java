package io.trelliskv.it;

import io.trelliskv.testing.Members;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer.OrderAnnotation;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * Three real nodes with three replicas of every key ({@code --replication-factor 3}), each a JVM
 * started through {@code bin/trellis} on its own loopback address (127.0.0.21 … 127.0.0.23) and with its
 * own {@code --data-dir}, so a node restarted on the same directory comes back with the same id and
 * tokens. They join one at a time through the first.
 *
 * <h2>One cluster, scenarios in order</h2>
 * Starting JVMs costs more than the scenarios, so the class starts one cluster and runs, in order:
 * <ol>
 *   <li>read-your-writes at ONE on a connection to a node that is not the keys' first replica (every
 *       command is forwarded there);</li>
 *   <li>deletes at QUORUM while 127.0.0.22 is stopped (SIGSTOP): once it is resumed and the hints are
 *       replayed, the keys read as nil at ALL and every replica holds a tombstone, although the stopped
 *       node still held the old values;</li>
 *   <li>hinted handoff: writes at QUORUM, SIGKILL of 127.0.0.23, more writes and some deletes through
 *       the survivors, restart on the same data directory, hints replayed, every replica equal;</li>
 *   <li>with two of the three killed, QUORUM writes are refused at once with UNAVAILABLE and writes at
 *       ONE succeed.</li>
 * </ol>
 *
 * <h2>What is checked from outside</h2>
 * Every keyed command runs on the key's first live replica, so a GET shows what that node holds, not
 * each copy. {@code REPLICAS key} asks every replica for its version of the key; it is the check of
 * per-node copies. {@code INFO replication} gives the hints each coordinator keeps, per target.
 *
 * <h2>Time</h2>
 * Nothing sleeps: every wait polls with a deadline. A node's death is awaited (DEAD on the others)
 * before writing around it: until then the survivors still count it live and forward its keys to it,
 * which fails with TRYAGAIN, as documented for a forward that does not get through.
 */
@TestInstance(Lifecycle.PER_CLASS)
@TestMethodOrder(OrderAnnotation.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReplicationIT {

    private static final int NODES = 3;
    private static final String CLUSTER_NAME = "replication-it";
    /** Keys per batch of writes. */
    private static final int KEYS = 200;
    /** Keys deleted in each delete scenario. */
    private static final int DELETES = 20;

    /** From the last node started to three ALIVE members and three ring nodes on every node. */
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(20);
    /** From SIGKILL to DEAD on the other nodes: a probe failure, then the minimum suspicion timeout. */
    private static final Duration DEAD_TIMEOUT = Duration.ofSeconds(20);
    /** From restart or SIGCONT to every hint delivered (replay backs off up to a few seconds after failures). */
    private static final Duration REPLAY_TIMEOUT = Duration.ofSeconds(30);
    /** The node's default --replica-timeout: UNAVAILABLE must come well before it. */
    private static final long REPLICA_TIMEOUT_MILLIS = 2_000;
    private static final Duration POLL = Duration.ofMillis(100);
    private static final int CLIENT_TIMEOUT_MILLIS = 5_000;

    private static final ProtocolCommand CONSISTENCY = () -> SafeEncoder.encode("CONSISTENCY");

    @TempDir
    static Path tempDir;
    private Path logs;
    private Path home;
    private final List<ReplicaNode> nodes = new ArrayList<>();
    private final Random random = new Random();

    /** A node: where it listens and keeps its identity, its current process, and its id. */
    private static final class ReplicaNode {
        final int index;
        final Endpoint at;
        final Path dataDir;
        TrellisProcess process;
        /** Hex, without leading zeros, as REPLICAS and INFO print it. */
        String id;

        ReplicaNode(int index, Endpoint at, Path dataDir) {
            this.index = index;
            this.at = at;
            this.dataDir = dataDir;
        }

        String address() {
            return at.address();
        }

        /** As REPLICAS names a node. */
        String replicaName() {
            return id + "@" + address();
        }

        Jedis client() {
            return at.client();
        }

        @Override
        public String toString() {
            return "node " + (index + 1) + " (" + id + " at " + address() + ")";
        }
    }

    /** One element of a REPLICAS reply. */
    private record Copy(String node, String state, String version, String kind) {
    }

    @BeforeAll
    void startCluster() throws IOException {
        home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        logs = ClusterIT.logDir("replication-it-logs");
        long seed = System.nanoTime();
        random.setSeed(seed);
        System.out.println("ReplicationIT: random seed " + seed);

        long begin = System.nanoTime();
        for (int i = 0; i < NODES; i++) {
            ReplicaNode node = new ReplicaNode(i, Endpoint.free("127.0.0." + (21 + i), CLIENT_TIMEOUT_MILLIS),
                    Files.createDirectories(tempDir.resolve("data-" + (i + 1))));
            nodes.add(node);
            // One at a time: two nodes taking tokens against the same ring snapshot would pick the same.
            start(node);
            node.id = selfId(node);
            await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> assertThat(
                    clusterInfo(nodes.get(0))).as("INFO cluster of the seed, waiting for %s to take its tokens", node)
                    .containsEntry("ring_nodes", Integer.toString(node.index + 1)));
        }
        System.out.printf("ReplicationIT: %d nodes serving, each on the seed's ring, %d ms after the first exec; "
                + "logs in %s%n", NODES, millisSince(begin), logs.toAbsolutePath());
    }

    /**
     * Starts (or restarts) {@code node} on its address and data directory, joining through node 1, and
     * waits until it serves.
     */
    private void start(ReplicaNode node) throws IOException {
        node.process = node.at.start(home, logs, CLUSTER_NAME, node.index == 0 ? null : nodes.get(0).at,
                "--replication-factor", "3", "--data-dir", node.dataDir.toString());
    }

    @AfterAll
    void stopCluster() {
        for (ReplicaNode node : nodes) {
            if (node.process != null) {
                // A node left stopped by a failed scenario cannot act on SIGTERM until it runs again.
                node.process.signal("CONT");
                node.process.close();
            }
        }
    }

    @Test
    @Order(1)
    void everyNodeSeesThreeAliveMembersAndEveryKeyHasThreeReplicas() {
        awaitAllAlive(nodes);
        assertThat(nodes.stream().map(n -> n.id).distinct()).as("node ids").hasSize(NODES);
        for (ReplicaNode node : nodes) {
            assertThat(replicationInfo(node)).as("INFO replication of %s", node)
                    .containsEntry("replication_factor", "3").containsEntry("hints_pending", "0");
            try (Jedis j = node.client()) {
                assertThat(Endpoint.texts(j.sendCommand(CONSISTENCY))).as("CONSISTENCY (the defaults) on %s", node)
                        .containsExactly("read", "QUORUM", "write", "QUORUM");
            }
        }
        List<Copy> copies = replicas(nodes.get(1), "some:key");
        assertThat(copies).as("REPLICAS some:key").hasSize(NODES)
                .allSatisfy(c -> assertThat(c).isEqualTo(new Copy(c.node(), "alive", "none", "missing")));
        assertThat(copies.stream().map(Copy::node))
                .containsExactlyInAnyOrderElementsOf(nodes.stream().map(ReplicaNode::replicaName).toList());
    }

    /**
     * At ONE a write is acknowledged by its coordinator alone, and a read asks one replica: a read on the
     * same connection must still return that write. The connection is to a node that is not the keys'
     * first replica, so every command is forwarded.
     */
    @Test
    @Order(2)
    void readYourWritesAtOneThroughAForwardingNode() {
        for (ReplicaNode entry : nodes) {
            List<String> keys = keysWhoseFirstReplicaIsNot(entry, "ryw:" + entry.index + ":", KEYS / NODES + 1);
            try (Jedis j = entry.client()) {
                assertThat(consistency(j, "ONE")).isEqualTo("OK");
                for (int round = 0; round < 2; round++) {
                    for (String key : keys) {
                        String value = "v" + round + "-" + Long.toHexString(random.nextLong());
                        assertThat(j.set(key, value)).as("SET %s at ONE through %s", key, entry).isEqualTo("OK");
                        assertThat(j.get(key)).as("GET %s at ONE through %s, right after its SET", key, entry)
                                .isEqualTo(value);
                    }
                }
            }
        }
    }

    /**
     * A delete while a replica is stopped (it still holds the old value, unlike a killed node) reaches
     * it as a hint once it runs again: the tombstone wins and the value never comes back.
     */
    @Test
    @Order(3)
    void deletesWhileAReplicaIsStoppedReachItAsTombstones() {
        ReplicaNode victim = nodes.get(1);
        ReplicaNode via = nodes.get(0);
        List<ReplicaNode> others = List.of(nodes.get(0), nodes.get(2));
        // Keys coordinated by the others: a key whose first replica is stopped would be forwarded to it.
        List<String> keys = keysWhoseFirstReplicaIsNot(victim, "del:", DELETES);
        writeAll(via, keys);
        for (String key : keys) {
            awaitConverged(via, key, "value");
        }

        try {
            victim.process.signal("STOP");
            // One connection for all: a DEL reads first, and the connection's read-your-writes floor for a
            // key can come from an earlier DEL of another key (floors are kept per bucket of keys). Such
            // a DEL waits for every live replica, the stopped one until the replica timeout, and must
            // then still succeed at QUORUM rather than fail with TIMEOUT.
            long slowest = 0;
            try (Jedis j = via.client()) {
                for (String key : keys) {
                    long start = System.nanoTime();
                    assertThat(j.del(key)).as("DEL %s at QUORUM through %s while %s is stopped", key, via, victim)
                            .isEqualTo(1);
                    slowest = Math.max(slowest, millisSince(start));
                }
            }
            System.out.printf("ReplicationIT: %d DELs at QUORUM while %s is stopped, the slowest %d ms%n", DELETES,
                    victim, slowest);
            // The stopped node's copies become hints when its replica writes time out.
            await().atMost(Duration.ofSeconds(10)).pollInterval(POLL).untilAsserted(() ->
                    assertThat(others.stream().mapToLong(n -> hintsFor(n, victim)).sum())
                            .as("hints for the stopped %s on %s", victim, others).isEqualTo(DELETES));
        } finally {
            victim.process.signal("CONT");
        }
        long resumed = System.nanoTime();
        awaitHintsDelivered(others);
        System.out.printf("ReplicationIT: SIGCONT of %s -> %d delete hints delivered after %d ms%n", victim, DELETES,
                millisSince(resumed));

        awaitAllAlive(nodes);
        try (Jedis j = victim.client()) {
            assertThat(consistency(j, "ALL")).isEqualTo("OK");
            for (String key : keys) {
                assertThat(j.get(key)).as("GET %s at ALL through %s after the deletes", key, victim).isNull();
            }
        }
        for (String key : keys) {
            assertThat(replicas(victim, key)).as("REPLICAS %s", key).hasSize(NODES)
                    .allSatisfy(c -> assertThat(c.state() + " " + c.kind()).isEqualTo("alive tombstone"))
                    .extracting(Copy::version).containsOnly(replicas(victim, key).get(0).version());
        }
    }

    /**
     * Hinted handoff: writes and deletes at QUORUM while a replica is dead are kept as hints by the
     * survivors and delivered when it restarts with its identity; then every replica of every key
     * holds the same version.
     *
     * <p>A restarted node comes back empty (the engine keeps data in memory only): the hints give it
     * what was written while it was down, not what it held before. This test brings the keys written
     * before the kill back by a read at ALL (read repair) and prints how many needed it; RepairIT shows
     * anti-entropy doing the same for keys nobody reads.
     */
    @Test
    @Order(4)
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void writesWhileAReplicaIsDeadAreHintedAndReplayedWhenItRestarts() throws IOException {
        ReplicaNode victim = nodes.get(2);
        List<ReplicaNode> survivors = List.of(nodes.get(0), nodes.get(1));
        Map<String, String> before = batch("before:", KEYS);
        writeThroughRandomNodes(nodes, before);
        // Every copy in place before the kill, so no write to the victim is still in flight.
        for (String key : before.keySet()) {
            awaitConverged(nodes.get(0), key, "value");
        }

        long killedAt = System.nanoTime();
        victim.process.process().destroyForcibly();
        awaitState(survivors, victim, "DEAD", DEAD_TIMEOUT);
        System.out.printf("ReplicationIT: SIGKILL of %s -> DEAD on the survivors after %d ms%n", victim,
                millisSince(killedAt));

        Map<String, String> during = batch("during:", KEYS);
        writeThroughRandomNodes(survivors, during);
        List<String> deleted = new ArrayList<>(before.keySet()).subList(0, DELETES);
        try (Jedis j = survivors.get(0).client()) {
            for (String key : deleted) {
                assertThat(j.del(key)).as("DEL %s at QUORUM while %s is dead", key, victim).isEqualTo(1);
            }
        }
        Map<ReplicaNode, Long> pending = new LinkedHashMap<>();
        for (ReplicaNode node : survivors) {
            Map<String, String> info = replicationInfo(node);
            pending.put(node, hintsFor(node, victim));
            assertThat(hintsFor(node, victim)).as("hints for the dead %s on %s: %s", victim, node, info).isPositive();
            assertThat(Long.parseLong(info.get("hints_pending"))).as("hints_pending on %s", node)
                    .isEqualTo(hintsFor(node, victim));
        }
        assertThat(pending.values().stream().mapToLong(Long::longValue).sum())
                .as("hints for %s on the survivors: one per key written or deleted while it was dead", victim)
                .isEqualTo(KEYS + DELETES);
        long replayedBefore = survivors.stream().mapToLong(n -> Long.parseLong(replicationInfo(n)
                .get("hints_replayed"))).sum();

        long restartedAt = System.nanoTime();
        start(victim);
        assertThat(selfId(victim)).as("id of %s restarted on %s", victim, victim.dataDir).isEqualTo(victim.id);
        awaitAllAlive(nodes);
        awaitHintsDelivered(survivors);
        System.out.printf("ReplicationIT: restart of %s -> ALIVE everywhere and %d hints delivered after %d ms%n",
                victim, KEYS + DELETES, millisSince(restartedAt));
        long replayedAfter = survivors.stream().mapToLong(n -> Long.parseLong(replicationInfo(n)
                .get("hints_replayed"))).sum();
        assertThat(replayedAfter - replayedBefore).as("hints_replayed on the survivors").isEqualTo(KEYS + DELETES);

        // What was written or deleted while the node was dead reached it by hints alone.
        for (String key : during.keySet()) {
            assertConverged(victim, key, "value");
        }
        for (String key : deleted) {
            assertConverged(victim, key, "tombstone");
        }
        // What it held before it was killed is lost with its memory; a read at ALL repairs it.
        List<String> kept = before.keySet().stream().filter(k -> !deleted.contains(k)).toList();
        List<String> repaired = kept.stream().filter(k -> !converged(replicas(victim, k), "value")).toList();
        System.out.printf("ReplicationIT: %d of %d keys written before the kill were not on the restarted node; "
                + "repairing them with reads at ALL%n", repaired.size(), kept.size());
        try (Jedis j = survivors.get(0).client()) {
            assertThat(consistency(j, "ALL")).isEqualTo("OK");
            for (String key : repaired) {
                assertThat(j.get(key)).as("GET %s at ALL", key).isEqualTo(before.get(key));
            }
        }
        for (String key : kept) {
            awaitConverged(victim, key, "value");
        }

        Map<String, String> expected = new LinkedHashMap<>(before);
        deleted.forEach(expected::remove);
        expected.putAll(during);
        try (Jedis j = victim.client()) {
            assertThat(consistency(j, "ONE")).isEqualTo("OK");
            for (Map.Entry<String, String> e : expected.entrySet()) {
                assertThat(j.get(e.getKey())).as("GET %s at ONE through the restarted %s", e.getKey(), victim)
                        .isEqualTo(e.getValue());
            }
            for (String key : deleted) {
                assertThat(j.get(key)).as("GET %s (deleted) at ONE through the restarted %s", key, victim).isNull();
            }
        }
    }

    @Test
    @Order(5)
    void withTwoOfThreeDeadQuorumIsUnavailableAtOnceAndOneStillWrites() {
        ReplicaNode survivor = nodes.get(0);
        List<ReplicaNode> victims = List.of(nodes.get(1), nodes.get(2));
        for (ReplicaNode victim : victims) {
            victim.process.process().destroyForcibly();
        }
        for (ReplicaNode victim : victims) {
            awaitState(List.of(survivor), victim, "DEAD", DEAD_TIMEOUT);
        }

        try (Jedis j = survivor.client()) {
            for (int i = 0; i < 10; i++) {
                String key = "alone:" + i;
                long start = System.nanoTime();
                JedisDataException e = catchThrowableOfType(() -> j.set(key, "v"), JedisDataException.class);
                long took = millisSince(start);
                assertThat(e).as("SET %s at QUORUM with one of three replicas alive", key).isNotNull();
                assertThat(e.getMessage()).startsWith("UNAVAILABLE ")
                        .isEqualTo("UNAVAILABLE write of key '" + key + "' at QUORUM needs 2 live replicas, 1 alive");
                assertThat(took).as("ms until UNAVAILABLE for %s", key).isLessThan(REPLICA_TIMEOUT_MILLIS / 4);
            }
            assertThat(consistency(j, "ONE")).isEqualTo("OK");
            for (int i = 0; i < 10; i++) {
                String key = "alone:" + i;
                assertThat(j.set(key, "v" + i)).as("SET %s at ONE with one replica alive", key).isEqualTo("OK");
                assertThat(j.get(key)).as("GET %s at ONE", key).isEqualTo("v" + i);
            }
        }
    }

    // ---- writes ----

    private Map<String, String> batch(String prefix, int count) {
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            values.put(prefix + i, "value-" + i + "-" + Long.toHexString(random.nextLong()));
        }
        return values;
    }

    /** SET of every key at the default level (QUORUM), each through a random node of {@code through}. */
    private void writeThroughRandomNodes(List<ReplicaNode> through, Map<String, String> values) {
        List<Jedis> clients = through.stream().map(ReplicaNode::client).toList();
        try {
            for (Map.Entry<String, String> e : values.entrySet()) {
                int i = random.nextInt(through.size());
                assertThat(clients.get(i).set(e.getKey(), e.getValue())).as("SET %s at QUORUM through %s",
                        e.getKey(), through.get(i)).isEqualTo("OK");
            }
        } finally {
            clients.forEach(Jedis::close);
        }
    }

    private void writeAll(ReplicaNode via, List<String> keys) {
        try (Jedis j = via.client()) {
            for (String key : keys) {
                assertThat(j.set(key, "doomed")).as("SET %s through %s", key, via).isEqualTo("OK");
            }
        }
    }

    /** {@code count} keys {@code prefix0, prefix1, ...} (skipping some) whose first replica is not {@code node}. */
    private List<String> keysWhoseFirstReplicaIsNot(ReplicaNode node, String prefix, int count) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; keys.size() < count; i++) {
            String key = prefix + i;
            if (!replicas(node, key).get(0).node().equals(node.replicaName())) {
                keys.add(key);
            }
        }
        return keys;
    }

    // ---- replicas and hints ----

    /** REPLICAS {@code key} asked of {@code node}. */
    private static List<Copy> replicas(ReplicaNode node, String key) {
        List<Copy> copies = new ArrayList<>();
        for (List<String> f : node.at.replicas(key)) {
            assertThat(f).as("REPLICAS %s element", key).hasSize(4);
            copies.add(new Copy(f.get(0), f.get(1), f.get(2), f.get(3)));
        }
        return copies;
    }

    /** Every replica alive, holding the same version, of {@code kind}. */
    private static boolean converged(List<Copy> copies, String kind) {
        return copies.size() == NODES && copies.stream().allMatch(c -> c.state().equals("alive")
                && c.kind().equals(kind) && c.version().equals(copies.get(0).version()));
    }

    private static void assertConverged(ReplicaNode via, String key, String kind) {
        List<Copy> copies = replicas(via, key);
        assertThat(converged(copies, kind)).as("REPLICAS %s: three alive copies of one version, all %s: %s", key,
                kind, copies).isTrue();
    }

    /** Replication to the other replicas completes in the background after a write at ONE or QUORUM. */
    private static void awaitConverged(ReplicaNode via, String key, String kind) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertConverged(via, key, kind));
    }

    /** Hints {@code holder} keeps for {@code target} (INFO replication {@code hints_peer_<id>}; 0 if none). */
    private static long hintsFor(ReplicaNode holder, ReplicaNode target) {
        return Long.parseLong(replicationInfo(holder).getOrDefault("hints_peer_" + target.id, "0"));
    }

    private void awaitHintsDelivered(List<ReplicaNode> holders) {
        Endpoint.awaitInfo(endpoints(holders), REPLAY_TIMEOUT, "replication", Map.of("hints_pending", "0"));
    }

    // ---- membership ----

    private void awaitAllAlive(List<ReplicaNode> live) {
        Endpoint.awaitInfo(endpoints(live), CONVERGE_TIMEOUT, "cluster",
                Map.of("members_alive", Integer.toString(NODES), "ring_nodes", Integer.toString(NODES)));
    }

    private static List<Endpoint> endpoints(List<ReplicaNode> nodes) {
        return nodes.stream().map(n -> n.at).toList();
    }

    /** Waits until every observer's MEMBERS shows {@code target} in {@code state}. */
    private static void awaitState(List<ReplicaNode> observers, ReplicaNode target, String state, Duration timeout) {
        await().atMost(timeout).pollInterval(POLL).untilAsserted(() -> {
            for (ReplicaNode observer : observers) {
                assertThat(stateOf(observer, target)).as("state of %s seen by %s", target, observer).isEqualTo(state);
            }
        });
    }

    /** The state column of {@code target}'s row in {@code observer}'s MEMBERS. */
    private static String stateOf(ReplicaNode observer, ReplicaNode target) {
        String text = observer.at.members();
        String state = Members.stateOf(text, String.format("%016x", Long.parseUnsignedLong(target.id, 16)));
        if (state == null) {
            throw new AssertionError("no MEMBERS row for " + target + " on " + observer + ":\n" + text);
        }
        return state;
    }

    /** The node's id as REPLICAS and INFO print it (MEMBERS pads it to 16 digits). */
    private static String selfId(ReplicaNode node) {
        return Long.toHexString(Long.parseUnsignedLong(node.at.selfId(), 16));
    }

    // ---- plumbing ----

    private static String consistency(Jedis j, String level) {
        return Endpoint.text(j.sendCommand(CONSISTENCY, level));
    }

    private static Map<String, String> clusterInfo(ReplicaNode node) {
        return node.at.info("cluster");
    }

    private static Map<String, String> replicationInfo(ReplicaNode node) {
        return node.at.info("replication");
    }

    private static long millisSince(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
    }
}
