package io.trelliskv.server;

import io.trelliskv.membership.Member;
import io.trelliskv.membership.MemberEvent;
import io.trelliskv.membership.MemberState;
import io.trelliskv.membership.MembershipListener;
import io.trelliskv.replication.Liveness;
import io.trelliskv.replication.ReplicaPlacement;
import io.trelliskv.ring.TokenRing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The node's view of the cluster, for routing and for operators: the members as membership last
 * reported them, and the ring built from their tokens.
 *
 * <p><b>Liveness is not ownership.</b> A member's tokens stay on the ring while it is SUSPECT or DEAD
 * (its ranges are still its own; requests for them fail fast or, once replication lands, go to other
 * replicas); they leave the ring only when the member LEFT or was REMOVED. So a flapping node never
 * moves data.
 *
 * <p>Written on the membership thread (through {@link #onEvent}); read from the event loops. The ring
 * is an immutable {@link TokenRing} swapped through a volatile field; members are a concurrent map.
 */
final class ClusterState implements MembershipListener, Placement, ReplicaPlacement, Liveness {

    private static final Logger log = LoggerFactory.getLogger(ClusterState.class);

    private final long localId;
    private final ConcurrentHashMap<Long, Member> members = new ConcurrentHashMap<>();
    private volatile TokenRing ring = TokenRing.empty();
    /** The ring is empty or holds only this node: routing has nothing to do. */
    private volatile boolean ownsEverything = true;
    /** Resolved peer addresses by node id, kept off the event loops (no lookup per forwarded command). */
    private final ConcurrentHashMap<Long, InetSocketAddress> addresses = new ConcurrentHashMap<>();
    /** Ring changes since start; the ring's own version. Written on the membership thread only. */
    private long ringVersion;

    /** Replicas per key (N); the ring may have fewer nodes. */
    private final int replicationFactor;

    /** One replica per key, as routing tests use it. */
    ClusterState(long localId) {
        this(localId, 1);
    }

    ClusterState(long localId, int replicationFactor) {
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
        List<Long> oldTokens = before == null || !owns(before) ? List.of() : TokenMeta.decode(before.meta());
        List<Long> newTokens = event.type() == MemberEvent.Type.REMOVED || !owns(m) ? List.of() : TokenMeta.decode(m.meta());
        if (!oldTokens.equals(newTokens)) {
            rebuildRing();
        }
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
        Map<Long, List<Long>> tokens = new HashMap<>();
        Set<Long> claimed = new HashSet<>();
        List<Member> byId = new ArrayList<>(members.values());
        byId.sort(Comparator.comparingLong(Member::id));
        for (Member m : byId) {
            if (!owns(m)) {
                continue;
            }
            List<Long> own = new ArrayList<>();
            for (long t : TokenMeta.decode(m.meta())) {
                if (claimed.add(t)) {
                    own.add(t);
                } else {
                    log.warn("Token {} of {} is also claimed by a node with a lower id; left out", t,
                            describe(m.id()));
                }
            }
            if (!own.isEmpty()) {
                tokens.put(m.id(), own);
            }
        }
        ring = TokenRing.of(++ringVersion, tokens);
        ownsEverything = ring.nodes().isEmpty() || ring.nodes().equals(Set.of(localId));
        log.info("Ring version {}: {} nodes, {} tokens", ringVersion, ring.nodes().size(), ring.tokenCount());
    }

    TokenRing ring() {
        return ring;
    }

    /** Members ordered by address, for display. */
    List<Member> members() {
        List<Member> list = new ArrayList<>(members.values());
        list.sort(Comparator.comparing((Member m) -> m.address().host()).thenComparingInt(m -> m.address().port()));
        return list;
    }

    int count(MemberState state) {
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
    InetSocketAddress addressOf(long nodeId) {
        return addresses.get(nodeId);
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
        TokenRing r = ring;
        return r.isEmpty() ? List.of() : r.replicas(token, replicationFactor);
    }

    @Override
    public List<Long> replicas(long token) {
        return owners(token);
    }

    int replicationFactor() {
        return replicationFactor;
    }

    @Override
    public boolean isAlive(long nodeId) {
        if (nodeId == localId) {
            return true;
        }
        Member m = members.get(nodeId);
        return m != null && m.state().isLive();
    }

    @Override
    public String describe(long nodeId) {
        Member m = members.get(nodeId);
        String id = Long.toHexString(nodeId);
        return m == null ? id : id + "@" + m.address().host() + ":" + m.address().port();
    }
}
