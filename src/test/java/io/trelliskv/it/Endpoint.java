package io.trelliskv.it;

import io.trelliskv.testing.InfoFields;
import io.trelliskv.testing.Members;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Where a node of a multi-node process test listens, and what those tests start there and ask it: each
 * question on a fresh Jedis connection with the test's socket timeout, closed again. The forms that take
 * a {@link Jedis} ask on the caller's connection instead (a loop over many keys, a poll after a command
 * on the same connection).
 */
record Endpoint(String host, int port, int timeoutMillis) {

    private static final Duration POLL = Duration.ofMillis(100);
    private static final ProtocolCommand REPLICAS = () -> SafeEncoder.encode("REPLICAS");
    private static final ProtocolCommand REPAIR = () -> SafeEncoder.encode("REPAIR");
    private static final ProtocolCommand STATUS = () -> SafeEncoder.encode("STATUS");

    /** {@code host} with a port that was free there a moment ago ({@link TrellisProcess#freePort(String)}). */
    static Endpoint free(String host, int timeoutMillis) throws IOException {
        return new Endpoint(host, TrellisProcess.freePort(host), timeoutMillis);
    }

    String address() {
        return host + ":" + port;
    }

    /** A new connection to the node; the caller closes it. */
    Jedis client() {
        return new Jedis(host, port, timeoutMillis);
    }

    /**
     * Starts a node here through {@link ClusterIT#LAUNCHER} ({@code PORT [SEED] --host HOST --cluster-name
     * NAME flags...}) and waits until it answers PING; if it does not, it is stopped and the failure thrown.
     */
    TrellisProcess start(Path home, Path logs, String clusterName, Endpoint seed, String... flags) throws IOException {
        List<String> args = new ArrayList<>(List.of(Integer.toString(port)));
        if (seed != null) {
            args.add(seed.address());
        }
        args.addAll(List.of("--host", host, "--cluster-name", clusterName));
        args.addAll(List.of(flags));
        TrellisProcess process = TrellisProcess.launch(home, logs, ClusterIT.LAUNCHER, args.toArray(String[]::new));
        try {
            return process.awaitServing(host, port);
        } catch (RuntimeException | Error e) {
            process.close();
            throw e;
        }
    }

    /** The fields of INFO {@code section}. */
    Map<String, String> info(String section) {
        try (Jedis j = client()) {
            return InfoFields.parse(j.info(section));
        }
    }

    long dbsize() {
        try (Jedis j = client()) {
            return j.dbSize();
        }
    }

    /** The MEMBERS text. */
    String members() {
        try (Jedis j = client()) {
            return Members.of(j);
        }
    }

    /**
     * The node's own id as MEMBERS prints it (16 hex digits). Read at once: a node takes clients only once its
     * membership lists it, so MEMBERS shows it from the first command on.
     */
    String selfId() {
        return Members.selfId(members());
    }

    /** The state this node's MEMBERS shows for {@code id} (as MEMBERS prints it); null if it has no row. */
    String memberState(String id) {
        return Members.stateOf(members(), id);
    }

    /** The STATUS text. */
    String status() {
        try (Jedis j = client()) {
            return text(j.sendCommand(STATUS));
        }
    }

    /** REPLICAS {@code key} asked of this node: one list of strings per replica. */
    List<List<String>> replicas(String key) {
        try (Jedis j = client()) {
            return replicas(j, key);
        }
    }

    /** REPLICAS {@code key} on {@code j}'s connection: one list of strings per replica. */
    static List<List<String>> replicas(Jedis j, String key) {
        List<List<String>> out = new ArrayList<>();
        for (Object element : (List<?>) j.sendCommand(REPLICAS, key)) {
            out.add(texts(element));
        }
        return out;
    }

    /** REPAIR STATUS (RESP2: a flat array of field, value) on {@code j}'s connection, as a map. */
    static Map<String, String> repairStatus(Jedis j) {
        List<?> flat = (List<?>) j.sendCommand(REPAIR, "STATUS");
        Map<String, String> out = new HashMap<>();
        for (int i = 0; i < flat.size(); i += 2) {
            out.put(text(flat.get(i)), text(flat.get(i + 1)));
        }
        return out;
    }

    /** Waits until every node's INFO {@code section} holds every entry of {@code expected}. */
    static void awaitInfo(List<Endpoint> nodes, Duration timeout, String section, Map<String, String> expected) {
        await().atMost(timeout).pollInterval(POLL).untilAsserted(() -> {
            for (Endpoint node : nodes) {
                assertThat(node.info(section)).as("INFO %s of %s", section, node.address())
                        .containsAllEntriesOf(expected);
            }
        });
    }

    /** A reply as text: bulk strings decoded, anything else as {@link String#valueOf}. */
    static String text(Object reply) {
        return reply instanceof byte[] b ? SafeEncoder.encode(b) : String.valueOf(reply);
    }

    /** An array reply as texts. */
    static List<String> texts(Object reply) {
        return ((List<?>) reply).stream().map(Endpoint::text).toList();
    }

    @Override
    public String toString() {
        return address();
    }
}
