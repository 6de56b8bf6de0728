package io.trelliskv.harness;

import io.trelliskv.common.DaemonThreads;
import redis.clients.jedis.util.SafeEncoder;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The versioned workload ({@code --workload versioned}): clients add unique elements to sets held in
 * versioned keys, by read-modify-write with the store's causal contexts. Each step, through a random live
 * node at QUORUM: {@code VGET key} → the union of every sibling's elements (a sibling is a comma-separated
 * list) → plus the client's next element {@code <client>.<seq>} → {@code VSET key context union}. A VSET
 * replaces exactly the siblings its context saw, so two clients that read the same state both survive,
 * as siblings, and the next reader merges them: no acknowledged element may ever be lost.
 *
 * <p>The keys are {@code v:<generation>.<i>}, {@link #KEYS} per generation, and all clients move to the
 * next generation every {@link #GENERATION_MILLIS} of the run, so a set stays small (a few hundred
 * elements) while several clients contend on each key. History lines: {@code vget} (value
 * {@code siblings=N elements=M missing=K}) and {@code vadd} (value: the element; OK only if the VSET was
 * acknowledged). The {@link VersionedSetChecker} reads them with the final VGETs.
 *
 * <p>Elements are never removed, so a VGET at QUORUM must hold every element whose VSET was acknowledged
 * before the VGET began. The clients check it as each reply arrives, against the acknowledgements all
 * clients have recorded so far ({@link #acknowledged}): {@code missing=K} counts the elements it lacks, and
 * the error column names the first few. (An acknowledgement recorded only after the check goes unchecked.)
 */
final class VersionedSetWorkload {

    /** Keys written at once: fewer than the clients, so that concurrent read-modify-writes make siblings. */
    static final int KEYS = 3;
    /** How long the clients stay on one generation of keys, in ms of the run. */
    static final long GENERATION_MILLIS = 20_000;
    /** Prefix of the versioned keys. */
    static final String KEY_PREFIX = "v:";
    /** The history's op for a VGET during the run, and for the final ones. */
    static final String VGET = "vget";
    /** The history's op for one element's VSET. */
    static final String VADD = "vadd";
    /** The store's refusal of a VSET that would leave too many siblings: nothing was written. */
    static final String TOO_MANY_SIBLINGS = "ERR too many siblings";

    private final Nodes nodes;
    private final History history;
    private final long thinkMillis;
    /** Per key, the elements whose VSET was acknowledged and when (history ms), as the clients learn them. */
    private final java.util.concurrent.ConcurrentMap<String, java.util.Queue<Acknowledged>> acknowledged =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** An element whose VSET was acknowledged at {@code end}. */
    private record Acknowledged(String element, double end) {
    }

    VersionedSetWorkload(Nodes nodes, History history, long thinkMillis) {
        this.nodes = nodes;
        this.history = history;
        this.thinkMillis = thinkMillis;
    }

    /** Starts {@code clients} threads, all running until {@code deadlineNanos}; returns them. */
    List<Thread> start(int clients, long seed, long deadlineNanos) {
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int id = c;
            Random random = new Random(seed * 1_000 + c);
            threads.add(DaemonThreads.start("tkh-versioned-" + c, () -> run(id, random, deadlineNanos)));
        }
        return threads;
    }

    private void run(int id, Random random, long deadlineNanos) {
        long seq = 0;
        try (ClientConnections connections = new ClientConnections(id, nodes, "QUORUM")) {
            while (System.nanoTime() < deadlineNanos && !Thread.currentThread().isInterrupted()) {
                int node = connections.pickNode(random);
                String key = KEY_PREFIX + (long) (history.now() / GENERATION_MILLIS) + "." + random.nextInt(KEYS);
                List<String> read = vget(id, connections, node, key);
                if (read != null) {
                    add(id, connections, node, key, read, id + "." + (++seq));
                }
                if (thinkMillis > 0) {
                    Nodes.sleep(thinkMillis);
                }
            }
        }
    }

    /** VGET: the context then the siblings, or null after an error (recorded as a failed read). */
    private List<String> vget(int id, ClientConnections connections, int node, String key) {
        double start = history.now();
        try {
            List<String> reply = vget(connections.to(node), key);
            double end = history.now();
            List<String> siblings = reply.isEmpty() ? List.of() : reply.subList(1, reply.size());
            Set<String> elements = union(siblings);
            List<String> missing = new ArrayList<>();
            for (Acknowledged a : acknowledged.getOrDefault(key, new java.util.ArrayDeque<>())) {
                if (a.end() < start && !elements.contains(a.element())) {
                    missing.add(a.element() + String.format(java.util.Locale.ROOT, " (acknowledged at %.0f ms)", a.end()));
                }
            }
            history.add(new Op(Integer.toString(id), connections.session(node), VGET, key,
                    "siblings=" + siblings.size() + " elements=" + elements.size() + " missing=" + missing.size(), 0,
                    connections.level(), start, end, Op.Result.OK,
                    missing.isEmpty() ? null : "missing acknowledged " + String.join(", ", missing.subList(0, Math.min(5, missing.size())))));
            return reply;
        } catch (RuntimeException e) {
            connections.drop(node, e);
            history.add(new Op(Integer.toString(id), connections.session(node), VGET, key, null, 0, connections.level(),
                    start, history.now(), Op.Result.FAIL, Workload.describe(e)));
            return null;
        }
    }

    /** VSET with the context of {@code read}: the union of its siblings plus {@code element}. */
    private void add(int id, ClientConnections connections, int node, String key, List<String> read, String element) {
        String context = read.isEmpty() ? "" : read.get(0);
        Set<String> elements = union(read.isEmpty() ? List.of() : read.subList(1, read.size()));
        elements.add(element);
        double start = history.now();
        Op.Result result;
        String error = null;
        try {
            connections.to(node).sendCommand(() -> SafeEncoder.encode("VSET"), key, context, String.join(",", elements));
            result = Op.Result.OK;
        } catch (RuntimeException e) {
            error = Workload.describe(e);
            result = Workload.definitelyNotApplied(e) || (error != null && error.startsWith(TOO_MANY_SIBLINGS))
                    ? Op.Result.FAIL : Op.Result.INFO;
            connections.drop(node, e);
        }
        double end = history.now();
        history.add(new Op(Integer.toString(id), connections.session(node), VADD, key, element, 0, connections.level(),
                start, end, result, error));
        if (result == Op.Result.OK) {
            acknowledged.computeIfAbsent(key, k -> new java.util.concurrent.ConcurrentLinkedQueue<>())
                    .add(new Acknowledged(element, end));
        }
    }

    /** {@code VGET key} on {@code j}: the context then every sibling, or empty for a missing key. */
    static List<String> vget(redis.clients.jedis.Jedis j, String key) {
        Object reply = j.sendCommand(() -> SafeEncoder.encode("VGET"), key);
        List<String> out = new ArrayList<>();
        for (Object o : (List<?>) reply) {
            out.add(SafeEncoder.encode((byte[]) o));
        }
        return out;
    }

    /** Every element of every sibling, in order of first appearance. */
    static Set<String> union(List<String> siblings) {
        Set<String> elements = new LinkedHashSet<>();
        for (String sibling : siblings) {
            for (String e : sibling.split(",")) {
                if (!e.isEmpty()) {
                    elements.add(e);
                }
            }
        }
        return elements;
    }
}
