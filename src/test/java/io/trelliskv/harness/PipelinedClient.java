package io.trelliskv.harness;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;
import java.util.function.IntSupplier;

/**
 * A client that pipelines: until the deadline it sends a batch of {@value #MIN_COMMANDS}–{@value
 * #MAX_COMMANDS} random SET, INCR, DEL, GET, EXISTS and APPEND commands on its own {@value #KEYS} keys
 * in one write, on one connection to one random live node, then reads every reply. Only this client
 * writes these keys, so it predicts every reply from its own earlier commands ({@link KeyModel}) and
 * checks it: the store promises that a connection's commands take effect in order and that each reply
 * reflects every earlier command of the connection, as Redis does. Most commands are forwarded (the
 * key's coordinator is another node), so this is what catches forwards of one connection overtaking
 * each other.
 *
 * <h2>Keys</h2>
 * Key {@code p:<client>:<slot>.<generation>}. A write whose outcome is unknown — an error reply other
 * than INCR's own (TRYAGAIN, TIMEOUT, REFUSED, ERR replication failed, ...), or no reply because the
 * connection broke — may take effect at any later time (docs/TESTING.md, finding 2), so re-reading or
 * re-setting the key cannot make its value certain again. The client abandons the key instead: the
 * slot moves to the next generation, a key never written and certainly absent. Replies to the
 * commands already sent on the abandoned key are recorded as unchecked. UNAVAILABLE and CLUSTERDOWN
 * promise that nothing was done and leave the model as it was; a failed read changes nothing. A
 * {@link KeyModel.Outcome#VIOLATION} also abandons the key, so one wrong reply does not cascade.
 *
 * <h2>Kill-alls</h2>
 * A kill-all under {@code --appendfsync everysec} or {@code no} may lose writes acknowledged shortly
 * before it, and the client cannot tell which: at its next batch after one it abandons every key, and
 * a kill-all after its last batch leaves every model uncertain. Under {@code always} it keeps its
 * models, so a lost acknowledged write is a violation.
 *
 * <h2>Sloppy quorum</h2>
 * With {@code --sloppy-quorum} a write acknowledged with hints for down replicas need not be on any replica a
 * later QUORUM read of another connection reaches, so R + W > N no longer carries a model from one connection to
 * the next. The client then keeps its node's connection until it breaks, and abandons every key when it opens a
 * new one: what it checks is what such a store still promises, that a connection's replies follow from its own
 * earlier commands.
 *
 * <h2>History</h2>
 * One {@code pipeline} line per batch (its counts in the value: {@code commands=.. checked=..
 * violations=..}), one {@code pipe-violation} line per wrong reply (the reply as value; as error the
 * command, the expected replies, the key's model before the batch and the batch's commands on the key,
 * the wrong reply in brackets), and at the end one {@code pipe-model} line per slot: the value the
 * final read at ALL must return ({@code ok} if certain, {@code info} if not). {@link Checker} reads
 * these.
 */
final class PipelinedClient {

    /** Keys per client. */
    static final int KEYS = 6;
    static final int MIN_COMMANDS = 10;
    static final int MAX_COMMANDS = 50;
    /** Consistency level of the client's connections: R + W > N, so a new connection reads what the last one wrote. */
    static final String LEVEL = "QUORUM";
    /** Prefix of every pipelined key; the other workloads' checks skip these keys. */
    static final String KEY_PREFIX = "p:";
    /** History op of one batch. */
    static final String PIPELINE = "pipeline";
    /** History op of one reply that contradicts the model. */
    static final String VIOLATION = "pipe-violation";
    /** History op of a slot's model at the end. */
    static final String MODEL = "pipe-model";
    /** Pause after a failed connect, in ms, so a dead node does not make a busy loop. */
    private static final long RECONNECT_PAUSE_MILLIS = 100;

    private final int id;
    private final Random random;
    private final Nodes nodes;
    private final History history;
    private final long thinkMillis;
    private final long deadlineNanos;
    /** History ms until which a blind SET may lose to an older value (a clock fault, see {@link Nemesis#clockUncertainUntil}). */
    private final DoubleSupplier clockUncertainUntil;
    /** Kill-alls begun so far ({@link Nemesis#powerCuts}). */
    private final IntSupplier powerCuts;
    /**
     * Whether a kill-all may lose acknowledged writes (the nodes' --appendfsync is not always): then the
     * client abandons every key after one, as it cannot know which of its writes survived.
     */
    private final boolean cutsMayLoseWrites;
    /** {@link #powerCuts} when the last batch began. */
    private int cutsSeen;
    /** Keys abandoned at a kill-all, counted in the next batch's line. */
    private int abandonedAtCut;
    private final RespSocket[] connections;
    /** See "Sloppy quorum" above. */
    private final boolean sloppyQuorum;
    /** Under --sloppy-quorum: the session of the last batch, whose node the client keeps while it can. */
    private String lastSession;
    private int lastNode;
    /** Connections opened so far, per node: a new connection is a new session. */
    private final int[] connectionGeneration;
    private final int[] keyGeneration = new int[KEYS];
    private final KeyModel[] models = new KeyModel[KEYS];
    private long seq;

    PipelinedClient(int id, Random random, Nodes nodes, History history, long thinkMillis, long deadlineNanos,
                    DoubleSupplier clockUncertainUntil, IntSupplier powerCuts, boolean cutsMayLoseWrites) {
        this(id, random, nodes, history, thinkMillis, deadlineNanos, clockUncertainUntil, powerCuts, cutsMayLoseWrites,
                false);
    }

    /** @param sloppyQuorum whether the nodes run with {@code --sloppy-quorum} (see "Sloppy quorum" above) */
    PipelinedClient(int id, Random random, Nodes nodes, History history, long thinkMillis, long deadlineNanos,
                    DoubleSupplier clockUncertainUntil, IntSupplier powerCuts, boolean cutsMayLoseWrites,
                    boolean sloppyQuorum) {
        this.sloppyQuorum = sloppyQuorum;
        this.powerCuts = powerCuts;
        this.cutsMayLoseWrites = cutsMayLoseWrites;
        this.id = id;
        this.random = random;
        this.nodes = nodes;
        this.history = history;
        this.thinkMillis = thinkMillis;
        this.deadlineNanos = deadlineNanos;
        this.clockUncertainUntil = clockUncertainUntil;
        this.connections = new RespSocket[nodes.count() + 1];
        this.connectionGeneration = new int[nodes.count() + 1];
        for (int s = 0; s < KEYS; s++) {
            models[s] = new KeyModel();
        }
    }

    void run() {
        try {
            while (System.nanoTime() < deadlineNanos && !Thread.currentThread().isInterrupted()) {
                pipeline();
                if (thinkMillis > 0) {
                    Nodes.sleep(thinkMillis);
                }
            }
        } finally {
            for (RespSocket c : connections) {
                if (c != null) {
                    c.close();
                }
            }
            recordModels();
        }
    }

    private String key(int slot) {
        return KEY_PREFIX + id + ":" + slot + "." + keyGeneration[slot];
    }

    /** What one batch came to. */
    private static final class Tally {
        int checked;
        int violations;
        int faults;
        int unchecked;
        int abandoned;
        int lostBlindSets;
        String firstFault;

        void fault(String what) {
            faults++;
            note(what);
        }

        void note(String what) {
            if (firstFault == null) {
                firstFault = what;
            }
        }
    }

    private void pipeline() {
        int cuts = powerCuts.getAsInt();
        if (cuts != cutsSeen) {
            cutsSeen = cuts;
            if (cutsMayLoseWrites) {
                // A kill-all under everysec or no may have lost any write acknowledged shortly before it.
                Tally forget = new Tally();
                for (int s = 0; s < KEYS; s++) {
                    abandon(s, forget);
                }
                abandonedAtCut += forget.abandoned;
            }
        }
        List<Integer> live = nodes.live();
        int node = sloppyQuorum && lastNode > 0 && connections[lastNode] != null ? lastNode
                : live.get(random.nextInt(live.size()));
        int n = MIN_COMMANDS + random.nextInt(MAX_COMMANDS - MIN_COMMANDS + 1);
        List<KeyModel.Command> commands = new ArrayList<>(n);
        int[] slots = new int[n];
        Map<String, String> before = new HashMap<>();
        for (int i = 0; i < n; i++) {
            slots[i] = random.nextInt(KEYS);
            commands.add(command(key(slots[i])));
            before.putIfAbsent(key(slots[i]), models[slots[i]].describe());
        }
        double start = history.now();
        RespSocket conn;
        try {
            conn = connection(node);
        } catch (IOException e) {
            history.add(new Op(Integer.toString(id), null, PIPELINE, null, "commands=0 (connect failed)", 0, LEVEL, start,
                    history.now(), Op.Result.FAIL, "node " + node + ": " + e));
            Nodes.sleep(RECONNECT_PAUSE_MILLIS);
            return;
        }
        String session = id + "@" + node + "." + connectionGeneration[node];
        Tally tally = new Tally();
        tally.abandoned += abandonedAtCut;
        abandonedAtCut = 0;
        if (sloppyQuorum) {
            if (lastSession != null && !lastSession.equals(session)) {
                for (int s = 0; s < KEYS; s++) {
                    abandon(s, tally); // a new connection need not reach what the last one wrote
                }
                before.clear(); // the batch's commands move to the slots' new keys, certainly absent
                for (int i = 0; i < n; i++) {
                    KeyModel.Command c = commands.get(i);
                    commands.set(i, new KeyModel.Command(c.kind(), key(slots[i]), c.arg()));
                    before.putIfAbsent(key(slots[i]), models[slots[i]].describe());
                }
            }
            lastSession = session;
            lastNode = node;
        }
        Map<String, List<String>> trail = new LinkedHashMap<>();
        List<Op> violations = new ArrayList<>();
        int answered = 0;
        try {
            conn.send(commands.stream().map(KeyModel.Command::args).toList());
            for (; answered < n; answered++) {
                RespReply reply = conn.read();
                KeyModel.Command c = commands.get(answered);
                trail.computeIfAbsent(c.key(), k -> new ArrayList<>()).add(c + " -> " + reply.render());
                check(c, slots[answered], reply, start, session, tally, before, trail, violations);
            }
        } catch (IOException e) {
            tally.note("connection to node " + node + " lost after " + answered + " of " + n + " replies: " + e);
            conn.close();
            connections[node] = null;
        }
        for (int i = answered; i < n; i++) {
            KeyModel.Command c = commands.get(i);
            trail.computeIfAbsent(c.key(), k -> new ArrayList<>()).add(c + " -> (no reply)");
            tally.faults++;
            if (c.kind().writes() && c.key().equals(key(slots[i]))) {
                abandon(slots[i], tally); // may have been applied, may be applied later
            }
        }
        for (Op v : violations) { // with the key's whole batch, the wrong reply in [brackets]
            history.add(new Op(v.client(), v.session(), v.op(), v.key(), v.value(), 0, v.level(), v.start(), v.end(),
                    v.result(), v.error() + String.join(", ", trail.get(v.key()))));
        }
        String counts = String.format(Locale.ROOT, "commands=%d checked=%d violations=%d faults=%d unchecked=%d abandoned=%d "
                        + "lost-blind-sets=%d", n, tally.checked, tally.violations, tally.faults,
                tally.unchecked, tally.abandoned, tally.lostBlindSets);
        history.add(new Op(Integer.toString(id), session, PIPELINE, null, counts, 0, LEVEL, start, history.now(),
                tally.faults == 0 ? Op.Result.OK : Op.Result.INFO, tally.firstFault));
    }

    /** Checks one reply against the model of its key, if the key is still the slot's current one. */
    private void check(KeyModel.Command c, int slot, RespReply reply, double start, String session, Tally tally,
                       Map<String, String> before, Map<String, List<String>> trail, List<Op> violations) {
        if (!c.key().equals(key(slot))) {
            tally.unchecked++;
            return;
        }
        if (!KeyModel.aboutTheKey(reply)) {
            tally.fault(reply.text());
            if (c.kind().writes() && !Workload.definitelyNotApplied(reply.text())) {
                abandon(slot, tally);
            }
            return;
        }
        tally.checked++;
        KeyModel model = models[slot];
        List<String> expected = model.expectedReplies(c);
        boolean clockFault = clockUncertainUntil.getAsDouble() >= start;
        switch (model.step(c, reply, clockFault)) {
            case MATCH -> { }
            case LOST_BLIND_SET -> tally.lostBlindSets++;
            case VIOLATION -> {
                tally.violations++;
                List<String> keyTrail = trail.get(c.key());
                keyTrail.set(keyTrail.size() - 1, "[" + keyTrail.get(keyTrail.size() - 1) + "]");
                violations.add(new Op(Integer.toString(id), session, VIOLATION, c.key(), reply.render(), 0, LEVEL, start,
                        history.now(), Op.Result.OK, c + ": expected " + String.join(" or ", expected)
                        + "; key before this pipeline: " + before.get(c.key()) + "; this pipeline on the key: "));
                abandon(slot, tally);
                return;
            }
        }
        if (!model.tracked()) {
            abandon(slot, tally);
        }
    }

    /** Leaves the slot's key for a fresh one, never written: see the class comment. */
    private void abandon(int slot, Tally tally) {
        keyGeneration[slot]++;
        models[slot] = new KeyModel();
        tally.abandoned++;
    }

    /** A random command on {@code key}: SET 25 %, INCR 20 %, GET 20 %, EXISTS 13 %, APPEND 12 %, DEL 10 %. */
    private KeyModel.Command command(String key) {
        int dice = random.nextInt(100);
        if (dice < 25) {
            String value = random.nextBoolean() ? Integer.toString(random.nextInt(1_000)) : "c" + id + "." + (++seq);
            return new KeyModel.Command(KeyModel.Kind.SET, key, value);
        } else if (dice < 45) {
            return new KeyModel.Command(KeyModel.Kind.INCR, key, null);
        } else if (dice < 65) {
            return new KeyModel.Command(KeyModel.Kind.GET, key, null);
        } else if (dice < 78) {
            return new KeyModel.Command(KeyModel.Kind.EXISTS, key, null);
        } else if (dice < 90) {
            String suffix = random.nextBoolean() ? Integer.toString(1 + random.nextInt(9)) : "x" + random.nextInt(10);
            return new KeyModel.Command(KeyModel.Kind.APPEND, key, suffix);
        } else {
            return new KeyModel.Command(KeyModel.Kind.DEL, key, null);
        }
    }

    private RespSocket connection(int node) throws IOException {
        if (connections[node] == null) {
            RespSocket c = nodes.pipeliningClient(node, Workload.CONNECT_TIMEOUT_MILLIS, Workload.SOCKET_TIMEOUT_MILLIS);
            try {
                c.send(List.of(List.of("CONSISTENCY", LEVEL)));
                RespReply reply = c.read();
                if (!reply.equals(RespReply.OK)) {
                    throw new IOException("CONSISTENCY " + LEVEL + " answered " + reply.render());
                }
            } catch (IOException e) {
                c.close();
                throw e;
            }
            connections[node] = c;
            connectionGeneration[node]++;
        }
        return connections[node];
    }

    /** At the end: each slot's current key and the value the final read at ALL must find, if certain. */
    private void recordModels() {
        boolean cutSince = cutsMayLoseWrites && powerCuts.getAsInt() != cutsSeen;
        for (int s = 0; s < KEYS; s++) {
            double now = history.now();
            KeyModel m = models[s];
            boolean certain = m.certain() && !cutSince;
            history.add(new Op(Integer.toString(id), null, MODEL, key(s), m.expected(), 0, LEVEL, now, now,
                    certain ? Op.Result.OK : Op.Result.INFO, certain ? null
                    : "uncertain: " + (cutSince ? "a kill-all since its last batch may have lost writes; " : "") + m.describe()));
        }
    }
}
