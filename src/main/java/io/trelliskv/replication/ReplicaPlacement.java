package io.trelliskv.replication;

import java.util.ArrayList;
import java.util.List;

/** Replication's view of the ring: which nodes hold a key. */
public interface ReplicaPlacement {

    /** This node's id. */
    long localNodeId();

    /**
     * The replicas of a token in preference order: the next {@code min(N, nodes)} distinct nodes
     * clockwise, down or not (a node that is down still owns its ranges). Empty before there is a ring.
     */
    List<Long> replicas(long token);

    /**
     * {@link #replicas} less this node, in the same order: the replicas a write coordinated here is sent to,
     * those up and those down. An implementation may return the same list for every call on one ring.
     */
    default List<Long> otherReplicas(long token) {
        List<Long> all = replicas(token);
        List<Long> others = new ArrayList<>(all.size());
        for (Long node : all) {
            if (node != localNodeId()) {
                others.add(node);
            }
        }
        return others;
    }

    /**
     * Nodes that will become replicas of the token once a bootstrap or decommission finishes, and are not
     * replicas now: writes go to them too, but do not count toward the consistency level. Usually empty.
     */
    default List<Long> pendingReplicas(long token) {
        return List.of();
    }
}
