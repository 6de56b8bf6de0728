package io.trelliskv.cluster;

import io.netty.channel.EventLoopGroup;
import io.trelliskv.common.Address;
import io.trelliskv.common.Clock;
import io.trelliskv.common.DaemonThreads;
import io.trelliskv.common.Key;
import io.trelliskv.common.RefusedException;
import io.trelliskv.datadir.KnownMembers;
import io.trelliskv.datadir.NodeIdentity;
import io.trelliskv.membership.ExecutorScheduler;
import io.trelliskv.net.peer.GossipTransport;
import io.trelliskv.net.peer.PeerAcceptor;
import io.trelliskv.net.peer.PeerClient;
import io.trelliskv.net.peer.PeerClientStats;
import io.trelliskv.net.peer.PeerConfig;
import io.trelliskv.net.peer.PeerFrame;
import io.trelliskv.net.peer.PeerHello;
import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.net.peer.PeerService;
import io.trelliskv.persist.Durability;
import io.trelliskv.repair.AntiEntropy;
import io.trelliskv.repair.AntiEntropyService;
import io.trelliskv.repair.RangeStream;
import io.trelliskv.repair.RepairStatus;
import io.trelliskv.repair.ScanPacer;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.HintStats;
import io.trelliskv.replication.ReplicaService;
import io.trelliskv.request.Dispatcher;
import io.trelliskv.security.GossipKeyring;
import io.trelliskv.storage.Engine;
import io.trelliskv.version.Hlc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A node's part in the cluster on a real network: the peer port, UDP gossip and the threads that a
 * {@link ClusterMember} runs on.
 *
 * <h2>Lifecycle</h2>
 * <ol>
 *   <li>{@link #acceptor()} is handed to the client server before it binds, so peers are accepted on
 *       the shared port from the start (their requests are refused until the member has started).</li>
 *   <li>{@link #start(InetSocketAddress)}, once the port is bound: opens the peer client and the UDP
 *       socket, builds the {@link ClusterMember} over them (complete, with routing, replication and
 *       rebalancing) and starts it: SWIM joins through the seeds, retrying with backoff while none
 *       answers; the node meanwhile refuses keyed commands, see {@link Dispatcher#joining}.</li>
 *   <li>{@link #close()}: announces LEFT, waits briefly for the word to spread, then stops.</li>
 * </ol>
 * It is also the admin commands' narrow view of the cluster ({@link RebalanceControl},
 * {@link RepairControl}, {@link ReplicaInspector}), which refuses with the reason before the start.
 */
public final class Cluster implements AutoCloseable, RebalanceControl, RepairControl, ReplicaInspector, ClusterInfo {

    private static final Logger log = LoggerFactory.getLogger(Cluster.class);

    /** How long push-pull exchanges may take. */
    private static final Duration STREAM_TIMEOUT = Duration.ofSeconds(10);
    /** How long a start waits for membership to list this node: its thread's first task, normally at once. */
    private static final long LISTED_TIMEOUT_SECONDS = 30;
    /** How long shutdown waits for the LEFT announcement to spread. */
    private static final long LEAVE_WAIT_MILLIS = 2_000;

    /** What runs once the port is bound: the member and the network it runs over. */
    private record Running(PeerClient peers, GossipTransport gossip, ClusterMember member) {
    }

    private final ClusterConfig config;
    private final NodeIdentity identity;
    /** The members known before a restart, to join through without seeds. */
    private final KnownMembers known;
    private final String bindHost;
    private final Clock clock;
    private final Dispatcher dispatcher;
    private final ClusterState state;
    private final PeerConfig peerConfig;
    private final PeerAcceptor acceptor;
    private final Engine engine;
    private final Hlc hlc;
    private final Runnable onDecommissioned;
    private final ExecutorScheduler scheduler = new ExecutorScheduler("trellis-membership");
    /**
     * Answers peers' tree, key-list and range requests, which scan the engine, off the event loops. One
     * thread: each peer has at most one such request in flight, so the queue holds at most one per peer.
     */
    private final ExecutorService scans = daemonThread("trellis-anti-entropy-peer");
    /** Applies flushes (a sweep of every entry) one at a time, off the event loops and membership. */
    private final ExecutorService flusher = daemonThread("trellis-flush");
    private final Durability durability;
    private final boolean dataKept;
    /** Runs bootstrap, decommission and restore streams, one at a time. */
    private final ExecutorService streams = daemonThread("trellis-stream");
    /** Null until {@link #start}: the one thing a started cluster has that a built one has not. */
    private volatile Running running;

    /**
     * @param durability       what a replica's acknowledgement waits for (see {@link ClusterMember})
     * @param dataKept         whether the engine holds this node's data from before a restart
     * @param onDecommissioned what to do once a decommission has handed every range over (close, or exit)
     */
    /** Seals and opens gossip datagrams; null when gossip is in the clear. */
    private final GossipKeyring gossipKeyring;

    public Cluster(ClusterConfig config, NodeIdentity identity, KnownMembers known, String bindHost, int port,
            PeerConfig peerConfig, Clock clock, Dispatcher dispatcher, ClusterState state, Engine engine, Hlc hlc,
            Durability durability, boolean dataKept, Runnable onDecommissioned) {
        this(config, identity, known, bindHost, port, peerConfig, clock, dispatcher, state, engine, hlc, durability,
                dataKept, onDecommissioned, null);
    }

    /** @param gossipKeyring seals and opens gossip datagrams; null for gossip in the clear */
    public Cluster(ClusterConfig config, NodeIdentity identity, KnownMembers known, String bindHost, int port,
            PeerConfig peerConfig, Clock clock, Dispatcher dispatcher, ClusterState state, Engine engine, Hlc hlc,
            Durability durability, boolean dataKept, Runnable onDecommissioned, GossipKeyring gossipKeyring) {
        this.gossipKeyring = gossipKeyring;
        this.durability = durability;
        this.dataKept = dataKept;
        this.config = config;
        this.identity = identity;
        this.known = known;
        this.bindHost = bindHost;
        this.clock = clock;
        this.dispatcher = dispatcher;
        this.state = state;
        this.peerConfig = peerConfig;
        this.engine = engine;
        this.hlc = hlc;
        this.onDecommissioned = onDecommissioned;
        this.acceptor = new PeerAcceptor(peerConfig, hello(port), new PeerService() {
            @Override
            public CompletableFuture<byte[]> handle(PeerMessageType type, PeerHello from, byte[] payload) {
                return serve(type, from, payload, PeerFrame.NO_DEADLINE);
            }

            @Override
            public CompletableFuture<byte[]> handle(PeerMessageType type, PeerHello from, byte[] payload,
                                                    long deadlineMillis) {
                return serve(type, from, payload, deadlineMillis);
            }

            /** A batch of replicated writes is decoded where it was read: no copy of the frame per batch. */
            @Override
            public boolean readsInPlace(PeerMessageType type) {
                return type == PeerMessageType.REPLICA_WRITE;
            }

            @Override
            public CompletableFuture<byte[]> handleInPlace(PeerMessageType type, PeerHello from, ByteBuffer payload,
                                                           long deadlineMillis) {
                Running r = running;
                if (type != PeerMessageType.REPLICA_WRITE || r == null) {
                    return PeerService.super.handleInPlace(type, from, payload, deadlineMillis);
                }
                return r.member().applyWrite(describe(from), payload, deadlineMillis);
            }
        });
    }

    private static ExecutorService daemonThread(String name) {
        return Executors.newSingleThreadExecutor(DaemonThreads.factory(name));
    }

    private PeerHello hello(int port) {
        return new PeerHello(config.name(), advertisedHost(), port, identity.nodeId());
    }

    private String advertisedHost() {
        return config.advertise() != null ? config.advertise() : bindHost;
    }

    public PeerAcceptor acceptor() {
        return acceptor;
    }

    /** Answers peer requests: membership exchanges here, everything else by the member. */
    private CompletableFuture<byte[]> serve(PeerMessageType type, PeerHello from, byte[] payload, long deadlineMillis) {
        Running r = running;
        if (r == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("membership not started yet"));
        }
        if (type == PeerMessageType.SWIM_STREAM) {
            return GossipTransport.serveStream(scheduler, from, payload, r.member().swim()::onStreamRequest);
        }
        return r.member().handle(type, from.nodeId(), describe(from), payload, deadlineMillis);
    }

    /** A calling peer as logs name it: {@code id@host:port}. */
    private static String describe(PeerHello from) {
        return Long.toHexString(from.nodeId()) + "@" + from.address();
    }

    /** Opens the network, builds the member over it and starts it; {@code bound} is the client server's bound TCP address. */
    public void start(InetSocketAddress bound) throws IOException {
        start(bound, null);
    }

    /**
     * Like {@link #start(InetSocketAddress)}, with the peer client on {@code ioGroup}, the client server's
     * I/O threads (null: a thread of its own): a command's replica messages are then sent and answered on
     * the thread that runs the command, without a hand-off (see {@code PeerClient}).
     */
    public void start(InetSocketAddress bound, EventLoopGroup ioGroup) throws IOException {
        PeerHello self = hello(bound.getPort());
        acceptor.self(self);
        PeerClient peers = ioGroup != null ? new PeerClient(peerConfig, self, ioGroup) : new PeerClient(peerConfig, self);
        GossipTransport gossip = new GossipTransport(peerConfig, peers, scheduler, STREAM_TIMEOUT, gossipKeyring, clock);
        ClusterMember.Wiring wiring = new ClusterMember.Wiring(new Address(self.host(), self.port()), gossip,
                scheduler, new Random(), new PeerClientCalls(peers, state), streams, flusher, scans,
                nanos -> Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000)),
                () -> ScanPacer.sleeping(config.antiEntropy().cpuFraction(), clock), ClusterMember.Background.THREADS,
                onDecommissioned);
        ClusterMember member = new ClusterMember(config, identity, known, clock, dispatcher, state, engine, hlc, wiring,
                durability, dataKept);
        gossip.start(new InetSocketAddress(bindHost, bound.getPort()), (from, data) -> member.swim().onPacket(from, data));
        running = new Running(peers, gossip, member);
        awaitListed(member.start());
        log.info("Node {} in cluster '{}' at {}:{}{}", Long.toHexString(identity.nodeId()), config.name(),
                self.host(), self.port(), member.joinTargets().isEmpty() ? " (new cluster)"
                        : ", joining through " + member.joinTargets());
    }

    /**
     * Waits until membership lists this node, so that MEMBERS and the ring include it from a node's first
     * command on (its thread starts it a moment after {@link ClusterMember#start()} returns).
     */
    private static void awaitListed(CompletableFuture<Void> listed) throws IOException {
        try {
            listed.get(LISTED_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while membership started", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("membership did not start: " + (e instanceof TimeoutException
                    ? "its thread did not run within " + LISTED_TIMEOUT_SECONDS + " s" : e.getCause()), e);
        }
    }

    /** The started member. */
    public ClusterMember member() {
        Running r = running;
        if (r == null) {
            throw new IllegalStateException("the cluster has not started yet");
        }
        return r.member();
    }

    @Override
    public boolean started() {
        return running != null;
    }

    // ---- ClusterInfo: read-only counters for INFO ----

    @Override
    public NodeStatus nodeStatus() {
        return started() ? member().rebalancer().status() : NodeStatus.NORMAL;
    }

    @Override
    public long streamsRunning() {
        return started() ? member().rebalancer().streams().stream()
                .filter(p -> p.state() == RangeStream.State.RUNNING).count() : 0;
    }

    @Override
    public int rejoinUnsourcedRanges() {
        return started() ? member().rebalancer().rejoinUnsourcedRanges() : 0;
    }

    @Override
    public PeerClientStats peers() {
        Running r = running;
        if (r == null) {
            throw new IllegalStateException("the cluster has not started yet");
        }
        return r.peers().stats();
    }

    @Override
    public Coordinator.Stats coordinator() {
        return member().coordinator().stats();
    }

    @Override
    public ReplicaService.Stats replica() {
        return member().replica().stats();
    }

    @Override
    public HintStats hints() {
        return member().hints().stats();
    }

    @Override
    public Map<Long, Integer> hintsByTarget() {
        return member().hints().pendingByTarget();
    }

    @Override
    public AntiEntropy.Stats antiEntropy() {
        return member().antiEntropy().stats();
    }

    @Override
    public AntiEntropyService.Stats antiEntropyAnswered() {
        return member().antiEntropyService().stats();
    }

    /**
     * Runs {@code action} on the membership thread and waits for it; whatever it throws is rethrown here
     * (a {@link RefusedException} is the operator's answer; anything else is a bug, for the command layer
     * to log). Refused if the membership thread does not answer in time.
     */
    void onMembershipThread(Runnable action) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        scheduler.execute(() -> {
            try {
                action.run();
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        try {
            done.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new RefusedException("membership thread did not answer within 5 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RefusedException("interrupted");
        }
    }

    // ---- the admin commands' views ----

    @Override
    public String describe() {
        return startedMember("the cluster").rebalancer().describe();
    }

    @Override
    public void decommission() {
        Rebalancer r = startedMember("the cluster").rebalancer();
        onMembershipThread(r::decommission);
    }

    @Override
    public void cancelDecommission() {
        Rebalancer r = startedMember("the cluster").rebalancer();
        onMembershipThread(r::cancelDecommission);
    }

    @Override
    public void removeNode(long nodeId) {
        Rebalancer r = startedMember("the cluster").rebalancer();
        onMembershipThread(() -> r.removeNode(nodeId));
    }

    @Override
    public void cancelBootstrap() {
        Rebalancer r = startedMember("the cluster").rebalancer();
        onMembershipThread(r::cancelBootstrap);
    }

    @Override
    public void resumeBootstrap() {
        Rebalancer r = startedMember("the cluster").rebalancer();
        onMembershipThread(r::resumeBootstrap);
    }

    @Override
    public void forceRejoin() {
        Rebalancer r = startedMember("the cluster").rebalancer();
        onMembershipThread(r::forceRejoin);
    }

    @Override
    public long requestRepair() {
        return startedMember("anti-entropy").antiEntropy().requestRepair();
    }

    @Override
    public RepairStatus status() {
        return startedMember("anti-entropy").antiEntropy().status();
    }

    /** The started member, for an admin command; refused, naming {@code what} has not started, before the start. */
    private ClusterMember startedMember(String what) {
        Running r = running;
        if (r == null) {
            throw new RefusedException(what + " has not started yet");
        }
        return r.member();
    }

    @Override
    public CompletableFuture<List<Coordinator.ReplicaCopy>> inspect(Key key) {
        return startedMember("replication").coordinator().inspect(key);
    }

    /** Announces LEFT, waits a little for it to spread, then stops membership and the peer client. */
    @Override
    public void close() {
        Running r = running;
        if (r != null) {
            r.member().rebalancer().close();
            CountDownLatch spread = new CountDownLatch(1);
            scheduler.execute(() -> r.member().leave(spread::countDown));
            try {
                if (!spread.await(LEAVE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                    log.info("Stopping before the LEFT announcement reached every member");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            CountDownLatch stopped = new CountDownLatch(1);
            scheduler.execute(() -> {
                r.member().swim().stop();
                stopped.countDown();
            });
            try {
                stopped.await(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            r.member().close();
        }
        streams.shutdownNow();
        scans.shutdownNow();
        flusher.shutdownNow();
        if (r != null) {
            r.gossip().close();
            r.peers().close();
        }
        scheduler.close();
    }
}
