package io.trelliskv.request;

import io.trelliskv.command.CommandTable;
import io.trelliskv.command.KeyCommands;
import io.trelliskv.command.StringCommands;
import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.peer.PeerUnavailableException;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.HintConfig;
import io.trelliskv.replication.HintReplayer;
import io.trelliskv.replication.HintStore;
import io.trelliskv.replication.Liveness;
import io.trelliskv.replication.ReadReply;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.replication.ReplicaPlacement;
import io.trelliskv.replication.ReplicaService;
import io.trelliskv.replication.ReplicaTransport;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.ring.TokenRing;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Whole nodes in one process: each a real {@link Dispatcher} with the string and key commands, its
 * {@link Router}, {@link Coordination} and {@link Coordinator} over a real {@link MemoryEngine}, a
 * {@link ReplicaService}, a {@link HintStore} and a {@link HintReplayer} — wired as {@code Cluster}
 * wires them, minus sockets and membership. Each node is its own {@link Placement}: a shared seeded
 * ring, and its own view of who is alive (its own epoch), changed by the test.
 *
 * <h2>The network</h2>
 * Every message is delivered by a {@link SimScheduler} event after a random delay, so messages overtake
 * each other freely — with one exception that models TCP: the forwards of one client connection from
 * one node to another travel on one peer connection (as {@code PeerClient} sends a stream) and arrive
 * in the order sent. {@code orderedStreams = false} removes that exception (the test that shows the
 * simulation can fail). A peer connection first opens (a random while), forwards made meanwhile wait in
 * its outbox; when it cannot open or breaks, the waiting ones fail as never sent
 * ({@link PeerUnavailableException#mayHaveArrived()} false), in order, and the ones already sent fail as
 * may-have-arrived. Replies and replica messages come back in any order; a replica message may be lost
 * (request or reply) and then times out after {@link #REPLICA_TIMEOUT_MILLIS}. Payloads cross the wire
 * encoded ({@link ForwardCodec}, {@link ReplicaCodec}).
 *
 * <h2>Faults</h2>
 * {@link #crash} stops a node: it runs nothing more, connections to it break, and the others learn of
 * it each at its own time. {@link #suspect} makes one node believe another dead (or alive again), as a
 * failure detector wrongly may, breaking its connections to it.
 */
final class SimRoutedCluster {

    static final long START_MILLIS = 1_700_000_000_000L;
    /** Tombstones outlive every run. */
    static final long GRACE_MILLIS = 4 * 60 * 60 * 1_000L;
    /** What the transports wait for a replica's answer before failing with a timeout. */
    static final long REPLICA_TIMEOUT_MILLIS = 300;
    /** Peer connections per pair of nodes; a stream takes slot {@code stream mod SLOTS}. */
    static final int SLOTS = 2;
    private static final int TOKENS_PER_NODE = 8;

    final SimScheduler sched;
    final ReplicationConfig config;
    /** Whether one stream's forwards arrive in the order sent (TCP); false: any order. */
    final boolean orderedStreams;
    /** Chance that a replica request, or its reply, is lost. */
    double replicaLoss;
    private final TokenRing ring;
    private final Map<Long, SimNode> nodes = new LinkedHashMap<>();
    private final Map<List<Long>, Pipe> pipes = new LinkedHashMap<>();

    long forwardsSent;
    long neverSent;
    long lostInFlight;
    /** When not null, a line per forward event and fault, for replaying a failing seed by eye. */
    List<String> trace;

    SimRoutedCluster(int n, SimScheduler sched, boolean orderedStreams) {
        this.sched = sched;
        this.orderedStreams = orderedStreams;
        this.config = new ReplicationConfig(3, ConsistencyLevel.QUORUM, ConsistencyLevel.QUORUM, false,
                ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS, 0.0, REPLICA_TIMEOUT_MILLIS);
        Map<Long, Collection<Long>> tokens = new LinkedHashMap<>();
        List<Long> ids = new ArrayList<>();
        while (ids.size() < n) {
            long id = 1 + sched.random().nextLong(0xffff);
            if (!ids.contains(id)) {
                ids.add(id);
            }
        }
        for (long id : ids) {
            List<Long> mine = new ArrayList<>();
            for (int t = 0; t < TOKENS_PER_NODE; t++) {
                mine.add(sched.random().nextLong());
            }
            tokens.put(id, mine);
        }
        this.ring = TokenRing.of(1, tokens);
        for (long id : ids) {
            nodes.put(id, new SimNode(id, sched.random().nextLong()));
        }
    }

    Collection<SimNode> nodes() {
        return nodes.values();
    }

    SimNode node(long id) {
        return nodes.get(id);
    }

    /** The key's replicas in preference order (its owners). */
    List<Long> replicasOf(String key) {
        return ring.replicas(Key.of(key).token(), config.replicationFactor());
    }

    // ---- faults ----

    /**
     * Stops {@code victim} now: it takes no more messages and sends no more replies; each connection to
     * it breaks within a few ms; every other node learns it is dead after its own random delay.
     */
    void crash(SimNode victim, long learnWithinMs) {
        trace("crash " + victim);
        victim.crashed = true;
        for (Pipe p : new ArrayList<>(pipes.values())) {
            if (p.to == victim.id) {
                sched.after(sched.between(0, 20), () -> breakPipe(p));
            }
        }
        for (SimNode n : nodes.values()) {
            if (n != victim) {
                sched.after(sched.between(0, learnWithinMs), () -> n.believe(victim.id, false));
            }
        }
    }

    /** {@code viewer} comes to believe {@code target} dead (breaking its connections to it) or alive. */
    void suspect(SimNode viewer, long target, boolean dead) {
        viewer.believe(target, !dead);
        if (dead) {
            for (Pipe p : new ArrayList<>(pipes.values())) {
                if (p.from == viewer.id && p.to == target) {
                    breakPipe(p);
                }
            }
        }
    }

    // ---- forwards ----

    /** One forwarded command on a peer connection. */
    private static final class Call {
        final byte[] payload;
        final String what;
        final CompletableFuture<ForwardCodec.Reply> reply = new CompletableFuture<>();

        Call(byte[] payload, String what) {
            this.payload = payload;
            this.what = what;
        }
    }

    private void trace(String event, Pipe p, Call c) {
        if (trace != null) {
            trace.add(sched.now() + " ms " + event + " " + Long.toHexString(p.from) + "->" + Long.toHexString(p.to)
                    + (c == null ? "" : " " + c.what));
        }
    }

    void trace(String line) {
        if (trace != null) {
            trace.add(sched.now() + " ms " + line);
        }
    }

    /** One peer connection: opening, open, or broken (then replaced by a new one on next use). */
    private final class Pipe {
        final long from;
        final long to;
        boolean open;
        boolean broken;
        /** Made while the connection was opening: not written yet. */
        final ArrayDeque<Call> outbox = new ArrayDeque<>();
        /** Written, in order, not yet arrived (ordered streams only). */
        final ArrayDeque<Call> wire = new ArrayDeque<>();
        /** Written and not answered yet. */
        final List<Call> sent = new ArrayList<>();
        /** When the last message written arrives (ordered streams). */
        long lastArrival;

        Pipe(long from, long to) {
            this.from = from;
            this.to = to;
        }
    }

    private CompletableFuture<ForwardCodec.Reply> forward(long from, long to, ForwardCodec.Request request) {
        forwardsSent++;
        Call call = new Call(ForwardCodec.encode(request), trace == null ? null : "stream " + request.stream() + " "
                + String.join(" ", java.util.Arrays.stream(request.args()).map(String::new).toList()));
        List<Long> key = List.of(from, to, (long) Math.floorMod(request.stream(), SLOTS));
        Pipe p = pipes.get(key);
        if (p == null || p.broken) {
            Pipe opening = new Pipe(from, to);
            pipes.put(key, opening);
            sched.after(sched.between(0, 40), () -> opened(opening));
            p = opening;
        }
        if (p.open) {
            write(p, call);
        } else {
            trace("queued", p, call);
            p.outbox.add(call);
        }
        return call.reply;
    }

    private void opened(Pipe p) {
        if (p.broken) {
            return;
        }
        if (nodes.get(p.to).crashed) {
            breakPipe(p); // connection refused: everything in the outbox fails as never sent
            return;
        }
        p.open = true;
        Call c;
        while ((c = p.outbox.poll()) != null) {
            write(p, c);
        }
    }

    private void write(Pipe p, Call call) {
        trace("written", p, call);
        p.sent.add(call);
        long delay = delay();
        if (orderedStreams) {
            p.wire.add(call);
            p.lastArrival = Math.max(p.lastArrival, sched.now() + delay);
            sched.after(p.lastArrival - sched.now(), () -> {
                Call head = p.wire.poll();
                if (head != null) {
                    arrive(p, head);
                }
            });
        } else {
            sched.after(delay, () -> arrive(p, call));
        }
    }

    private void arrive(Pipe p, Call call) {
        SimNode target = nodes.get(p.to);
        if (p.broken || target.crashed) {
            return; // lost with the connection; its caller failed when it broke
        }
        trace("arrived", p, call);
        CompletableFuture<ForwardCodec.Reply> done =
                target.dispatcher.executeForwarded(p.from, ForwardCodec.decodeRequest(call.payload));
        done.whenComplete((reply, failure) -> {
            byte[] encoded = failure == null ? ForwardCodec.encode(reply) : null;
            sched.after(delay(), () -> {
                if (p.broken || target.crashed || nodes.get(p.from).crashed) {
                    return;
                }
                p.sent.remove(call);
                trace("answered", p, call);
                if (failure != null) {
                    call.reply.completeExceptionally(failure);
                } else {
                    call.reply.complete(ForwardCodec.decodeReply(encoded));
                }
            });
        });
    }

    /**
     * The connection breaks: what waited in its outbox fails as never sent, oldest first (as
     * {@code PeerClient} fails it), then what was sent fails as may-have-arrived, in any order.
     */
    private void breakPipe(Pipe p) {
        if (p.broken) {
            return;
        }
        p.broken = true;
        List<Call> unsent = new ArrayList<>(p.outbox);
        List<Call> sent = new ArrayList<>(p.sent);
        p.outbox.clear();
        p.sent.clear();
        p.wire.clear();
        Collections.shuffle(sent, new java.util.Random(sched.random().nextLong()));
        InetSocketAddress address = address(p.to);
        trace("broken", p, null);
        for (Call c : unsent) {
            trace("never sent", p, c);
            neverSent++;
            c.reply.completeExceptionally(new PeerUnavailableException(address, "connection closed", null, false));
        }
        for (Call c : sent) {
            trace("lost", p, c);
            lostInFlight++;
            c.reply.completeExceptionally(new PeerUnavailableException(address, "connection lost", null, true));
        }
    }

    private static InetSocketAddress address(long id) {
        return InetSocketAddress.createUnresolved("node-" + Long.toHexString(id), 7000);
    }

    /** Usually a few ms, sometimes much longer: enough for anything to overtake anything. */
    private long delay() {
        return sched.chance(0.1) ? sched.between(20, 150) : sched.between(1, 15);
    }

    // ---- replica messages ----

    private ReplicaTransport transportOf(long self) {
        return new ReplicaTransport() {
            @Override
            public CompletableFuture<Void> write(long to, List<Entry> entries) {
                byte[] request = ReplicaCodec.encodeWrite(entries);
                return replicaCall(self, to, () -> {
                    byte[] reply = nodes.get(to).replica.applyWrite(Long.toHexString(self), request);
                    return () -> {
                        ReplicaCodec.checkWriteReply(reply);
                        return null;
                    };
                });
            }

            @Override
            public CompletableFuture<List<ReadReply>> read(long to, List<Key> keys, Entry[] known) {
                byte[] request = ReplicaCodec.encodeRead(keys, known);
                return replicaCall(self, to, () -> {
                    byte[] reply = nodes.get(to).replica.answerRead(request);
                    return () -> ReplicaCodec.decodeReadReply(reply);
                });
            }
        };
    }

    /**
     * Sends a replica request: {@code atTarget} runs on arrival and returns how the caller reads the
     * answer. Completes on the caller's side after a random delay, or with a timeout when lost.
     */
    private <T> CompletableFuture<T> replicaCall(long from, long to, Supplier<Supplier<T>> atTarget) {
        CompletableFuture<T> f = new CompletableFuture<>();
        SimNode sender = nodes.get(from);
        if (sender.crashed) {
            return f; // a stopped node sends nothing
        }
        SimNode target = nodes.get(to);
        if (target.crashed) {
            sched.after(sched.between(1, 10), () -> completeAt(sender, f, null,
                    new PeerUnavailableException(address(to), "connection refused", null, false)));
            return f;
        }
        if (sched.chance(replicaLoss)) {
            sched.after(REPLICA_TIMEOUT_MILLIS, () -> completeAt(sender, f, null, timeout(to)));
            return f;
        }
        boolean loseReply = sched.chance(replicaLoss);
        sched.after(delay(), () -> {
            if (target.crashed) {
                sched.after(REPLICA_TIMEOUT_MILLIS, () -> completeAt(sender, f, null, timeout(to)));
                return;
            }
            Supplier<T> answer;
            try {
                answer = atTarget.get();
            } catch (RuntimeException e) {
                answer = () -> {
                    throw e;
                };
            }
            if (loseReply) {
                sched.after(REPLICA_TIMEOUT_MILLIS, () -> completeAt(sender, f, null, timeout(to)));
                return;
            }
            Supplier<T> read = answer;
            sched.after(delay(), () -> {
                T value;
                try {
                    value = read.get();
                } catch (RuntimeException e) {
                    completeAt(sender, f, null, e);
                    return;
                }
                completeAt(sender, f, value, null);
            });
        });
        return f;
    }

    private static <T> void completeAt(SimNode sender, CompletableFuture<T> f, T value, Throwable failure) {
        if (sender.crashed) {
            return; // a stopped node runs nothing more
        }
        if (failure != null) {
            f.completeExceptionally(failure);
        } else {
            f.complete(value);
        }
    }

    private static TimeoutException timeout(long to) {
        return new TimeoutException("no answer from " + Long.toHexString(to) + " in " + REPLICA_TIMEOUT_MILLIS + " ms");
    }

    /**
     * Replays hints on every running node until none is left for a running node (bounded), with no
     * replica message lost meanwhile; time moves {@link HintReplayer#TICK_MILLIS} per round.
     */
    void replayHints(int maxRounds) {
        replicaLoss = 0;
        for (int round = 0; round < maxRounds && hintsForRunningNodes() > 0; round++) {
            sched.idle(HintReplayer.TICK_MILLIS);
            for (SimNode n : nodes.values()) {
                if (!n.crashed) {
                    n.replayer.tick();
                }
            }
            sched.runUntilQuiet(1_000_000);
        }
    }

    int hintsForRunningNodes() {
        int pending = 0;
        for (SimNode n : nodes.values()) {
            if (n.crashed) {
                continue;
            }
            for (Map.Entry<Long, Integer> e : n.hints.pendingByTarget().entrySet()) {
                if (!nodes.get(e.getKey()).crashed) {
                    pending += e.getValue();
                }
            }
        }
        return pending;
    }

    /** One whole node; also its own view of the cluster (placement, liveness). */
    final class SimNode implements Placement, ReplicaPlacement, Liveness {

        final long id;
        final ManualClock clock = new ManualClock(START_MILLIS);
        final Hlc hlc = new Hlc(clock);
        final MemoryEngine engine;
        final Dispatcher dispatcher;
        final ReplicaService replica;
        final HintStore hints;
        final HintReplayer replayer;
        final ClientRegistry clients = new ClientRegistry(100);
        /** The nodes this one believes not alive. */
        private final Set<Long> dead = new HashSet<>();
        /** Counts changes of {@link #dead}: the {@link Placement#epoch}. */
        private long epoch;
        boolean crashed;

        SimNode(long id, long seed) {
            this.id = id;
            sched.drive(clock);
            this.engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, GRACE_MILLIS,
                    EngineConfig.DEFAULT_EVICTION_SAMPLES), clock, hlc, id);
            CommandTable table = new CommandTable();
            new StringCommands(engine, clock, 512 * 1024 * 1024L).registerInto(table);
            new KeyCommands(engine, clock).registerInto(table);
            this.dispatcher = new Dispatcher(table, engine, clock, false);
            this.replica = new ReplicaService(engine, hlc, config.maxClockDriftMillis());
            this.hints = new HintStore(HintConfig.defaults(), clock);
            ReplicaTransport transport = transportOf(id);
            Coordinator coordinator = new Coordinator(engine, hlc, this, this, transport, hints::add, config,
                    new java.util.SplittableRandom(seed));
            dispatcher.serveCluster(this, (to, request) -> forward(id, to, request), coordinator,
                    () -> CompletableFuture.failedFuture(new UnsupportedOperationException("no FLUSHALL here")));
            this.replayer = new HintReplayer(hints, transport, this, HintConfig.defaults(), clock);
        }

        void believe(long node, boolean alive) {
            trace(this + " believes " + Long.toHexString(node) + (alive ? " alive" : " dead"));
            if (alive ? dead.remove(node) : dead.add(node)) {
                epoch++;
            }
        }

        @Override
        public long localNodeId() {
            return id;
        }

        @Override
        public List<Long> owners(long token) {
            return ring.replicas(token, config.replicationFactor());
        }

        @Override
        public List<Long> replicas(long token) {
            return owners(token);
        }

        @Override
        public boolean isAlive(long nodeId) {
            return nodeId == id || !dead.contains(nodeId);
        }

        @Override
        public long epoch() {
            return epoch;
        }

        @Override
        public String describe(long nodeId) {
            return Long.toHexString(nodeId) + "@sim";
        }

        /** This node's stored entry for {@code key}, tombstones included; null if none. */
        Entry stored(String key) {
            return engine.stored(Key.of(key));
        }

        @Override
        public String toString() {
            return Long.toHexString(id);
        }
    }
}
