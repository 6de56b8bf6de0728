package io.trelliskv.cluster;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.command.CommandTable;
import io.trelliskv.command.KeyCommands;
import io.trelliskv.command.StringCommands;
import io.trelliskv.common.Address;
import io.trelliskv.common.ManualClock;
import io.trelliskv.membership.Scheduler;
import io.trelliskv.membership.SwimConfig;
import io.trelliskv.membership.Transport;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.repair.AntiEntropy;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.repair.ScanPacer;
import io.trelliskv.replication.HintConfig;
import io.trelliskv.replication.HintReplayer;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.request.Dispatcher;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
 * (stream backoffs) run the queue for the time slept.
 *
 * <h2>The network</h2>
 * Datagrams and peer requests arrive after 1 to 5 ms; messages between two nodes arrive in the order sent
 * (as on one TCP connection). A crashed node runs nothing more, sends nothing and answers nothing: requests
 * to it fail to connect, and its timers are skipped.
 */
final class NodeSimulation {

    static final long START_MILLIS = 1_700_000_000_000L;
    /** Tombstones outlive every run. */
    static final long GRACE_MILLIS = 4 * 60 * 60 * 1_000L;
    static final String CLUSTER = "sim";
    private static final int PORT = 7000;
    /** Most events one {@link #runFor} may run: a bound against a run that never quiets down. */
    private static final long MAX_EVENTS = 20_000_000;

    final ManualClock clock = new ManualClock(START_MILLIS);
    final SplittableRandom random;
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private long seq;
    private long eventsRun;
    private final Map<Long, SimNode> nodes = new LinkedHashMap<>();
    private final Map<Address, SimNode> byAddress = new HashMap<>();
    /** When the last message on each one-way link arrives, so a link delivers in order (ms since start). */
    private final Map<List<Long>, Long> linkArrival = new HashMap<>();
    /** Settings of nodes added from now on. */
    ClusterConfig template;
    /**
     * Whether requested anti-entropy rounds run. Off, a test sees what streams and the write path alone
     * achieve (a round after a move would otherwise repair what a stream missed).
     */
    boolean antiEntropy = true;

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
        return true;
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
        ClusterConfig config = new ClusterConfig(t.name(), seedList, null, t.vnodes(), null, t.membership(),
                t.replication(), t.hints(), t.antiEntropy(), t.rebalance());
        SimNode node = new SimNode(id, config);
        nodes.put(id, node);
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

    /** The message delay of one hop: 1 to 5 ms, in order per one-way link. */
    private long hop(long from, long to) {
        long arrival = Math.max(now() + 1 + random.nextLong(5), linkArrival.getOrDefault(List.of(from, to), 0L));
        linkArrival.put(List.of(from, to), arrival);
        return arrival - now();
    }

    /** One whole node. */
    final class SimNode {
        final long id;
        final Address address;
        final MemoryEngine engine;
        final Dispatcher dispatcher;
        final ClusterState state;
        final ClusterMember member;
        final ClientRegistry clients = new ClientRegistry(100);
        /** A crashed node runs nothing more; a node that left after its decommission is down too. */
        boolean down;
        boolean decommissioned;

        SimNode(long id, ClusterConfig config) {
            this.id = id;
            this.address = new Address("node-" + id, PORT);
            Hlc hlc = new Hlc(clock);
            this.engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, GRACE_MILLIS,
                    EngineConfig.DEFAULT_EVICTION_SAMPLES), clock, hlc, id);
            CommandTable table = new CommandTable();
            new StringCommands(engine, clock, 512 * 1024 * 1024L).registerInto(table);
            new KeyCommands(engine, clock).registerInto(table);
            this.dispatcher = new Dispatcher(table, engine, clock, false);
            if (!config.seeds().isEmpty()) {
                dispatcher.joining(true);
            }
            this.state = new ClusterState(id, config.replication().replicationFactor());
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
                    new Random(random.nextLong()), this::call, new SerialExecutor(membership), here, here,
                    nanos -> runFor(nanos / 1_000_000), () -> ScanPacer.unpaced(clock), new SimBackground(membership),
                    this::decommissioned);
            this.member = new ClusterMember(config, new NodeIdentity(id, config.name(), List.of()), clock, dispatcher,
                    state, engine, hlc, wiring);
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

        void crash() {
            down = true;
            member.close();
        }

        /** A request to {@code to}, answered by its member after a hop each way; a crashed peer refuses it. */
        private CompletableFuture<byte[]> call(long to, PeerMessageType type, byte[] payload, Duration timeout,
                                               long stream) {
            SimFuture<byte[]> reply = new SimFuture<>();
            SimNode target = nodes.get(to);
            if (target == null || target.down) {
                after(1, () -> reply.completeExceptionally(new ConnectException("node " + Long.toHexString(to)
                        + " refused the connection")));
                return reply;
            }
            Event timedOut = after(timeout.toMillis(), () -> reply.completeExceptionally(
                    new TimeoutException(type + " to " + Long.toHexString(to) + " timed out")));
            after(hop(id, to), () -> {
                if (target.down || down) {
                    return;
                }
                target.member.handle(type, id, Long.toHexString(id) + "@" + address, payload)
                        .whenComplete((answer, failure) -> after(hop(to, id), () -> {
                            if (down || target.down) {
                                return;
                            }
                            timedOut.cancelled = true;
                            if (failure != null) {
                                reply.completeExceptionally(failure);
                            } else {
                                reply.complete(answer);
                            }
                        }));
            });
            return reply;
        }

        @Override
        public String toString() {
            return "node-" + id;
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
            if (target == null || self.down) {
                return;
            }
            after(hop(self.id, target.id), () -> {
                if (!target.down) {
                    target.member.swim().onPacket(self.address, packet);
                }
            });
        }

        @Override
        public void exchange(Address to, byte[] request, StreamCallback callback) {
            SimNode target = byAddress.get(to);
            if (target == null) {
                after(1, () -> callback.onFailure(new ConnectException("refused: " + to)));
                return;
            }
            after(hop(self.id, target.id), () -> {
                if (target.down || self.down) {
                    return; // the caller's own timeout ends the wait
                }
                byte[] reply = target.member.swim().onStreamRequest(self.address, request);
                after(hop(target.id, self.id), () -> {
                    if (self.down) {
                        return;
                    }
                    if (reply == null) {
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

    /** A client connection to one node: the node's real client pipeline on an embedded channel. */
    final class SimClient implements AutoCloseable {
        private static final NetConfig NET = new NetConfig("127.0.0.1", 0, null, 1, 100,
                NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT, NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        final SimNode node;
        private final EmbeddedChannel channel = new EmbeddedChannel();
        /** Commands sent and not yet answered, oldest first. */
        private final ArrayDeque<String[]> waiting = new ArrayDeque<>();
        private final StringBuilder received = new StringBuilder();

        SimClient(SimNode node) {
            this.node = node;
            ClientPipeline.configure(channel, NET, node.dispatcher, node.clients, clock, null);
            channel.pipeline().fireChannelActive();
        }

        void send(String... args) {
            StringBuilder sb = new StringBuilder().append('*').append(args.length).append("\r\n");
            for (String a : args) {
                sb.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
            }
            waiting.add(args);
            channel.writeInbound(Unpooled.copiedBuffer(sb, StandardCharsets.UTF_8));
        }

        /**
         * Hands each simple reply line that has arrived to {@code onReply} with its command, in order.
         * Only for commands whose replies are one line (SET, DEL).
         */
        void poll(java.util.function.BiConsumer<String[], String> onReply) {
            channel.runPendingTasks();
            ByteBuf b;
            while ((b = channel.readOutbound()) != null) {
                received.append(new String(ByteBufUtil.getBytes(b), StandardCharsets.UTF_8));
                b.release();
            }
            int end;
            while ((end = received.indexOf("\r\n")) >= 0) {
                String line = received.substring(0, end);
                received.delete(0, end + 2);
                onReply.accept(waiting.poll(), line);
            }
        }

        int waiting() {
            return waiting.size();
        }

        @Override
        public void close() {
            channel.finishAndReleaseAll();
        }
    }
}
