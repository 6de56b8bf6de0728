package io.trelliskv.membership;

import io.trelliskv.common.Address;
import io.trelliskv.common.RefusedException;

import io.trelliskv.common.Clock;
import io.trelliskv.membership.Message.Ack;
import io.trelliskv.membership.Message.Alive;
import io.trelliskv.membership.Message.Dead;
import io.trelliskv.membership.Message.IndirectPing;
import io.trelliskv.membership.Message.Left;
import io.trelliskv.membership.Message.Nack;
import io.trelliskv.membership.Message.Packet;
import io.trelliskv.membership.Message.Ping;
import io.trelliskv.membership.Message.PushPull;
import io.trelliskv.membership.Message.Removed;
import io.trelliskv.membership.Message.Suspect;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * SWIM membership and failure detection with the Lifeguard refinements: who is in the cluster, and
 * which of them answer.
 *
 * <h2>The protocol period</h2>
 * Every probe interval this node probes one member, taken round-robin from a list of all members that
 * is shuffled again at the end of each round (SWIM section 4.3: every member is probed within a bounded
 * time, and the probers of a failed member are spread over the cluster). A probe is a PING; if no ACK
 * comes within the probe timeout, INDIRECT_PING asks {@code indirectChecks} random members to ping the
 * target and relay its ack, which gets round a bad link between this node and the target. If no ack,
 * direct or relayed, has come by the end of the probe window ({@link SwimConfig#probeWindowMillis()},
 * twice the probe timeout: 1 s by default, twice the 500 ms probe interval, so probes of different
 * members overlap), this node suspects the target: it marks it SUSPECT and tells the cluster. A
 * suspected member that hears of it refutes by incrementing its incarnation and broadcasting ALIVE; a
 * suspicion that is not refuted in time makes it DEAD.
 *
 * <h2>Liveness is first-hand</h2>
 * Only a member itself increments its incarnation, so an ALIVE message with a newer incarnation is the
 * member's own word even when a third node relays it, and it is the only thing that turns a SUSPECT or
 * DEAD member ALIVE again. An ALIVE with the same incarnation proves nothing (it may be a stale copy
 * still circulating) and changes nothing; there are no heartbeats that a third node could keep fresh
 * for a member it cannot reach itself, as Cassandra's gossip does, so a partial partition is not hidden:
 * if nobody's probe, direct or relayed through a member that reaches the target, gets an ack, the
 * target is suspected. The precedence rules, for a message about a member at incarnation {@code i}
 * against a current record at incarnation {@code j}:
 * <ul>
 * <li>ALIVE wins if {@code i > j};</li>
 * <li>SUSPECT wins if {@code i >= j} and the member is ALIVE (or confirms a running suspicion);</li>
 * <li>DEAD wins if {@code i >= j} and the member is ALIVE or SUSPECT;</li>
 * <li>LEFT wins if {@code i >= j} over any state but LEFT (a member that left and was then declared
 * dead by someone who missed the news has still left);</li>
 * <li>about this node itself, SUSPECT, DEAD, LEFT and REMOVED with {@code i >= j}, or an ALIVE that
 * differs from what this node is, are refuted with incarnation {@code max(i, j) + 1}. That also lets a
 * restarted node (incarnation 0) catch up with the incarnation its previous life reached.</li>
 * </ul>
 *
 * <h2>Lifeguard</h2>
 * Three refinements from Dadgar et al., "Lifeguard: Local Health Awareness for More Accurate Failure
 * Detection" (2018), as in hashicorp/memberlist: a node that misses acks, misses the nacks its indirect
 * probers should have sent, or has to refute a suspicion of itself raises its {@link Awareness} score and
 * stretches its probe interval and timeout, so a slow node stops accusing healthy ones; indirect probers
 * send a NACK when the target does not answer them, so the requester can tell "the target is down"
 * (nacks came) from "I am cut off" (they did not); and a {@link Suspicion} starts with a long timeout that
 * shrinks as other members independently confirm it. To let the suspected member refute quickly, a
 * probe of a SUSPECT member carries the suspicion with it. Beyond memberlist: a suspicion that times out
 * becomes DEAD only if this node's own probe of the member failed within the minimum suspicion timeout
 * (else it probes first), and a suspicion at a newer incarnation than the one running here starts over
 * rather than confirming it; both stop a node that missed a refutation from declaring a live member dead.
 *
 * <h2>Dissemination and state exchange</h2>
 * State changes (ALIVE, SUSPECT, DEAD, LEFT, REMOVED) are broadcast infection-style through the
 * {@link DisseminationQueue}: piggy-backed on every probe packet and sent to {@code gossipNodes} random
 * members each gossip interval, up to the packet size. Every push-pull interval (scaled up with the
 * cluster size) this node exchanges its full state with one random ALIVE member over the transport's
 * stream, which repairs whatever gossip missed; merged state obeys the same precedence rules, except
 * that a remote DEAD only makes a member SUSPECT here, so this node's own probes get a say. Joining is a
 * push-pull with each seed. DEAD members stay listed, because liveness is not ownership (the ring keeps
 * a dead node's ranges until it is removed), and are not probed; every reconnect interval this node
 * tries a push-pull with one of them, so the two halves of a healed partition find each other again
 * and refute their deaths. {@link #remove(long)} removes a DEAD or LEFT member cluster-wide with a
 * REMOVED broadcast and a tombstone that keeps stale copies out (until the member comes back with a
 * newer incarnation).
 *
 * <h2>Threading and time</h2>
 * A {@code Swim} is confined to one thread: every public method, every {@link Scheduler} task and every
 * {@link Transport} callback runs on it, so the class has no locks and a simulation can drive a
 * thousand instances on one thread with a manual clock and a seeded {@link Random}, reproducibly. Time
 * comes from the injected {@link Clock} (its monotonic reading), timers from the injected
 * {@link Scheduler}. The receive path never throws: bad input is counted in {@link SwimStats} and
 * dropped.
 */
public final class Swim {

    private static final System.Logger LOG = System.getLogger(Swim.class.getName());

    /** A relay nacks at this percentage of the probe timeout; see {@link #nackDelayMillis}. */
    static final int NACK_PERCENT_OF_PROBE_TIMEOUT = 80;

    /** Above this many live members the push-pull interval grows (as memberlist's pushPullScaleThreshold). */
    static final int PUSH_PULL_SCALE_THRESHOLD = 32;

    private enum Phase { NEW, RUNNING, LEAVING, STOPPED }

    /** This node's mutable record of one member. */
    private static final class Record {
        final long id;
        Address address;
        long incarnation;
        MemberState state;
        byte[] meta;
        /** Monotonic ms of the last state change. */
        long stateSince;
        /** The running suspicion while SUSPECT, else null. */
        Suspicion suspicion;
        /** A probe of this member by this node is under way (round-robin or prompt). */
        boolean probing;

        Record(long id, Address address, long incarnation, MemberState state, byte[] meta, long now) {
            this.id = id;
            this.address = address;
            this.incarnation = incarnation;
            this.state = state;
            this.meta = meta;
            this.stateSince = now;
        }

        Member snapshot() {
            return new Member(id, address, incarnation, state, meta);
        }
    }

    /** One protocol period's probe of one member. */
    private static final class ProbeRound {
        final Record target;
        /** The target's incarnation when the probe started; a suspicion is raised at this one. */
        final long incarnation;
        boolean acked;
        int nacks;
        /** Indirect probers asked, each of which owes an ack or a nack. */
        int expectedNacks;

        ProbeRound(Record target) {
            this.target = target;
            this.incarnation = target.incarnation;
        }
    }

    /** Waits for the ack of one sequence number. */
    private static final class AckWaiter {
        final Runnable onAck;
        /** May be null: relayed probes do not expect nacks. */
        final Runnable onNack;
        Scheduler.Cancellable expiry;

        AckWaiter(Runnable onAck, Runnable onNack) {
            this.onAck = onAck;
            this.onNack = onNack;
        }
    }

    private final SwimConfig config;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Transport transport;
    private final Random random;
    private final MembershipListener listener;
    private final Codec codec;
    private final Awareness awareness;
    private final DisseminationQueue broadcasts;
    private final SwimStats stats = new SwimStats();

    private final Record self;
    private final Map<Long, Record> members = new HashMap<>();
    /** Every member, this node included, in probe order; reshuffled after each full round. */
    private final List<Record> probeOrder = new ArrayList<>();
    /** Next position in {@link #probeOrder}. */
    private int probeIndex;
    /** Members by state, indexed by {@link MemberState#code}; this node included. */
    private final int[] countByState = new int[MemberState.values().length];
    /** Tombstones of removed members: id to the highest incarnation removed. */
    private final Map<Long, Long> removed = new HashMap<>();

    private final Map<Integer, AckWaiter> ackWaiters = new HashMap<>();
    private int nextSeq;

    private Phase phase = Phase.NEW;
    private Scheduler.Cancellable probeTimer;
    private Scheduler.Cancellable gossipTimer;
    private Scheduler.Cancellable pushPullTimer;
    private Scheduler.Cancellable reconnectTimer;
    private Scheduler.Cancellable joinRetryTimer;
    private List<Address> seeds = List.of();
    private boolean joined;
    /** Attempts of the current join so far; sets the backoff. */
    private int joinAttempts;
    /** Incremented by each {@link #join}, so that answers to an earlier one are ignored. */
    private int joinGeneration;

    private Swim(Builder b) {
        this.config = b.config;
        this.clock = Objects.requireNonNull(b.clock, "clock");
        this.scheduler = Objects.requireNonNull(b.scheduler, "scheduler");
        this.transport = Objects.requireNonNull(b.transport, "transport");
        this.random = Objects.requireNonNull(b.random, "random");
        this.listener = Objects.requireNonNull(b.listener, "listener");
        this.codec = new Codec(config.clusterName());
        this.awareness = new Awareness(config.awarenessMaxMultiplier());
        this.broadcasts = new DisseminationQueue(config.retransmitMult(), this::liveCount);
        requireMeta(b.meta);
        this.self = new Record(b.id, b.address, 0, MemberState.ALIVE, b.meta.clone(), now());
    }

    public static Builder builder(SwimConfig config, long id, Address address) {
        return new Builder(config, id, address);
    }

    // ================================================================ lifecycle and API

    /** Starts the protocol as a cluster of one: announces this node and starts the timers. */
    public void start() {
        if (phase != Phase.NEW) {
            throw new IllegalStateException("start: " + phase + " (expected: NEW)");
        }
        phase = Phase.RUNNING;
        addRecord(self);
        emit(MemberEvent.Type.JOIN, self);
        broadcastSelfAlive();
        // Random first delays, so that nodes started together do not probe and gossip in lock step.
        probeTimer = scheduler.schedule(stagger(config.probeIntervalMillis()), this::probeTick);
        gossipTimer = scheduler.schedule(stagger(config.gossipIntervalMillis()), this::gossipTick);
        if (config.pushPullIntervalMillis() > 0) {
            pushPullTimer = scheduler.schedule(stagger(config.pushPullIntervalMillis()), this::pushPullTick);
        }
        if (config.reconnectIntervalMillis() > 0) {
            reconnectTimer = scheduler.schedule(stagger(config.reconnectIntervalMillis()), this::reconnectTick);
        }
    }

    /**
     * Joins the cluster through {@code seeds}: a push-pull with each of them (this node's own address is
     * skipped). If none answers, tries them all again after an exponential backoff
     * ({@code joinRetryInitialMillis} doubling up to {@code joinRetryMaxMillis}) until one does; the
     * node meanwhile runs as a cluster of one. {@link #isJoined()} says when it is done. Calling it again
     * (with more seeds, say) starts over.
     */
    public void join(List<Address> seeds) {
        requirePhase(Phase.RUNNING, "join");
        this.seeds = seeds.stream().filter(a -> !a.equals(self.address)).distinct().toList();
        if (joinRetryTimer != null) {
            joinRetryTimer.cancel();
            joinRetryTimer = null;
        }
        joinAttempts = 0;
        joinGeneration++;
        joined = false;
        if (this.seeds.isEmpty()) {
            joined = true;
            return;
        }
        attemptJoin();
    }

    /**
     * Leaves gracefully: broadcasts LEFT, stops probing and joining, and keeps gossiping and answering
     * until {@link #stop()}. {@code onSpread} runs (once, on the Swim thread) when the LEFT broadcast has
     * been sent its full number of times, or at once if there is nobody to tell; stop then.
     */
    public void leave(Runnable onSpread) {
        requirePhase(Phase.RUNNING, "leave");
        phase = Phase.LEAVING;
        if (joinRetryTimer != null) {
            joinRetryTimer.cancel();
        }
        boolean[] done = {false};
        Runnable once = () -> {
            if (!done[0]) {
                done[0] = true;
                onSpread.run();
            }
        };
        setState(self, MemberState.LEFT);
        emit(MemberEvent.Type.LEFT, self);
        broadcasts.enqueue(self.id, codec.encode(new Left(self.id, self.incarnation)), once);
        if (liveCount() == 0) {
            once.run();
        }
    }

    /** Stops every timer and ignores all input from now on. Idempotent. */
    public void stop() {
        phase = Phase.STOPPED;
        for (Scheduler.Cancellable t : Arrays.asList(probeTimer, gossipTimer, pushPullTimer, reconnectTimer,
                joinRetryTimer)) {
            if (t != null) {
                t.cancel();
            }
        }
        for (Record r : members.values()) {
            cancelSuspicion(r);
        }
        for (AckWaiter w : ackWaiters.values()) {
            w.expiry.cancel();
        }
        ackWaiters.clear();
    }

    /** Replaces this node's metadata and announces it with a new incarnation. */
    public void updateMeta(byte[] meta) {
        requirePhase(Phase.RUNNING, "updateMeta");
        requireMeta(meta);
        self.meta = meta.clone();
        self.incarnation++;
        broadcastSelfAlive();
        emit(MemberEvent.Type.UPDATE, self);
    }

    /**
     * Removes a DEAD or LEFT member from the cluster: here at once, elsewhere through a REMOVED broadcast
     * and push-pull. Returns false if the member is not listed.
     *
     * @throws RefusedException if the member is ALIVE or SUSPECT, or is this node
     */
    public boolean remove(long id) {
        Record r = members.get(id);
        if (r == null) {
            return false;
        }
        if (r == self || r.state.isLive()) {
            throw new RefusedException("remove " + Long.toHexString(id) + ": " + (r == self ? "this node"
                    : r.state.toString()) + " (expected: a DEAD or LEFT member)");
        }
        onRemoved(new Removed(id, r.incarnation));
        return true;
    }

    // ================================================================ views

    public long id() {
        return self.id;
    }

    public Member localMember() {
        return self.snapshot();
    }

    /** Every listed member, this node included, sorted by id. */
    public List<Member> members() {
        List<Member> out = new ArrayList<>(members.size());
        for (Record r : members.values()) {
            out.add(r.snapshot());
        }
        out.sort(Comparator.comparingLong(Member::id));
        return out;
    }

    /** The member with {@code id}, or null if not listed. */
    public Member member(long id) {
        Record r = members.get(id);
        return r == null ? null : r.snapshot();
    }

    /** Listed members in {@code state}, this node included. */
    public int count(MemberState state) {
        return countByState[state.code];
    }

    public int memberCount() {
        return members.size();
    }

    /** Started, and neither leaving nor stopped: {@link #leave} may be called. */
    public boolean isRunning() {
        return phase == Phase.RUNNING;
    }

    /** Whether a seed has answered the latest {@link #join} (or it named no other node). */
    public boolean isJoined() {
        return joined;
    }

    public int awarenessScore() {
        return awareness.score();
    }

    public SwimStats stats() {
        return stats;
    }

    public SwimConfig config() {
        return config;
    }

    // ================================================================ receive path

    /** A datagram from the member listening at {@code from}. Never throws. */
    public void onPacket(Address from, byte[] data) {
        if (phase == Phase.NEW || phase == Phase.STOPPED) {
            return;
        }
        stats.packetsReceived++;
        Packet packet;
        try {
            packet = codec.decodePacket(data);
        } catch (PacketRejectedException e) {
            stats.rejected(e);
            return;
        }
        try {
            for (Message m : packet.messages()) {
                handle(from, m);
            }
        } catch (RuntimeException e) {
            stats.errors++;
            LOG.log(System.Logger.Level.WARNING, () -> "membership: packet from " + from + " failed", e);
        }
    }

    /**
     * A stream request (push-pull) from {@code from}: merges the sender's state and returns this node's,
     * or null to close the stream without an answer (bad input, or not running). Never throws.
     */
    public byte[] onStreamRequest(Address from, byte[] request) {
        if (phase == Phase.NEW || phase == Phase.STOPPED) {
            return null;
        }
        stats.streamRequests++;
        PushPull remote;
        try {
            remote = codec.decodePushPull(request);
        } catch (PacketRejectedException e) {
            stats.rejected(e);
            return null;
        }
        try {
            // Merge first, so that a refutation this triggers is already in the answer.
            merge(remote);
            return codec.encodePushPull(localState(false));
        } catch (RuntimeException e) {
            stats.errors++;
            LOG.log(System.Logger.Level.WARNING, () -> "membership: push-pull from " + from + " failed", e);
            return null;
        }
    }

    private void handle(Address from, Message m) {
        if (m instanceof Ping p) {
            onPing(from, p);
        } else if (m instanceof IndirectPing p) {
            onIndirectPing(from, p);
        } else if (m instanceof Ack a) {
            onAck(a);
        } else if (m instanceof Nack n) {
            onNack(n);
        } else if (m instanceof Alive a) {
            onAlive(a);
        } else if (m instanceof Suspect s) {
            onSuspect(s, from);
        } else if (m instanceof Dead d) {
            onDead(d);
        } else if (m instanceof Left l) {
            onLeft(l);
        } else if (m instanceof Removed r) {
            onRemoved(r);
        }
    }

    // ================================================================ probing

    private void probeTick() {
        if (phase == Phase.STOPPED) {
            return;
        }
        long interval = awareness.scale(config.probeIntervalMillis());
        probeTimer = scheduler.schedule(interval, this::probeTick);
        if (phase != Phase.RUNNING) {
            return;
        }
        Record target = nextProbeTarget();
        if (target != null) {
            probe(target);
        }
    }

    /** The next live member in round-robin order, reshuffling after each full pass; null if none. */
    private Record nextProbeTarget() {
        for (int checked = 0; checked <= probeOrder.size(); checked++) {
            if (probeIndex >= probeOrder.size()) {
                Collections.shuffle(probeOrder, random);
                probeIndex = 0;
            }
            Record r = probeOrder.get(probeIndex++);
            if (r != self && r.state.isLive()) {
                return r;
            }
        }
        return null;
    }

    /**
     * One probe of {@code target}: a ping, indirect pings after the probe timeout, and a verdict at the
     * end of the probe window, {@link SwimConfig#probeWindowMillis()} scaled by awareness. The window may
     * outlast the probe interval, so two probes can be under way at once, of different members.
     */
    private void probe(Record target) {
        long window = awareness.scale(config.probeWindowMillis());
        stats.probes++;
        ProbeRound round = new ProbeRound(target);
        target.probing = true;
        int seq = nextSeq++;
        awaitAck(seq, window, () -> {
            round.acked = true;
            target.probing = false;
            awareness.applyDelta(-1);
        }, () -> round.nacks++);
        List<byte[]> primary = new ArrayList<>(2);
        if (target.state == MemberState.SUSPECT) {
            // Tell the target straight away, so that it can refute before the suspicion spreads far. The
            // suspicion goes before the ping: the target refutes first, so its ack carries the refutation.
            primary.add(codec.encode(new Suspect(target.id, target.incarnation, self.id)));
        }
        primary.add(codec.encode(new Ping(seq, target.id)));
        send(target.address, primary, target.state == MemberState.ALIVE);
        scheduler.schedule(awareness.scale(config.probeTimeoutMillis()), () -> probeIndirectly(round, seq));
        scheduler.schedule(window, () -> finishProbe(round));
    }

    private void probeIndirectly(ProbeRound round, int seq) {
        if (round.acked || phase != Phase.RUNNING) {
            return;
        }
        Record target = round.target;
        List<Record> relays = randomMembers(config.indirectChecks(),
                r -> r != self && r != target && r.state == MemberState.ALIVE);
        round.expectedNacks = relays.size();
        byte[] request = codec.encode(new IndirectPing(seq, target.id, target.address, true));
        for (Record relay : relays) {
            stats.indirectProbesSent++;
            send(relay.address, List.of(request));
        }
    }

    private void finishProbe(ProbeRound round) {
        if (round.acked) {
            return;
        }
        round.target.probing = false;
        if (phase != Phase.RUNNING) {
            return;
        }
        // Missing nacks mean the relays did not hear from us or we did not hear from them: likely our
        // own fault. Without relays, any failed probe counts against us.
        int delta = round.expectedNacks > 0 ? Math.max(0, round.expectedNacks - round.nacks) : 1;
        awareness.applyDelta(delta);
        stats.probesFailed++;
        onSuspect(new Suspect(round.target.id, round.incarnation, self.id), null);
    }

    private void onPing(Address from, Ping p) {
        if (p.targetId() != self.id) {
            stats.misdirectedPings++;
            return;
        }
        send(from, List.of(codec.encode(new Ack(p.seq()))));
    }

    /** Pings the target for {@code from} and relays its ack; a nack if it has not answered in time. */
    private void onIndirectPing(Address from, IndirectPing p) {
        int seq = nextSeq++;
        Scheduler.Cancellable nackTimer = p.wantNack()
                ? scheduler.schedule(nackDelayMillis(config.probeTimeoutMillis()), () -> {
                    if (ackWaiters.containsKey(seq) && phase != Phase.STOPPED) {
                        send(from, List.of(codec.encode(new Nack(p.seq()))));
                    }
                })
                : null;
        awaitAck(seq, config.probeWindowMillis(), () -> {
            if (nackTimer != null) {
                nackTimer.cancel();
            }
            send(from, List.of(codec.encode(new Ack(p.seq()))));
        }, null);
        send(p.target(), List.of(codec.encode(new Ping(seq, p.targetId()))));
    }

    private void awaitAck(int seq, long ttlMillis, Runnable onAck, Runnable onNack) {
        AckWaiter w = new AckWaiter(onAck, onNack);
        ackWaiters.put(seq, w);
        w.expiry = scheduler.schedule(ttlMillis, () -> ackWaiters.remove(seq, w));
    }

    private void onAck(Ack a) {
        AckWaiter w = ackWaiters.remove(a.seq());
        if (w != null) {
            w.expiry.cancel();
            w.onAck.run();
        }
    }

    private void onNack(Nack n) {
        AckWaiter w = ackWaiters.get(n.seq());
        if (w != null && w.onNack != null) {
            stats.nacksReceived++;
            w.onNack.run();
        }
    }

    // ================================================================ state transitions

    private void onAlive(Alive a) {
        if (a.id() == self.id) {
            aliveAboutSelf(a);
            return;
        }
        Record r = members.get(a.id());
        if (r == null) {
            if (isTombstoned(a.id(), a.incarnation())) {
                return;
            }
            r = new Record(a.id(), a.address(), a.incarnation(), MemberState.ALIVE, a.meta(), now());
            addRecord(r);
            broadcasts.enqueue(a.id(), codec.encode(a));
            emit(MemberEvent.Type.JOIN, r);
            return;
        }
        if (a.incarnation() <= r.incarnation) {
            return; // the same incarnation proves nothing: it may be a stale copy from anyone
        }
        cancelSuspicion(r);
        boolean changed = !r.address.equals(a.address()) || !Arrays.equals(r.meta, a.meta());
        MemberState old = r.state;
        r.incarnation = a.incarnation();
        r.address = a.address();
        r.meta = a.meta();
        broadcasts.enqueue(a.id(), codec.encode(a));
        if (old != MemberState.ALIVE) {
            setState(r, MemberState.ALIVE);
            emit(MemberEvent.Type.ALIVE, r);
        } else if (changed) {
            emit(MemberEvent.Type.UPDATE, r);
        }
    }

    private void aliveAboutSelf(Alive a) {
        if (phase == Phase.LEAVING || a.incarnation() < self.incarnation) {
            return;
        }
        if (a.incarnation() == self.incarnation && a.address().equals(self.address)
                && Arrays.equals(a.meta(), self.meta)) {
            return;
        }
        refute(a.incarnation()); // another picture of this node, from a previous life or an impostor
    }

    /** {@code from}: the address the accusation came from, or null if it is this node's own or merged state. */
    private void onSuspect(Suspect s, Address from) {
        Record r = members.get(s.id());
        if (r == self && s.incarnation() < self.incarnation && from != null && phase == Phase.RUNNING) {
            // Already refuted, but the sender has not heard: tell it first-hand rather than leave it to
            // gossip, which may miss it (it is what a prompt probe of a suspect relies on).
            send(from, List.of(codec.encode(new Alive(self.id, self.incarnation, self.address, self.meta))));
            return;
        }
        if (r == null || s.incarnation() < r.incarnation) {
            return;
        }
        // A suspicion at a newer incarnation than the one running here means the member refuted that one
        // (this node missed it) and is suspected again: it starts over, and what this node witnessed of the
        // old one is no evidence now. Counted as a confirmation, it had the old suspicion, ten seconds old,
        // time out at once into a DEAD verdict (50 nodes at 10 % loss).
        boolean renewed = r.suspicion != null && s.incarnation() > r.incarnation;
        if (renewed) {
            cancelSuspicion(r);
        }
        if (r.suspicion != null) {
            Suspicion suspicion = r.suspicion;
            if (suspicion.confirm(s.accuser(), now())) {
                broadcasts.enqueue(s.id(), codec.encode(s)); // independent confirmations are news
            }
            if (s.accuser() == self.id) {
                suspicion.witness(now());
                if (suspicion.overdue()) {
                    suspicionTimedOut(r, suspicion);
                }
            }
            return;
        }
        if (r.state != MemberState.ALIVE && !renewed) {
            return;
        }
        if (r == self) {
            if (phase != Phase.LEAVING) {
                refute(s.incarnation());
            }
            return;
        }
        broadcasts.enqueue(s.id(), codec.encode(s));
        r.incarnation = s.incarnation();
        setState(r, MemberState.SUSPECT);
        stats.suspicions++;
        startSuspicion(r, s.accuser());
        emit(MemberEvent.Type.SUSPECT, r);
        if (s.accuser() != self.id) {
            probePromptly(r, renewed);
        }
    }

    /**
     * Probes a member this node has just heard is suspected, now rather than when the round-robin order
     * reaches it. If the member is alive, the probe carries the suspicion to it and its ack brings the
     * refutation back first-hand; if it is not, the failed probe (direct and indirect, as any other) is
     * this node's independent confirmation, which arrives within one probe window instead of up to
     * n - 1 of them. Only about k + 1 members do it, chosen at random, so a suspicion in a large cluster
     * does not draw a probe from every member. {@code missedRefutation}: this node missed the member's
     * refutation of an earlier suspicion, so it probes in any case; the member answers the stale suspicion
     * with its current ALIVE.
     */
    private void probePromptly(Record r, boolean missedRefutation) {
        if (phase != Phase.RUNNING || r.probing) {
            return;
        }
        int others = liveCount() - 2;
        double chance = others <= 0 || missedRefutation ? 1.0 : (expectedConfirmations(liveCount()) + 1.0) / others;
        if (chance >= 1.0 || random.nextDouble() < chance) {
            stats.promptProbes++;
            probe(r);
        }
    }

    private void startSuspicion(Record r, long accuser) {
        // Expect confirmations from k other members, so that the timeout reaches its minimum about two
        // probe intervals short of suspicionMult; expect none in a cluster too small to give them.
        int n = liveCount();
        int k = expectedConfirmations(n);
        long min = Suspicion.minTimeoutMillis(config.suspicionMult(), n, config.probeIntervalMillis());
        long max = config.suspicionMaxTimeoutMult() * min;
        Suspicion[] holder = new Suspicion[1];
        holder[0] = new Suspicion(accuser, k, min, max, now(), scheduler, () -> suspicionTimedOut(r, holder[0]));
        if (accuser == self.id) {
            holder[0].witness(now());
        }
        r.suspicion = holder[0];
    }

    /** Lifeguard's k for {@code n} live members: suspicionMult - 2, or 0 if fewer members could confirm. */
    private int expectedConfirmations(int n) {
        int k = config.suspicionMult() - 2;
        return n - 2 < k ? 0 : k;
    }

    private void suspicionTimedOut(Record r, Suspicion s) {
        if (r.suspicion != s || r.state != MemberState.SUSPECT || phase == Phase.STOPPED) {
            return;
        }
        if (!s.witnessedRecently(now()) && phase == Phase.RUNNING) {
            // Death is not declared on others' word alone, nor on this node's own stale evidence: it may
            // have missed the refutation that everyone else heard. Its own probe carries the suspicion to
            // the member, whose ack then brings the refutation back; a probe that fails is the evidence,
            // and the verdict follows at once.
            s.awaitWitness(awareness.scale(config.probeWindowMillis()));
            if (!r.probing) {
                probe(r);
            }
            return;
        }
        r.suspicion = null;
        onDead(new Dead(r.id, r.incarnation, self.id));
    }

    private void onDead(Dead d) {
        Record r = members.get(d.id());
        if (r == null || d.incarnation() < r.incarnation) {
            return;
        }
        cancelSuspicion(r);
        if (r.state == MemberState.DEAD || r.state == MemberState.LEFT) {
            return;
        }
        if (r == self) {
            if (phase != Phase.LEAVING) {
                refute(d.incarnation());
            }
            return;
        }
        broadcasts.enqueue(d.id(), codec.encode(d));
        r.incarnation = d.incarnation();
        setState(r, MemberState.DEAD);
        stats.deaths++;
        emit(MemberEvent.Type.DEAD, r);
    }

    private void onLeft(Left l) {
        Record r = members.get(l.id());
        if (r == null || l.incarnation() < r.incarnation) {
            return;
        }
        if (r == self) {
            if (phase != Phase.LEAVING) {
                refute(l.incarnation());
            }
            return;
        }
        if (r.state == MemberState.LEFT) {
            return;
        }
        cancelSuspicion(r);
        broadcasts.enqueue(l.id(), codec.encode(l));
        r.incarnation = l.incarnation();
        setState(r, MemberState.LEFT);
        emit(MemberEvent.Type.LEFT, r);
    }

    private void onRemoved(Removed m) {
        Record r = members.get(m.id());
        if (r == self) {
            if (phase != Phase.LEAVING && m.incarnation() >= self.incarnation) {
                refute(m.incarnation());
            }
            return;
        }
        if (r != null) {
            if (m.incarnation() < r.incarnation || r.state.isLive()) {
                return; // it came back since: its newer incarnation wins
            }
            removeRecord(r);
            emit(MemberEvent.Type.REMOVED, r);
        }
        Long tombstone = removed.get(m.id());
        if (tombstone == null || tombstone < m.incarnation()) {
            removed.put(m.id(), m.incarnation());
            broadcasts.enqueue(m.id(), codec.encode(m));
        }
    }

    private void refute(long accusedIncarnation) {
        self.incarnation = Math.max(self.incarnation, accusedIncarnation) + 1;
        awareness.applyDelta(1);
        stats.refutations++;
        broadcastSelfAlive();
        emit(MemberEvent.Type.UPDATE, self); // listeners see this node's new incarnation too
    }

    private void broadcastSelfAlive() {
        broadcasts.enqueue(self.id, codec.encode(new Alive(self.id, self.incarnation, self.address, self.meta)));
    }

    private boolean isTombstoned(long id, long incarnation) {
        if (removed.isEmpty()) {
            return false;
        }
        Long tombstone = removed.get(id);
        return tombstone != null && incarnation <= tombstone;
    }

    // ================================================================ dissemination

    private void gossipTick() {
        if (phase == Phase.STOPPED) {
            return;
        }
        gossipTimer = scheduler.schedule(config.gossipIntervalMillis(), this::gossipTick);
        int budget = config.maxPacketSize() - Codec.PACKET_HEADER_SIZE;
        for (Record target : randomMembers(config.gossipNodes(), r -> r != self && r.state.isLive())) {
            List<byte[]> messages = broadcasts.take(budget, Codec.MAX_MESSAGES_PER_PACKET);
            if (messages.isEmpty()) {
                return;
            }
            sendPacket(target.address, codec.packet(self.id, messages));
        }
        // One recently dead member hears the news too, so that it can refute if it is not dead after all;
        // not counted as a transmission, because a member that everyone else ignores passes nothing on.
        // (Counted, such packets retired a DEAD verdict in a 5-node cluster before every live member had it.)
        long now = now();
        List<Record> dead = randomMembers(1, r -> r.state == MemberState.DEAD
                && now - r.stateSince < config.gossipToTheDeadMillis());
        if (!dead.isEmpty()) {
            List<byte[]> messages = broadcasts.peek(budget, Codec.MAX_MESSAGES_PER_PACKET);
            if (!messages.isEmpty()) {
                sendPacket(dead.get(0).address, codec.packet(self.id, messages));
            }
        }
    }

    /** Sends {@code primary} messages to {@code to}, with as many broadcasts as fit behind them. */
    private void send(Address to, List<byte[]> primary) {
        send(to, primary, true);
    }

    /**
     * {@code spreads}: whether the receiver is trusted to pass the broadcasts on; if not (a suspect, which
     * may be dead), they ride along without counting toward their retransmit limit.
     */
    private void send(Address to, List<byte[]> primary, boolean spreads) {
        int room = config.maxPacketSize() - Codec.PACKET_HEADER_SIZE;
        for (byte[] m : primary) {
            room -= m.length;
        }
        int max = Codec.MAX_MESSAGES_PER_PACKET - primary.size();
        List<byte[]> piggyback = spreads ? broadcasts.take(room, max) : broadcasts.peek(room, max);
        List<byte[]> messages = primary;
        if (!piggyback.isEmpty()) {
            messages = new ArrayList<>(primary.size() + piggyback.size());
            messages.addAll(primary);
            messages.addAll(piggyback);
        }
        sendPacket(to, codec.packet(self.id, messages));
    }

    private void sendPacket(Address to, byte[] packet) {
        stats.packetsSent++;
        try {
            transport.sendPacket(to, packet);
        } catch (RuntimeException e) {
            stats.errors++;
            LOG.log(System.Logger.Level.WARNING, () -> "membership: sending to " + to + " failed", e);
        }
    }

    // ================================================================ push-pull and join

    private void pushPullTick() {
        if (phase == Phase.STOPPED) {
            return;
        }
        pushPullTimer = scheduler.schedule(pushPullIntervalMillis(config.pushPullIntervalMillis(), liveCount()),
                this::pushPullTick);
        if (phase != Phase.RUNNING) {
            return;
        }
        List<Record> peer = randomMembers(1, r -> r != self && r.state == MemberState.ALIVE);
        if (!peer.isEmpty()) {
            pushPull(peer.get(0).address, false, ok -> { });
        }
    }

    private void reconnectTick() {
        if (phase == Phase.STOPPED) {
            return;
        }
        reconnectTimer = scheduler.schedule(config.reconnectIntervalMillis(), this::reconnectTick);
        if (phase != Phase.RUNNING) {
            return;
        }
        List<Record> dead = randomMembers(1, r -> r.state == MemberState.DEAD);
        if (!dead.isEmpty()) {
            pushPull(dead.get(0).address, false, ok -> { });
        }
    }

    private void attemptJoin() {
        joinRetryTimer = null;
        if (phase != Phase.RUNNING || joined) {
            return;
        }
        int attempt = joinAttempts++;
        int generation = joinGeneration;
        int[] pending = {seeds.size()};
        for (Address seed : seeds) {
            pushPull(seed, true, ok -> {
                if (generation != joinGeneration) {
                    return; // a later join() took over
                }
                joined |= ok;
                if (--pending[0] == 0 && !joined && phase == Phase.RUNNING) {
                    joinRetryTimer = scheduler.schedule(Backoff.delayMillis(attempt,
                            config.joinRetryInitialMillis(), config.joinRetryMaxMillis()), this::attemptJoin);
                }
            });
        }
    }

    /** Exchanges full state with {@code to}; {@code done} learns whether an answer was merged. */
    private void pushPull(Address to, boolean join, Consumer<Boolean> done) {
        stats.pushPulls++;
        byte[] request = codec.encodePushPull(localState(join));
        boolean[] finished = {false};
        Scheduler.Cancellable[] timeout = new Scheduler.Cancellable[1];
        Transport.StreamCallback callback = new Transport.StreamCallback() {
            @Override
            public void onReply(byte[] reply) {
                if (finished[0]) {
                    return;
                }
                finished[0] = true;
                timeout[0].cancel();
                if (phase == Phase.STOPPED) {
                    return;
                }
                boolean ok = false;
                try {
                    merge(codec.decodePushPull(reply));
                    ok = true;
                } catch (PacketRejectedException e) {
                    stats.rejected(e);
                    stats.pushPullFailures++;
                }
                done.accept(ok);
            }

            @Override
            public void onFailure(Exception cause) {
                if (finished[0]) {
                    return;
                }
                finished[0] = true;
                timeout[0].cancel();
                stats.pushPullFailures++;
                if (phase != Phase.STOPPED) {
                    done.accept(false);
                }
            }
        };
        timeout[0] = scheduler.schedule(config.streamTimeoutMillis(), () -> callback.onFailure(
                new TimeoutException("push-pull with " + to + ": no answer in " + config.streamTimeoutMillis() + " ms")));
        try {
            transport.exchange(to, request, callback);
        } catch (RuntimeException e) {
            stats.errors++;
            callback.onFailure(e);
        }
    }

    private PushPull localState(boolean join) {
        List<PushPull.Entry> entries = new ArrayList<>(members.size());
        for (Record r : members.values()) {
            entries.add(new PushPull.Entry(r.id, r.address, r.incarnation, r.state, r.meta));
        }
        List<Removed> tombstones = new ArrayList<>(removed.size());
        removed.forEach((id, incarnation) -> tombstones.add(new Removed(id, incarnation)));
        return new PushPull(self.id, join, entries, tombstones);
    }

    /**
     * Merges remote state. Whatever is news here is broadcast again, JOINs included, as memberlist does:
     * a node that joins late learns most of the cluster from its seed at once, and passing that on is
     * what makes a cluster that starts all at once converge quickly (without it, 1000 nodes took 14 times
     * longer in the simulation).
     */
    private void merge(PushPull remote) {
        for (Removed r : remote.removed()) {
            onRemoved(r);
        }
        for (PushPull.Entry e : remote.members()) {
            mergeEntry(e, remote.senderId());
        }
    }

    /** {@code sender}: the member whose state this is; it stands as the accuser of a member it lists down. */
    private void mergeEntry(PushPull.Entry e, long sender) {
        if (e.state() == MemberState.ALIVE) {
            onAlive(new Alive(e.id(), e.incarnation(), e.address(), e.meta()));
            return;
        }
        if (e.id() != self.id && !members.containsKey(e.id())) {
            // Ownership is not liveness: a joining node must learn of members that are down too.
            if (!isTombstoned(e.id(), e.incarnation())) {
                Record r = new Record(e.id(), e.address(), e.incarnation(), e.state(), e.meta(), now());
                addRecord(r);
                if (r.state == MemberState.SUSPECT) {
                    startSuspicion(r, sender);
                }
                emit(MemberEvent.Type.JOIN, r);
            }
            return;
        }
        if (e.state() == MemberState.LEFT) {
            onLeft(new Left(e.id(), e.incarnation()));
        } else {
            // A remote DEAD only makes the member SUSPECT here: our own probes get a say.
            onSuspect(new Suspect(e.id(), e.incarnation(), sender), null);
        }
    }

    // ================================================================ member table

    private void addRecord(Record r) {
        members.put(r.id, r);
        probeOrder.add(r);
        Collections.swap(probeOrder, probeOrder.size() - 1, random.nextInt(probeOrder.size()));
        countByState[r.state.code]++;
    }

    private void removeRecord(Record r) {
        cancelSuspicion(r);
        members.remove(r.id);
        int i = probeOrder.indexOf(r);
        probeOrder.remove(i);
        if (i < probeIndex) {
            probeIndex--;
        }
        countByState[r.state.code]--;
    }

    private void setState(Record r, MemberState state) {
        countByState[r.state.code]--;
        countByState[state.code]++;
        r.state = state;
        r.stateSince = now();
    }

    private static void cancelSuspicion(Record r) {
        if (r.suspicion != null) {
            r.suspicion.cancel();
            r.suspicion = null;
        }
    }

    /** ALIVE and SUSPECT members, this node included while it runs. */
    private int liveCount() {
        return countByState[MemberState.ALIVE.code] + countByState[MemberState.SUSPECT.code];
    }

    /** {@code k} distinct random members that pass {@code filter}, or all of them if fewer do. */
    private List<Record> randomMembers(int k, Predicate<Record> filter) {
        return randomSubset(probeOrder, k, filter, random);
    }

    /**
     * {@code k} distinct random elements of {@code from} that pass {@code filter}, or all of them if fewer
     * do. Samples at random first, 3 tries per element as memberlist's {@code kRandomNodes}, which is
     * cheap when most elements pass; whatever that misses is drawn from a scan of the rest. Sampling
     * alone can miss an element that passes: in a 3-member cluster it found no relay for one indirect
     * probe in 40, so a probe over one slow link failed although the third member could reach the target.
     */
    static <T> List<T> randomSubset(List<T> from, int k, Predicate<T> filter, Random random) {
        List<T> out = new ArrayList<>(k);
        int size = from.size();
        for (int i = 0; i < 3 * size && out.size() < k; i++) {
            T e = from.get(random.nextInt(size));
            if (filter.test(e) && !out.contains(e)) {
                out.add(e);
            }
        }
        if (out.size() < k) {
            List<T> rest = new ArrayList<>();
            for (T e : from) {
                if (filter.test(e) && !out.contains(e)) {
                    rest.add(e);
                }
            }
            while (out.size() < k && !rest.isEmpty()) {
                out.add(rest.remove(random.nextInt(rest.size())));
            }
        }
        return out;
    }

    // ================================================================ helpers

    private void emit(MemberEvent.Type type, Record r) {
        if (listener == MembershipListener.NONE) {
            return;
        }
        try {
            listener.onEvent(new MemberEvent(type, r.snapshot()));
        } catch (RuntimeException e) {
            stats.errors++;
            LOG.log(System.Logger.Level.WARNING, () -> "membership: listener failed on " + type + " of "
                    + Long.toHexString(r.id), e);
        }
    }

    /** Monotonic ms from the injected clock. */
    private long now() {
        return clock.nanos() / 1_000_000;
    }

    private long stagger(long interval) {
        return (long) (random.nextDouble() * interval);
    }

    private void requirePhase(Phase expected, String operation) {
        if (phase != expected) {
            throw new IllegalStateException(operation + ": " + phase + " (expected: " + expected + ")");
        }
    }

    private static void requireMeta(byte[] meta) {
        if (meta.length > Member.MAX_META_BYTES) {
            throw new IllegalArgumentException("meta: " + meta.length + " bytes (expected: <= "
                    + Member.MAX_META_BYTES + ")");
        }
    }

    /**
     * How long a relay waits for the target's ack before it nacks: {@link #NACK_PERCENT_OF_PROBE_TIMEOUT}
     * of the probe timeout. The requester sends its indirect pings one probe timeout into the probe and
     * counts nacks until the window closes, two probe timeouts in; a relay that waited the whole probe
     * timeout (as memberlist's does) sent its nack to arrive one round trip after that, every time, so
     * every failed probe raised this node's awareness by the number of relays as if the fault were its
     * own, and the next probes ran up to four times slower.
     */
    static long nackDelayMillis(long probeTimeoutMillis) {
        return probeTimeoutMillis * NACK_PERCENT_OF_PROBE_TIMEOUT / 100;
    }

    /**
     * The push-pull interval for {@code n} live members: the configured one up to
     * {@link #PUSH_PULL_SCALE_THRESHOLD} members, then one more multiple per doubling,
     * {@code interval * (ceil(log2(n) - log2(32)) + 1)}, so the state exchanged per node and second
     * stays about flat as the cluster grows.
     */
    static long pushPullIntervalMillis(long intervalMillis, int n) {
        if (n <= PUSH_PULL_SCALE_THRESHOLD) {
            return intervalMillis;
        }
        double log2 = Math.log(n) / Math.log(2);
        double multiplier = Math.ceil(log2 - Math.log(PUSH_PULL_SCALE_THRESHOLD) / Math.log(2)) + 1.0;
        return (long) multiplier * intervalMillis;
    }

    /** Wires a {@link Swim}; everything but the config and the node's identity has to be given. */
    public static final class Builder {
        private final SwimConfig config;
        private final long id;
        private final Address address;
        private byte[] meta = new byte[0];
        private Transport transport;
        private Scheduler scheduler;
        private Clock clock = Clock.SYSTEM;
        private Random random = new Random();
        private MembershipListener listener = MembershipListener.NONE;

        private Builder(SwimConfig config, long id, Address address) {
            this.config = Objects.requireNonNull(config, "config");
            this.id = id;
            this.address = Objects.requireNonNull(address, "address");
        }

        /** This node's metadata, at most {@link Member#MAX_META_BYTES}; empty by default. */
        public Builder meta(byte[] meta) {
            this.meta = meta.clone();
            return this;
        }

        public Builder transport(Transport transport) {
            this.transport = transport;
            return this;
        }

        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        /** {@link Clock#SYSTEM} by default. */
        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /** Chooses probe order, gossip targets, relays and timer staggers; seed it to replay a run. */
        public Builder random(Random random) {
            this.random = random;
            return this;
        }

        public Builder listener(MembershipListener listener) {
            this.listener = listener;
            return this;
        }

        public Swim build() {
            return new Swim(this);
        }
    }
}
