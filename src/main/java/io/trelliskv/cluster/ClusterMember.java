package io.trelliskv.cluster;

import io.trelliskv.common.Address;
import io.trelliskv.common.Clock;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.datadir.KnownMembers;
import io.trelliskv.datadir.NodeIdentity;
import io.trelliskv.datadir.StreamingMarker;
import io.trelliskv.membership.Member;
import io.trelliskv.membership.MemberState;
import io.trelliskv.membership.Scheduler;
import io.trelliskv.membership.Swim;
import io.trelliskv.membership.SwimStats;
import io.trelliskv.membership.Transport;
import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.repair.AntiEntropy;
import io.trelliskv.repair.AntiEntropyService;
import io.trelliskv.repair.RangeReader;
import io.trelliskv.repair.ScanPacer;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.Deadline;
import io.trelliskv.replication.DeadlinePassedException;
import io.trelliskv.replication.HintReplayer;
import io.trelliskv.replication.HintStore;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.replication.ReplicaRefusedException;
import io.trelliskv.persist.AppendFsync;
import io.trelliskv.persist.Durability;
import io.trelliskv.replication.ReplicaService;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.replication.ReplicationException;
import io.trelliskv.request.Dispatcher;
import io.trelliskv.request.ErrorReplies;
import io.trelliskv.request.ForwardCodec;
import io.trelliskv.request.Router;
import io.trelliskv.ring.TokenAllocator;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

/**
 * This node as a member of its cluster, over whatever network it is given: membership (SWIM), the ring
 * and its tokens, routing and forwarding, replication with hints and anti-entropy, rebalancing, and the
 * answers to peers' requests. Everything is built, complete, by the constructor; {@link #start()} starts
 * the background work and joins through the seeds.
 *
 * <h2>Wiring</h2>
 * The member owns no sockets and no threads. {@link Wiring} brings its surroundings: this node's
 * membership address and datagram {@link Transport}, the membership thread ({@link Scheduler}), requests
 * to peers by node id ({@link PeerCalls}), the executors for streams, flushes and engine scans, and how
 * background loops run ({@link Background}). {@link Cluster} builds it over UDP, the peer protocol and
 * threads once the node's port is bound; a simulation builds the same member over an in-memory network
 * with a fake clock and one event queue, so simulated nodes run exactly this wiring.
 *
 * <h2>Joining</h2>
 * A node joins through its seeds or, without seeds, through the members it knew before a restart
 * ({@link KnownMembers}, kept in its data directory and rewritten within {@link #MEMBERS_SAVE_MILLIS} of
 * a change), so a restarted first node rejoins its cluster instead of starting a new one. A node
 * restarted with its data directory gossips the tokens it had, JOINING, and streams its ranges back
 * before it serves them ({@link Rebalancer}, "Rejoin after a restart"); while JOINING it refuses to be
 * read from or streamed from, whatever a peer's view of it. A new node takes its tokens once it has
 * joined (so the allocator sees the ring it joins), or at once when it has nobody to join through; then
 * saves them. Until a member has answered, a node with someone to join through refuses keyed commands
 * ({@link Dispatcher#joining}).
 * All membership work runs on the membership thread; the ring and member view that routing reads are
 * kept by {@link ClusterState}.
 */
public final class ClusterMember implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ClusterMember.class);

    /** How long a forwarded command may take before the client gets an error. */
    static final Duration FORWARD_TIMEOUT = Duration.ofSeconds(5);
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
    /** How often the members known are compared with those last saved, and saved if they differ. */
    static final long MEMBERS_SAVE_MILLIS = 1_000;

    /** How the background loops of replication run: threads of their own in a server, events in a simulation. */
    public interface Background {
        /** Starts hint replay ({@link HintReplayer#start()} in a server). */
        void startHintReplay(HintReplayer replayer);

        /** Starts anti-entropy rounds ({@link AntiEntropy#start()} in a server). */
        void startAntiEntropy(AntiEntropy antiEntropy);

        /** Asks for a round ({@link AntiEntropy#requestRepair()}); throws RefusedException if none can run. */
        void requestRepair(AntiEntropy antiEntropy);

        /** Each loop on its own thread. */
        Background THREADS = new Background() {
            @Override
            public void startHintReplay(HintReplayer replayer) {
                replayer.start();
            }

            @Override
            public void startAntiEntropy(AntiEntropy antiEntropy) {
                antiEntropy.start();
            }

            @Override
            public void requestRepair(AntiEntropy antiEntropy) {
                antiEntropy.requestRepair();
            }
        };
    }

    /**
     * What a member runs over.
     *
     * @param self             this node's membership address (its advertised host and bound port)
     * @param gossip           membership datagrams and push-pull streams
     * @param membership       the membership thread: SWIM, ring decisions, rebalancing decisions
     * @param membershipRandom SWIM's choices (probe order, gossip targets); seeded in a simulation
     * @param peers            requests to other nodes by id
     * @param streams          runs range streams one at a time; may block
     * @param flushes          applies flushes (a sweep of every entry) one at a time
     * @param scans            answers peers' requests that scan the engine (trees, key lists, range batches)
     * @param sleeper          waits out stream backoffs and throughput pauses
     * @param pacers           makes the pacer of each engine scanner (anti-entropy's and its answers')
     * @param background       runs hint replay and anti-entropy rounds
     * @param onDecommissioned what to do once a decommission has handed every range over
     */
    public record Wiring(Address self, Transport gossip, Scheduler membership, Random membershipRandom,
                         PeerCalls peers, Executor streams, Executor flushes, Executor scans,
                         ScanPacer.Sleeper sleeper, Supplier<ScanPacer> pacers, Background background,
                         Runnable onDecommissioned) {
    }

    private final ClusterConfig config;
    private final Clock clock;
    private final Dispatcher dispatcher;
    private final ClusterState state;
    private final Engine engine;
    private final Hlc hlc;
    private final Wiring wiring;
    private final Scheduler scheduler;
    private final PeerCalls peers;
    private final ReplicaService replica;
    private final Durability durability;
    private final HintStore hints;
    private final AntiEntropyService antiEntropyService;
    private final RangeReader rangeReader;
    private final Swim swim;
    private final Router router;
    private final Coordinator coordinator;
    private final HintReplayer replayer;
    private final AntiEntropy antiEntropy;
    private final Rebalancer rebalancer;
    /** This node's id and tokens; replaced once on the membership thread when a new node takes tokens. */
    private volatile NodeIdentity identity;
    /** Where this node joins through: its seeds, or else the members it knew; never changes. */
    private final List<Address> joinTargets;
    /** The members last saved in the data directory; membership thread. */
    private KnownMembers savedMembers;
    private long joinStartedMillis;
    /** Whether the {@link StreamingMarker} is set; membership thread after construction. */
    private boolean streamingMarked;
    private long lastJoinWarnMillis;
    /** A gossiped flush too far ahead of this clock, waiting to be applied ({@link #flushHeard}); membership thread. */
    private Version flushWaiting;

    /**
     * @param known the members this node knew before a restart (from its data directory); it joins
     *              through them when it has no seeds
     */
    public ClusterMember(ClusterConfig config, NodeIdentity identity, KnownMembers known, Clock clock,
                         Dispatcher dispatcher, ClusterState state, Engine engine, Hlc hlc, Wiring wiring) {
        this(config, identity, known, clock, dispatcher, state, engine, hlc, wiring, Durability.NONE, false);
    }

    /**
     * @param durability what a replica's acknowledgement of a write waits for, and whether it may apply one
     * @param dataKept   whether the engine holds this node's data from before a restart (recovered from its
     *                   log): a restarted node that kept its data serves at once and catches up through hints
     *                   and anti-entropy, instead of streaming its ranges again
     */
    public ClusterMember(ClusterConfig config, NodeIdentity identity, KnownMembers known, Clock clock,
                         Dispatcher dispatcher, ClusterState state, Engine engine, Hlc hlc, Wiring wiring,
                         Durability durability, boolean dataKept) {
        this.durability = durability;
        this.config = config;
        this.identity = identity;
        this.savedMembers = known;
        this.joinTargets = known.joinTargets(config.seeds());
        this.clock = clock;
        this.dispatcher = dispatcher;
        this.state = state;
        this.engine = engine;
        this.hlc = hlc;
        this.wiring = wiring;
        this.scheduler = wiring.membership();
        this.peers = wiring.peers();
        ReplicationConfig rc = config.replication();
        long id = identity.nodeId();
        this.replica = new ReplicaService(engine, hlc, rc.maxClockDriftMillis(), durability);
        this.hints = openHints(config, clock, durability);
        this.antiEntropyService = new AntiEntropyService(engine, wiring.pacers().get(), clock, config.antiEntropy());
        this.rangeReader = new RangeReader(engine);
        state.onFlushHeard(this::flushHeard);
        PeerReplicaTransport replicas = new PeerReplicaTransport(peers, Duration.ofMillis(rc.replicaTimeoutMillis()),
                clock);
        this.antiEntropy = new AntiEntropy(id, engine, wiring.pacers().get(), replica, state::ring,
                rc.replicationFactor(), state,
                new PeerAntiEntropyTransport(peers, Duration.ofMillis(config.antiEntropy().timeoutMillis())),
                config.antiEntropy(), clock, state::describe, id ^ clock.nanos());
        this.rebalancer = new Rebalancer(id, rc.replicationFactor(), config.rebalance(), state, scheduler,
                new SwimControl(), replica, rangeReader, new PeerStreamTransport(peers),
                () -> wiring.background().requestRepair(antiEntropy), wiring.streams(), wiring.sleeper(),
                wiring.onDecommissioned(), clock);
        boolean wasStreaming = config.dataDir() != null && StreamingMarker.present(config.dataDir());
        this.streamingMarked = wasStreaming;
        NodeStatus startStatus = identity.tokens().isEmpty() ? NodeStatus.NORMAL
                : rebalancer.restarted(identity.tokens(), !joinTargets.isEmpty(), dataKept && !wasStreaming);
        if (startStatus == NodeStatus.JOINING) {
            markStreaming(true);
        }
        this.swim = Swim.builder(config.membership(), id, wiring.self())
                .meta(TokenMeta.encode(startStatus, identity.tokens(), engine.flushFloor()))
                .transport(wiring.gossip())
                .scheduler(scheduler)
                .clock(clock)
                .random(wiring.membershipRandom())
                .listener(state)
                .build();
        this.coordinator = new Coordinator(engine, hlc, state, state, replicas, hints::add, rc,
                new SplittableRandom(id ^ clock.nanos()));
        this.router = dispatcher.serveCluster(state, this::forward, coordinator, hlc, this::flushAll);
        this.replayer = new HintReplayer(hints, replicas, state, config.hints(), clock);
    }

    /** {@link MembershipControl} over this member's SWIM. */
    private final class SwimControl implements MembershipControl {
        @Override
        public void announce(byte[] meta) {
            if (TokenMeta.parse(meta).status() == NodeStatus.NORMAL) {
                markStreaming(false);
            }
            swim.updateMeta(meta);
        }

        @Override
        public MemberState stateOf(long nodeId) {
            Member m = swim.member(nodeId);
            return m == null ? null : m.state();
        }

        @Override
        public void remove(long nodeId) {
            swim.remove(nodeId);
        }
    }

    /** Where this node joins through: its seeds, or else the members it knew before a restart. */
    public List<Address> joinTargets() {
        return joinTargets;
    }

    /**
     * Starts hint replay, anti-entropy and membership, and joins through the seeds or the members known.
     *
     * @return completes once membership runs on its thread and lists this node (the join goes on after)
     */
    public CompletableFuture<Void> start() {
        CompletableFuture<Void> listed = new CompletableFuture<>();
        wiring.background().startHintReplay(replayer);
        wiring.background().startAntiEntropy(antiEntropy);
        List<Address> seeds = joinTargets;
        if (config.seeds().isEmpty() && !seeds.isEmpty()) {
            log.info("No seeds given: rejoining the cluster through the {} members known in {}", seeds.size(),
                    config.dataDir());
        }
        scheduler.execute(() -> {
            try {
                swim.start();
            } catch (RuntimeException e) {
                listed.completeExceptionally(e);
                throw e;
            }
            listed.complete(null);
            swim.join(seeds);
            rebalancer.start();
            joinStartedMillis = clock.millis();
            lastJoinWarnMillis = joinStartedMillis;
            if (!seeds.isEmpty()) {
                serveKeysOnceJoined();
            }
            if (identity.tokens().isEmpty()) {
                awaitJoinThenTakeTokens();
            }
            if (config.dataDir() != null) {
                scheduler.schedule(MEMBERS_SAVE_MILLIS, this::saveMembers);
            }
        });
        return listed;
    }

    /**
     * On the membership thread, every {@link #MEMBERS_SAVE_MILLIS}: saves the members known (all but
     * this node and those that left or were removed; DEAD ones too, which may be back when this node
     * restarts) if they differ from those last saved.
     */
    private void saveMembers() {
        if (!swim.isRunning()) {
            return;
        }
        List<KnownMembers.Known> now = new ArrayList<>();
        for (Member m : state.members()) {
            if (m.id() != identity.nodeId() && m.state() != MemberState.LEFT) {
                now.add(new KnownMembers.Known(m.id(), m.address()));
            }
        }
        now.sort(java.util.Comparator.comparing((KnownMembers.Known k) -> k.address().toString()));
        KnownMembers known = new KnownMembers(now);
        if (!known.equals(savedMembers) && !now.isEmpty()) {
            try {
                known.save(config.dataDir());
                savedMembers = known;
            } catch (IOException e) {
                log.error("Could not save the members known in {}: {}", config.dataDir(), e.getMessage());
            }
        }
        scheduler.schedule(MEMBERS_SAVE_MILLIS, this::saveMembers);
    }

    /**
     * On the membership thread: once a seed has answered (the node then knows the members and their
     * tokens), lets the dispatcher serve keyed commands, which it refuses until then.
     */
    private void serveKeysOnceJoined() {
        if (swim.isJoined()) {
            dispatcher.joining(false);
            log.info("Joined the cluster; serving keys");
            rebalancer.rejoined();
        } else {
            scheduler.schedule(SERVE_CHECK_MILLIS, this::serveKeysOnceJoined);
        }
    }

    /** On the membership thread: once joined (or with no seeds), takes tokens; else checks again soon. */
    private void awaitJoinThenTakeTokens() {
        if (!swim.isJoined()) {
            long now = clock.millis();
            if (now - lastJoinWarnMillis >= JOIN_WARN_EVERY_MILLIS) {
                lastJoinWarnMillis = now;
                log.warn("No seed of {} has answered for {} s; retrying with backoff, refusing keyed commands meanwhile",
                        config.seeds(), (now - joinStartedMillis) / 1000);
            }
            scheduler.schedule(JOIN_CHECK_MILLIS, this::awaitJoinThenTakeTokens);
            return;
        }
        if (joinTargets.isEmpty()) {
            takeTokens();
        } else {
            long settle = TOKEN_SETTLE_MILLIS + Math.floorMod(identity.nodeId(), TOKEN_SETTLE_MILLIS);
            scheduler.schedule(settle, this::takeTokens);
        }
    }

    /** On the membership thread: chooses this node's tokens against the ring as now known, gossips them. */
    private void takeTokens() {
        TokenAllocator allocator = new TokenAllocator(3, identity.nodeId());
        List<Long> tokens = new ArrayList<>();
        for (long t : allocator.allocate(state.ring(), identity.nodeId(), config.vnodes())) {
            tokens.add(t + jitter(identity.nodeId(), t));
        }
        identity = identity.withTokens(tokens);
        byte[] meta = rebalancer.tokensTaken(tokens, !joinTargets.isEmpty());
        markStreaming(TokenMeta.parse(meta).status() == NodeStatus.JOINING); // before the tokens are saved
        swim.updateMeta(meta);
        log.info("Took {} tokens on the ring", tokens.size());
        if (config.dataDir() != null) {
            try {
                identity.save(config.dataDir());
            } catch (IOException e) {
                log.error("Could not save the node identity in {}: {}", config.dataDir(), e.getMessage());
            }
        }
    }

    /**
     * Sets or clears the data directory's {@link StreamingMarker}: set while this node streams its ranges
     * (it must stream again after a crash), cleared once it is NORMAL.
     */
    private void markStreaming(boolean streaming) {
        if (config.dataDir() == null || streaming == streamingMarked) {
            return;
        }
        try {
            if (streaming) {
                StreamingMarker.set(config.dataDir());
            } else {
                StreamingMarker.clear(config.dataDir());
            }
            streamingMarked = streaming;
        } catch (IOException e) {
            log.error("Could not {} the streaming marker in {}: {}", streaming ? "set" : "clear", config.dataDir(),
                    e.getMessage());
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

    private CompletableFuture<ForwardCodec.Reply> forward(long nodeId, ForwardCodec.Request request,
                                                          List<Entry> ahead) {
        // One stream per client connection: its forwards leave on one peer connection, in order.
        // The owner does not start it once this node has stopped waiting (replication.Deadline).
        if (ahead != null) {
            // On the same stream, so the owner applies it (as it reads it, on that connection's loop) before the
            // forward: nobody waits for its answer, as the command's own read still asks the replicas. Whatever
            // becomes of it, the forward goes.
            try {
                peers.call(nodeId, PeerMessageType.REPLICA_WRITE, ReplicaCodec.encodeWrite(ahead), FORWARD_TIMEOUT,
                        request.stream(), clock.millis() + FORWARD_TIMEOUT.toMillis());
            } catch (RuntimeException e) {
                log.debug("Could not carry {} entries ahead of a forward to {}: {}", ahead.size(), nodeId, e.toString());
            }
        }
        return peers.call(nodeId, PeerMessageType.FORWARD, ForwardCodec.payload(request), FORWARD_TIMEOUT,
                request.stream(), clock.millis() + FORWARD_TIMEOUT.toMillis()).thenApply(ForwardCodec::decodeReply);
    }

    /**
     * Answers a peer's request, other than membership's push-pull (which the network hands to
     * {@link #swim()} on the membership thread). Never blocks: engine scans and flushes run on their
     * executors.
     *
     * @param fromId the calling node
     * @param from   the calling node as logs name it ({@code id@host:port})
     */
    public CompletableFuture<byte[]> handle(PeerMessageType type, long fromId, String from, byte[] payload) {
        return handle(type, fromId, from, payload, Deadline.NO_DEADLINE);
    }

    /**
     * Answers a coordinator's {@code REPLICA_WRITE} whose payload is a view of the peer connection's buffer
     * ({@code net.peer.PeerService#handleInPlace}), as {@link #handle} does: the batch is decoded and applied
     * before this returns.
     *
     * @param deadlineMillis the sender's deadline (epoch ms of its clock), or {@link Deadline#NO_DEADLINE}
     */
    public CompletableFuture<byte[]> applyWrite(String from, ByteBuffer payload, long deadlineMillis) {
        return applyWrite(from, payload, Deadline.of(deadlineMillis, config.replication().maxClockDriftMillis(), clock));
    }

    private CompletableFuture<byte[]> applyWrite(String from, ByteBuffer payload, Deadline deadline) {
        try {
            byte[] reply = replica.applyWrite(from, payload, deadline);
            // under appendfsync always, acknowledged once this node's copy is on disk
            return durability.acknowledgesDurably() ? durability.durable().thenApply(v -> reply)
                    : CompletableFuture.completedFuture(reply);
        } catch (MalformedMessageException | DeadlinePassedException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Answers a peer's request as {@link #handle(PeerMessageType, long, String, byte[])} does; a forwarded
     * command or a replica write whose sender's deadline has passed is not started ({@link Deadline}).
     *
     * @param deadlineMillis the sender's deadline (epoch ms of its clock), or {@link Deadline#NO_DEADLINE}
     */
    public CompletableFuture<byte[]> handle(PeerMessageType type, long fromId, String from, byte[] payload,
                                            long deadlineMillis) {
        Deadline deadline = Deadline.of(deadlineMillis, config.replication().maxClockDriftMillis(), clock);
        switch (type) {
            case FORWARD -> {
                try {
                    return dispatcher.executeForwarded(fromId, ForwardCodec.decodeRequest(payload), deadline)
                            .thenApply(ForwardCodec::encode);
                } catch (MalformedMessageException e) {
                    return CompletableFuture.failedFuture(e);
                }
            }
            case REPLICA_WRITE -> {
                return applyWrite(from, ByteBuffer.wrap(payload), deadline);
            }
            case REPLICA_READ -> {
                if (rebalancer.status() == NodeStatus.JOINING) {
                    return notASource("read from");
                }
                try {
                    return CompletableFuture.completedFuture(replica.answerRead(payload));
                } catch (MalformedMessageException e) {
                    return CompletableFuture.failedFuture(e);
                }
            }
            case ANTI_ENTROPY_TREE -> {
                return scan(() -> antiEntropyService.answerTree(payload));
            }
            case ANTI_ENTROPY_KEYS -> {
                return scan(() -> antiEntropyService.answerKeys(payload));
            }
            case STREAM_RANGE -> {
                if (rebalancer.status() == NodeStatus.JOINING) {
                    return notASource("streamed from");
                }
                return scan(() -> rangeReader.answer(payload));
            }
            case FLUSH -> {
                if (payload.length != 16) {
                    return CompletableFuture.failedFuture(new MalformedMessageException("flush: " + payload.length
                            + " bytes (expected: 16)"));
                }
                ByteBuffer b = ByteBuffer.wrap(payload);
                Version flush = new Version(b.getLong(), b.getLong());
                long aheadMillis = Hlc.physical(flush.hlc()) - clock.millis();
                if (aheadMillis > config.replication().maxClockDriftMillis()) {
                    // as for a write: one node's runaway clock must not push every clock ahead
                    return CompletableFuture.failedFuture(new ReplicaRefusedException("flush version is "
                            + aheadMillis + " ms ahead of this node's clock (max drift "
                            + config.replication().maxClockDriftMillis() + " ms)"));
                }
                return applyFlush(flush, from).thenApply(dropped -> new byte[0]);
            }
            default -> {
                return CompletableFuture.failedFuture(new MalformedMessageException("not a request: " + type));
            }
        }
    }

    /**
     * The refusal of a JOINING node asked for its data by a peer whose view is stale: it is not a
     * holder of its ranges yet (a new node, or a restarted one that came back empty), so its answer
     * must neither count toward a read's quorum nor make another node NORMAL. The asker tries another
     * replica.
     */
    private CompletableFuture<byte[]> notASource(String what) {
        return CompletableFuture.failedFuture(new ReplicaRefusedException("node "
                + Long.toHexString(identity.nodeId()) + " is JOINING (streaming its ranges) and cannot be " + what));
    }

    /** Runs an answer that scans the engine (anti-entropy, range streams) on its executor; a malformed request fails the future. */
    private CompletableFuture<byte[]> scan(Supplier<byte[]> answer) {
        try {
            return CompletableFuture.supplyAsync(answer, wiring.scans());
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new IllegalStateException("node is shutting down"));
        }
    }

    /**
     * FLUSHALL through this node: stamps a flush version, applies it here, sends it to every member
     * believed live and waits for their acks. Members that are down learn it from this node's
     * gossiped metadata (or any other's) when they are back: see {@link TokenMeta}.
     *
     * @return completes once every live member applied it; fails with a {@link ReplicationException}
     *         ({@code TIMEOUT ...}) naming the members that did not answer and why
     */
    CompletableFuture<Void> flushAll() {
        Version flush = new Version(hlc.now(), identity.nodeId());
        return applyFlush(flush, "a client").thenCompose(dropped -> {
            List<Long> targets = state.liveMembers();
            targets.remove(identity.nodeId());
            ByteBuffer payload = ByteBuffer.allocate(16).putLong(flush.hlc()).putLong(flush.nodeId());
            List<CompletableFuture<String>> acks = new ArrayList<>();
            for (long id : targets) {
                CompletableFuture<String> ack = state.addressOf(id) == null
                        ? CompletableFuture.completedFuture(state.describe(id) + " has no known address")
                        : peers.call(id, PeerMessageType.FLUSH, payload.array(), FORWARD_TIMEOUT)
                                .handle((r, failure) -> failure == null ? null
                                        : state.describe(id) + " did not answer: " + ErrorReplies.reason(failure));
                acks.add(ack);
            }
            return CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).thenRun(() -> {
                List<String> missing = new ArrayList<>();
                acks.forEach(a -> {
                    if (a.join() != null) {
                        missing.add(a.join());
                    }
                });
                if (!missing.isEmpty()) {
                    throw ReplicationException.flushTimeout(1 + targets.size(), missing);
                }
            });
        });
    }

    /**
     * Applies a flush here, off the event loops and the membership thread (it sweeps every entry), if
     * it is newer than the one in force; then gossips it with this node's metadata.
     *
     * @return entries dropped (0 if the flush was not newer), once the flush is durable in the sense of
     *         the node's {@code appendfsync}
     */
    private CompletableFuture<Long> applyFlush(Version flush, String from) {
        if (flush.compareTo(engine.flushFloor()) <= 0) {
            return CompletableFuture.completedFuture(0L);
        }
        CompletableFuture<Long> done = new CompletableFuture<>();
        try {
            wiring.flushes().execute(() -> {
                long dropped = engine.flush(flush);
                hints.dropOlderThan(flush);
                log.info("Applied flush {} from {}: dropped {} entries; older ones are refused from now on",
                        flush.describe(), from, dropped);
                scheduler.execute(this::publishFlushFloor);
                if (!durability.acknowledgesDurably()) {
                    done.complete(dropped);
                    return;
                }
                // under appendfsync always, acknowledged once the flush's record is on disk
                durability.durable().whenComplete((v, failure) -> {
                    if (failure == null) {
                        done.complete(dropped);
                    } else {
                        done.completeExceptionally(failure);
                    }
                });
            });
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(new IllegalStateException("node is shutting down"));
        }
        return done;
    }

    /**
     * On the membership thread: a member gossips a flush version. Applied now if it is within the clock drift
     * bound of this node's clock, as a FLUSH message would be; if further ahead (flushed on a node whose clock
     * runs ahead), applied once this clock has come within the bound of it, rather than drop every entry
     * written here until the other clock's time and refuse them meanwhile. Gossip need not tell it again.
     */
    private void flushHeard(Version flush, long member) {
        if (flush.compareTo(engine.flushFloor()) <= 0) {
            return;
        }
        long aheadMillis = Hlc.physical(flush.hlc()) - clock.millis();
        long maxDrift = config.replication().maxClockDriftMillis();
        if (aheadMillis <= maxDrift) {
            applyFlush(flush, "the gossip of " + state.describe(member));
            return;
        }
        if (!flush.equals(flushWaiting)) {
            flushWaiting = flush;
            log.warn("Flush {} gossiped by {} is {} ms ahead of this node's clock (max drift {} ms): applied once"
                    + " within it", flush.describe(), state.describe(member), aheadMillis, maxDrift);
            scheduler.schedule(aheadMillis - maxDrift, () -> {
                if (flush.equals(flushWaiting)) {
                    flushWaiting = null;
                }
                flushHeard(flush, member);
            });
        }
    }

    /** On the membership thread: gossips this node's flush floor with its status and tokens. */
    private void publishFlushFloor() {
        TokenMeta meta = TokenMeta.parse(swim.localMember().meta());
        if (!meta.flushed().equals(engine.flushFloor())) {
            swim.updateMeta(TokenMeta.encode(meta.status(), meta.tokens(), engine.flushFloor()));
        }
    }

    /** On the membership thread: announces LEFT; {@code onSpread} runs once the word has gone out. */
    void leave(Runnable onSpread) {
        if (swim.isRunning()) {
            swim.leave(onSpread);
        } else {
            onSpread.run(); // never started, or already leaving: nothing more to announce
        }
    }

    /** Stops streams, hint replay and anti-entropy; membership is stopped by its owner, after {@link #leave}. */
    @Override
    public void close() {
        rebalancer.close();
        replayer.close();
        antiEntropy.close();
        hints.close(); // after the replayer: writes and forces what is queued
    }

    /** The directory under the data directory that keeps hints across restarts. */
    public static final String HINTS_DIR = "hints";

    /**
     * Hints kept across restarts in {@code <data-dir>/hints} when the node keeps its data on disk (a
     * coordinator's restart no longer loses them); in memory otherwise, or if that directory cannot be used.
     */
    private static HintStore openHints(ClusterConfig config, Clock clock, Durability durability) {
        if (!durability.onDisk() || config.dataDir() == null) {
            return new HintStore(config.hints(), clock);
        }
        Path dir = config.dataDir().resolve(HINTS_DIR);
        try {
            HintStore store = HintStore.open(config.hints(), clock, dir, AppendFsync.EVERYSEC);
            if (store.pending() > 0) {
                log.info("Loaded {} hints from {}", store.pending(), dir);
            }
            return store;
        } catch (IOException e) {
            log.error("Cannot keep hints in {}: {}; hints are kept in memory only", dir, e.getMessage());
            return new HintStore(config.hints(), clock);
        }
    }

    public long nodeId() {
        return identity.nodeId();
    }

    public ClusterState state() {
        return state;
    }

    /** The membership protocol; touched on the membership thread only. */
    public Swim swim() {
        return swim;
    }

    public Router router() {
        return router;
    }

    public Rebalancer rebalancer() {
        return rebalancer;
    }

    public Coordinator coordinator() {
        return coordinator;
    }

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

    public HintReplayer replayer() {
        return replayer;
    }

    public Engine engine() {
        return engine;
    }

    public Dispatcher dispatcher() {
        return dispatcher;
    }

    /** Membership counters; call on the membership thread. */
    SwimStats swimStats() {
        return swim.stats();
    }
}
