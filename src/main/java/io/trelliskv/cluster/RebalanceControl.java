package io.trelliskv.cluster;

/**
 * What the ring-change commands ({@link RebalanceCommands}) may do: read the status and start or stop
 * moves. Each call throws {@link io.trelliskv.common.RefusedException} with the reason it is refused.
 */
public interface RebalanceControl {

    /** Every member with its liveness, ring status and tokens, then this node's streams ({@code STATUS}). */
    String describe();

    void decommission();

    void cancelDecommission();

    /** Removes a DEAD member from the ring. */
    void removeNode(long nodeId);

    void cancelBootstrap();

    void resumeBootstrap();

    /** Lets a restarted node waiting for ranges that no NORMAL replica holds go NORMAL without them. */
    void forceRejoin();
}
