package io.trelliskv.request;

import java.util.List;

/**
 * Where keys live, as routing sees the cluster: the {@link Router}'s narrow view of the ring and of
 * membership. Called on the event loops for every keyed command, so implementations answer from
 * immutable snapshots without locking.
 */
public interface Placement {

    /** This node's id. */
    long localNodeId();

    /** The key's owners in preference order; empty means "no ring yet": serve locally. */
    List<Long> owners(long token);

    /** Whether the node is believed reachable (the local node always is). */
    boolean isAlive(long nodeId);

    /**
     * True while the ring has members that will own keys but none that serves them yet: every member
     * is rejoining after a restart, empty, and no copy is known to hold any key. Keyed commands are
     * then refused rather than answered from an empty engine.
     */
    default boolean awaitingOwners() {
        return false;
    }

    /** True while this node owns the whole ring (a cluster of one): every command runs here. */
    default boolean ownsEverything() {
        return false;
    }

    /**
     * A number that changes whenever a key's coordinator may have changed (a member became live or not
     * live, the ring changed); equal numbers mean every key still has the coordinator it had.
     */
    default long epoch() {
        return 0;
    }

    /** "nodeid@host:port" for error texts. */
    String describe(long nodeId);
}
