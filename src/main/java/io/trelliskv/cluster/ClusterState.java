package io.trelliskv.cluster;

import io.trelliskv.membership.Member;
import io.trelliskv.membership.MemberEvent;
import io.trelliskv.membership.MemberState;
import io.trelliskv.membership.MembershipListener;
import io.trelliskv.replication.Liveness;
import io.trelliskv.replication.ReplicaPlacement;
import io.trelliskv.request.Placement;
import io.trelliskv.ring.TokenRing;
import io.trelliskv.version.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * The node's view of the cluster, for routing and for operators: the members as membership last
 * reported them, and the ring built from their tokens.
 *
 * <p><b>Liveness is not ownership.</b> A member's tokens stay on the ring while it is SUSPECT or DEAD
 * (its ranges are still its own; requests for them fail fast or, once replication lands, go to other
 * replicas); they leave the ring only when the member LEFT or was REMOVED. So a flapping node never
 * moves data.
 *
 * <p><b>Two rings while ownership moves.</b> Each member gossips a {@link NodeStatus} beside its tokens.
 * The <em>read ring</em> ({@link #ring()}) holds NORMAL and LEAVING members: reads, routing and
 * anti-entropy use it, so a JOINING node, which has not finished streaming, is never read from. The
 * <em>future ring</em> ({@link #futureRing()}) holds NORMAL and JOINING members: what the read ring will be
 * once the moves finish. A write goes to the key's replicas on the read ring (which alone count toward W)
 * and also to its {@link #pendingReplicas} on the future ring, so a node that is streaming a range in, or
 * will receive one that is streamed out, never misses a write made meanwhile.
 *
 * <p>Written on the membership thread (through {@link #onEvent}); read from the event loops. The rings
 * are immutable {@link TokenRing}s swapped together through a volatile field; members are a concurrent map.
 */
public final class ClusterState implements MembershipListener, Placement, ReplicaPlacement, Liveness {

    private static final Logger log = LoggerFactory.getLogger(ClusterState.class);

    private final long localId;
    private final ConcurrentHashMap<Long, Member> members = new ConcurrentHashMap<>();
    /**
     * The ids of the live members other than this node, sorted: what {@link #isAlive} looks up, twice per
     * replicated write, without boxing an id for the map. Replaced (on the membership thread) whenever a
     * member becomes live or stops being live.
     */
    private volatile long[] liveIds = new long[0];
    /** The read ring and the future ring, swapped together. */
    private volatile Rings rings = new Rings(TokenRing.empty(), TokenRing.empty(), false);
    /**
     * Told (on the membership thread) when a member that was not LEAVING is taken off the ring, by LEFT or
     * REMOVED, with the read rings before and after: its ranges have lost a replica.
     */
    private volatile RingLossListener lossListener = (gone, before, after) -> { };
    /** Told of every FLUSHALL version a member's metadata carries (see {@link TokenMeta#flushed}). */
    private volatile BiConsumer<Version, Long> flushListener = (flushed, member) -> { };
    /** The ring is empty or holds only this node: routing has nothing to do. */
    private volatile boolean ownsEverything = true;
    /** Resolved peer addresses by node id, kept off the event loops (no lookup per forwarded command). */
    private final ConcurrentHashMap<Long, InetSocketAddress> addresses = new ConcurrentHashMap<>();
    /** Ring changes since start; the ring's own version. Written on the membership thread only. */
    private long ringVersion;
    /**
     * Counts the changes that can move a key's coordinator: a member becoming live or not live, or a
     * new ring. Routing compares it to know when a connection's earlier commands may have gone to
     * another coordinator than its next ones ({@link Placement#epoch}).
     */
    private volatile long epoch;

    /** Replicas per key (N); the ring may have fewer nodes. */
    private final int replicationFactor;

    /** One replica per key, as routing tests use it. */
    public ClusterState(long localId) {
        this(localId, 1);
    }

    /** Both rings; {@code moving} is true while they differ (a node is JOINING or LEAVING). */
    private record Rings(TokenRing read, TokenRing future, boolean moving) {
    }

    /** Hears that a node left the ring without handing its ranges over. */
    interface RingLossListener {
        void lost(long nodeId, TokenRing before, TokenRing after);
    }

    public ClusterState(long localId, int replicationFactor) {
        this.localId = localId;
        this.replicationFactor = replicationFactor;
    }

    @Override
    public void onEvent(MemberEvent event) {
        Member m = event.member();
        Member before = event.type() == MemberEvent.Type.REMOVED ? members.remove(m.id()) : members.put(m.id(), m);
        if (event.type() == MemberEvent.Type.REMOVED) {
            addresses.remove(m.id());
        } else if (before == null || !before.address().equals(m.address())) {
            addresses.put(m.id(), new InetSocketAddress(m.address().host(), m.address().port()));
        }
        if (m.id() != localId && event.type() != MemberEvent.Type.UPDATE) {
            log.info("Member {} at {}:{} is {} (incarnation {})", Long.toHexString(m.id()), m.address().host(),
                    m.address().port(), event.type() == MemberEvent.Type.REMOVED ? "REMOVED" : m.state(),
                    m.incarnation());
        }
        boolean wasLive = before != null && before.state().isLive();
        boolean live = event.type() != MemberEvent.Type.REMOVED && m.state().isLive();
        if (wasLive != live) {
            liveIds = liveIdsOf(members.values(), localId);
            epoch++;
        }
        TokenMeta old = before == null || !owns(before) ? TokenMeta.NONE : TokenMeta.parse(before.meta());
        TokenMeta now = event.type() == MemberEvent.Type.REMOVED || !owns(m) ? TokenMeta.NONE : TokenMeta.parse(m.meta());
        if (event.type() != MemberEvent.Type.REMOVED) {
            Version flushed = TokenMeta.parse(m.meta()).flushed();
            if (flushed.compareTo(Version.ZERO) > 0) {
                flushListener.accept(flushed, m.id());
            }
        }
        if (!old.status().equals(now.status()) || !old.tokens().equals(now.tokens())) {
            TokenRing readBefore = rings.read;
            rebuildRing();
            if (m.id() != localId && now.tokens().isEmpty() && !old.tokens().isEmpty()
                    && old.status() == NodeStatus.NORMAL) {
                lossListener.lost(m.id(), readBefore, rings.read);
            }
        }
    }

    void onRingLoss(RingLossListener listener) {
        this.lossListener = listener;
    }

    /** Calls {@code listener}, on the membership thread, with each flush version a member gossips, and the member. */
    void onFlushHeard(BiConsumer<Version, Long> listener) {
        this.flushListener = listener;
    }

    /** Whether a member in this state holds its ranges: every state but LEFT. */
    private static boolean owns(Member m) {
        return m.state() != MemberState.LEFT;
    }

    /**
     * Rebuilds the ring from the members' tokens. Two nodes that joined at the same moment may have
     * chosen the same token; the lower node id keeps it, deterministically on every node, and the
     * other's copy is left out (logged), so every node builds the same ring.
     */
    private void rebuildRing() {
        Map<Long, List<Long>> readTokens = new HashMap<>();
        Map<Long, List<Long>> futureTokens = new HashMap<>();
        Set<Long> claimed = new HashSet<>();
        List<Member> byId = new ArrayList<>(members.values());
        byId.sort(Comparator.comparingLong(Member::id));
        for (Member m : byId) {
            if (!owns(m)) {
                continue;
            }
            TokenMeta meta = TokenMeta.parse(m.meta());
            List<Long> own = new ArrayList<>();
            for (long t : meta.tokens()) {
                if (claimed.add(t)) {
                    own.add(t);
                } else {
                    log.warn("Token {} of {} is also claimed by a node with a lower id; left out", t,
                            describe(m.id()));
                }
            }
            if (!own.isEmpty()) {
                if (meta.status() != NodeStatus.JOINING) {
                    readTokens.put(m.id(), own);
                }
                if (meta.status() != NodeStatus.LEAVING) {
                    futureTokens.put(m.id(), own);
                }
            }
        }
        ++ringVersion;
        epoch++;
        TokenRing read = TokenRing.of(ringVersion, readTokens);
        TokenRing future = TokenRing.of(ringVersion, futureTokens);
        boolean moving = !readTokens.equals(futureTokens);
        rings = new Rings(read, future, moving);
        ownsEverything = onlySelf(read) && onlySelf(future);
        log.info("Ring version {}: {}, {} tokens{}", ringVersion, nodes(read.nodes().size()), read.tokenCount(),
                moving ? " (" + nodes(future.nodes().size()) + " once ranges have moved)" : "");
    }

    /** "1 node", "3 nodes": for the log. */
    private static String nodes(int count) {
        return count + (count == 1 ? " node" : " nodes");
    }

    private boolean onlySelf(TokenRing r) {
        return r.nodes().isEmpty() || r.nodes().equals(Set.of(localId));
    }

    /** The read ring: NORMAL and LEAVING members (and DEAD ones, which keep their ranges). */
    public TokenRing ring() {
        return rings.read;
    }

    /** The future ring: NORMAL and JOINING members; the read ring once every move has finished. */
    public TokenRing futureRing() {
        return rings.future;
    }

    /** Whether some member is JOINING or LEAVING. */
    public boolean moving() {
        return rings.moving;
    }

    /** A member's ring status as it last gossiped it; NORMAL for unknown members. */
    NodeStatus status(long nodeId) {
        Member m = members.get(nodeId);
        return m == null ? NodeStatus.NORMAL : TokenMeta.parse(m.meta()).status();
    }

    /** Members ordered by address, for display. */
    List<Member> members() {
        List<Member> list = new ArrayList<>(members.values());
        list.sort(Comparator.comparing((Member m) -> m.address().host()).thenComparingInt(m -> m.address().port()));
        return list;
    }

    public int count(MemberState state) {
        int n = 0;
        for (Member m : members.values()) {
            if (m.state() == state) {
                n++;
            }
        }
        return n;
    }

    Member member(long id) {
        return members.get(id);
    }

    /** Where to reach a member's peer port, resolved when membership learned it; null if unknown. */
    /** The members believed live (ALIVE or SUSPECT), this node included. */
    List<Long> liveMembers() {
        List<Long> out = new ArrayList<>();
        for (Member m : members.values()) {
            if (m.id() == localId || m.state().isLive()) {
                out.add(m.id());
            }
        }
        if (!out.contains(localId)) {
            out.add(localId);
        }
        return out;
    }

    InetSocketAddress addressOf(long nodeId) {
        return addresses.get(nodeId);
    }

    @Override
    public boolean awaitingOwners() {
        Rings r = rings;
        return r.read.isEmpty() && !r.future.isEmpty();
    }

    @Override
    public boolean ownsEverything() {
        return ownsEverything;
    }

    @Override
    public long localNodeId() {
        return localId;
    }

    /** A key's replicas: the first {@code min(N, nodes)} distinct nodes clockwise from its token. */
    @Override
    public List<Long> owners(long token) {
        TokenRing r = rings.read;
        return r.isEmpty() ? List.of() : r.replicas(token, replicationFactor);
    }

    @Override
    public List<Long> replicas(long token) {
        return owners(token);
    }

    /** {@link #owners} less this node: the ring's list for the key's arc, the same object for every call. */
    @Override
    public List<Long> otherReplicas(long token) {
        TokenRing r = rings.read;
        return r.isEmpty() ? List.of() : r.replicasExcept(token, replicationFactor, localId);
    }

    /** The key's replicas on the future ring that are not replicas on the read ring; usually none. */
    @Override
    public List<Long> pendingReplicas(long token) {
        Rings r = rings;
        if (!r.moving || r.future.isEmpty()) {
            return List.of();
        }
        List<Long> current = r.read.isEmpty() ? List.of() : r.read.replicas(token, replicationFactor);
        List<Long> pending = null;
        for (long node : r.future.replicas(token, replicationFactor)) {
            if (!current.contains(node)) {
                if (pending == null) {
                    pending = new ArrayList<>(1);
                }
                pending.add(node);
            }
        }
        return pending == null ? List.of() : pending;
    }

    int replicationFactor() {
        return replicationFactor;
    }

    @Override
    public long epoch() {
        return epoch;
    }

    @Override
    public boolean isAlive(long nodeId) {
        if (nodeId == localId) {
            return true;
        }
        long[] live = liveIds;
        if (live.length > SCANNED_LIVE_IDS) {
            return Arrays.binarySearch(live, nodeId) >= 0;
        }
        for (long id : live) { // a few ids: a scan, without the mispredicted branch of each halving
            if (id == nodeId) {
                return true;
            }
        }
        return false;
    }

    /** Most live ids {@link #isAlive} scans rather than binary-searches. */
    private static final int SCANNED_LIVE_IDS = 8;

    /** The sorted ids of the live members among {@code all}, other than {@code localId}. */
    private static long[] liveIdsOf(Iterable<Member> all, long localId) {
        List<Long> live = new ArrayList<>();
        for (Member m : all) {
            if (m.id() != localId && m.state().isLive()) {
                live.add(m.id());
            }
        }
        return live.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    @Override
    public String describe(long nodeId) {
        Member m = members.get(nodeId);
        String id = Long.toHexString(nodeId);
        return m == null ? id : id + "@" + m.address().host() + ":" + m.address().port();
    }
}
