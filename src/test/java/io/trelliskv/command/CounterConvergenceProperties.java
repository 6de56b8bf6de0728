package io.trelliskv.command;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.storage.WriteCapture;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Counters replicated the way the cluster replicates them, with the real commands on real engines: 2 or 3
 * replicas (each with its own clock, so their hybrid clocks drift apart) run INCRBY, SET and DEL on one
 * key, and every entry a command writes is sent to the other replicas, to arrive in any order, any number
 * of times, or to be pulled later by anti-entropy. Once everything has arrived everywhere, every replica
 * holds the same entry (value and version); without resets its value is the sum of all increments, and
 * with resets it is the winning state's value plus exactly the increments made on top of it, each counted
 * once. The anti-entropy here hands over whole entries whatever their versions, as the cluster's does where
 * either side holds a counter. A read reconciles every replica's entry as a coordinator does
 * ({@link Coordinator#reconcile}), and GET must answer the value it settles on.
 */
class CounterConvergenceProperties {

    private static final long START = 1_700_000_000_000L;
    private static final String KEY = "c";

    /** kind: 0 INCRBY delta at {@code at}; 1 deliver message {@code pick}; 2 deliver it and keep it (a
     * duplicate); 3 SET at {@code at} to delta; 4 DEL at {@code at}; 5 {@code at}'s clock advances pick ms;
     * 6 {@code at} pulls replica {@code pick}'s entry (anti-entropy); 7 {@code at} reads from every replica,
     * as a quorum read at ALL does. */
    record Op(int kind, int at, int pick, long delta) {
        @Override
        public String toString() {
            return switch (kind) {
                case 0 -> at + ":INCRBY " + delta;
                case 1 -> "deliver #" + pick;
                case 2 -> "redeliver #" + pick;
                case 3 -> at + ":SET " + delta;
                case 4 -> at + ":DEL";
                case 5 -> at + ":tick " + pick;
                case 6 -> at + ":pull from " + pick;
                default -> at + ":read";
            };
        }
    }

    /** One replica: an engine with tombstones kept, its clock, and the string and key commands over it. */
    static final class Replica implements AutoCloseable {
        final ManualClock clock;
        final MemoryEngine engine;
        final CommandTable table = new CommandTable();

        Replica(long nodeId, long skewMillis) {
            clock = new ManualClock(START + skewMillis);
            engine = new MemoryEngine(EngineConfig.defaults(), clock, new Hlc(clock), nodeId);
            new StringCommands(engine, clock, 1 << 20).registerInto(table);
            new KeyCommands(engine, clock).registerInto(table);
        }

        /** Runs a command; returns the entries it wrote. */
        List<Entry> run(String... args) {
            byte[][] a = new byte[args.length][];
            for (int i = 0; i < args.length; i++) {
                a[i] = args[i].getBytes(StandardCharsets.UTF_8);
            }
            ByteBuf buf = Unpooled.buffer();
            RespWriter out = new RespWriter();
            out.target(buf);
            List<Entry> written;
            WriteCapture.begin();
            try {
                table.find(a[0]).handler().handle(ClientConnection.detached(0), a, out);
            } finally {
                written = WriteCapture.end();
                buf.release();
            }
            return written;
        }

        Entry stored() {
            return engine.stored(Key.of(KEY.getBytes()));
        }

        /** What GET answers, as a number; null for nil. */
        Long value() {
            byte[] v = StringCommands.stringOf(engine.get(Key.of(KEY.getBytes())));
            return v == null ? null : Long.parseLong(new String(v, StandardCharsets.US_ASCII));
        }

        @Override
        public void close() {
            engine.close();
        }
    }

    record Message(int to, Entry entry) {
    }

    @Provide
    Arbitrary<List<Op>> withoutResets() {
        return ops(Arbitraries.of(0, 0, 1, 1, 2, 5, 6));
    }

    @Provide
    Arbitrary<List<Op>> withResets() {
        return ops(Arbitraries.of(0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7));
    }

    private static Arbitrary<List<Op>> ops(Arbitrary<Integer> kinds) {
        return Combinators.combine(kinds, Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 1_000),
                Arbitraries.longs().between(-1_000, 1_000)).as(Op::new).list().ofMaxSize(60);
    }

    @Property(tries = 300, seed = "20261204")
    void withoutResetsEveryReplicaEndsAtTheBasePlusEveryIncrementOnce(@ForAll("withoutResets") List<Op> ops,
                                                                      @ForAll boolean threeReplicas) {
        History h = new History(threeReplicas ? 3 : 2);
        try {
            h.replicate(0, h.replicas.get(0).run("SET", KEY, "100"));
            h.deliverAll();
            long sum = 100;
            for (Op op : ops) {
                if (op.kind() == 0) {
                    sum += op.delta();
                }
                h.apply(op);
            }
            h.settle();
            for (Replica r : h.replicas) {
                assertThat(r.value()).as("after %s", ops).isEqualTo(sum);
            }
        } finally {
            h.close();
        }
    }

    @Property(tries = 500, seed = "20261205")
    void withResetsEveryReplicaConvergesOnTheWinningStatePlusTheIncrementsMadeOnIt(
            @ForAll("withResets") List<Op> ops, @ForAll boolean threeReplicas) {
        History h = new History(threeReplicas ? 3 : 2);
        try {
            for (Op op : ops) {
                h.apply(op);
            }
            h.settle();
            Entry winner = h.replicas.get(0).stored();
            for (Replica r : h.replicas) {
                Entry e = r.stored();
                assertThat(e == null ? null : e.version()).as("after %s", ops)
                        .isEqualTo(winner == null ? null : winner.version());
                assertThat(e == null ? null : e.value()).as("after %s", ops)
                        .isEqualTo(winner == null ? null : winner.value());
                assertThat(r.value()).isEqualTo(h.replicas.get(0).value());
            }
            if (winner != null && winner.kind() == ValueKind.COUNTER) {
                Version epoch = CausalCodec.decodeCounterState(winner.value()).epoch();
                long expected = h.resets.getOrDefault(epoch, 0L);
                for (Map.Entry<Entry, Long> inc : h.increments.entrySet()) {
                    if (CausalCodec.decodeCounterState(inc.getKey().value()).epoch().equals(epoch)) {
                        expected += inc.getValue();
                    }
                }
                assertThat(h.replicas.get(0).value()).as("after %s", ops).isEqualTo(expected);
            }
        } finally {
            h.close();
        }
    }

    /** The replicas, the messages in flight between them, and what was written at which version. */
    static final class History implements AutoCloseable {
        final List<Replica> replicas = new ArrayList<>();
        final List<Message> inFlight = new ArrayList<>();
        /** The value each SET (its integer) and DEL (0) reset the key to, by its version. */
        final Map<Version, Long> resets = new HashMap<>();
        /** Each INCRBY's written entry (by identity) and its delta. */
        final Map<Entry, Long> increments = new java.util.IdentityHashMap<>();

        History(int n) {
            for (int i = 0; i < n; i++) {
                replicas.add(new Replica(0x10L + i * 0x1111L, i * 7L));
            }
        }

        /**
         * Two replicas holding one version hold one value: what read repair, anti-entropy and WATCH rely on
         * when they compare versions only.
         */
        void checkVersionsNameValues() {
            for (Replica a : replicas) {
                for (Replica b : replicas) {
                    Entry x = a.stored();
                    Entry y = b.stored();
                    if (x != null && y != null && x.version().equals(y.version())) {
                        assertThat(x.value()).as("values of version %s", x.version()).isEqualTo(y.value());
                    }
                }
            }
        }

        void apply(Op op) {
            applyOne(op);
            checkVersionsNameValues();
        }

        private void applyOne(Op op) {
            int at = op.at() % replicas.size();
            Replica r = replicas.get(at);
            switch (op.kind()) {
                case 0 -> {
                    List<Entry> written = r.run("INCRBY", KEY, Long.toString(op.delta()));
                    assertThat(written).hasSize(1);
                    increments.put(written.get(0), op.delta());
                    replicate(at, written);
                }
                case 1, 2 -> {
                    if (!inFlight.isEmpty()) {
                        int i = op.pick() % inFlight.size();
                        Message m = op.kind() == 1 ? inFlight.remove(i) : inFlight.get(i);
                        replicas.get(m.to()).engine.merge(m.entry());
                    }
                }
                case 3 -> {
                    List<Entry> written = r.run("SET", KEY, Long.toString(op.delta()));
                    resets.put(written.get(0).version(), op.delta());
                    replicate(at, written);
                }
                case 4 -> {
                    List<Entry> written = r.run("DEL", KEY);
                    written.forEach(e -> resets.put(e.version(), 0L));
                    replicate(at, written);
                }
                case 5 -> r.clock.advanceMillis(op.pick());
                case 7 -> read(r);
                default -> {
                    Entry theirs = replicas.get(op.pick() % replicas.size()).stored();
                    if (theirs != null) {
                        r.engine.merge(theirs);
                    }
                }
            }
        }

        /**
         * What a read coordinated at {@code r} does with every replica's answer: merges each into {@code r}'s
         * engine, and settles on their {@link Coordinator#reconcile}. Both follow one rank order, so what GET
         * answers at {@code r} is the reconciled entry's value (a counter's join, or the reset that outranks it).
         */
        private void read(Replica r) {
            Entry reconciled = null;
            for (Replica from : replicas) {
                Entry e = from.stored();
                reconciled = Coordinator.reconcile(reconciled, e, r.clock.millis());
                if (e != null) {
                    r.engine.merge(e);
                }
            }
            assertThat(r.value()).as("GET after the read, which reconciled %s", reconciled).isEqualTo(valueOf(reconciled));
        }

        private static Long valueOf(Entry e) {
            if (e == null || e.isTombstone()) {
                return null;
            }
            if (e.kind() == ValueKind.COUNTER) {
                return CausalCodec.decodeCounterState(e.value()).value();
            }
            return Long.parseLong(new String(e.value(), StandardCharsets.US_ASCII));
        }

        void replicate(int from, List<Entry> written) {
            for (int to = 0; to < replicas.size(); to++) {
                if (to != from) {
                    for (Entry e : written) {
                        inFlight.add(new Message(to, e));
                    }
                }
            }
        }

        void deliverAll() {
            for (Message m : inFlight) {
                replicas.get(m.to()).engine.merge(m.entry());
            }
            inFlight.clear();
        }

        /** Every message arrives, then rounds of anti-entropy between every pair until nothing changes. */
        void settle() {
            deliverAll();
            boolean changed = true;
            for (int round = 0; changed; round++) {
                assertThat(round).as("anti-entropy rounds before nothing changes").isLessThan(10);
                changed = false;
                for (Replica to : replicas) {
                    for (Replica from : replicas) {
                        Entry e = from.stored();
                        if (from != to && e != null) {
                            changed |= to.engine.merge(e);
                        }
                    }
                }
            }
        }

        @Override
        public void close() {
            replicas.forEach(Replica::close);
        }
    }
}
