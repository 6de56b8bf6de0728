package io.trelliskv.request;

import io.trelliskv.resp.RespValue;
import io.trelliskv.storage.Entry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Pipelined clients on a cluster of whole nodes ({@link SimRoutedCluster}) under a seeded scheduler
 * that delivers every message after a random delay: forwards, replica reads and writes, their replies
 * and acks overtake each other freely, except the forwards of one client connection between two nodes,
 * which keep their order as TCP keeps it on one peer connection. Each client sends a random mix of
 * SET, INCR, APPEND, DEL, GET, EXISTS, MGET and MSET on a few keys of its own, spread over the nodes,
 * without waiting for replies; once the cluster is quiet (and hints replayed), every reply is checked
 * against one Redis applying the client's commands in order ({@link SingleRedisModel}), and every
 * running replica's copy of every key against the model's final value.
 *
 * <p>Faults, one per run, by seed: none (replica messages still get lost now and then); a node the
 * clients' nodes wrongly believe dead for a while (their coordinators change mid-pipeline, and their
 * connections to it break: what waited in the outbox fails as never sent, and falls back to the key's
 * next live owner); a node that crashes mid-pipeline while forwards to it are outstanding, each other
 * node learning it at its own time.
 *
 * <p>A failing run prints its seed and its first violation; rerun one with {@link #run(long, boolean, Fault)}.
 */
class PipelineOrderSimulationTest {

    /** What goes wrong in one run. */
    enum Fault {
        /** Nothing but the odd lost replica message. */
        NONE,
        /** A node is believed dead for a while by the clients' nodes, which drop their connections to it. */
        SUSPECT,
        /** A node crashes mid-pipeline; the others learn it each at its own time. */
        CRASH
    }

    /** The result of one seed. */
    record Outcome(long seed, Fault fault, List<String> violations, long forwards, long neverSent,
                   long lostInFlight, long retriedElsewhere, long indeterminate, long commands, long events,
                   int uncheckedKeys) {

        String first() {
            return violations.isEmpty() ? null : "seed " + seed + " (" + fault + "): " + violations.get(0);
        }
    }

    private static final String[] VERBS = {"SET", "SET", "SET", "SET", "INCR", "INCR", "INCR", "INCR", "GET",
            "GET", "GET", "APPEND", "APPEND", "DEL", "DEL", "EXISTS", "MGET", "MGET", "MSET", "MSET"};

    @Test
    void everyPipelineTakesEffectInOrderWhateverTheDelivery() {
        Summary s = runSeeds(1, 200, true);
        System.out.println("ordered streams: " + s);
        assertThat(s.failures).as("first violations (seed: what)").isEmpty();
        assertThat(s.neverSent).as("forwards that failed as never sent and fell back").isPositive();
        assertThat(s.retriedElsewhere).as("forwards retried at the next live owner").isPositive();
    }

    @Test
    void aCoordinatorThatCrashesMidPipelineGivesWayInOrder() {
        long commands = 0;
        long neverSent = 0;
        List<String> failures = new ArrayList<>();
        for (long seed = 1_000; seed < 1_200; seed++) {
            Outcome o = run(seed, true, Fault.CRASH);
            commands += o.commands;
            neverSent += o.neverSent;
            if (o.first() != null) {
                failures.add(o.first());
            }
        }
        assertThat(failures).as("first violations (seed: what)").isEmpty();
        assertThat(neverSent).isPositive();
        assertThat(commands).isPositive();
    }

    /**
     * Regression: a multi-key command whose keys all had the same first live owner was forwarded whole
     * with the fallback candidates of its first key only. When that forward failed as never sent, the
     * whole command ran at the first key's next owner, which for its other keys need not be theirs,
     * while the connection's single-key commands on them fell back to their own next owner: two
     * coordinators served one key of one connection at once. Seed 1178: key j has owners
     * [cd06, 3cb7, ...], key k [cd06, 5258, 3cb7]; the client on 65fd pipelines {@code APPEND k x},
     * {@code DEL j k}, {@code EXISTS k}, all queued for cd06, which has just crashed; they fail as never
     * sent, in order; APPEND and EXISTS went to k's next owner 5258, the DEL to j's next owner 3cb7, and
     * the client read {@code DEL j k -> 2} then {@code EXISTS k -> 1}. Now such a command is split again
     * by each key's next owner (MSETNX and RENAME go only to a next owner common to all their keys).
     * These are the crash seeds that failed.
     */
    @Test
    void aMultiKeyForwardWhoseOwnerCrashedSendsEachKeyToItsOwnNextOwner() {
        List<String> failures = new ArrayList<>();
        for (long seed : new long[] {1057, 1071, 1099, 1105, 1127, 1143, 1148, 1155, 1163, 1178, 1187}) {
            Outcome o = run(seed, true, Fault.CRASH);
            if (o.first() != null) {
                failures.add(o.first());
            }
        }
        assertThat(failures).as("first violations (seed: what)").isEmpty();
    }

    @Test
    void aRunReplaysExactlyFromItsSeed() {
        for (Fault fault : Fault.values()) {
            List<String> first = new ArrayList<>();
            List<String> second = new ArrayList<>();
            Outcome a = run(42, true, fault, first);
            Outcome b = run(42, true, fault, second);
            assertThat(second).as("every forward and fault, at the same simulated time").isEqualTo(first);
            assertThat(b).isEqualTo(a);
        }
    }

    @Test
    void withoutOrderedStreamsTheSimulationFindsLostOrder() {
        Summary s = runSeeds(1, 40, false);
        System.out.println("streams in any order: " + s);
        assertThat(s.failures).as("reordering one connection's forwards must break a single Redis's order")
                .hasSizeGreaterThan(10);
        System.out.println("  e.g. " + s.failures.get(0));
    }

    // ---- the simulation ----

    /** Totals over many seeds. */
    static final class Summary {
        final List<String> failures = new ArrayList<>();
        long seeds;
        long commands;
        long forwards;
        long neverSent;
        long lostInFlight;
        long retriedElsewhere;
        long indeterminate;
        long events;
        long uncheckedKeys;
        long millis;

        @Override
        public String toString() {
            return seeds + " seeds in " + millis + " ms: " + failures.size() + " with violations; " + commands
                    + " commands, " + forwards + " forwards (" + neverSent + " never sent, " + lostInFlight
                    + " lost in flight, " + retriedElsewhere + " retried at the next owner), " + indeterminate
                    + " indeterminate replies, " + uncheckedKeys + " keys given up on, " + events + " events";
        }
    }

    static Summary runSeeds(long from, int count, boolean orderedStreams) {
        Summary s = new Summary();
        long start = System.nanoTime();
        for (long seed = from; seed < from + count; seed++) {
            Fault fault = Fault.values()[(int) Math.floorMod(seed, 3L)];
            Outcome o = run(seed, orderedStreams, fault);
            s.seeds++;
            s.commands += o.commands;
            s.forwards += o.forwards;
            s.neverSent += o.neverSent;
            s.lostInFlight += o.lostInFlight;
            s.retriedElsewhere += o.retriedElsewhere;
            s.indeterminate += o.indeterminate;
            s.events += o.events;
            s.uncheckedKeys += o.uncheckedKeys;
            if (o.first() != null) {
                s.failures.add(o.first());
                if (s.failures.size() == 1) {
                    System.out.println("first failing " + o.first());
                }
            }
        }
        s.millis = (System.nanoTime() - start) / 1_000_000;
        return s;
    }

    /** One run, replayable from its seed. */
    static Outcome run(long seed, boolean orderedStreams, Fault fault) {
        return run(seed, orderedStreams, fault, null);
    }

    /** One run; with {@code trace} not null, the forwards and faults are logged into it. */
    static Outcome run(long seed, boolean orderedStreams, Fault fault, List<String> trace) {
        SimScheduler sched = new SimScheduler(seed);
        SplittableRandom r = sched.random();
        int n = 3 + r.nextInt(3);
        SimRoutedCluster cluster = new SimRoutedCluster(n, sched, orderedStreams);
        cluster.replicaLoss = 0.02;
        cluster.trace = trace;
        List<SimRoutedCluster.SimNode> nodes = new ArrayList<>(cluster.nodes());
        SimRoutedCluster.SimNode victim = fault == Fault.NONE ? null : nodes.get(r.nextInt(n));
        List<SimRoutedCluster.SimNode> clientNodes = new ArrayList<>(nodes);
        clientNodes.remove(victim);

        List<SimClient> clients = new ArrayList<>();
        int clientCount = 2 + r.nextInt(3);
        for (int c = 0; c < clientCount; c++) {
            SimRoutedCluster.SimNode at = clientNodes.get(r.nextInt(clientNodes.size()));
            SimClient client = new SimClient(c, at, keysFor(cluster, c, victim, r));
            clients.add(client);
            for (String key : client.keys) {
                cluster.trace("client " + c + " on " + at + ": key " + key + " owners "
                        + cluster.replicasOf(key).stream().map(Long::toHexString).toList());
            }
        }
        sched.afterEach(() -> clients.forEach(SimClient::drain));
        for (SimClient client : clients) {
            int bursts = 3 + r.nextInt(5);
            for (int b = 0; b < bursts; b++) {
                long at = r.nextLong(300);
                int size = 1 + r.nextInt(8);
                sched.after(at, () -> client.send(commands(client, size, r)));
            }
        }
        if (fault == Fault.CRASH) {
            sched.after(sched.between(10, 250), () -> cluster.crash(victim, 60));
        } else if (fault == Fault.SUSPECT) {
            for (SimRoutedCluster.SimNode viewer : clientNodes) {
                long dead = sched.between(10, 250);
                long back = dead + sched.between(1, 200);
                sched.after(dead, () -> cluster.suspect(viewer, victim.id, true));
                sched.after(back, () -> cluster.suspect(viewer, victim.id, false));
            }
        }
        sched.runUntilQuiet(5_000_000);
        cluster.replayHints(100);

        List<String> violations = new ArrayList<>();
        long commands = 0;
        long indeterminate = 0;
        int unchecked = 0;
        for (SimClient client : clients) {
            commands += client.sent.size();
            SingleRedisModel model = new SingleRedisModel(client.keys);
            List<RespValue> replies = client.replies();
            String where = "client " + client.index + " on node " + client.node;
            if (replies.size() != client.sent.size()) {
                violations.add(where + ": " + replies.size() + " replies to " + client.sent.size()
                        + " commands after quiescence");
            }
            boolean ok = true;
            for (int i = 0; i < Math.min(replies.size(), client.sent.size()) && ok; i++) {
                String wrong = model.check(client.sent.get(i), replies.get(i));
                if (wrong != null) {
                    violations.add(where + ", command #" + i + " " + String.join(" ", client.sent.get(i)) + ": "
                            + wrong + "; pipeline: " + history(client, replies, i));
                    ok = false;
                }
            }
            indeterminate += model.indeterminate;
            unchecked += model.unchecked().size();
            if (!ok) {
                continue;
            }
            for (String key : client.keys) {
                String wrong = checkStored(cluster, key, model.finalValues(key), fault == Fault.CRASH);
                if (wrong != null) {
                    violations.add(where + ": " + wrong + "; pipeline: " + history(client, replies, replies.size() - 1));
                    break;
                }
            }
        }
        long retried = 0;
        for (SimRoutedCluster.SimNode node : nodes) {
            retried += node.dispatcher.router().retriedElsewhere();
        }
        clients.forEach(SimClient::close);
        return new Outcome(seed, fault, violations, cluster.forwardsSent, cluster.neverSent, cluster.lostInFlight,
                retried, indeterminate, commands, sched.eventsRun(), unchecked);
    }

    /**
     * The key's copy at every running replica must be a value the model allows. Without a crash every
     * running replica holds the same version (hints replayed); after one, hints the dead node held are
     * lost until anti-entropy, so only the newest running copy is checked.
     */
    private static String checkStored(SimRoutedCluster cluster, String key, Set<String> allowed, boolean crashed) {
        if (allowed == null) {
            return null;
        }
        Entry newest = null;
        List<String> copies = new ArrayList<>();
        List<Entry> entries = new ArrayList<>();
        for (long id : cluster.replicasOf(key)) {
            SimRoutedCluster.SimNode replica = cluster.node(id);
            if (replica.crashed) {
                continue;
            }
            Entry e = replica.stored(key);
            entries.add(e);
            copies.add(replica + "=" + text(e) + (e == null ? "" : "@" + e.version()));
            if (e != null && (newest == null || e.newerThan(newest))) {
                newest = e;
            }
        }
        if (!allowed.contains(text(newest))) {
            return "key " + key + " ends as " + text(newest) + ", a single Redis would hold one of " + allowed
                    + " (replicas: " + copies + ")";
        }
        if (!crashed) {
            for (Entry e : entries) {
                if (e == null ? newest != null : newest == null || !e.version().equals(newest.version())) {
                    return "key " + key + ": replicas differ after hints were replayed: " + copies;
                }
            }
        }
        return null;
    }

    private static String text(Entry e) {
        return e == null || e.isTombstone() ? null : new String(e.value(), StandardCharsets.UTF_8);
    }

    /**
     * Three keys of the client's own, spread over the ring; where a node will fail, at least one of them
     * has it as first owner (its coordinator).
     */
    private static List<String> keysFor(SimRoutedCluster cluster, int client, SimRoutedCluster.SimNode victim,
                                        SplittableRandom r) {
        List<String> keys = new ArrayList<>();
        while (keys.size() < 3) {
            String key = "c" + client + ":" + Long.toHexString(r.nextLong() & 0xffffff);
            boolean victimFirst = victim != null && cluster.replicasOf(key).get(0) == victim.id;
            if (keys.isEmpty() && victim != null && !victimFirst) {
                continue;
            }
            keys.add(key);
        }
        return keys;
    }

    /** {@code count} random commands on the client's keys. */
    private static List<String[]> commands(SimClient client, int count, SplittableRandom r) {
        List<String[]> out = new ArrayList<>();
        List<String> keys = client.keys;
        for (int i = 0; i < count; i++) {
            String verb = VERBS[r.nextInt(VERBS.length)];
            String k = keys.get(r.nextInt(keys.size()));
            List<String> ks = some(keys, r);
            out.add(switch (verb) {
                case "SET" -> new String[] {"SET", k, value(r)};
                case "INCR", "GET" -> new String[] {verb, k};
                case "APPEND" -> new String[] {"APPEND", k, "x"};
                case "DEL", "EXISTS", "MGET" -> prepend(verb, ks);
                case "MSET" -> {
                    String[] args = new String[1 + 2 * ks.size()];
                    args[0] = "MSET";
                    for (int j = 0; j < ks.size(); j++) {
                        args[1 + 2 * j] = ks.get(j);
                        args[2 + 2 * j] = value(r);
                    }
                    yield args;
                }
                default -> throw new IllegalStateException(verb);
            });
        }
        return out;
    }

    private static String value(SplittableRandom r) {
        return r.nextInt(4) == 0 ? "s" + r.nextInt(100) : Integer.toString(r.nextInt(50));
    }

    /** One to all of the keys, distinct, in random order. */
    private static List<String> some(List<String> keys, SplittableRandom r) {
        List<String> shuffled = new ArrayList<>(keys);
        for (int i = shuffled.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            String t = shuffled.get(i);
            shuffled.set(i, shuffled.get(j));
            shuffled.set(j, t);
        }
        return shuffled.subList(0, 1 + r.nextInt(keys.size()));
    }

    private static String[] prepend(String verb, List<String> keys) {
        String[] out = new String[1 + keys.size()];
        out[0] = verb;
        for (int i = 0; i < keys.size(); i++) {
            out[1 + i] = keys.get(i);
        }
        return out;
    }

    /** The client's commands and replies up to {@code last}, for the report. */
    private static String history(SimClient client, List<RespValue> replies, int last) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i <= last && i < client.sent.size(); i++) {
            sb.append("\n    #").append(i).append(' ').append(String.join(" ", Arrays.asList(client.sent.get(i))))
                    .append(" -> ").append(i < replies.size() ? SingleRedisModel.show(replies.get(i)) : "(none)");
        }
        return sb.toString();
    }
}
