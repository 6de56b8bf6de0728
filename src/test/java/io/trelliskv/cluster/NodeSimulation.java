package io.trelliskv.cluster;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.command.CommandTable;
import io.trelliskv.command.KeyCommands;
import io.trelliskv.command.StringCommands;
import io.trelliskv.command.VersionedCommands;
import io.trelliskv.common.Address;
import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.datadir.KnownMembers;
import io.trelliskv.datadir.NodeIdentity;
import io.trelliskv.membership.Scheduler;
import io.trelliskv.membership.SwimConfig;
import io.trelliskv.membership.Transport;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.net.peer.PeerClient;
import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.net.peer.PeerRequestFailedException;
import io.trelliskv.net.peer.PeerUnavailableException;
import io.trelliskv.repair.AntiEntropy;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.repair.ScanPacer;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.Deadline;
import io.trelliskv.replication.HintConfig;
import io.trelliskv.replication.HintReplayer;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.persist.Durability;
import io.trelliskv.request.Dispatcher;
import io.trelliskv.request.ForwardCodec;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.resp.RespReplyReader;
import io.trelliskv.resp.RespValue;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;

/**
 * Whole nodes in one process, on one thread: each simulated node is a production {@link ClusterMember}
 * (SWIM membership, ring, routing through its real {@link Dispatcher}, coordinator, hints, anti-entropy,
 * the {@link Rebalancer} with the production {@code RebalancePlan}) built exactly as a server builds it,
 * but over an in-memory network, one fake clock and one event queue. Clients talk RESP to a node's real
 * client pipeline on an {@link EmbeddedChannel}.
 *
 * <h2>Time and events</h2>
 * Every timer of every node, every datagram and every peer request or reply is an event in one queue
 * ordered by (due time, insertion order); the clock jumps to each event as it runs, so a run is a pure
 * function of its seed. Work a server runs on its own threads (range streams, anti-entropy rounds, hint
 * replay, flushes, engine scans) runs as events too. Where the production code blocks a thread on a
 * peer's answer (a stream batch, an anti-entropy exchange), the future it waits on is a {@link SimFuture},
 * whose {@code get} runs the queue until the answer is there or the timeout has passed in simulated time:
 * other nodes (and this node's other work) go on meanwhile, as they would on other threads. Sleeps
 * (stream backoffs) run the queue for the time slept. After every event each client connection's event
 * loop runs its pending tasks, as a server's event loop would.
 *
 * <h2>The network</h2>
 * A message takes {@link #minDelayMillis} to {@link #maxDelayMillis}, and with {@link #slowChance}
 * {@link #slowMinMillis} to {@link #slowMaxMillis} (so anything can overtake anything that is not on the
 * same connection). Datagrams arrive in any order. Peer requests travel on connections modelled on
 * {@code PeerClient}'s: {@link #SLOTS} per pair of nodes; the calls of one stream (a client connection's
 * forwards) take one of them, other calls take them in turn. A connection first opens (a round trip);
 * calls made meanwhile wait in its outbox, in order. On an open connection requests arrive, and replies
 * come back, in the order written (TCP), unless {@link #tcpOrder} is off (only to show that the
 * simulation finds lost order). A connection that is refused or reset fails what waited in its outbox
 * as never sent ({@code PeerUnavailableException.mayHaveArrived()} false), oldest first, and what was
 * written as may-have-arrived; every call also has its own timeout, as in {@code PeerClient}. A call
 * without a stream (a replica read or write), or its reply, is lost with {@link #callLoss}: the peer
 * was too slow, and the caller times out. Unlike {@code PeerClient}, a refused connect starts no
 * backoff: each later call tries a new connection, and fails the same way.
 *
 * <h2>Faults</h2>
 * {@link SimNode#crash()} stops a node: it runs nothing more, sends nothing, and its connections are
 * reset within {@link #RESET_WITHIN_MILLIS}; the others learn of it through SWIM. {@link #cut} puts a
 * fault on the one-way link between two nodes ({@link LinkFault}: its datagrams lost, or everything
 * refused), {@link #heal} takes it off: so a node can come to be believed dead by some nodes while it
 * serves others, or be partitioned away and come back, all through the production membership. For
 * races between coordinators, {@link #lateReplicaWrites} holds up one link's replica writes, and
 * {@link SimNode#clockAheadMillis} sets a node's clock ahead.
 */
final class NodeSimulation {

    static final long START_MILLIS = 1_700_000_000_000L;
    /** Tombstones outlive every run. */
    static final long GRACE_MILLIS = 4 * 60 * 60 * 1_000L;
    static final String CLUSTER = "sim";
    private static final int PORT = 7000;
    /** Most events one {@link #runFor} may run: a bound against a run that never quiets down. */
    private static final long MAX_EVENTS = 20_000_000;
    /** Peer connections per pair of nodes (as {@code PeerConfig.connectionsPerPeer}). */
    static final int SLOTS = 2;
    /** A crashed node's connections are reset by its host within this many ms. */
    static final long RESET_WITHIN_MILLIS = 20;

    /** What a one-way link does to what crosses it. */
    enum LinkFault {
        /** Datagrams are lost (UDP blocked): membership may find the target dead while peer calls work. */
        DATAGRAMS_LOST,
        /**
         * Nothing passes: datagrams are lost, and peer connections between the two nodes (either way) are
         * reset at once and refused while the fault lasts (a firewall's REJECT).
         */
        REFUSED
    }

    final ManualClock clock = new ManualClock(START_MILLIS);
    final SplittableRandom random;
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private long seq;
    private long eventsRun;
    private final Map<Long, SimNode> nodes = new LinkedHashMap<>();
    private final Map<Address, SimNode> byAddress = new HashMap<>();
    /** Faults by one-way link (from, to). */
    private final Map<List<Long>, LinkFault> faults = new HashMap<>();
    /** Peer connections by (from, to, slot); a broken one is replaced on next use. */
    private final Map<List<Long>, Connection> connections = new LinkedHashMap<>();
    /** The slot the next call without a stream takes, per (from, to). */
    private final Map<List<Long>, Integer> nextSlot = new HashMap<>();
    private final List<SimClient> clients = new ArrayList<>();
    /** Settings of nodes added from now on. */
    ClusterConfig template;
    /**
     * Whether requested anti-entropy rounds run. Off, a test sees what streams and the write path alone
     * achieve (a round after a move would otherwise repair what a stream missed).
     */
    boolean antiEntropy = true;
    /** Shortest and longest usual message delay, ms. */
    long minDelayMillis = 1;
    long maxDelayMillis = 5;
    /** Chance that a message is slow instead, taking {@link #slowMinMillis} to {@link #slowMaxMillis}. */
    double slowChance;
    long slowMinMillis = 20;
    long slowMaxMillis = 150;
    /** Chance that a call without a stream, or its reply, is lost (the caller times out). */
    double callLoss;
    /** Whether a connection delivers in the order written (TCP). Off only to show lost order is found. */
    boolean tcpOrder = true;
    /**
     * Whether peer calls carry their deadlines ({@code replication.Deadline}), as between nodes of this
     * build. Off, they go without, as to a node of an earlier build: only to show what deadlines prevent.
     */
    boolean deadlines = true;
    /** Extra delay of the requests crossing a one-way link (from, to), ms: a path that holds them back. */
    private final Map<List<Long>, Long> held = new HashMap<>();
    /**
     * By one-way link (from, to), how much later (ms) its stream-less {@code REPLICA_WRITE} requests arrive than
     * their connection's order would have them, without holding up what is written after them: a replica write
     * held up on its way (a congested connection of the pool) while the node's other calls go through.
     * Set with {@link #lateReplicaWrites}.
     */
    private final Map<List<Long>, Long> lateReplicaWrites = new HashMap<>();
    /**
     * When not null, each node added from now on keeps its identity and the members it knows in a
     * directory of its own here, as {@code --data-dir} does, and {@link #restart} brings it back from it.
     */
    Path dataDirs;
    /** When not null, a line per forward's progress and per fault, to compare runs or replay one by eye. */
    List<String> trace;

    /** FORWARD calls made. */
    long forwardsSent;
    /** Calls failed as never sent (refused or reset before written). */
    long neverSent;
    /** Calls failed as may-have-arrived (reset after written). */
    long lostInFlight;

    NodeSimulation(long seed) {
        this.random = new SplittableRandom(seed);
        this.template = new ClusterConfig(CLUSTER, List.of(), null, 8, null, SwimConfig.lan(CLUSTER),
                new ReplicationConfig(3, io.trelliskv.replication.ConsistencyLevel.QUORUM,
                        io.trelliskv.replication.ConsistencyLevel.QUORUM, false,
                        ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS, 0.0,
                        ReplicationConfig.DEFAULT_REPLICA_TIMEOUT_MILLIS),
                HintConfig.defaults(), AntiEntropyConfig.defaults(), new RebalanceConfig(0, 0, 2_000));
    }

    // ---- events ----

    private static final class Event implements Comparable<Event> {
        final long at;
        final long seq;
        final Runnable task;
        boolean cancelled;

        Event(long at, long seq, Runnable task) {
            this.at = at;
            this.seq = seq;
            this.task = task;
        }

        @Override
        public int compareTo(Event o) {
            return at != o.at ? Long.compare(at, o.at) : Long.compare(seq, o.seq);
        }
    }

    /** Simulated ms since the start. */
    /**
     * Three nodes (ids 1, 2, 3), each a replica of every key, at QUORUM, with the default clock drift bound and
     * {@code replicaTimeoutMillis}, run until all are NORMAL on one ring and see each other alive.
     */
    static NodeSimulation threeNodes(long seed, long replicaTimeoutMillis) {
        return threeNodes(seed, replicaTimeoutMillis, false);
    }

    /** {@link #threeNodes(long, long)}, with a hint for a down replica counted toward the write level if {@code sloppyQuorum}. */
    static NodeSimulation threeNodes(long seed, long replicaTimeoutMillis, boolean sloppyQuorum) {
        NodeSimulation sim = new NodeSimulation(seed);
        ClusterConfig t = sim.template;
        sim.template = new ClusterConfig(t.name(), t.seeds(), null, t.vnodes(), null, t.membership(),
                new ReplicationConfig(3, ConsistencyLevel.QUORUM, ConsistencyLevel.QUORUM, sloppyQuorum,
                        ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS, 0.0, replicaTimeoutMillis),
                t.hints(), t.antiEntropy(), new RebalanceConfig(0, 0, 200));
        SimNode first = sim.start(1);
        sim.start(2, first);
        sim.start(3, first);
        Set<Long> all = Set.of(1L, 2L, 3L);
        sim.runUntil("every node NORMAL on one ring", () -> sim.nodes().stream().allMatch(node ->
                node.state.ring().nodes().equals(all) && node.rebalancer().status() == NodeStatus.NORMAL
                        && all.stream().allMatch(node.state::isAlive)), 120_000);
        sim.runFor(500);
        return sim;
    }

    long now() {
        return clock.millis() - START_MILLIS;
    }

    Event after(long delayMillis, Runnable task) {
        Event e = new Event(now() + Math.max(0, delayMillis), seq++, task);
        events.add(e);
        return e;
    }

    /** Runs the next event if it is due by {@code deadline}; false if none is. */
    private boolean stepUntil(long deadline) {
        Event e = events.peek();
        if (e == null || e.at > deadline) {
            return false;
        }
        events.poll();
        if (e.cancelled) {
            return true;
        }
        if (++eventsRun > MAX_EVENTS) {
            throw new IllegalStateException("more than " + MAX_EVENTS + " events (at " + now() + " ms)");
        }
        if (e.at > now()) {
            clock.advanceMillis(e.at - now());
        }
        e.task.run();
        for (int i = 0; i < clients.size(); i++) {
            clients.get(i).drain();
        }
        return true;
    }

    /** Events run so far. */
    long eventsRun() {
        return eventsRun;
    }

    /** Runs every event due within {@code millis} and leaves the clock there. May be called from inside an event. */
    void runFor(long millis) {
        long until = now() + millis;
        while (stepUntil(until)) {
            // next
        }
        if (until > now()) {
            clock.advanceMillis(until - now());
        }
    }

    /** Runs until {@code done} holds, checking every 10 ms, for at most {@code maxMillis} of simulated time. */
    void runUntil(String what, BooleanSupplier done, long maxMillis) {
        long start = now();
        while (!done.getAsBoolean()) {
            if (now() - start > maxMillis) {
                throw new AssertionError("not within " + maxMillis + " ms: " + what);
            }
            runFor(10);
        }
    }

    /**
     * A future that a blocked thread of the production code can wait on in simulated time: {@code get}
     * runs the event queue until it completes or its timeout passes. Dependent stages are SimFutures too.
     */
    final class SimFuture<T> extends CompletableFuture<T> {

        @Override
        public <U> CompletableFuture<U> newIncompleteFuture() {
            return new SimFuture<>();
        }

        @Override
        public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
            long deadline = now() + unit.toMillis(timeout);
            while (!isDone() && stepUntil(deadline)) {
                // the rest of the world goes on while this thread waits
            }
            if (!isDone()) {
                if (deadline > now()) {
                    clock.advanceMillis(deadline - now());
                }
                throw new TimeoutException("no answer within " + unit.toMillis(timeout) + " simulated ms");
            }
            return super.get();
        }

        @Override
        public T get() throws InterruptedException, ExecutionException {
            try {
                return get(1, TimeUnit.HOURS);
            } catch (TimeoutException e) {
                throw new ExecutionException(e);
            }
        }
    }

    // ---- nodes ----

    /** Adds node {@code id} and starts it, joining through {@code seeds} (none: a new cluster). */
    SimNode start(long id, SimNode... seeds) {
        List<Address> seedList = new ArrayList<>();
        for (SimNode s : seeds) {
            seedList.add(s.address);
        }
        ClusterConfig t = template;
        Path dir = dataDirs == null ? null : dataDirs.resolve(Long.toHexString(id));
        if (dir != null) {
            try {
                java.nio.file.Files.createDirectories(dir);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        ClusterConfig config = new ClusterConfig(t.name(), seedList, null, t.vnodes(), dir, t.membership(),
                t.replication(), t.hints(), t.antiEntropy(), t.rebalance());
        int n = nodes.size() + 1;
        Address address = new Address("10.0." + (n >> 8) + "." + (n & 0xff), PORT);
        NodeIdentity identity = new NodeIdentity(id, config.name(), List.of());
        return add(new SimNode(id, address, config, identity, KnownMembers.none()));
    }

    /**
     * Starts a crashed node again as a new process would: same id and address, an empty engine, the
     * identity (tokens) and members kept in its data directory, joining through {@code seeds} (none:
     * through the members it knew).
     */
    SimNode restart(SimNode crashed, SimNode... seeds) {
        return restart(crashed, false, seeds);
    }

    /**
     * Starts a crashed node again with the data it held when it crashed, as a node whose log kept every
     * write does ({@code --appendfsync always}): its engine starts with every entry of the old one.
     */
    SimNode restartWithData(SimNode crashed, SimNode... seeds) {
        return restart(crashed, true, seeds);
    }

    private SimNode restart(SimNode crashed, boolean withData, SimNode... seeds) {
        if (!crashed.down || crashed.config.dataDir() == null) {
            throw new IllegalStateException(crashed + " is not crashed, or has no data directory");
        }
        List<Address> seedList = new ArrayList<>();
        for (SimNode s : seeds) {
            seedList.add(s.address);
        }
        ClusterConfig c = crashed.config;
        ClusterConfig config = new ClusterConfig(c.name(), seedList, null, c.vnodes(), c.dataDir(), c.membership(),
                c.replication(), c.hints(), c.antiEntropy(), c.rebalance());
        try {
            NodeIdentity identity = NodeIdentity.loadOrCreate(c.dataDir(), c.name());
            trace("restart " + crashed);
            return add(new SimNode(crashed.id, crashed.address, config, identity, KnownMembers.load(c.dataDir()),
                    withData ? crashed.engine : null));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private SimNode add(SimNode node) {
        nodes.put(node.id, node);
        byAddress.put(node.address, node);
        node.member.start();
        return node;
    }

    SimNode node(long id) {
        return nodes.get(id);
    }

    Collection<SimNode> nodes() {
        return nodes.values();
    }

    /** Hints that running nodes hold for running nodes. */
    int hintsForRunningNodes() {
        int pending = 0;
        for (SimNode n : nodes.values()) {
            if (n.down) {
                continue;
            }
            for (Map.Entry<Long, Integer> e : n.member.hints().pendingByTarget().entrySet()) {
                SimNode target = nodes.get(e.getKey());
                if (target != null && !target.down) {
                    pending += e.getValue();
                }
            }
        }
        return pending;
    }

    /** One whole node. */
    final class SimNode {
        final long id;
        final Address address;
        final MemoryEngine engine;
        final Dispatcher dispatcher;
        final ClusterState state;
        final ClusterMember member;
        final ClusterConfig config;
        final ClientRegistry clients = new ClientRegistry(100);
        /** A crashed node runs nothing more; a node that left after its decommission is down too. */
        boolean down;
        boolean decommissioned;
        /**
         * How far (ms) this node's wall clock, under its hybrid logical clock and its engine, is ahead of the
         * simulation's: its writes are stamped as if later, and its engine's expiry times count from it. Timers
         * keep the simulation's time.
         */
        long clockAheadMillis;

        /** @param address an IP literal: the cluster state makes socket addresses of members, and a name would be looked up */
        SimNode(long id, Address address, ClusterConfig config, NodeIdentity identity, KnownMembers known) {
            this(id, address, config, identity, known, null);
        }

        /** @param recovered the engine whose entries this node starts with (its data kept), or null: empty */
        SimNode(long id, Address address, ClusterConfig config, NodeIdentity identity, KnownMembers known,
                MemoryEngine recovered) {
            this.id = id;
            this.config = config;
            this.address = address;
            Clock wall = new Clock() {
                @Override
                public long millis() {
                    return clock.millis() + clockAheadMillis;
                }

                @Override
                public long nanos() {
                    return clock.nanos();
                }
            };
            Hlc hlc = new Hlc(wall);
            // The engine's clock is the hybrid clock's, as on a real node: a write is stamped from its reading.
            this.engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, GRACE_MILLIS,
                    EngineConfig.DEFAULT_EVICTION_SAMPLES), wall, hlc, id);
            if (recovered != null) {
                List<Entry> entries = new ArrayList<>();
                recovered.forEachInRange(0, 0, entries::add);
                entries.forEach(engine::merge);
            }
            CommandTable table = new CommandTable();
            new StringCommands(engine, clock, 512 * 1024 * 1024L).registerInto(table);
            new KeyCommands(engine, clock).registerInto(table);
            new VersionedCommands(engine, clock, id, VersionedCommands.DEFAULT_MAX_SIBLINGS, GRACE_MILLIS).registerInto(table);
            new RebalanceCommands(new SimRebalanceControl(this)).registerInto(table);
            this.dispatcher = new Dispatcher(table, engine, clock, false);
            if (!known.joinTargets(config.seeds()).isEmpty()) {
                dispatcher.joining(true);
            }
            this.state = new ClusterState(id, config.replication().replicationFactor());
            new ReplicationCommands(config.replication(), state, key -> {
                throw new UnsupportedOperationException("REPLICAS is not simulated");
            }).registerInto(table);
            Scheduler membership = (delay, task) -> {
                Event e = after(delay, () -> {
                    if (!down) {
                        task.run();
                    }
                });
                return () -> e.cancelled = true;
            };
            Executor here = membership::execute;
            ClusterMember.Wiring wiring = new ClusterMember.Wiring(address, new SimGossip(this), membership,
                    new Random(random.nextLong()), new SimPeerCalls(this),
                    new SerialExecutor(membership), here, here, nanos -> runFor(nanos / 1_000_000),
                    () -> ScanPacer.unpaced(clock), new SimBackground(membership), this::decommissioned);
            this.member = new ClusterMember(config, identity, known, clock, dispatcher, state, engine, hlc, wiring,
                    Durability.NONE, recovered != null);
        }

        Rebalancer rebalancer() {
            return member.rebalancer();
        }

        /** Runs {@code action} on this node's membership thread (an admin command). */
        void onMembershipThread(Runnable action) {
            after(0, action);
        }

        /** A decommission has streamed everything: announce LEFT, and exit a little later, as the process does. */
        private void decommissioned() {
            decommissioned = true;
            member.leave(() -> { });
            after(2_000, this::crash);
        }

        /** Stops the node: it runs nothing more; its host resets its connections within a few ms. */
        void crash() {
            trace("crash " + this);
            down = true;
            member.close();
            for (Connection c : new ArrayList<>(connections.values())) {
                if (c.to == this || c.from == this) {
                    after(random.nextLong(RESET_WITHIN_MILLIS + 1), () -> c.reset("connection reset"));
                }
            }
        }

        /** This node's stored entry of {@code key}, tombstones included; null if none. */
        Entry stored(String key) {
            return engine.stored(Key.of(key));
        }

        @Override
        public String toString() {
            return "node-" + Long.toHexString(id);
        }
    }

    /**
     * The admin commands' view of a node, as {@code Cluster} gives it: each action runs on the node's
     * membership thread, which in the simulation is the one thread every event runs on, so the command's
     * event runs it directly and its refusal is the reply.
     */
    private static final class SimRebalanceControl implements RebalanceControl {
        private final SimNode node;

        SimRebalanceControl(SimNode node) {
            this.node = node;
        }

        private Rebalancer r() {
            return node.rebalancer();
        }

        @Override
        public String describe() {
            return r().describe();
        }

        @Override
        public void decommission() {
            r().decommission();
        }

        @Override
        public void cancelDecommission() {
            r().cancelDecommission();
        }

        @Override
        public void removeNode(long nodeId) {
            r().removeNode(nodeId);
        }

        @Override
        public void cancelBootstrap() {
            r().cancelBootstrap();
        }

        @Override
        public void resumeBootstrap() {
            r().resumeBootstrap();
        }

        @Override
        public void forceRejoin() {
            r().forceRejoin();
        }
    }

    // ---- the network ----

    /** One message's delay, ms. */
    long delay() {
        if (slowChance > 0 && random.nextDouble() < slowChance) {
            return slowMinMillis + random.nextLong(slowMaxMillis - slowMinMillis + 1);
        }
        return minDelayMillis + random.nextLong(maxDelayMillis - minDelayMillis + 1);
    }

    /** Puts {@code fault} on the link from {@code from} to {@code to} (one way). */
    void cut(SimNode from, SimNode to, LinkFault fault) {
        trace("cut " + from + " -> " + to + ": " + fault);
        faults.put(List.of(from.id, to.id), fault);
        if (fault == LinkFault.REFUSED) {
            for (Connection c : new ArrayList<>(connections.values())) {
                if ((c.from == from && c.to == to) || (c.from == to && c.to == from)) {
                    c.reset("connection reset");
                }
            }
        }
    }

    /** Makes the replica writes {@code from} sends {@code to} arrive {@code millis} late; see {@link #lateReplicaWrites}. */
    void lateReplicaWrites(SimNode from, SimNode to, long millis) {
        lateReplicaWrites.put(List.of(from.id, to.id), millis);
    }

    /** Puts {@code fault} on both links between {@code a} and {@code b}. */
    void cutBoth(SimNode a, SimNode b, LinkFault fault) {
        cut(a, b, fault);
        cut(b, a, fault);
    }

    /**
     * Holds back every request written from {@code from} to {@code to} from now on by {@code millis} more
     * than the usual delay (0: no longer); replies and membership are not held.
     */
    void hold(SimNode from, SimNode to, long millis) {
        trace("hold " + from + " -> " + to + " by " + millis + " ms");
        held.put(List.of(from.id, to.id), millis);
    }

    /** Takes the fault off the link from {@code from} to {@code to}. */
    void heal(SimNode from, SimNode to) {
        if (faults.remove(List.of(from.id, to.id)) != null) {
            trace("heal " + from + " -> " + to);
        }
    }

    void healBoth(SimNode a, SimNode b) {
        heal(a, b);
        heal(b, a);
    }

    /** Whether a datagram from {@code from} reaches {@code to} now. */
    private boolean datagramPasses(SimNode from, SimNode to) {
        return !from.down && !to.down && !faults.containsKey(List.of(from.id, to.id));
    }

    /** Whether a connection between the two (either way) is refused now. */
    private boolean refused(SimNode a, SimNode b) {
        return a.down || b.down || faults.get(List.of(a.id, b.id)) == LinkFault.REFUSED
                || faults.get(List.of(b.id, a.id)) == LinkFault.REFUSED;
    }

    void trace(String line) {
        if (trace != null) {
            trace.add(now() + " ms " + line);
        }
    }

    private static InetSocketAddress socketOf(SimNode node) {
        return InetSocketAddress.createUnresolved(node.address.host(), node.address.port());
    }

    /** One peer call. */
    private final class Call {
        final PeerMessageType type;
        final byte[] payload;
        final boolean lossy;
        final SimFuture<byte[]> reply = new SimFuture<>();
        /** The caller's deadline, or {@code Deadline.NO_DEADLINE}. */
        final long deadlineMillis;
        /** For the trace: the forward's stream and command. */
        final String what;
        Event timeout;

        Call(PeerMessageType type, byte[] payload, long stream, long deadlineMillis) {
            this.type = type;
            this.payload = payload;
            this.deadlineMillis = deadlineMillis;
            this.lossy = stream == PeerClient.NO_STREAM;
            this.what = trace == null || type != PeerMessageType.FORWARD ? null : describeForward(payload);
        }
    }

    private static String describeForward(byte[] payload) {
        ForwardCodec.Request r = ForwardCodec.decodeRequest(payload);
        StringBuilder sb = new StringBuilder("stream ").append(r.stream());
        for (byte[] a : r.args()) {
            sb.append(' ').append(new String(a, StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    /** A peer connection from one node to another: opening, open, or broken (then replaced on next use). */
    private final class Connection {
        final SimNode from;
        final SimNode to;
        final List<Long> key;
        boolean open;
        boolean broken;
        /** Calls made while opening, not written yet, oldest first. */
        final ArrayDeque<Call> outbox = new ArrayDeque<>();
        /** Calls written and not answered yet. */
        final List<Call> written = new ArrayList<>();
        /** When the last request written, and the last reply written back, arrive (ms since start; TCP order). */
        long requestsArrive;
        long repliesArrive;

        Connection(SimNode from, SimNode to, List<Long> key) {
            this.from = from;
            this.to = to;
            this.key = key;
        }

        void opened() {
            if (broken) {
                return;
            }
            if (refused(from, to)) {
                reset("connection refused");
                return;
            }
            open = true;
            Call c;
            while ((c = outbox.poll()) != null) {
                write(c);
            }
        }

        void write(Call call) {
            written.add(call);
            traceCall("written", call);
            if (call.lossy && callLoss > 0 && random.nextDouble() < callLoss) {
                return; // lost: the caller's timeout ends the wait
            }
            // a coordinator's replica writes take the pool's connections; one on a stream keeps the stream's order
            long late = call.type == PeerMessageType.REPLICA_WRITE && call.lossy
                    ? lateReplicaWrites.getOrDefault(List.of(from.id, to.id), 0L) : 0;
            after(arrival(true) + late, () -> arrive(call));
        }

        /** The delay of the next message one way, keeping the connection's order unless TCP order is off. */
        private long arrival(boolean request) {
            long at = now() + delay() + (request ? held.getOrDefault(List.of(from.id, to.id), 0L) : 0);
            if (tcpOrder) {
                at = Math.max(at, request ? requestsArrive : repliesArrive);
                if (request) {
                    requestsArrive = at;
                } else {
                    repliesArrive = at;
                }
            }
            return at - now();
        }

        private void arrive(Call call) {
            if (broken || to.down) {
                return; // lost with the connection; the call failed when it broke
            }
            traceCall("arrived", call);
            CompletableFuture<byte[]> answer;
            try {
                answer = to.member.handle(call.type, from.id, Long.toHexString(from.id) + "@" + from.address,
                        call.payload, call.deadlineMillis);
            } catch (RuntimeException e) {
                answer = CompletableFuture.failedFuture(e);
            }
            answer.whenComplete((bytes, failure) -> {
                if (broken || to.down) {
                    return;
                }
                if (call.lossy && callLoss > 0 && random.nextDouble() < callLoss) {
                    return;
                }
                after(arrival(false), () -> answered(call, bytes, failure));
            });
        }

        private void answered(Call call, byte[] bytes, Throwable failure) {
            if (broken || from.down || !written.remove(call)) {
                return;
            }
            traceCall("answered", call);
            call.timeout.cancelled = true;
            if (failure != null) {
                Throwable t = failure instanceof CompletionException && failure.getCause() != null
                        ? failure.getCause() : failure;
                call.reply.completeExceptionally(new PeerRequestFailedException(socketOf(to), call.type,
                        t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName()));
            } else {
                call.reply.complete(bytes);
            }
        }

        void timedOut(Call call) {
            if (!outbox.remove(call) && !written.remove(call)) {
                return;
            }
            traceCall("timed out", call);
            call.reply.completeExceptionally(new TimeoutException(call.type + " to " + to + " timed out"));
        }

        /**
         * The connection is refused or reset: what waited in its outbox fails as never sent, oldest first
         * (as {@code PeerClient} fails it), then what was written fails as may-have-arrived, in any order.
         */
        void reset(String reason) {
            if (broken) {
                return;
            }
            broken = true;
            connections.remove(key, this);
            trace(reason + " " + from + " -> " + to);
            List<Call> unsent = new ArrayList<>(outbox);
            List<Call> sent = new ArrayList<>(written);
            outbox.clear();
            written.clear();
            if (from.down) {
                return; // nobody is left to tell
            }
            for (int i = sent.size() - 1; i > 0; i--) {
                Collections.swap(sent, i, random.nextInt(i + 1));
            }
            for (Call c : unsent) {
                neverSent++;
                traceCall("never sent", c);
                c.timeout.cancelled = true;
                c.reply.completeExceptionally(new PeerUnavailableException(socketOf(to), reason, null, false));
            }
            for (Call c : sent) {
                lostInFlight++;
                traceCall("lost", c);
                c.timeout.cancelled = true;
                c.reply.completeExceptionally(new PeerUnavailableException(socketOf(to), reason, null, true));
            }
        }

        private void traceCall(String event, Call call) {
            if (call.what != null) {
                trace(event + " " + Long.toHexString(from.id) + "->" + Long.toHexString(to.id) + " " + call.what);
            }
        }
    }

    /**
     * A peer request from {@code self} to node {@code to} on a connection of the pair: the stream's own
     * for a stream, the next in turn otherwise.
     */
    private CompletableFuture<byte[]> call(SimNode self, long to, PeerMessageType type, byte[] payload,
                                           Duration timeout, long stream, long deadlineMillis) {
        SimNode target = nodes.get(to);
        if (target == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("unknown node " + Long.toHexString(to)));
        }
        Call call = new Call(type, payload, stream, deadlines ? deadlineMillis : Deadline.NO_DEADLINE);
        if (self.down) {
            return call.reply; // a stopped node sends nothing
        }
        if (type == PeerMessageType.FORWARD) {
            forwardsSent++;
        }
        int slot;
        if (stream == PeerClient.NO_STREAM) {
            List<Long> pair = List.of(self.id, to);
            slot = nextSlot.merge(pair, 1, (a, b) -> (a + b) % SLOTS);
        } else {
            slot = (int) Math.floorMod(stream, (long) SLOTS);
        }
        List<Long> key = List.of(self.id, to, (long) slot);
        Connection c = connections.get(key);
        if (c == null) {
            Connection opening = new Connection(self, target, key);
            connections.put(key, opening);
            after(delay() + delay(), opening::opened);
            c = opening;
        }
        Connection on = c;
        call.timeout = after(timeout.toMillis(), () -> on.timedOut(call));
        if (c.open) {
            c.write(call);
        } else {
            c.outbox.add(call);
            c.traceCall("queued", call);
        }
        return call.reply;
    }

    /** Peer calls of one node over the simulated connections. */
    private final class SimPeerCalls implements PeerCalls {
        private final SimNode self;

        SimPeerCalls(SimNode self) {
            this.self = self;
        }

        @Override
        public CompletableFuture<byte[]> call(long to, PeerMessageType type, byte[] payload, Duration timeout,
                                              long stream) {
            return NodeSimulation.this.call(self, to, type, payload, timeout, stream, Deadline.NO_DEADLINE);
        }

        @Override
        public CompletableFuture<byte[]> call(long to, PeerMessageType type, byte[] payload, Duration timeout,
                                              long stream, long deadlineMillis) {
            return NodeSimulation.this.call(self, to, type, payload, timeout, stream, deadlineMillis);
        }
    }

    /** Membership datagrams and push-pull streams between simulated nodes. */
    private final class SimGossip implements Transport {
        private final SimNode self;

        SimGossip(SimNode self) {
            this.self = self;
        }

        @Override
        public void sendPacket(Address to, byte[] packet) {
            SimNode target = byAddress.get(to);
            if (target == null || !datagramPasses(self, target)) {
                return;
            }
            after(delay(), () -> {
                if (datagramPasses(self, target)) {
                    target.member.swim().onPacket(self.address, packet);
                }
            });
        }

        @Override
        public void exchange(Address to, byte[] request, StreamCallback callback) {
            SimNode target = byAddress.get(to);
            if (target == null || refused(self, target)) {
                after(delay(), () -> {
                    if (!self.down) {
                        callback.onFailure(new ConnectException("refused: " + to));
                    }
                });
                return;
            }
            after(delay(), () -> {
                if (self.down) {
                    return;
                }
                if (refused(self, target)) {
                    after(delay(), () -> callback.onFailure(new IOException("reset by " + to)));
                    return;
                }
                byte[] reply = target.member.swim().onStreamRequest(self.address, request);
                after(delay(), () -> {
                    if (self.down) {
                        return;
                    }
                    if (reply == null || refused(self, target)) {
                        callback.onFailure(new IOException("closed by " + to));
                    } else {
                        callback.onReply(reply);
                    }
                });
            });
        }
    }

    /** Runs tasks one at a time, each as an event: a server's single-thread executor. */
    private static final class SerialExecutor implements Executor {
        private final Scheduler scheduler;
        private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
        private boolean running;

        SerialExecutor(Scheduler scheduler) {
            this.scheduler = scheduler;
        }

        @Override
        public void execute(Runnable task) {
            queue.add(task);
            if (!running && queue.size() == 1) {
                scheduler.execute(this::runNext);
            }
        }

        private void runNext() {
            Runnable task = queue.poll();
            if (task == null || running) {
                return;
            }
            running = true;
            try {
                task.run();
            } finally {
                running = false;
                if (!queue.isEmpty()) {
                    scheduler.execute(this::runNext);
                }
            }
        }
    }

    /** Hint replay ticks and anti-entropy rounds as events on the node's membership scheduler. */
    private final class SimBackground implements ClusterMember.Background {
        private final Scheduler scheduler;
        private final SerialExecutor rounds;

        SimBackground(Scheduler scheduler) {
            this.scheduler = scheduler;
            this.rounds = new SerialExecutor(scheduler);
        }

        @Override
        public void startHintReplay(HintReplayer replayer) {
            scheduler.schedule(HintReplayer.TICK_MILLIS, () -> {
                replayer.tick();
                startHintReplay(replayer);
            });
        }

        @Override
        public void startAntiEntropy(AntiEntropy antiEntropy) {
            // rounds run when requested (after streams); periodic rounds are minutes apart
        }

        @Override
        public void requestRepair(AntiEntropy ae) {
            if (antiEntropy) {
                rounds.execute(ae::repairNow);
            }
        }
    }

    // ---- clients ----

    /**
     * A client connection to one node: the node's real client pipeline (protocol detection, RESP decoder,
     * {@code ClientHandler}) on an embedded channel. It sends commands without waiting for replies, and
     * reads every reply the node writes back.
     */
    final class SimClient implements AutoCloseable {
        private static final NetConfig NET = new NetConfig("127.0.0.1", 0, null, 1, 100,
                NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT, NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        final SimNode node;
        /** Every command sent, in order. */
        final List<String[]> sent = new ArrayList<>();
        /** Every whole reply received, in order. */
        private final List<RespValue> replies = new ArrayList<>();
        /** Replies handed to {@link #poll} so far. */
        private int polled;
        private final EmbeddedChannel channel = new EmbeddedChannel();
        /** Bytes received after the last whole reply. */
        private byte[] partial = new byte[0];

        SimClient(SimNode node) {
            this.node = node;
            ClientPipeline.configure(channel, NET, node.dispatcher, node.clients, clock, null);
            channel.pipeline().fireChannelActive();
            clients.add(this);
        }

        void send(String... args) {
            send(Collections.singletonList(args));
        }

        /** Sends one command with binary arguments (a causal context); recorded as ISO-8859-1 text in {@link #sent}. */
        void send(byte[]... args) {
            String[] text = new String[args.length];
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < args.length; i++) {
                text[i] = new String(args[i], StandardCharsets.ISO_8859_1);
                out.writeBytes(("$" + args[i].length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.writeBytes(args[i]);
                out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            sent.add(text);
            channel.writeInbound(Unpooled.wrappedBuffer(out.toByteArray()));
            drain();
        }

        /** Sends commands as one read of the connection, without waiting for their replies. */
        void send(List<String[]> commands) {
            StringBuilder sb = new StringBuilder();
            for (String[] args : commands) {
                sent.add(args);
                sb.append('*').append(args.length).append("\r\n");
                for (String a : args) {
                    sb.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a)
                            .append("\r\n");
                }
            }
            channel.writeInbound(Unpooled.copiedBuffer(sb, StandardCharsets.UTF_8));
            drain();
        }

        /** Runs the connection's event loop and reads the whole replies written to the client. */
        void drain() {
            channel.runPendingTasks();
            ByteBuf b = channel.readOutbound();
            if (b == null) {
                return;
            }
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            received.writeBytes(partial);
            do {
                received.writeBytes(ByteBufUtil.getBytes(b));
                b.release();
            } while ((b = channel.readOutbound()) != null);
            byte[] bytes = received.toByteArray();
            ByteArrayInputStream in = new ByteArrayInputStream(bytes);
            RespReplyReader reader = new RespReplyReader(in);
            int consumed = 0;
            while (consumed < bytes.length) {
                try {
                    replies.add(reader.read());
                } catch (EOFException cutShort) {
                    break;
                } catch (IOException e) {
                    throw new IllegalStateException(this + ": malformed reply stream: " + e.getMessage(), e);
                }
                consumed = bytes.length - in.available();
            }
            partial = Arrays.copyOfRange(bytes, consumed, bytes.length);
        }

        /** Hands each reply not handed yet to {@code onReply} with its command, in order. */
        void poll(BiConsumer<String[], RespValue> onReply) {
            drain();
            while (polled < replies.size()) {
                onReply.accept(sent.get(polled), replies.get(polled));
                polled++;
            }
        }

        /** The replies received so far, in order. */
        List<RespValue> replies() {
            drain();
            return replies;
        }

        /** Commands sent and not answered yet. */
        int waiting() {
            drain();
            return sent.size() - replies.size();
        }

        @Override
        public void close() {
            clients.remove(this);
            channel.finishAndReleaseAll();
        }

        @Override
        public String toString() {
            return "client of " + node;
        }
    }
}
