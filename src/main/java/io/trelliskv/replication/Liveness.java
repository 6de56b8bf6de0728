package io.trelliskv.replication;

/** Replication's narrow view of membership: whether a node is believed reachable now. */
public interface Liveness {

    /** True if the node is ALIVE (or is this node); false while SUSPECT, DEAD, LEFT or unknown. */
    boolean isAlive(long nodeId);
}
