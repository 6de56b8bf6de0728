package io.trelliskv.cluster;

import io.trelliskv.membership.MemberState;

/**
 * What ring changes ask of this node's membership: announce its metadata (status, tokens, flush floor),
 * look up a member's liveness, and remove a member cluster-wide. Called on the membership thread only.
 * {@link ClusterMember} backs it with its {@code Swim}; so does a simulation, over its in-memory network.
 */
public interface MembershipControl {

    /** Gossips this node's new metadata ({@link TokenMeta}). */
    void announce(byte[] meta);

    /** A member's liveness as membership knows it; null for a member it does not know. */
    MemberState stateOf(long nodeId);

    /** Removes a member from the cluster with a REMOVED broadcast. */
    void remove(long nodeId);
}
