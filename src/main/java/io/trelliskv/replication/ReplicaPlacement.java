package io.trelliskv.replication;

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
}
