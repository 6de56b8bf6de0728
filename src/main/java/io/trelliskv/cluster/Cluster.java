package io.trelliskv.cluster;

import io.trelliskv.common.Clock;
import io.trelliskv.membership.Address;
import io.trelliskv.membership.ExecutorScheduler;
import io.trelliskv.membership.Swim;
import io.trelliskv.net.GossipTransport;
import io.trelliskv.net.PeerAcceptor;
import io.trelliskv.net.PeerClient;
import io.trelliskv.net.PeerConfig;
import io.trelliskv.net.PeerHello;
import io.trelliskv.net.PeerMessageType;
import io.trelliskv.replication.AntiEntropy;
import io.trelliskv.replication.AntiEntropyService;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.HintReplayer;
import io.trelliskv.replication.HintStore;
import io.trelliskv.replication.RangeReader;
import io.trelliskv.replication.ReplicaService;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.replication.ScanPacer;
import io.trelliskv.request.Coordination;
import io.trelliskv.request.Dispatcher;
import io.trelliskv.request.ForwardCodec;
import io.trelliskv.request.Router;
import io.trelliskv.ring.TokenAllocator;
import io.trelliskv.storage.Engine;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A node's part in the cluster: membership (SWIM over UDP on the node's port, push-pull over the peer
 * protocol on its TCP port), its ring tokens, and request forwarding to the owners of keys.
 *
 * <h2>Lifecycle</h2>
 * <ol>
 *   <li>{@link #acceptor()} is handed to the client server before it binds, so peers are accepted on
 *       the shared port from the start.</li>
 *   <li>{@link #start(InetSocketAddress)}, once the port is bound: opens the peer client and the UDP
 *       socket, starts SWIM and joins through the seeds (retrying with backoff while none answers; the
 *       node meanwhile refuses keyed commands, see {@link Dispatcher#joining}), and enables routing.</li>
 *   <li>Tokens: a node restarted with its data directory gossips the tokens it had. A new node takes
 *       its tokens once it has joined (so the allocator sees the ring it joins), or at once when it has
 *       no seeds; then saves them.</li>
 *   <li>{@link #close()}: announces LEFT, waits briefly for the word to spread, then stops.</li>
 * </ol>
 * All membership work runs on one thread ({@code trellis-membership}); the ring and member view that
 * routing reads are kept by {@link ClusterState}.
 */
public final class Cluster implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Cluster.class);

    /** How long a forwarded command may take before the client gets an error. */
    static final Duration FORWARD_TIMEOUT = Duration.ofSeconds(5);
    /** How long push-pull exchanges may take. */
    private static final Duration STREAM_TIMEOUT = Duration.ofSeconds(10);
    /** How often a joining node checks whether it has joined, and logs if it has not. */
    private static final long JOIN_CHECK_MILLIS = 250;
    /** How often a joining node checks whether it may serve keys: short, since clients wait meanwhile. */
    private static final long SERVE_CHECK_MILLIS = 20;
    /**
     * After joining, a new node waits this long plus a random part of it before choosing tokens, so
     * that the tokens of nodes that joined just before have reached it through gossip and nodes
     * started together do not choose against the same ring.
     */
    private static final long TOKEN_SETTLE_MILLIS = 1_000;
    private static final long JOIN_WARN_EVERY_MILLIS = 5_000;
    /** How long shutdown waits for the LEFT announcement to spread. */
    private static final long LEAVE_WAIT_MILLIS = 2_000;

    private final ClusterConfig config;
    private final String bindHost;
    private final Clock clock;
    private final Dispatcher dispatcher;
    private final ClusterState state;
    private final PeerConfig peerConfig;
    private final PeerAcceptor acceptor;
    private final Engine engine;
    private final Hlc hlc;
    private final ReplicaService replica;
    private final HintStore hints;
    private volatile Coordinator coordinator;
    private HintReplayer replayer;
    private final AntiEntropyService antiEntropyService;
    private final RangeReader rangeReader;
    /**
     * Answers peers' tree and key-list requests, which scan the engine, off the event loops. One thread:
     * each peer has at most one anti-entropy request in flight, so the queue holds at most one per peer.
     */
    private final ExecutorService antiEntropyAnswers = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "trellis-anti-entropy-peer");
        t.setDaemon(true);
        return t;
    });
    private volatile AntiEntropy antiEntropy;
    private final Rebalancer rebalancer;
    private final ExecutorScheduler scheduler = new ExecutorScheduler("trellis-membership");
    /** Applies flushes (a sweep of every entry) one at a time, off the event loops and membership. */
    private final ExecutorService flusher = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "trellis-flush");
        t.setDaemon(true);
        return t;
    });
    private NodeIdentity identity;
    private volatile Swim swim;
    private PeerClient peers;
    private GossipTransport gossip;
    private Router router;
    private long joinStartedMillis;
    private long lastJoinWarnMillis;

    public Cluster(ClusterConfig config, NodeIdentity identity, String bindHost, int port, PeerConfig peerConfig,
            Clock clock, Dispatcher dispatcher, ClusterState state, Engine engine, Hlc hlc) {
        this.config = config;
        this.identity = identity;
        this.bindHost = bindHost;
        this.clock = clock;
        this.dispatcher = dispatcher;
        this.state = state;
        this.peerConfig = peerConfig;
        this.engine = engine;
        this.hlc = hlc;
        this.replica = new ReplicaService(engine, hlc, config.replication().maxClockDriftMillis());
        this.hints = new HintStore(config.hints(), clock);
        this.antiEntropyService = new AntiEntropyService(engine,
                ScanPacer.sleeping(config.antiEntropy().cpuFraction(), clock), clock, config.antiEntropy());
        this.acceptor = new PeerAcceptor(peerConfig, hello(port), this::serve);
        this.rangeReader = new RangeReader(engine);
        state.onFlushHeard((flush, member) -> applyFlush(flush, "the gossip of " + state.describe(member)));
        this.rebalancer = new Rebalancer(identity.nodeId(), config.replication().replicationFactor(),
                config.rebalance(), state, scheduler, () -> swim, replica, rangeReader, () -> peers,
                () -> antiEntropy, clock);
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

    /** Answers peer requests: membership exchanges and forwarded commands. */
    private CompletableFuture<byte[]> serve(PeerMessageType type, PeerHello from, byte[] payload) {
        switch (type) {
            case SWIM_STREAM -> {
                Swim s = swim;
                if (s == null) {
                    return CompletableFuture.failedFuture(new IllegalStateException("membership not started yet"));
                }
                return GossipTransport.serveStream(scheduler, from, payload, s::onStreamRequest);
            }
            case FORWARD -> {
                try {
                    return dispatcher.executeForwarded(from.nodeId(),
                            ForwardCodec.decodeRequest(payload)).thenApply(ForwardCodec::encode);
                } catch (IllegalArgumentException e) {
                    return CompletableFuture.failedFuture(e);
                }
            }
            case REPLICA_WRITE -> {
                try {
                    return CompletableFuture.completedFuture(replica.applyWrite(
                            Long.toHexString(from.nodeId()) + "@" + from.address(), payload));
                } catch (IllegalArgumentException e) {
                    return CompletableFuture.failedFuture(e);
                }
            }
            case REPLICA_READ -> {
                try {
                    return CompletableFuture.completedFuture(replica.answerRead(payload));
                } catch (IllegalArgumentException e) {
                    return CompletableFuture.failedFuture(e);
                }
            }
            case ANTI_ENTROPY_TREE -> {
                return answerAntiEntropy(() -> antiEntropyService.answerTree(payload));
            }
            case ANTI_ENTROPY_KEYS -> {
                return answerAntiEntropy(() -> antiEntropyService.answerKeys(payload));
            }
            case STREAM_RANGE -> {
                return answerAntiEntropy(() -> rangeReader.answer(payload));
            }
            case FLUSH -> {
                if (payload.length != 16) {
                    return CompletableFuture.failedFuture(new IllegalArgumentException("flush: " + payload.length
                            + " bytes (expected: 16)"));
                }
                ByteBuffer b = ByteBuffer.wrap(payload);
                Version flush = new Version(b.getLong(), b.getLong());
                long aheadMillis = Hlc.physical(flush.hlc()) - clock.millis();
                if (aheadMillis > config.replication().maxClockDriftMillis()) {
                    // as for a write: one node's runaway clock must not push every clock ahead
                    return CompletableFuture.failedFuture(new IllegalArgumentException("flush version is "
                            + aheadMillis + " ms ahead of this node's clock (max drift "
                            + config.replication().maxClockDriftMillis() + " ms)"));
                }
                return applyFlush(flush, Long.toHexString(from.nodeId()) + "@" + from.address())
                        .thenApply(dropped -> new byte[0]);
            }
            default -> {
                return CompletableFuture.failedFuture(new IllegalArgumentException("not a request: " + type));
            }
        }
    }

    /**
     * FLUSHALL through this node: stamps a flush version, applies it here, sends it to every member
     * believed live and waits for their acks. Members that are down learn it from this node's
     * gossiped metadata (or any other's) when they are back: see {@link TokenMeta}.
     *
     * @return null once every live member applied it; otherwise an error text naming the members that
     *         did not answer and why
     */
    CompletableFuture<String> flushAll() {
        Version flush = new Version(hlc.now(), identity.nodeId());
        return applyFlush(flush, "a client").thenCompose(dropped -> {
            List<Long> targets = state.liveMembers();
            targets.remove(identity.nodeId());
            ByteBuffer payload = ByteBuffer.allocate(16).putLong(flush.hlc()).putLong(flush.nodeId());
            List<CompletableFuture<String>> acks = new ArrayList<>();
            for (long id : targets) {
                InetSocketAddress to = state.addressOf(id);
                CompletableFuture<String> ack = to == null
                        ? CompletableFuture.completedFuture(state.describe(id) + " has no known address")
                        : peers.call(to, PeerMessageType.FLUSH, payload.array(), FORWARD_TIMEOUT)
                                .handle((r, failure) -> failure == null ? null
                                        : state.describe(id) + " did not answer: " + Router.reason(failure));
                acks.add(ack);
            }
            return CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).thenApply(v -> {
                List<String> missing = new ArrayList<>();
                acks.forEach(a -> {
                    if (a.join() != null) {
                        missing.add(a.join());
                    }
                });
                if (missing.isEmpty()) {
                    return null;
                }
                return "TIMEOUT flush applied on " + (1 + targets.size() - missing.size()) + " of "
                        + (1 + targets.size()) + " live nodes; " + String.join("; ", missing)
                        + (missing.size() == 1 ? "; it will apply it" : "; each will apply it")
                        + " when it hears of it";
            });
        });
    }

    /**
     * Applies a flush here, off the event loops and the membership thread (it sweeps every entry), if
     * it is newer than the one in force; then gossips it with this node's metadata.
     *
     * @return entries dropped (0 if the flush was not newer)
     */
    private CompletableFuture<Long> applyFlush(Version flush, String from) {
        if (flush.compareTo(engine.flushFloor()) <= 0) {
            return CompletableFuture.completedFuture(0L);
        }
        CompletableFuture<Long> done = new CompletableFuture<>();
        try {
            flusher.execute(() -> {
                long dropped = engine.flush(flush);
                hints.dropOlderThan(flush);
                log.info("Applied flush {} from {}: dropped {} entries; older ones are refused from now on",
                        flush.describe(), from, dropped);
                scheduler.execute(this::publishFlushFloor);
                done.complete(dropped);
            });
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(new IllegalStateException("node is shutting down"));
        }
        return done;
    }

    /** On the membership thread: gossips this node's flush floor with its status and tokens. */
    private void publishFlushFloor() {
        Swim s = swim;
        if (s == null) {
            return;
        }
        TokenMeta meta = TokenMeta.parse(s.localMember().meta());
        if (!meta.flushed().equals(engine.flushFloor())) {
            s.updateMeta(TokenMeta.encode(meta.status(), meta.tokens(), engine.flushFloor()));
        }
    }

    /** Runs an answer that scans the engine (anti-entropy, range streams) on its own thread; a malformed request fails the future. */
    private CompletableFuture<byte[]> answerAntiEntropy(Supplier<byte[]> answer) {
        try {
            return CompletableFuture.supplyAsync(answer, antiEntropyAnswers);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new IllegalStateException("node is shutting down"));
        }
    }

    /** Starts membership and routing; {@code bound} is the client server's bound TCP address. */
    public void start(InetSocketAddress bound) throws IOException {
        PeerHello self = hello(bound.getPort());
        NodeStatus startStatus = NodeStatus.NORMAL;
        if (!identity.tokens().isEmpty()) {
            startStatus = rebalancer.restarted(identity.tokens(), !config.seeds().isEmpty());
        }
        acceptor.self(self);
        peers = new PeerClient(peerConfig, self);
        gossip = new GossipTransport(peerConfig, peers, scheduler, STREAM_TIMEOUT);
        Swim s = Swim.builder(config.membership(), identity.nodeId(),
                        new Address(self.host(), self.port()))
                .meta(TokenMeta.encode(startStatus, identity.tokens(), engine.flushFloor()))
                .transport(gossip)
                .scheduler(scheduler)
                .clock(clock)
                .listener(state)
                .build();
        gossip.start(new InetSocketAddress(bindHost, bound.getPort()), (from, data) -> s.onPacket(from, data));
        swim = s;
        router = dispatcher.enableRouting(state, this::forward);
        ReplicationConfig rc = config.replication();
        PeerReplicaTransport transport = new PeerReplicaTransport(peers, state,
                Duration.ofMillis(rc.replicaTimeoutMillis()));
        coordinator = new Coordinator(engine, hlc, state, state, transport, hints::add, rc,
                new SplittableRandom(identity.nodeId() ^ clock.nanos()));
        dispatcher.enableReplication(new Coordination(dispatcher, coordinator, state));
        dispatcher.enableClusterFlush(this::flushAll);
        replayer = new HintReplayer(hints, transport, state, config.hints(), clock);
        replayer.start();
        AntiEntropy ae = new AntiEntropy(identity.nodeId(), engine,
                ScanPacer.sleeping(config.antiEntropy().cpuFraction(), clock), replica, state::ring,
                rc.replicationFactor(), state,
                new PeerAntiEntropyTransport(peers, state, Duration.ofMillis(config.antiEntropy().timeoutMillis())),
                config.antiEntropy(), clock, state::describe, identity.nodeId() ^ clock.nanos());
        ae.start();
        antiEntropy = ae;
        List<Address> seeds = new ArrayList<>();
        for (String seed : config.seeds()) {
            int colon = seed.lastIndexOf(':');
            seeds.add(new Address(seed.substring(0, colon), Integer.parseInt(seed.substring(colon + 1))));
        }
        scheduler.execute(() -> {
            s.start();
            s.join(seeds);
            rebalancer.start();
            joinStartedMillis = clock.millis();
            lastJoinWarnMillis = joinStartedMillis;
            if (!seeds.isEmpty()) {
                serveKeysOnceJoined(s);
            }
            if (identity.tokens().isEmpty()) {
                awaitJoinThenTakeTokens(s);
            }
        });
        log.info("Node {} in cluster '{}' at {}:{}{}", Long.toHexString(identity.nodeId()), config.name(),
                self.host(), self.port(), seeds.isEmpty() ? " (new cluster)" : ", joining through " + config.seeds());
    }

    /**
     * On the membership thread: once a seed has answered (the node then knows the members and their
     * tokens), lets the dispatcher serve keyed commands, which it refuses until then.
     */
    private void serveKeysOnceJoined(Swim s) {
        if (s.isJoined()) {
            dispatcher.joining(false);
            log.info("Joined the cluster; serving keys");
            rebalancer.rejoined();
        } else {
            scheduler.schedule(SERVE_CHECK_MILLIS, () -> serveKeysOnceJoined(s));
        }
    }

    /** On the membership thread: once joined (or with no seeds), takes tokens; else checks again soon. */
    private void awaitJoinThenTakeTokens(Swim s) {
        if (!s.isJoined()) {
            long now = clock.millis();
            if (now - lastJoinWarnMillis >= JOIN_WARN_EVERY_MILLIS) {
                lastJoinWarnMillis = now;
                log.warn("No seed of {} has answered for {} s; retrying with backoff, refusing keyed commands meanwhile",
                        config.seeds(), (now - joinStartedMillis) / 1000);
            }
            scheduler.schedule(JOIN_CHECK_MILLIS, () -> awaitJoinThenTakeTokens(s));
            return;
        }
        if (config.seeds().isEmpty()) {
            takeTokens(s);
        } else {
            long settle = TOKEN_SETTLE_MILLIS + Math.floorMod(identity.nodeId(), TOKEN_SETTLE_MILLIS);
            scheduler.schedule(settle, () -> takeTokens(s));
        }
    }

    /** On the membership thread: chooses this node's tokens against the ring as now known, gossips them. */
    private void takeTokens(Swim s) {
        TokenAllocator allocator = new TokenAllocator(3, identity.nodeId());
        List<Long> tokens = new ArrayList<>();
        for (long t : allocator.allocate(state.ring(), identity.nodeId(), config.vnodes())) {
            tokens.add(t + jitter(identity.nodeId(), t));
        }
        identity = identity.withTokens(tokens);
        s.updateMeta(rebalancer.tokensTaken(tokens, !config.seeds().isEmpty()));
        log.info("Took {} tokens on the ring", tokens.size());
        if (config.dataDir() != null) {
            try {
                identity.save(config.dataDir());
            } catch (IOException e) {
                log.error("Could not save the node identity in {}: {}", config.dataDir(), e.toString());
            }
        }
    }

    /**
     * A node-specific nudge of at most 2^-20 of the ring: the allocator is deterministic, so two nodes
     * choosing against the same ring would otherwise pick identical tokens.
     */
    static long jitter(long nodeId, long token) {
        long h = (nodeId ^ token) * 0x9E3779B97F4A7C15L;
        h ^= h >>> 31;
        return h >> 20;
    }

    private CompletableFuture<ForwardCodec.Reply> forward(long nodeId, ForwardCodec.Request request) {
        InetSocketAddress to = state.addressOf(nodeId);
        if (to == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("unknown node " + Long.toHexString(nodeId)));
        }
        // One stream per client connection: its forwards leave on one peer connection, in order.
        return peers.call(to, PeerMessageType.FORWARD, ForwardCodec.encode(request), FORWARD_TIMEOUT, request.stream())
                .thenApply(ForwardCodec::decodeReply);
    }

    ClusterState state() {
        return state;
    }

    public Rebalancer rebalancer() {
        return rebalancer;
    }

    /**
     * Runs {@code action} on the membership thread and waits for it; its IllegalStateException or
     * IllegalArgumentException is rethrown here.
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
            throw new IllegalStateException("membership thread did not answer within 5 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    Router router() {
        return router;
    }

    /** The replication coordinator; null before start. */
    public Coordinator coordinator() {
        return coordinator;
    }

    /** Anti-entropy rounds; null before start. */
    public AntiEntropy antiEntropy() {
        return antiEntropy;
    }

    public AntiEntropyService antiEntropyService() {
        return antiEntropyService;
    }

    public ReplicaService replica() {
        return replica;
    }

    public HintStore hints() {
        return hints;
    }

    public PeerClient peers() {
        return peers;
    }

    GossipTransport gossip() {
        return gossip;
    }

    /** Membership counters, read on the membership thread; null before start. */
    io.trelliskv.membership.SwimStats swimStats() {
        Swim s = swim;
        if (s == null) {
            return null;
        }
        CompletableFuture<io.trelliskv.membership.SwimStats> f = new CompletableFuture<>();
        scheduler.execute(() -> f.complete(s.stats()));
        try {
            return f.get(1, TimeUnit.SECONDS);
        } catch (Exception e) {
            return null;
        }
    }

    /** Announces LEFT, waits a little for it to spread, then stops membership and the peer client. */
    @Override
    public void close() {
        rebalancer.close();
        Swim s = swim;
        if (s != null) {
            CountDownLatch spread = new CountDownLatch(1);
            scheduler.execute(() -> {
                try {
                    s.leave(spread::countDown);
                } catch (IllegalStateException e) {
                    spread.countDown();
                }
            });
            try {
                if (!spread.await(LEAVE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                    log.info("Stopping before the LEFT announcement reached every member");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            CountDownLatch stopped = new CountDownLatch(1);
            scheduler.execute(() -> {
                s.stop();
                stopped.countDown();
            });
            try {
                stopped.await(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (replayer != null) {
            replayer.close();
        }
        if (antiEntropy != null) {
            antiEntropy.close();
        }
        antiEntropyAnswers.shutdownNow();
        flusher.shutdownNow();
        if (gossip != null) {
            gossip.close();
        }
        if (peers != null) {
            peers.close();
        }
        scheduler.close();
    }
}
