package io.trelliskv.cluster;

import io.trelliskv.common.Clock;
import io.trelliskv.common.RefusedException;
import io.trelliskv.datadir.KnownMembers;
import io.trelliskv.membership.Member;
import io.trelliskv.membership.MemberState;
import io.trelliskv.membership.Scheduler;
import io.trelliskv.repair.RangeReader;
import io.trelliskv.repair.RangeStream;
import io.trelliskv.repair.ScanPacer;
import io.trelliskv.repair.StreamCodec;
import io.trelliskv.replication.ReplicaService;
import io.trelliskv.ring.RebalancePlan;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.ring.TokenRing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;

/**
 * Moves ranges when the ring changes: bootstrap of a joining node, decommission of a leaving one, and
 * restoring the replica count after a node was removed (or left without handing its ranges over).
 *
 * <h2>Bootstrap</h2>
 * A node joining a cluster that has data announces its tokens as JOINING. From then on the others
 * send it the writes of the ranges it will own (it is a pending replica, {@link ClusterState}), but
 * neither route to it nor read from it. After {@link RebalanceConfig#settleMillis()}, long enough for
 * every coordinator to have heard, it pulls each range it gains ({@link RebalancePlan}) from the range's
 * current replicas with {@code STREAM_RANGE}, then announces NORMAL and asks for an anti-entropy round,
 * which catches any write a coordinator made before it heard of the join. The first node of a cluster
 * (no seeds, or an empty ring) is NORMAL at once.
 *
 * <h2>Rejoin after a restart</h2>
 * A node restarted with its tokens but, the engine being in memory, without its data rejoins through its
 * seeds or the members it knew ({@link KnownMembers}) as JOINING and pulls every range it replicates back
 * from the replicas that held it and are NORMAL ({@link RebalancePlan#rejoin}), never from the read ring's
 * stand-ins, which only took the writes made meanwhile. A node that is itself JOINING refuses to be a
 * source ({@link ClusterMember} answers its streams and replica reads with a refusal), so a stale view
 * elsewhere cannot make a node NORMAL on an empty copy. A range whose every other replica restarted empty
 * has no source: the node waits, saying so every few seconds, until one turns NORMAL, or an operator's
 * {@code BOOTSTRAP FORCE} or {@code --rejoin-timeout} lets it go NORMAL without that range.
 *
 * <h2>Decommission</h2>
 * {@code DECOMMISSION} announces LEAVING: the node keeps serving its ranges while writes also go to
 * the nodes that will own them. After the settle time it pushes each of its ranges to the nodes that
 * gain it ({@code REPLICA_WRITE} batches), then the node leaves (LEFT) and the process exits.
 * {@code DECOMMISSION CANCEL} stops the stream and announces NORMAL again.
 *
 * <h2>Removal</h2>
 * {@code REMOVENODE id} removes a DEAD member cluster-wide (a REMOVED broadcast). Every node that hears
 * that a NORMAL member left the ring (REMOVED, or LEFT without a decommission) pulls the ranges it
 * gained from the surviving replicas, so each range is back to N replicas. With
 * {@code --auto-remove-after}, every node removes a member that has been DEAD that long by itself.
 *
 * <h2>Threads and seams</h2>
 * Decisions (status changes, removals) run on the membership thread ({@link Scheduler}); streams run one
 * at a time on the stream executor ({@code trellis-stream} in a server), waiting out their backoffs with
 * the given sleeper. A cancelled bootstrap keeps the ranges it finished and resumes from its cursors with
 * {@code BOOTSTRAP RESUME}. The rebalancer reaches membership through {@link MembershipControl}, peers
 * through {@link StreamTransport} and anti-entropy through a request hook, so whole nodes run it over an
 * in-memory network, with a fake clock and scheduler, exactly as a server does.
 */
public final class Rebalancer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Rebalancer.class);

    /** Finished streams kept for STATUS. */
    private static final int STREAMS_KEPT = 8;
    /** How often dead members are checked against {@code --auto-remove-after}. */
    private static final long AUTO_REMOVE_CHECK_MILLIS = 1_000;
    /** How often a rejoin that has no source for some range plans again. */
    static final long REJOIN_RECHECK_MILLIS = 1_000;
    /** How often a waiting rejoin says so in the log. */
    private static final long REJOIN_WARN_EVERY_MILLIS = 10_000;

    private final long localId;
    private final int replicationFactor;
    private final RebalanceConfig config;
    private final ClusterState state;
    private final Scheduler membership;
    private final MembershipControl members;
    private final ReplicaService replica;
    private final RangeReader reader;
    private final StreamTransport peers;
    /** Asks for an anti-entropy round after streaming; throws RefusedException if none can run. */
    private final Runnable requestRepair;
    /** A restarted node that kept its data and has not yet asked for the repair that catches it up. */
    private boolean restartedWithData;
    /** Runs streams, one at a time. */
    private final Executor streamThread;
    /** Waits out stream backoffs and throughput pauses. */
    private final ScanPacer.Sleeper sleeper;
    /** What to do once a decommission has streamed everything: leave (and, in a server, exit). */
    private final Runnable onDecommissioned;
    private final Clock clock;
    /** Streams in flight and the last few finished, newest last. */
    private final CopyOnWriteArrayList<RangeStream> streams = new CopyOnWriteArrayList<>();
    /** When this node first saw each member DEAD (monotonic clock, ns); membership thread only. */
    private final Map<Long, Long> deadSince = new HashMap<>();
    private volatile NodeStatus status = NodeStatus.NORMAL;
    private volatile List<Long> tokens = List.of();
    /** The running bootstrap or decommission, if any. */
    private volatile RangeStream own;
    /** This node restarted without its data and rejoins: streams from replicas that held its ranges. */
    private volatile boolean restartedEmpty;
    /** An operator let a waiting rejoin go NORMAL without the ranges nobody can give it; membership thread. */
    private boolean forced;
    /** When the rejoin began waiting for its sources (monotonic clock, ns); membership thread. */
    private long rejoinStartedNanos;
    private long lastRejoinWarnNanos = Long.MIN_VALUE / 2;
    /** Ranges a waiting rejoin has no NORMAL replica to stream from, at its last check; 0 when not waiting. */
    private volatile int rejoinUnsourced;

    Rebalancer(long localId, int replicationFactor, RebalanceConfig config, ClusterState state, Scheduler membership,
               MembershipControl members, ReplicaService replica, RangeReader reader, StreamTransport peers,
               Runnable requestRepair, Executor streamThread, ScanPacer.Sleeper sleeper, Runnable onDecommissioned,
               Clock clock) {
        this.localId = localId;
        this.replicationFactor = replicationFactor;
        this.config = config;
        this.state = state;
        this.membership = membership;
        this.members = members;
        this.replica = replica;
        this.reader = reader;
        this.peers = peers;
        this.requestRepair = requestRepair;
        this.streamThread = streamThread;
        this.sleeper = sleeper;
        this.onDecommissioned = onDecommissioned;
        this.clock = clock;
        state.onRingLoss(this::restore);
    }

    public NodeStatus status() {
        return status;
    }

    /** Starts the periodic automatic-removal check, if configured; membership thread. */
    void start() {
        if (config.autoRemoveAfterMillis() > 0) {
            membership.schedule(AUTO_REMOVE_CHECK_MILLIS, this::autoRemove);
        }
    }

    // ---- bootstrap ----

    /**
     * On the membership thread, once this node has chosen {@code newTokens}: the metadata to announce
     * them with, JOINING if others hold data this node must stream first, else NORMAL.
     */
    byte[] tokensTaken(List<Long> newTokens, boolean hasSeeds) {
        tokens = List.copyOf(newTokens);
        TokenRing ring = state.ring();
        boolean others = !ring.isEmpty() && !ring.nodes().equals(java.util.Set.of(localId));
        status = hasSeeds && others ? NodeStatus.JOINING : NodeStatus.NORMAL;
        if (status == NodeStatus.JOINING) {
            log.info("Joining with {} tokens: streaming the ranges this node will own in {} ms", tokens.size(),
                    config.settleMillis());
            membership.schedule(config.settleMillis(), this::startBootstrap);
        }
        return TokenMeta.encode(status, tokens, replica.flushFloor());
    }

    /**
     * Tokens known at start (a restart with a data directory). A node that kept its data (recovered from
     * its log, {@code dataKept}) is NORMAL at once, as it was before: hints replayed to it and an
     * anti-entropy round requested now bring what it missed while down. A node that comes back empty (no
     * log: {@code --appendonly no}, or a lost directory): if it has anyone to rejoin through (seeds, or the
     * members it knew) it rejoins JOINING, so that no read is served from it and nobody counts it toward a quorum, and
     * streams its ranges back from the replicas that hold them (see {@link #rejoined()}); a node that
     * knew nobody (a cluster of one) is NORMAL at once.
     *
     * @return the status to announce
     */
    NodeStatus restarted(List<Long> saved, boolean rejoins, boolean dataKept) {
        tokens = List.copyOf(saved);
        boolean streams = rejoins && !dataKept;
        status = streams ? NodeStatus.JOINING : NodeStatus.NORMAL;
        restartedEmpty = streams;
        restartedWithData = rejoins && dataKept;
        if (restartedWithData) {
            log.info("Restarted with {} tokens and the data of its log: serving at once; anti-entropy brings"
                    + " what it missed once a member answers", tokens.size());
        }
        return status;
    }

    /**
     * On the membership thread, once a restarted JOINING node has heard from a member: streams its
     * ranges after the settle time from the replicas that held them ({@link RebalancePlan#rejoin}).
     */
    void rejoined() {
        if (restartedWithData) {
            restartedWithData = false;
            requestRepair(); // what this node missed while it was down, beyond the hints
            return;
        }
        if (status != NodeStatus.JOINING || !restartedEmpty) {
            return;
        }
        rejoinStartedNanos = clock.nanos();
        log.info("Restarted with {} tokens and no data: streaming this node's ranges in {} ms", tokens.size(),
                config.settleMillis());
        membership.schedule(config.settleMillis(), this::startRejoin);
    }

    /**
     * On the membership thread: plans the rejoin against the rings as now known and streams it, unless
     * some range has no replica on the read ring to stream from. Then it waits, checking again every
     * {@link #REJOIN_RECHECK_MILLIS}, until such a replica turns NORMAL, an operator runs
     * {@code BOOTSTRAP FORCE}, or {@code --rejoin-timeout} passes.
     */
    private void startRejoin() {
        if (status != NodeStatus.JOINING || own != null) {
            return;
        }
        RebalancePlan plan = RebalancePlan.rejoin(state.ring(), state.futureRing(), replicationFactor, localId);
        boolean alone = state.futureRing().nodes().equals(java.util.Set.of(localId));
        if (!plan.unsourced().isEmpty() && !alone) {
            long waitedMillis = (clock.nanos() - rejoinStartedNanos) / 1_000_000;
            boolean timedOut = config.rejoinTimeoutMillis() > 0 && waitedMillis >= config.rejoinTimeoutMillis();
            if (!forced && !timedOut) {
                rejoinUnsourced = plan.unsourced().size();
                if (clock.nanos() - lastRejoinWarnNanos >= REJOIN_WARN_EVERY_MILLIS * 1_000_000) {
                    lastRejoinWarnNanos = clock.nanos();
                    log.warn("Rejoin waits: {} of the ranges this node replicates have no NORMAL replica to stream"
                            + " from (every other replica restarted empty or is rejoining too), e.g. {};"
                            + " staying JOINING for {} s so far. If those replicas are gone, so is their data:"
                            + " BOOTSTRAP FORCE (or --rejoin-timeout) makes this node NORMAL without it",
                            plan.unsourced().size(), plan.unsourced().get(0), waitedMillis / 1000);
                }
                membership.schedule(REJOIN_RECHECK_MILLIS, this::startRejoin);
                return;
            }
            log.warn("Rejoin {}: going NORMAL without {} ranges that no NORMAL replica holds; their data, if"
                    + " any was written, is lost", forced ? "forced by BOOTSTRAP FORCE" : "timed out after "
                    + waitedMillis + " ms (--rejoin-timeout)", plan.unsourced().size());
        }
        rejoinUnsourced = 0;
        streamThenBecomeNormal(streamed(plan));
    }

    /**
     * {@code BOOTSTRAP FORCE}: lets a restarted node that waits for ranges no NORMAL replica holds go
     * NORMAL without them (after streaming the others); membership thread. Refused unless it waits.
     */
    void forceRejoin() {
        if (status != NodeStatus.JOINING || !restartedEmpty || own != null) {
            throw new RefusedException("this node is not waiting to rejoin (expected: a restarted node, JOINING,"
                    + " whose ranges have no NORMAL replica; a running stream is paused with BOOTSTRAP CANCEL)");
        }
        forced = true;
        log.warn("BOOTSTRAP FORCE: rejoining without the ranges no NORMAL replica holds");
        startRejoin();
    }

    /**
     * Ranges this restarted node waits for because no NORMAL replica holds them (INFO
     * {@code rejoin_unsourced_ranges}), as of its last check; 0 when it does not wait.
     */
    public int rejoinUnsourcedRanges() {
        return rejoinUnsourced;
    }

    /** Whether this node restarted empty and has not finished rejoining. */
    boolean rejoining() {
        return status == NodeStatus.JOINING && restartedEmpty;
    }

    private void startBootstrap() {
        streamThenBecomeNormal(streamed(RebalancePlan.join(state.ring(), state.futureRing(), replicationFactor,
                localId)));
    }

    /** Streams {@code assignments} in (a bootstrap or a rejoin), then goes NORMAL; at once if there are none. */
    private void streamThenBecomeNormal(List<RangeStream.Assignment> assignments) {
        if (assignments.isEmpty()) {
            becomeNormal();
            return;
        }
        RangeStream s = newStream(RangeStream.Kind.BOOTSTRAP, assignments, this::pull);
        own = s;
        s.finished().thenRun(() -> membership.execute(this::becomeNormal));
        streamThread.execute(s::run);
    }

    private void becomeNormal() {
        if (status != NodeStatus.JOINING) {
            return;
        }
        status = NodeStatus.NORMAL;
        own = null;
        members.announce(TokenMeta.encode(NodeStatus.NORMAL, tokens, replica.flushFloor()));
        log.info("{} done: NORMAL with {} tokens", restartedEmpty ? "Rejoin" : "Bootstrap", tokens.size());
        restartedEmpty = false;
        requestRepair(); // catches writes coordinated before the JOINING news arrived
    }

    private void requestRepair() {
        try {
            requestRepair.run();
        } catch (RefusedException e) {
            log.info("No anti-entropy round after streaming: {}", e.getMessage());
        }
    }

    /** Stops a running bootstrap after its current batch; it stays JOINING. Refused if none runs. */
    void cancelBootstrap() {
        RangeStream s = own;
        if (status != NodeStatus.JOINING || s == null) {
            throw new RefusedException("no bootstrap is running");
        }
        s.cancel();
    }

    /** Resumes a cancelled or failed bootstrap from where it stopped; refused if there is none, or it runs. */
    void resumeBootstrap() {
        RangeStream s = own;
        if (status != NodeStatus.JOINING || s == null) {
            throw new RefusedException("no bootstrap to resume");
        }
        if (s.progress().state() == RangeStream.State.RUNNING) {
            throw new RefusedException("the bootstrap is running");
        }
        streamThread.execute(s::run);
    }

    // ---- decommission ----

    /** Refused unless NORMAL on a ring of others; announces LEAVING and streams this node's ranges out after the settle time; membership thread. */
    void decommission() {
        if (status != NodeStatus.NORMAL || tokens.isEmpty()) {
            throw new RefusedException("this node is " + status + (tokens.isEmpty() ? " without tokens" : "")
                    + " (expected: NORMAL, on the ring)");
        }
        if (state.ring().nodes().size() < 2) {
            throw new RefusedException("this is the only node on the ring: nobody to hand its ranges to");
        }
        status = NodeStatus.LEAVING;
        members.announce(TokenMeta.encode(NodeStatus.LEAVING, tokens, replica.flushFloor()));
        log.info("Decommissioning: streaming this node's ranges to their new owners in {} ms", config.settleMillis());
        membership.schedule(config.settleMillis(), this::startDecommission);
    }

    private void startDecommission() {
        if (status != NodeStatus.LEAVING) {
            return; // cancelled meanwhile
        }
        List<RangeStream.Assignment> assignments =
                streamed(RebalancePlan.decommission(state.ring(), state.futureRing(), replicationFactor, localId));
        RangeStream s = newStream(RangeStream.Kind.DECOMMISSION, assignments, this::push);
        own = s;
        s.finished().thenRun(() -> membership.execute(() -> {
            if (status == NodeStatus.LEAVING) {
                log.info("Decommission done: {} keys, {} bytes streamed; leaving the ring",
                        s.progress().keys(), s.progress().bytes());
                onDecommissioned.run();
            }
        }));
        streamThread.execute(s::run);
    }

    /** Stops a decommission and announces NORMAL again (refused if none runs); membership thread. */
    void cancelDecommission() {
        if (status != NodeStatus.LEAVING) {
            throw new RefusedException("no decommission is running");
        }
        RangeStream s = own;
        if (s != null) {
            s.cancel();
        }
        own = null;
        status = NodeStatus.NORMAL;
        members.announce(TokenMeta.encode(NodeStatus.NORMAL, tokens, replica.flushFloor()));
        log.info("Decommission cancelled: NORMAL again");
    }

    // ---- removal ----

    /** Removes a DEAD member from the cluster (refused for an unknown or live one); membership thread. */
    void removeNode(long id) {
        MemberState liveness = members.stateOf(id);
        if (liveness == null) {
            throw new RefusedException("no member " + Long.toHexString(id));
        }
        if (liveness != MemberState.DEAD) {
            throw new RefusedException("member " + state.describe(id) + " is " + liveness
                    + " (expected: DEAD; a live node leaves with DECOMMISSION)");
        }
        log.info("Removing {} from the ring", state.describe(id));
        members.remove(id);
    }

    /** A NORMAL member left the ring without handing over: pulls what this node gained (membership thread). */
    private void restore(long gone, TokenRing before, TokenRing after) {
        List<RangeStream.Assignment> assignments =
                streamed(RebalancePlan.removal(before, after, replicationFactor, localId, gone));
        if (assignments.isEmpty() || status == NodeStatus.JOINING) {
            return; // a joining node streams from the new ring anyway
        }
        log.info("{} left the ring: restoring {} ranges that this node now replicates", state.describe(gone),
                assignments.size());
        RangeStream s = newStream(RangeStream.Kind.RESTORE, assignments, this::pull);
        s.finished().thenRun(() -> {
            log.info("Restored the ranges {} held: {} keys, {} bytes", state.describe(gone), s.progress().keys(),
                    s.progress().bytes());
            requestRepair(); // one source per range was copied: compare with every surviving replica too
        });
        streamThread.execute(s::run);
    }

    private void autoRemove() {
        long now = clock.nanos();
        for (Member m : state.members()) {
            if (m.state() != MemberState.DEAD) {
                deadSince.remove(m.id());
                continue;
            }
            long deadMillis = (now - deadSince.computeIfAbsent(m.id(), id -> now)) / 1_000_000;
            if (deadMillis >= config.autoRemoveAfterMillis()) {
                deadSince.remove(m.id());
                log.info("{} has been DEAD for {} ms (--auto-remove-after): removing it", state.describe(m.id()),
                        deadMillis);
                try {
                    members.remove(m.id());
                } catch (RefusedException e) {
                    log.info("Not removing {}: {}", state.describe(m.id()), e.getMessage());
                }
            }
        }
        membership.schedule(AUTO_REMOVE_CHECK_MILLIS, this::autoRemove);
    }

    // ---- streams ----

    private RangeStream newStream(RangeStream.Kind kind, List<RangeStream.Assignment> assignments,
                                  RangeStream.Transfer transfer) {
        RangeStream s = new RangeStream(kind, assignments, transfer, state, config.streamBytesPerSecond(), clock,
                sleeper, state::describe);
        streams.add(s);
        while (streams.size() > STREAMS_KEPT) {
            RangeStream oldest = null;
            for (RangeStream r : streams) {
                if (r.progress().state() != RangeStream.State.RUNNING && r != own) {
                    oldest = r;
                    break;
                }
            }
            if (oldest == null) {
                break;
            }
            streams.remove(oldest);
        }
        return s;
    }

    /** Pulls one batch from {@code peer} and applies it here. */
    private StreamCodec.Batch pull(long peer, TokenRange range, long cursor, int maxBytes) throws Exception {
        StreamCodec.Batch b = peers.pull(peer, range, cursor, maxBytes);
        if (!b.entries().isEmpty()) {
            replica.apply("stream from " + state.describe(peer), b.entries()); // ReplicaRefusedException: next peer
        }
        return b;
    }

    /** Reads one batch here and writes it to {@code peer}. */
    private StreamCodec.Batch push(long peer, TokenRange range, long cursor, int maxBytes) throws Exception {
        StreamCodec.Batch b = reader.read(range, cursor, maxBytes);
        if (!b.entries().isEmpty()) {
            peers.push(peer, b.entries());
        }
        return b;
    }

    /** A plan's assignments as this node streams them: with the peers to try, in order. */
    private static List<RangeStream.Assignment> streamed(RebalancePlan plan) {
        List<RangeStream.Assignment> out = new ArrayList<>(plan.assignments().size());
        for (RebalancePlan.Assignment a : plan.assignments()) {
            out.add(new RangeStream.Assignment(a.range(), plan.peers(a)));
        }
        return out;
    }

    // ---- status ----

    /** Streams in flight and recently finished on this node, newest last. */
    public List<RangeStream.Progress> streams() {
        List<RangeStream.Progress> out = new ArrayList<>();
        for (RangeStream s : streams) {
            out.add(s.progress());
        }
        return out;
    }

    /**
     * The operator's view: every member with its liveness and ring status, then this node's streams.
     * The format is stable: {@code trellis-cli status} prints it and tests read it.
     */
    String describe() {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-16s  %-21s  %-7s  %-7s  %6s%n",
                "node", "address", "state", "status", "tokens"));
        TokenRing future = state.futureRing();
        TokenRing read = state.ring();
        for (Member m : state.members()) {
            TokenMeta meta = TokenMeta.parse(m.meta());
            String status = m.state() == MemberState.LEFT ? "-" : meta.status().toString();
            int count = Math.max(read.tokensOf(m.id()).size(), future.tokensOf(m.id()).size());
            sb.append(String.format(Locale.ROOT, "%016x  %-21s  %-7s  %-7s  %6d%s%n", m.id(),
                    m.address().host() + ":" + m.address().port(), m.state(), status, count,
                    m.id() == localId ? " (this node)" : ""));
        }
        List<RangeStream.Progress> list = streams();
        sb.append(list.isEmpty() ? "streams: none\n" : "streams:\n");
        for (RangeStream.Progress p : list) {
            sb.append(String.format(Locale.ROOT,
                    "%s %s %s: %s, ranges %d/%d, keys %d, bytes %d, failures %d, elapsed %d ms%s%n",
                    p.kind().label, p.kind().direction, String.join(",", p.peers()),
                    p.state().toString().toLowerCase(Locale.ROOT), p.rangesDone(), p.rangesTotal(), p.keys(),
                    p.bytes(), p.failures(), p.elapsedMillis(),
                    p.lastError() == null ? "" : ", last error: " + p.lastError()));
        }
        return sb.toString();
    }

    /** Cancels every stream after its current batch; the stream executor is its owner's to stop. */
    @Override
    public void close() {
        for (RangeStream s : streams) {
            s.cancel();
        }
    }
}
