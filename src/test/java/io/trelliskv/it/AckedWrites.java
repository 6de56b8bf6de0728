package io.trelliskv.it;

import io.trelliskv.harness.RespReply;
import io.trelliskv.harness.RespSocket;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * What a crash may not take back: every write a node acknowledged. {@link Load} keeps a window of
 * pipelined commands in flight on one raw RESP connection — SETs of keys never written before, each with
 * its own value, and now and then a DEL of a key whose SET was acknowledged — and records, per key, what
 * was sent and what was acknowledged and when. A crash (SIGKILL) ends the load: commands without a reply
 * are unknown, and may or may not have taken effect. {@link Model#verify} then reads every key back and
 * checks it against what was acknowledged:
 * <ul>
 *   <li>a SET acknowledged and no DEL sent: the key holds the SET's value;</li>
 *   <li>a DEL acknowledged: the key is absent;</li>
 *   <li>anything unknown: either; but a value read is always the value the key's one SET wrote.</li>
 * </ul>
 * A cut-off relaxes the first two to what was acknowledged before it (everysec: the last second may be
 * lost), and counts what was lost after it. {@link Model#resolve} then makes the model certain again from
 * what was read (the crashed process can no longer apply anything), so rounds accumulate keys.
 *
 * <p>The model is owned by one thread at a time: the load's while it runs, the test's after joining it.
 */
final class AckedWrites {

    private AckedWrites() {
    }

    /** Socket timeout of the raw connections: long enough for a loaded machine, short enough to fail. */
    static final int SOCKET_TIMEOUT_MILLIS = 15_000;
    /** GETs per pipelined write when reading keys back. */
    private static final int READ_BATCH = 1_000;

    /** A raw pipelining connection to {@code host:port}, with this class's socket timeout. */
    static RespSocket connect(String host, int port) throws IOException {
        return new RespSocket(host, port, 5_000, SOCKET_TIMEOUT_MILLIS);
    }

    enum Status { NONE, SENT, ACKED }

    /** One key: its one value, and what became of its SET and its DEL. */
    static final class KeyState {
        final String value;
        Status set = Status.NONE;
        Status del = Status.NONE;
        long setAckNanos;
        long delAckNanos;

        KeyState(String value) {
            this.value = value;
        }

        boolean mustBePresent(long cutoffNanos) {
            return set == Status.ACKED && del == Status.NONE && setAckNanos < cutoffNanos;
        }

        boolean mustBeAbsent(long cutoffNanos) {
            return del == Status.ACKED && delAckNanos < cutoffNanos;
        }
    }

    /** What a verification found. */
    record Verdict(int keys, int present, int violations, List<String> examples, int mustBePresent,
                   int mustBeAbsent, int unknownPresent, int unknownAbsent, int lostAfterCutoff,
                   int ackedAfterCutoff) {

        String summary() {
            return String.format("%d keys read back, %d present; %d had to be present and %d absent; unknown writes:"
                            + " %d took effect, %d did not; acknowledged after the cut-off: %d, of them lost: %d;"
                            + " %d violations%s", keys, present, mustBePresent, mustBeAbsent, unknownPresent,
                    unknownAbsent, ackedAfterCutoff, lostAfterCutoff, violations,
                    examples.isEmpty() ? "" : ", first: " + String.join("; ", examples));
        }
    }

    /** Every key written, in the order first sent. */
    static final class Model {
        final Map<String, KeyState> keys = new LinkedHashMap<>();
        /** Keys certainly present: what a DEL may pick. */
        final List<String> deletable = new ArrayList<>();

        /**
         * Reads every key back through {@code conns} (key i through conns[i % n]) and checks it; keys
         * acknowledged at or after {@code cutoffNanos} may be lost (Long.MAX_VALUE: none may).
         */
        Verdict verify(List<RespSocket> conns, long cutoffNanos) throws IOException {
            Map<String, String> read = readAll(conns, new ArrayList<>(keys.keySet()));
            int present = 0;
            int violations = 0;
            int mustPresent = 0;
            int mustAbsent = 0;
            int unknownPresent = 0;
            int unknownAbsent = 0;
            int lost = 0;
            int ackedAfter = 0;
            List<String> examples = new ArrayList<>();
            for (Map.Entry<String, KeyState> e : keys.entrySet()) {
                String key = e.getKey();
                KeyState k = e.getValue();
                String got = read.get(key);
                if (got != null) {
                    present++;
                }
                String wrong = null;
                if (got != null && !got.equals(k.value)) {
                    wrong = "holds '" + got + "', not its only value '" + k.value + "'";
                } else if (k.mustBePresent(cutoffNanos)) {
                    mustPresent++;
                    if (got == null) {
                        wrong = "acknowledged SET lost";
                    }
                } else if (k.mustBeAbsent(cutoffNanos)) {
                    mustAbsent++;
                    if (got != null) {
                        wrong = "acknowledged DEL undone";
                    }
                } else if (k.set == Status.ACKED && k.del == Status.NONE) {
                    ackedAfter++;
                    lost += got == null ? 1 : 0;
                } else if (k.del == Status.ACKED) {
                    ackedAfter++;
                    lost += got != null ? 1 : 0;
                } else if (got != null) {
                    unknownPresent++;
                } else {
                    unknownAbsent++;
                }
                if (wrong != null) {
                    violations++;
                    if (examples.size() < 5) {
                        examples.add(key + " (SET " + k.set + ", DEL " + k.del + "): " + wrong);
                    }
                }
            }
            resolve(read);
            return new Verdict(keys.size(), present, violations, List.copyOf(examples), mustPresent, mustAbsent,
                    unknownPresent, unknownAbsent, lost, ackedAfter);
        }

        /** After a crash nothing pending can still apply: what was read is now certain. */
        private void resolve(Map<String, String> read) {
            deletable.clear();
            for (Map.Entry<String, KeyState> e : keys.entrySet()) {
                KeyState k = e.getValue();
                k.set = Status.ACKED;
                k.setAckNanos = Long.MIN_VALUE;
                if (read.get(e.getKey()) != null) {
                    k.del = Status.NONE;
                    deletable.add(e.getKey());
                } else {
                    k.del = Status.ACKED;
                    k.delAckNanos = Long.MIN_VALUE;
                }
            }
        }
    }

    /** GETs every key, pipelined in batches, spread over the connections; absent keys map to null. */
    static Map<String, String> readAll(List<RespSocket> conns, List<String> keys) throws IOException {
        Map<String, String> out = new HashMap<>();
        for (int from = 0; from < keys.size(); from += READ_BATCH) {
            List<String> batch = keys.subList(from, Math.min(keys.size(), from + READ_BATCH));
            RespSocket c = conns.get((from / READ_BATCH) % conns.size());
            List<List<String>> gets = new ArrayList<>(batch.size());
            for (String key : batch) {
                gets.add(List.of("GET", key));
            }
            c.send(gets);
            for (String key : batch) {
                RespReply r = c.read();
                if (r.isError()) {
                    throw new IOException("GET " + key + " answered " + r.render());
                }
                out.put(key, r.text());
            }
        }
        return out;
    }

    /**
     * Pipelined load on one connection until {@link #stop} or until the connection breaks: up to
     * {@code window} commands in flight, one DEL in {@code deleteOneIn} commands (of a key whose SET was
     * acknowledged), the rest SETs of new keys {@code prefix<n>}.
     */
    static final class Load implements Runnable {
        private final RespSocket conn;
        /** Commands made since the last send: written together, in one socket write. */
        private final List<List<String>> unsent = new ArrayList<>();
        private final Model model;
        private final Random random;
        private final String prefix;
        private final int window;
        private final int deleteOneIn;
        private final ArrayDeque<String[]> inFlight = new ArrayDeque<>();
        final CountDownLatch firstReply = new CountDownLatch(1);
        private volatile boolean stop;
        private int next;
        int setsSent;
        int setsAcked;
        int delsSent;
        int delsAcked;
        int errors;
        String firstError;
        /** Why it ended: the connection's error, or null if stopped. */
        IOException ended;

        Load(RespSocket conn, Model model, Random random, String prefix, int window, int deleteOneIn) {
            this.conn = conn;
            this.model = model;
            this.random = random;
            this.prefix = prefix;
            this.window = window;
            this.deleteOneIn = deleteOneIn;
        }

        void stop() {
            stop = true;
        }

        @Override
        public void run() {
            try {
                while (!stop) {
                    while (inFlight.size() < window) {
                        send();
                    }
                    conn.send(unsent);
                    unsent.clear();
                    replied(conn.read());
                    firstReply.countDown();
                }
                while (!inFlight.isEmpty()) {
                    replied(conn.read());
                }
            } catch (IOException e) {
                ended = e;
            } finally {
                firstReply.countDown();
            }
        }

        private void send() throws IOException {
            String[] cmd;
            if (!model.deletable.isEmpty() && random.nextInt(deleteOneIn) == 0) {
                int i = random.nextInt(model.deletable.size());
                String key = model.deletable.get(i);
                model.deletable.set(i, model.deletable.get(model.deletable.size() - 1));
                model.deletable.remove(model.deletable.size() - 1);
                model.keys.get(key).del = Status.SENT;
                cmd = new String[] {"DEL", key};
                delsSent++;
            } else {
                String key = prefix + (next++);
                KeyState k = new KeyState("v-" + key + "-" + Long.toHexString(random.nextLong()));
                k.set = Status.SENT;
                model.keys.put(key, k);
                cmd = new String[] {"SET", key, k.value};
                setsSent++;
            }
            unsent.add(List.of(cmd));
            inFlight.add(cmd);
        }

        private void replied(RespReply r) {
            long now = System.nanoTime();
            String[] cmd = inFlight.poll();
            KeyState k = model.keys.get(cmd[1]);
            if (r.isError()) {
                errors++;
                if (firstError == null) {
                    firstError = String.join(" ", cmd[0], cmd[1]) + " -> " + r.render();
                }
                return; // unknown: may or may not have been applied
            }
            if (cmd[0].equals("SET")) {
                if ("OK".equals(r.text())) {
                    k.set = Status.ACKED;
                    k.setAckNanos = now;
                    model.deletable.add(cmd[1]);
                    setsAcked++;
                } else {
                    errors++;
                    firstError = firstError != null ? firstError : "SET " + cmd[1] + " -> " + r.render();
                }
            } else {
                if (r.equals(RespReply.integer(1))) {
                    k.del = Status.ACKED;
                    k.delAckNanos = now;
                    delsAcked++;
                } else {
                    errors++;
                    firstError = firstError != null ? firstError : "DEL " + cmd[1] + " -> " + r.render();
                }
            }
        }

        /** Waits (bounded) for the thread running this load to end. */
        static void join(Thread t) throws InterruptedException {
            t.join(TimeUnit.MILLISECONDS.toMillis(2L * SOCKET_TIMEOUT_MILLIS));
            if (t.isAlive()) {
                t.interrupt();
                throw new AssertionError("the load thread " + t.getName() + " did not end");
            }
        }

        String counts() {
            return String.format("SET %d sent, %d acknowledged; DEL %d sent, %d acknowledged; %d error replies%s",
                    setsSent, setsAcked, delsSent, delsAcked, errors, firstError == null ? "" : " (first: "
                            + firstError + ")");
        }
    }
}
