package io.trelliskv.harness;

import io.trelliskv.common.DaemonThreads;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The counter workload ({@code --workload counter}): each client, until the deadline, sends
 * {@code INCRBY c:<i> <amount>} with a seeded random amount of 1..{@link #MAX_AMOUNT} to one of
 * {@link #KEYS} counter keys through a random live node, at QUORUM, and records each as an {@code incr}
 * line whose value is the amount. The keys are never written otherwise, so they count from 0 (a missing
 * key) and the {@link CounterChecker} can bound every value read by the increments' outcomes: amounts
 * are positive, so the acknowledged ones sum to a lower bound and adding the indeterminate ones gives the
 * upper bound. One operation in {@link #READ_ONE_IN} is a {@code GET} of a counter instead ({@code read}
 * lines), checked against the increments acknowledged before it began and those begun before it ended.
 */
final class CounterWorkload {

    /** Counter keys, {@code c:0} … : few, so that every key sees increments through every coordinator. */
    static final int KEYS = 4;
    /** Largest increment; the smallest is 1. */
    static final int MAX_AMOUNT = 5;
    /** Prefix of the counter keys. */
    static final String KEY_PREFIX = "c:";
    /** One operation in this many is a GET. */
    static final int READ_ONE_IN = 5;
    /** The history's op for one INCRBY. */
    static final String INCR = "incr";

    private final Nodes nodes;
    private final History history;
    private final long thinkMillis;

    CounterWorkload(Nodes nodes, History history, long thinkMillis) {
        this.nodes = nodes;
        this.history = history;
        this.thinkMillis = thinkMillis;
    }

    /** The keys the clients increment. */
    static List<String> keys() {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
            keys.add(KEY_PREFIX + i);
        }
        return keys;
    }

    /** Starts {@code clients} threads, all running until {@code deadlineNanos}; returns them. */
    List<Thread> start(int clients, long seed, long deadlineNanos) {
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int id = c;
            Random random = new Random(seed * 1_000 + c);
            threads.add(DaemonThreads.start("tkh-counter-" + c, () -> run(id, random, deadlineNanos)));
        }
        return threads;
    }

    private void run(int id, Random random, long deadlineNanos) {
        try (ClientConnections connections = new ClientConnections(id, nodes, "QUORUM")) {
            while (System.nanoTime() < deadlineNanos && !Thread.currentThread().isInterrupted()) {
                if (random.nextInt(READ_ONE_IN) == 0) {
                    read(id, connections, random);
                } else {
                    increment(id, connections, random);
                }
                if (thinkMillis > 0) {
                    Nodes.sleep(thinkMillis);
                }
            }
        }
    }

    private void read(int id, ClientConnections connections, Random random) {
        int node = connections.pickNode(random);
        String key = KEY_PREFIX + random.nextInt(KEYS);
        double start = history.now();
        try {
            String value = connections.to(node).get(key);
            history.add(new Op(Integer.toString(id), connections.session(node), "read", key, value, 0, connections.level(),
                    start, history.now(), Op.Result.OK, null));
        } catch (RuntimeException e) {
            connections.drop(node, e);
            history.add(new Op(Integer.toString(id), connections.session(node), "read", key, null, 0, connections.level(),
                    start, history.now(), Op.Result.FAIL, Workload.describe(e)));
        }
    }

    private void increment(int id, ClientConnections connections, Random random) {
        int node = connections.pickNode(random);
        String key = KEY_PREFIX + random.nextInt(KEYS);
        long amount = 1 + random.nextInt(MAX_AMOUNT);
        String session = connections.session(node);
        double start = history.now();
        Op.Result result;
        String error;
        try {
            long reply = connections.to(node).incrBy(key, amount);
            session = connections.session(node);
            result = Op.Result.OK;
            error = "reply " + reply;
        } catch (RuntimeException e) {
            error = Workload.describe(e);
            result = Workload.definitelyNotApplied(e) ? Op.Result.FAIL : Op.Result.INFO;
            connections.drop(node, e);
        }
        history.add(new Op(Integer.toString(id), session, INCR, key, Long.toString(amount), 0, connections.level(), start,
                history.now(), result, error));
    }
}
