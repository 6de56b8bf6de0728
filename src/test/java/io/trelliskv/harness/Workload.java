package io.trelliskv.harness;

import io.trelliskv.common.DaemonThreads;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.SetParams;
import redis.clients.jedis.util.SafeEncoder;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;

/**
 * The clients: each a thread that, until the deadline, picks a random live node ({@link Nodes#live()})
 * per operation and runs one
 * of the four workloads against it, recording every operation in the {@link History}.
 *
 * <ul>
 * <li><b>Set</b>: {@code s:<n>} written once with value {@code <n>}, at QUORUM.</li>
 * <li><b>Register</b>: {@link #REGISTERS} hot keys {@code r:<i>}, written with values unique to the
 *     client and its sequence number ({@code c<client>.<seq>}) and read, concurrently by all clients.
 *     Every third client works at ONE and only on registers: its reads check read-your-writes at ONE.</li>
 * <li><b>Delete</b>: {@code d:<client>.<seq>} written then deleted by the same client; later reads by
 *     any client (and the final read) must never see it again.</li>
 * <li><b>TTL</b>: {@code t:<client>.<seq>} written with {@code PX} 500–3000 ms; reads after it expired
 *     must find nothing.</li>
 * </ul>
 * Beside these clients, {@code --pipelined} more run the {@link PipelinedClient}: batches of commands
 * on keys of their own, each reply checked against what the client's own earlier commands imply.
 */
final class Workload {

    /** Hot register keys. */
    static final int REGISTERS = 5;
    /** How many recent delete and TTL keys clients re-read. */
    private static final int RECENT = 500;
    static final int CONNECT_TIMEOUT_MILLIS = 1_000;
    /** Pause after a failed connect, in ms, as the pipelined clients do. */
    static final long RECONNECT_PAUSE_MILLIS = 100;
    /** Longer than the store's own forward (5 s) and replica (2 s) timeouts, so the store answers first. */
    static final int SOCKET_TIMEOUT_MILLIS = 7_000;

    private final Nodes nodes;
    private final History history;
    private final AtomicLong setKeys = new AtomicLong();
    private final List<String> deletedKeys = new ArrayList<>();
    private final List<String> ttlKeys = new ArrayList<>();

    /** Pause of each client between operations, in ms: bounds the history of a long run. */
    private final long thinkMillis;
    /** For the pipelined clients: history ms until which a blind SET may lose to an older value. */
    private final DoubleSupplier clockUncertainUntil;

    /** Kill-alls begun so far, and whether one may lose acknowledged writes: for the pipelined clients. */
    private final java.util.function.IntSupplier powerCuts;
    private final boolean cutsMayLoseWrites;
    /** Whether the nodes run with --sloppy-quorum: for the pipelined clients. */
    private final boolean sloppyQuorum;

    Workload(Nodes nodes, History history, long thinkMillis, DoubleSupplier clockUncertainUntil,
             java.util.function.IntSupplier powerCuts, boolean cutsMayLoseWrites, boolean sloppyQuorum) {
        this.sloppyQuorum = sloppyQuorum;
        this.powerCuts = powerCuts;
        this.cutsMayLoseWrites = cutsMayLoseWrites;
        this.nodes = nodes;
        this.history = history;
        this.thinkMillis = thinkMillis;
        this.clockUncertainUntil = clockUncertainUntil;
    }

    /**
     * Starts {@code clients} threads of the four workloads and {@code pipelined} {@link PipelinedClient}s
     * (numbered after them), all running until {@code deadlineNanos}; returns them.
     */
    List<Thread> start(int clients, int pipelined, long seed, long deadlineNanos) {
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            Client client = new Client(c, new Random(seed * 1_000 + c), c % 3 == 2 ? "ONE" : "QUORUM", deadlineNanos);
            threads.add(DaemonThreads.start("tkh-client-" + c, client::run));
        }
        for (int c = clients; c < clients + pipelined; c++) {
            PipelinedClient client = new PipelinedClient(c, new Random(seed * 1_000 + c), nodes, history, thinkMillis,
                    deadlineNanos, clockUncertainUntil, powerCuts, cutsMayLoseWrites, sloppyQuorum);
            threads.add(DaemonThreads.start("tkh-pipelined-" + c, client::run));
        }
        return threads;
    }

    private final class Client {
        final int id;
        final Random random;
        final String level;
        final long deadlineNanos;
        final Jedis[] connections;
        /** Connections opened so far, per node: a new connection is a new session. */
        final int[] generation;
        long seq;

        Client(int id, Random random, String level, long deadlineNanos) {
            this.id = id;
            this.random = random;
            this.level = level;
            this.deadlineNanos = deadlineNanos;
            this.connections = new Jedis[nodes.count() + 1];
            this.generation = new int[nodes.count() + 1];
        }

        /** The session an operation on {@code node} runs in: read-your-writes is promised per connection. */
        String session(int node) {
            return id + "@" + node + "." + generation[node];
        }

        void run() {
            try {
                while (System.nanoTime() < deadlineNanos && !Thread.currentThread().isInterrupted()) {
                    step();
                    if (thinkMillis > 0) {
                        Nodes.sleep(thinkMillis);
                    }
                }
            } finally {
                for (Jedis j : connections) {
                    closeQuietly(j);
                }
            }
        }

        /** A random node among the live ones (a decommissioned node's slot is skipped until a new node takes it). */
        int pickNode() {
            List<Integer> live = nodes.live();
            return live.get(random.nextInt(live.size()));
        }

        void step() {
            int node = pickNode();
            int dice = random.nextInt(100);
            if (level.equals("ONE") || dice < 45) {
                String key = "r:" + random.nextInt(REGISTERS);
                if (random.nextInt(10) < 4) {
                    write(node, key, "c" + id + "." + (++seq), 0);
                } else {
                    read(node, key);
                }
            } else if (dice < 70) {
                long n = setKeys.incrementAndGet();
                write(node, "s:" + n, Long.toString(n), 0);
            } else if (dice < 85) {
                if (random.nextBoolean()) {
                    String key = "d:" + id + "." + (++seq);
                    if (write(node, key, "d" + id + "." + seq, 0).ok()) {
                        int other = pickNode();
                        if (delete(other, key).ok()) {
                            remember(deletedKeys, key);
                        }
                    }
                } else {
                    String key = pick(deletedKeys);
                    if (key != null) {
                        read(node, key);
                    }
                }
            } else {
                if (random.nextBoolean()) {
                    String key = "t:" + id + "." + (++seq);
                    if (write(node, key, "t" + id + "." + seq, 500 + random.nextInt(2_500)).ok()) {
                        remember(ttlKeys, key);
                    }
                } else {
                    String key = pick(ttlKeys);
                    if (key != null) {
                        read(node, key);
                    }
                }
            }
        }

        Op write(int node, String key, String value, long ttl) {
            double start = history.now();
            Op.Result result;
            String error = null;
            try {
                Jedis j = connection(node);
                String reply = ttl > 0 ? j.set(key, value, SetParams.setParams().px(ttl)) : j.set(key, value);
                result = "OK".equals(reply) ? Op.Result.OK : Op.Result.INFO;
                if (result != Op.Result.OK) {
                    error = "unexpected reply " + reply;
                }
            } catch (RuntimeException e) {
                error = describe(e);
                result = definitelyNotApplied(e) ? Op.Result.FAIL : Op.Result.INFO;
                drop(node, e);
            }
            Op op = new Op(Integer.toString(id), session(node), ttl > 0 ? "write-ttl" : "write", key, value, ttl, level, start,
                    history.now(), result, error);
            history.add(op);
            return op;
        }

        Op delete(int node, String key) {
            double start = history.now();
            Op.Result result;
            String error = null;
            try {
                connection(node).del(key);
                result = Op.Result.OK;
            } catch (RuntimeException e) {
                error = describe(e);
                result = definitelyNotApplied(e) ? Op.Result.FAIL : Op.Result.INFO;
                drop(node, e);
            }
            Op op = new Op(Integer.toString(id), session(node), "delete", key, null, 0, level, start, history.now(), result, error);
            history.add(op);
            return op;
        }

        void read(int node, String key) {
            double start = history.now();
            try {
                String value = connection(node).get(key);
                history.add(new Op(Integer.toString(id), session(node), "read", key, value, 0, level, start, history.now(),
                        Op.Result.OK, null));
            } catch (RuntimeException e) {
                drop(node, e);
                history.add(new Op(Integer.toString(id), session(node), "read", key, null, 0, level, start, history.now(),
                        Op.Result.FAIL, describe(e)));
            }
        }

        Jedis connection(int node) {
            if (connections[node] == null) {
                Jedis j = null;
                try {
                    j = nodes.client(node, CONNECT_TIMEOUT_MILLIS, SOCKET_TIMEOUT_MILLIS); // connects
                    j.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), level);
                } catch (RuntimeException e) {
                    closeQuietly(j);
                    // A node that is down refuses at once: without a pause the client spins, and after a
                    // kill-all eight clients spinning on refused connects starve the restarting nodes.
                    Nodes.sleep(RECONNECT_PAUSE_MILLIS);
                    throw e;
                }
                connections[node] = j;
                generation[node]++;
            }
            return connections[node];
        }

        /** After an error that is not a reply, the connection's state is unknown: open a new one next time. */
        void drop(int node, RuntimeException e) {
            if (!(e instanceof JedisDataException)) {
                closeQuietly(connections[node]);
                connections[node] = null;
            }
        }

        String pick(List<String> keys) {
            synchronized (keys) {
                return keys.isEmpty() ? null : keys.get(random.nextInt(keys.size()));
            }
        }
    }

    private static void remember(List<String> keys, String key) {
        synchronized (keys) {
            if (keys.size() >= RECENT) {
                keys.remove(ThreadLocalRandom.current().nextInt(keys.size()));
            }
            keys.add(key);
        }
    }

    /** UNAVAILABLE and CLUSTERDOWN are answered before anything is done; everything else may have been applied. */
    static boolean definitelyNotApplied(RuntimeException e) {
        return e instanceof JedisDataException && e.getMessage() != null && definitelyNotApplied(e.getMessage());
    }

    /** The same for an error reply's text. */
    static boolean definitelyNotApplied(String error) {
        return error.startsWith("UNAVAILABLE") || error.startsWith("CLUSTERDOWN");
    }

    static String describe(RuntimeException e) {
        String m = e.getMessage();
        if (e instanceof JedisDataException) {
            return m;
        }
        Throwable cause = e.getCause();
        return e.getClass().getSimpleName() + ": " + m + (cause != null ? " (" + cause.getMessage() + ")" : "");
    }

    static void closeQuietly(Jedis j) {
        if (j != null) {
            try {
                j.close();
            } catch (RuntimeException e) {
                // already broken
            }
        }
    }
}
