package io.trelliskv.it;

import io.trelliskv.testing.InfoFields;
import io.trelliskv.testing.Members;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * FLUSHALL is cluster-wide and final: three real nodes ({@code --replication-factor 3}) on 127.0.0.81 …
 * 127.0.0.83, periodic anti-entropy off so that only REPAIR runs it.
 *
 * <ol>
 *   <li>Keys written and some deleted at QUORUM, every copy in place; FLUSHALL through one node answers
 *       OK, after which DBSIZE is 0 on every node, all three show the same flush floor, and neither a
 *       REPAIR of every node nor reads at ALL bring anything back. A write after the flush stays.</li>
 *   <li>The third node stopped (SIGSTOP) and FLUSHALL at once, while it is still believed alive: the
 *       reply is TIMEOUT naming it; once resumed it applies the flush (the request waiting in its
 *       socket, or the gossip, whichever comes first).</li>
 *   <li>The third node stopped until the others see it DEAD: FLUSHALL answers OK (every member believed
 *       alive applied it) and writes made meanwhile are hinted for it. Resumed (SIGCONT), it can only
 *       hear of the flush through gossip: it drops the old keys it still held, keeps the hinted newer
 *       writes, and a REPAIR brings nothing back.</li>
 * </ol>
 */
@TestInstance(Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FlushIT {

    private static final int NODES = 3;
    private static final String CLUSTER_NAME = "flush-it";
    private static final int KEYS = 300;
    private static final int DELETES = 30;
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(100);
    /** Longer than the flush's wait for a member's answer (5 s), so the TIMEOUT reply arrives. */
    private static final int CLIENT_TIMEOUT_MILLIS = 15_000;
    private static final ProtocolCommand REPAIR = () -> SafeEncoder.encode("REPAIR");
    private static final ProtocolCommand CONSISTENCY = () -> SafeEncoder.encode("CONSISTENCY");

    @TempDir
    static Path tempDir;
    private Path home;
    private Path logs;
    private final List<String> hosts = new ArrayList<>();
    private final List<Integer> ports = new ArrayList<>();
    private final List<TrellisProcess> processes = new ArrayList<>();

    @BeforeAll
    void startCluster() throws IOException {
        home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        logs = ClusterIT.logDir("flush-it-logs");
        for (int i = 0; i < NODES; i++) {
            String host = "127.0.0." + (81 + i);
            hosts.add(host);
            ports.add(ClusterIT.freePort(host));
            List<String> args = new ArrayList<>(List.of(Integer.toString(ports.get(i))));
            if (i != 0) {
                args.add(address(0));
            }
            args.addAll(List.of("--host", host, "--cluster-name", CLUSTER_NAME, "--replication-factor", "3",
                    "--anti-entropy-interval", "0"));
            processes.add(TrellisProcess.launch(home, logs, ClusterIT.LAUNCHER, args.toArray(String[]::new)));
            awaitServing(i);
            int ringNodes = i + 1;
            await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> assertThat(info(0, "cluster"))
                    .containsEntry("ring_nodes", Integer.toString(ringNodes)));
        }
        awaitAllAlive();
    }

    @AfterAll
    void stopCluster() {
        for (TrellisProcess p : processes) {
            p.close(); // SIGCONT is not needed: SIGKILL ends a stopped process too
        }
    }

    @Test
    void aFlushReachesEveryNodeAndNothingComesBack() {
        writeEverywhere("before:");
        try (Jedis j = client(0)) {
            assertThat(j.flushAll()).isEqualTo("OK");
        }
        String floor = info(0, "stats").get("flush_floor");
        assertThat(floor).as("flush floor of the node that took FLUSHALL").isNotEqualTo("none");
        for (int i = 0; i < NODES; i++) {
            assertThat(dbsize(i)).as("DBSIZE of %s once FLUSHALL answered OK", address(i)).isZero();
            assertThat(info(i, "stats")).as("INFO stats of %s", address(i)).containsEntry("flush_floor", floor);
        }

        for (int i = 0; i < NODES; i++) {
            repair(i);
        }
        for (int i = 0; i < NODES; i++) {
            assertThat(dbsize(i)).as("DBSIZE of %s after REPAIR of every node", address(i)).isZero();
        }
        try (Jedis j = client(1)) {
            j.sendCommand(CONSISTENCY, "ALL");
            for (int k = 0; k < KEYS; k += 17) {
                assertThat(j.get("before:" + k)).as("GET before:%d at ALL", k).isNull();
            }
            assertThat(j.set("after:1", "stays")).isEqualTo("OK");
            assertThat(j.get("after:1")).isEqualTo("stays");
        }
    }

    @Test
    void aFlushWhileAMemberIsStoppedButBelievedAliveNamesItInTheReply() {
        writeEverywhere("stopped:");
        int victim = 2;
        String victimId = shortId(victim);
        signal(victim, "STOP");
        try {
            try (Jedis j = client(0)) {
                assertThatThrownBy(j::flushAll).isInstanceOf(JedisDataException.class)
                        .hasMessageStartingWith("TIMEOUT flush applied on 2 of 3 live nodes; " + victimId + "@"
                                + address(victim) + " did not answer: timed out")
                        .hasMessageEndingWith("; it will apply it when it hears of it");
            }
            for (int i = 0; i < NODES - 1; i++) {
                assertThat(dbsize(i)).as("DBSIZE of %s", address(i)).isZero();
            }
        } finally {
            signal(victim, "CONT");
        }
        String floor = info(0, "stats").get("flush_floor");
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            assertThat(info(victim, "stats")).as("INFO stats of the resumed node").containsEntry("flush_floor", floor);
            assertThat(dbsize(victim)).as("DBSIZE of the resumed node").isZero();
        });
        awaitAllAlive();
    }

    @Test
    void aNodeDownDuringTheFlushAppliesItFromGossipWhenItComesBack() {
        writeEverywhere("second:");
        int victim = 2;
        String victimId = String.format("%016x", Long.parseUnsignedLong(shortId(victim), 16)); // as MEMBERS prints it
        signal(victim, "STOP");
        try {
            await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
                for (int i = 0; i < NODES - 1; i++) {
                    assertThat(memberState(i, victimId)).as("%s seen from %s", address(victim), address(i))
                            .isEqualTo("DEAD");
                }
            });
            try (Jedis j = client(0)) {
                assertThat(j.flushAll()).as("OK: every member believed alive applied it").isEqualTo("OK");
            }
            try (Jedis j = client(1)) {
                for (int k = 0; k < 10; k++) {
                    assertThat(j.set("during:" + k, "v" + k)).isEqualTo("OK"); // QUORUM of the two running nodes
                }
            }
        } finally {
            signal(victim, "CONT");
        }
        String floor = info(0, "stats").get("flush_floor");
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            assertThat(info(victim, "stats")).as("INFO stats of the resumed node").containsEntry("flush_floor", floor);
            assertThat(dbsize(victim)).as("DBSIZE of the resumed node: the hinted writes only").isEqualTo(10);
        });
        assertThat(processes.get(victim).stderr()).as("log of the resumed node")
                .contains("Applied flush " + floor + " from the gossip of ");
        assertThat(Long.parseLong(info(victim, "stats").get("flush_dropped_entries")))
                .as("the resumed node dropped the old keys it held").isGreaterThanOrEqualTo(KEYS - DELETES);
        awaitAllAlive();
        repair(victim);
        for (int i = 0; i < NODES; i++) {
            assertThat(dbsize(i)).as("DBSIZE of %s after REPAIR of the resumed node", address(i)).isEqualTo(10);
        }
        try (Jedis j = client(victim)) {
            for (int k = 0; k < KEYS; k += 17) {
                assertThat(j.get("second:" + k)).as("GET second:%d through the resumed node", k).isNull();
            }
            assertThat(j.get("during:3")).isEqualTo("v3");
        }
    }

    /** The node's id as errors and logs print it (hex without leading zeros). */
    private String shortId(int i) {
        try (Jedis j = client(i)) {
            return Members.selfId(Members.of(j)).replaceFirst("^0+(?=.)", "");
        }
    }

    private String memberState(int observer, String id) {
        try (Jedis j = client(observer)) {
            return Members.stateOf(Members.of(j), id);
        }
    }

    /** Writes KEYS keys at QUORUM, deletes DELETES of them, and waits until every node holds every copy. */
    private void writeEverywhere(String prefix) {
        try (Jedis j = client(0)) {
            j.sendCommand(CONSISTENCY, "QUORUM");
            for (int k = 0; k < KEYS; k++) {
                assertThat(j.set(prefix + k, "value-" + k)).isEqualTo("OK");
            }
            for (int k = 0; k < DELETES; k++) {
                assertThat(j.del(prefix + k)).isEqualTo(1);
            }
        }
        long before = dbsize(0);
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (int i = 0; i < NODES; i++) {
                assertThat(dbsize(i)).as("DBSIZE of %s before the flush", address(i)).isEqualTo(before);
            }
        });
        assertThat(before).isGreaterThanOrEqualTo(KEYS - DELETES);
    }

    /** Runs one anti-entropy round on node {@code i} and waits for it to finish without failures. */
    private void repair(int i) {
        try (Jedis j = client(i)) {
            long round = (Long) j.sendCommand(REPAIR);
            await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
                Map<String, String> status = repairStatus(j);
                assertThat(status).as("REPAIR STATUS of %s", address(i)).containsEntry("round", Long.toString(round))
                        .containsEntry("state", "done").containsEntry("failures", "0");
            });
        }
    }

    private static Map<String, String> repairStatus(Jedis j) {
        List<?> flat = (List<?>) j.sendCommand(REPAIR, "STATUS");
        Map<String, String> out = new HashMap<>();
        for (int k = 0; k < flat.size(); k += 2) {
            out.put(text(flat.get(k)), text(flat.get(k + 1)));
        }
        return out;
    }

    private void awaitServing(int i) {
        await().atMost(TrellisProcess.START_TIMEOUT).pollInterval(POLL).until(() -> {
            Process p = processes.get(i).process();
            if (!p.isAlive()) {
                throw new AssertionError(address(i) + " exited with status " + p.exitValue() + "; stderr:\n"
                        + processes.get(i).stderr());
            }
            return ClusterIT.answersPing(hosts.get(i), ports.get(i));
        });
    }

    private void awaitAllAlive() {
        await().atMost(CONVERGE_TIMEOUT).pollInterval(POLL).untilAsserted(() -> {
            for (int i = 0; i < NODES; i++) {
                assertThat(info(i, "cluster")).as("INFO cluster of %s", address(i))
                        .containsEntry("members_alive", Integer.toString(NODES))
                        .containsEntry("ring_nodes", Integer.toString(NODES))
                        .containsEntry("node_status", "NORMAL");
            }
        });
    }

    /** Sends {@code SIG<name>} to the node's JVM (the launchers exec it, so the handle's pid is the JVM). */
    private void signal(int i, String name) {
        Process p = processes.get(i).process();
        if (!p.isAlive()) {
            return;
        }
        try {
            TrellisProcess.Result r = TrellisProcess.runCommand(logs, null,
                    List.of("kill", "-" + name, Long.toString(p.pid())));
            assertThat(r.exitCode()).as("kill -%s %s: %s", name, address(i), r.stderr()).isZero();
        } catch (IOException e) {
            throw new AssertionError("could not run kill -" + name + " for " + address(i), e);
        }
    }

    private long dbsize(int i) {
        try (Jedis j = client(i)) {
            return j.dbSize();
        }
    }

    private Map<String, String> info(int i, String section) {
        try (Jedis j = client(i)) {
            return InfoFields.parse(j.info(section));
        }
    }

    private Jedis client(int i) {
        return new Jedis(hosts.get(i), ports.get(i), CLIENT_TIMEOUT_MILLIS);
    }

    private String address(int i) {
        return hosts.get(i) + ":" + ports.get(i);
    }

    private static String text(Object reply) {
        return reply instanceof byte[] b ? SafeEncoder.encode(b) : String.valueOf(reply);
    }
}
