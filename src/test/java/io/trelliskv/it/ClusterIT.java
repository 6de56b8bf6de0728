package io.trelliskv.it;

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
import redis.clients.jedis.exceptions.JedisDataException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * Five real nodes, each a JVM started through {@code bin/trellis} and bound to its own loopback address
 * (127.0.0.11 … 127.0.0.15), all joining through the first: membership converges, keyed commands reach
 * their owner from any node, and the three ways a node goes away — SIGKILL (DEAD), SIGSTOP then SIGCONT
 * (SUSPECT, then ALIVE again by refutation) and SIGTERM (LEFT) — are seen by every other node.
 *
 * <h2>One cluster, scenarios in order</h2>
 * Starting five JVMs on a small machine costs more than every scenario together, so the class starts
 * one cluster and runs the scenarios in a fixed order, each on a different victim that is never the
 * seed: 127.0.0.15 is killed, 127.0.0.14 stopped and resumed, 127.0.0.13 terminated. A scenario only
 * relies on nodes the earlier ones left live.
 *
 * <h2>Who owns a key</h2>
 * The nodes run with {@code --replication-factor 1}: this test is about single-owner routing, not
 * replication (that is {@link ReplicationIT}), so each key lives only on its owner. KEYS is not routed,
 * so {@code KEYS *} on each node lists exactly the keys that node owns. The test learns ownership that
 * way, from outside, rather than by recomputing the ring with the product's own hash; and a killed
 * owner's keys fail with CLUSTERDOWN because no other node holds a copy.
 *
 * <h2>Time</h2>
 * Nothing sleeps: every wait polls with a deadline. The times from a signal to what the other nodes
 * see are measured per observer and printed, so a slow detector shows in the test output before it
 * breaks a deadline.
 */
@TestInstance(Lifecycle.PER_CLASS)
@TestMethodOrder(OrderAnnotation.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClusterIT {

    /** Nodes in the cluster; node 0 is the seed the others join through. */
    private static final int NODES = 5;
    /** Small C1-only JVMs with a serial collector: five of them share two cores. */
    static final String JAVA_OPTS = "-Xmx128m -Xss512k -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "
            + "-XX:CICompilerCount=1 -XX:ActiveProcessorCount=1";
    /** Launcher that sets {@link #JAVA_OPTS} and runs the real {@code bin/trellis}. */
    static final String LAUNCHER = "trellis-small";
    private static final String CLUSTER_NAME = "cluster-it";
    /** Keys written in the data scenario. */
    private static final int KEYS = 200;

    /** From the last node started to five ALIVE members and five ring nodes on every node. */
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(20);
    /** From SIGKILL to DEAD on every other node: suspicion (4 × log10(5) s at least) plus gossip. */
    private static final Duration DEAD_TIMEOUT = Duration.ofSeconds(20);
    /** From SIGSTOP to SUSPECT or DEAD on every other node: a few probe periods. */
    private static final Duration SUSPECT_TIMEOUT = Duration.ofSeconds(15);
    /** From SIGCONT to ALIVE everywhere: the resumed node learns it is suspected and refutes. */
    private static final Duration REFUTE_TIMEOUT = Duration.ofSeconds(15);
    /** From SIGTERM to LEFT on every other node: the leave is broadcast before the node exits. */
    private static final Duration LEFT_TIMEOUT = Duration.ofSeconds(5);
    /** How fast a key whose owner is down must fail: without waiting for a forward to time out. */
    private static final long CLUSTERDOWN_MILLIS = 1_000;
    private static final Duration POLL = Duration.ofMillis(100);
    private static final int CLIENT_TIMEOUT_MILLIS = 3_000;

    @TempDir
    static Path stagingDir;
    private Path logs;
    private Path home;
    private final List<ClusterNode> nodes = new ArrayList<>();
    /** Every key written and not deleted, with its value. */
    private final Map<String, String> written = new LinkedHashMap<>();
    /** Owner node id (hex, as MEMBERS prints it) of every key in {@link #written}. */
    private final Map<String, String> ownerOf = new HashMap<>();

    /** A started node: its process, where it listens, and the id it reported for itself. */
    private static final class ClusterNode {
        final int index;
        final Endpoint at;
        final TrellisProcess process;
        String id;

        ClusterNode(int index, Endpoint at, TrellisProcess process) {
            this.index = index;
            this.at = at;
            this.process = process;
        }

        String address() {
            return at.address();
        }

        Jedis client() {
            return at.client();
        }

        @Override
        public String toString() {
            return "node " + (index + 1) + " (" + id + " at " + address() + ")";
        }
    }

    /** One row of MEMBERS. */
    private record MemberRow(String id, String address, String state, long incarnation) {
    }

    @BeforeAll
    void startCluster() throws IOException {
        home = stageSmallNodeHome(stagingDir.resolve("home"));
        logs = logDir("cluster-it-logs");

        long begin = System.nanoTime();
        ClusterNode seed = launch(0, null);
        for (int i = 1; i < NODES; i++) {
            awaitJoined(nodes.get(i - 1), seed);
            launch(i, seed);
        }
        awaitJoined(nodes.get(NODES - 1), seed);
        System.out.printf("ClusterIT: %d nodes serving, each on the seed's ring, %d ms after the first exec; "
                + "logs in %s%n", NODES, millisSince(begin), logs.toAbsolutePath());
    }

    /**
     * Waits until {@code node}'s tokens are on the seed's ring, and learns its id. Nodes join
     * one at a time: two nodes that take tokens against the same ring snapshot pick the same tokens
     * (TokenAllocator is deterministic for a given ring), TokenRing.of rejects the ring, and
     * ClusterState.rebuildRing fails on every later event, leaving ring_nodes below the member count.
     */
    private void awaitJoined(ClusterNode node, ClusterNode seed) {
        node.id = selfId(node);
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> assertThat(clusterInfo(seed))
                .as("INFO cluster of the seed, waiting for %s to take its tokens", node)
                .containsEntry("ring_nodes", Integer.toString(node.index + 1)));
    }

    /**
     * Stages a TrellisKV home ({@link TrellisProcess#stageHome}) with a {@link #LAUNCHER} that runs the
     * real {@code bin/trellis} with {@link #JAVA_OPTS} (TrellisProcess sets larger defaults).
     */
    static Path stageSmallNodeHome(Path dir) throws IOException {
        Path home = TrellisProcess.stageHome(dir);
        Path launcher = home.resolve("bin").resolve(LAUNCHER);
        Files.writeString(launcher, "#!/bin/sh\nTRELLIS_JAVA_OPTS='" + JAVA_OPTS + "'\nexport TRELLIS_JAVA_OPTS\n"
                + "exec \"$(dirname \"$0\")/trellis\" \"$@\"\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        return home;
    }

    /** A fresh directory under target/ for the nodes' logs, kept so they can be read after a failure. */
    static Path logDir(String name) throws IOException {
        return Files.createDirectories(Path.of("target", name, Long.toString(System.currentTimeMillis())));
    }

    /** Starts node {@code index} on its own address, joining through {@code seed} (null: none), once it serves. */
    private ClusterNode launch(int index, ClusterNode seed) throws IOException {
        Endpoint at = Endpoint.free("127.0.0." + (11 + index), CLIENT_TIMEOUT_MILLIS);
        TrellisProcess process = at.start(home, logs, CLUSTER_NAME, seed == null ? null : seed.at,
                "--replication-factor", "1");
        ClusterNode node = new ClusterNode(index, at, process);
        nodes.add(node);
        return node;
    }

    @AfterAll
    void stopCluster() {
        for (ClusterNode node : nodes) {
            // A node left stopped by a failed scenario cannot act on SIGTERM until it runs again.
            node.process.signal("CONT");
            node.process.close();
        }
    }

    @Test
    @Order(1)
    void everyNodeSeesFiveAliveMembersAndFiveRingNodes() {
        long begin = System.nanoTime();
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (ClusterNode node : nodes) {
                Map<String, String> info = clusterInfo(node);
                assertThat(info).as("INFO cluster of %s", node.address())
                        .containsEntry("members_alive", "5").containsEntry("members_suspect", "0")
                        .containsEntry("members_dead", "0").containsEntry("members_left", "0")
                        .containsEntry("ring_nodes", "5");
                List<MemberRow> rows = members(node);
                assertThat(rows).as("MEMBERS of %s", node.address()).hasSize(NODES)
                        .allSatisfy(r -> assertThat(r.state()).isEqualTo("ALIVE"));
                assertThat(rows.stream().map(MemberRow::address))
                        .containsExactlyInAnyOrderElementsOf(nodes.stream().map(ClusterNode::address).toList());
            }
        });
        System.out.printf("ClusterIT: five ALIVE members and ring_nodes=5 on every node %d ms after the last "
                + "join%n", millisSince(begin));
        assertThat(nodes.stream().map(n -> n.id).distinct()).as("node ids").hasSize(NODES);
    }

    @Test
    @Order(2)
    void keysWrittenThroughAnyNodeAreReadableThroughEveryNode() {
        long seed = System.nanoTime();
        System.out.println("ClusterIT: data scenario random seed " + seed);
        Random random = new Random(seed);
        for (int i = 0; i < KEYS; i++) {
            String key = "key:" + i;
            String value = "value-" + i + "-" + Long.toHexString(random.nextLong());
            ClusterNode via = nodes.get(random.nextInt(NODES));
            try (Jedis j = via.client()) {
                assertThat(j.set(key, value)).as("SET %s through %s", key, via).isEqualTo("OK");
            }
            written.put(key, value);
        }
        learnOwners(nodes);
        assertThat(ownerOf.values().stream().distinct().count()).as("nodes owning some of %d keys", KEYS)
                .isEqualTo(NODES);
        assertReadableThroughEveryNode(nodes, written.keySet());
        for (ClusterNode node : nodes) {
            assertThat(Long.parseLong(clusterInfo(node).get("forwarded_requests")))
                    .as("forwarded_requests of %s, after reading keys it does not own", node).isPositive();
        }

        // MGET across every owner, in an order unrelated to the ring, with a missing key in the middle.
        List<String> mgetKeys = new ArrayList<>(written.keySet()).subList(0, 60);
        Collections.shuffle(mgetKeys, random);
        mgetKeys.add(30, "missing:key");
        List<String> expected = mgetKeys.stream().map(written::get).toList();
        assertThat(mgetKeys.stream().map(ownerOf::get).filter(o -> o != null).distinct().count())
                .as("owners of the MGET keys").isGreaterThanOrEqualTo(3);
        try (Jedis j = nodes.get(0).client()) {
            assertThat(j.mget(mgetKeys.toArray(String[]::new))).as("MGET of %s", mgetKeys).isEqualTo(expected);
        }

        // DEL of two keys from each of three owners and one key that does not exist.
        Map<String, List<String>> byOwner = keysByOwner();
        List<String> owners = new ArrayList<>(byOwner.keySet()).subList(0, 3);
        List<String> doomed = new ArrayList<>();
        for (String owner : owners) {
            doomed.addAll(byOwner.get(owner).subList(0, 2));
        }
        List<String> delKeys = new ArrayList<>(doomed);
        delKeys.add(1, "missing:key");
        try (Jedis j = nodes.get(1).client()) {
            assertThat(j.del(delKeys.toArray(String[]::new))).as("DEL %s (owners %s)", delKeys, owners)
                    .isEqualTo(doomed.size());
        }
        for (ClusterNode node : nodes) {
            try (Jedis j = node.client()) {
                assertThat(j.exists(doomed.toArray(String[]::new))).as("EXISTS of deleted keys through %s", node)
                        .isZero();
            }
        }
        doomed.forEach(k -> {
            written.remove(k);
            ownerOf.remove(k);
        });
    }

    @Test
    @Order(3)
    void aKilledNodeIsDeadEverywhereAndOnlyItsKeysFail() {
        ClusterNode victim = nodes.get(4);
        List<ClusterNode> others = List.of(nodes.get(0), nodes.get(1), nodes.get(2), nodes.get(3));

        long begin = System.nanoTime();
        victim.process.process().destroyForcibly();
        Map<ClusterNode, Long> suspectAfter = new LinkedHashMap<>();
        Map<ClusterNode, Long> deadAfter = awaitStateEverywhere(others, victim, Set.of("DEAD"), DEAD_TIMEOUT,
                begin, Set.of("SUSPECT"), suspectAfter);
        System.out.printf("ClusterIT: SIGKILL of %s -> SUSPECT after %s ms, DEAD after %s ms (per observer)%n",
                victim, byAddress(suspectAfter), byAddress(deadAfter));

        Map<String, List<String>> byOwner = keysByOwner();
        List<String> victimKeys = byOwner.getOrDefault(victim.id, List.of());
        List<String> otherKeys = written.keySet().stream().filter(k -> !victim.id.equals(ownerOf.get(k))).toList();
        assertThat(victimKeys).as("keys owned by the killed node").isNotEmpty();
        assertReadableThroughEveryNode(others, otherKeys);

        String owners = Long.toHexString(Long.parseUnsignedLong(victim.id, 16)) + "@" + victim.address();
        for (ClusterNode node : others) {
            try (Jedis j = node.client()) {
                for (String key : victimKeys.subList(0, Math.min(5, victimKeys.size()))) {
                    long start = System.nanoTime();
                    JedisDataException e = catchThrowableOfType(() -> j.get(key), JedisDataException.class);
                    long took = millisSince(start);
                    assertThat(e).as("GET %s (owned by the killed node) through %s", key, node).isNotNull();
                    assertThat(e.getMessage()).isEqualTo(
                            "CLUSTERDOWN no reachable owner for key '" + key + "' (owners: " + owners + ")");
                    assertThat(took).as("ms until CLUSTERDOWN for %s through %s", key, node)
                            .isLessThan(CLUSTERDOWN_MILLIS);
                }
            }
        }
        victimKeys.forEach(k -> {
            written.remove(k);
            ownerOf.remove(k);
        });
    }

    @Test
    @Order(4)
    void aStoppedNodeIsSuspectedThenRefutesWhenResumed() {
        ClusterNode victim = nodes.get(3);
        List<ClusterNode> others = List.of(nodes.get(0), nodes.get(1), nodes.get(2));
        long incarnationBefore = row(members(others.get(0)), victim).incarnation();
        List<String> victimKeys = keysByOwner().getOrDefault(victim.id, List.of());
        assertThat(victimKeys).as("keys owned by the node to stop").isNotEmpty();

        long stoppedAt = System.nanoTime();
        try {
            victim.process.signal("STOP");
            Map<ClusterNode, Long> suspectAfter = awaitStateEverywhere(others, victim, Set.of("SUSPECT", "DEAD"),
                    SUSPECT_TIMEOUT, stoppedAt, Set.of(), new HashMap<>());
            System.out.printf("ClusterIT: SIGSTOP of %s -> SUSPECT or DEAD after %s ms (per observer)%n", victim,
                    byAddress(suspectAfter));
        } finally {
            victim.process.signal("CONT");
        }

        long resumedAt = System.nanoTime();
        List<ClusterNode> live = List.of(nodes.get(0), nodes.get(1), nodes.get(2), victim);
        await().atMost(REFUTE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (ClusterNode node : live) {
                MemberRow r = row(members(node), victim);
                assertThat(r.state()).as("state of %s seen by %s", victim, node).isEqualTo("ALIVE");
                if (node != victim) {
                    assertThat(r.incarnation()).as("incarnation of %s seen by %s (was %d before SIGSTOP)", victim,
                            node, incarnationBefore).isGreaterThan(incarnationBefore);
                }
            }
        });
        System.out.printf("ClusterIT: SIGCONT of %s -> ALIVE with a higher incarnation everywhere after %d ms%n",
                victim, millisSince(resumedAt));
        assertReadableThroughEveryNode(live, victimKeys);
    }

    /** After the refutation above, the refuting node's own MEMBERS row shows the incarnation it refuted with. */
    @Test
    @Order(5)
    void aRefutingNodeShowsItsNewIncarnationInItsOwnMembers() {
        ClusterNode victim = nodes.get(3);
        long seenByOthers = row(members(nodes.get(0)), victim).incarnation();
        assertThat(row(members(victim), victim).incarnation()).as("incarnation of %s in its own MEMBERS", victim)
                .isEqualTo(seenByOthers);
    }

    @Test
    @Order(6)
    void aTerminatedNodeIsLeftNotDead() {
        ClusterNode victim = nodes.get(2);
        List<ClusterNode> others = List.of(nodes.get(0), nodes.get(1), nodes.get(3));

        long begin = System.nanoTime();
        victim.process.process().destroy();
        Map<ClusterNode, Long> suspectAfter = new HashMap<>();
        Map<ClusterNode, Long> leftAfter = awaitStateEverywhere(others, victim, Set.of("LEFT"), LEFT_TIMEOUT, begin,
                Set.of("SUSPECT"), suspectAfter);
        System.out.printf("ClusterIT: SIGTERM of %s -> LEFT after %s ms (per observer; first seen SUSPECT or LEFT "
                + "after %s ms)%n", victim, byAddress(leftAfter), byAddress(suspectAfter));

        assertThat(victim.process.stop()).as("exit status after SIGTERM; stderr:\n%s", victim.process.stderr())
                .isEqualTo(143);
        for (ClusterNode node : others) {
            // The killed node is DEAD and keeps its tokens; the node that left gives its tokens up.
            assertThat(clusterInfo(node)).as("INFO cluster of %s", node)
                    .containsEntry("members_alive", "3").containsEntry("members_left", "1")
                    .containsEntry("members_dead", "1").containsEntry("ring_nodes", "4");
        }
    }

    /**
     * Polls every observer's MEMBERS until each sees {@code target} in one of {@code wanted}; returns the
     * milliseconds since {@code since} at which each first did. A state in neither {@code wanted} nor
     * {@code passing} (nor ALIVE) fails at once; the first sighting of each observer in a passing state
     * is recorded in {@code passed}.
     */
    private Map<ClusterNode, Long> awaitStateEverywhere(List<ClusterNode> observers, ClusterNode target,
            Set<String> wanted, Duration timeout, long since, Set<String> passing, Map<ClusterNode, Long> passed) {
        Map<ClusterNode, Long> reached = new LinkedHashMap<>();
        await().atMost(timeout).pollInterval(POLL).untilAsserted(() -> {
            for (ClusterNode observer : observers) {
                if (reached.containsKey(observer)) {
                    continue;
                }
                String state = row(members(observer), target).state();
                long now = millisSince(since);
                if (wanted.contains(state)) {
                    reached.put(observer, now);
                    passed.putIfAbsent(observer, now);
                } else if (passing.contains(state)) {
                    passed.putIfAbsent(observer, now);
                } else if (!state.equals("ALIVE")) {
                    throw new IllegalStateException(observer + " sees " + target + " " + state + " after " + now
                            + " ms; expected " + wanted);
                }
            }
            assertThat(reached.keySet()).as("observers that see %s %s (after ms: %s)", target, wanted,
                    byAddress(reached)).containsExactlyInAnyOrderElementsOf(observers);
        });
        return reached;
    }

    /** Reads every key through every node in {@code through}, expecting the value written. */
    private void assertReadableThroughEveryNode(List<ClusterNode> through, Iterable<String> keys) {
        for (ClusterNode node : through) {
            try (Jedis j = node.client()) {
                for (String key : keys) {
                    assertThat(j.get(key)).as("GET %s (owner %s) through %s", key, ownerOf.get(key), node)
                            .isEqualTo(written.get(key));
                }
            }
        }
    }

    /** Fills {@link #ownerOf} from {@code KEYS *} on each node, checking each key has exactly one owner. */
    private void learnOwners(List<ClusterNode> from) {
        Map<String, List<String>> holders = new HashMap<>();
        for (ClusterNode node : from) {
            try (Jedis j = node.client()) {
                for (String key : j.keys("*")) {
                    holders.computeIfAbsent(key, k -> new ArrayList<>()).add(node.id);
                }
            }
        }
        assertThat(holders.keySet()).as("keys held by the nodes").containsExactlyInAnyOrderElementsOf(written.keySet());
        holders.forEach((key, ids) -> {
            assertThat(ids).as("nodes holding %s (one copy at replication factor 1)", key).hasSize(1);
            ownerOf.put(key, ids.get(0));
        });
    }

    /** Keys still written, grouped by owner id, owners in id order. */
    private Map<String, List<String>> keysByOwner() {
        return written.keySet().stream().collect(Collectors.groupingBy(ownerOf::get, TreeMap::new,
                Collectors.toList()));
    }

    private static Map<String, String> clusterInfo(ClusterNode node) {
        return node.at.info("cluster");
    }

    /** MEMBERS of {@code node}: a header, then {@code id address state incarnation ownership [(this node)]}. */
    private static List<MemberRow> members(ClusterNode node) {
        String text = node.at.members();
        List<MemberRow> rows = new ArrayList<>();
        for (String line : text.split("\r?\n")) {
            if (line.isBlank() || line.startsWith("node ")) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            assertThat(f.length).as("MEMBERS line of %s: %s", node.address(), line).isGreaterThanOrEqualTo(5);
            rows.add(new MemberRow(f[0], f[1], f[2], Long.parseLong(f[3])));
        }
        return rows;
    }

    private static String selfId(ClusterNode node) {
        return node.at.selfId();
    }

    private static MemberRow row(List<MemberRow> rows, ClusterNode target) {
        return rows.stream().filter(r -> r.id().equals(target.id)).findFirst()
                .orElseThrow(() -> new AssertionError("no MEMBERS row for " + target + " in " + rows));
    }

    private static Map<String, Long> byAddress(Map<ClusterNode, Long> times) {
        Map<String, Long> out = new TreeMap<>();
        times.forEach((n, t) -> out.put(n.at.host(), t));
        return out;
    }

    private static long millisSince(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
    }
}
