package io.trelliskv.cluster;

import io.trelliskv.net.peer.PeerClientStats;
import io.trelliskv.repair.AntiEntropy;
import io.trelliskv.repair.AntiEntropyService;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.HintStats;
import io.trelliskv.replication.ReplicaService;

import java.util.Map;

/**
 * What INFO reads of this node's part in the cluster: counters and status, read-only. Before the
 * cluster has started ({@link #started} false) only {@link #nodeStatus}, {@link #streamsRunning} and
 * {@link #rejoinUnsourcedRanges} answer; the counters are those of
 * parts that do not exist yet, and asking for them is a bug.
 */
public interface ClusterInfo {

    boolean started();

    /** This node's status in the ring; NORMAL before the start. */
    NodeStatus nodeStatus();

    /** Range streams running now (bootstrap, decommission, removal). */
    long streamsRunning();

    /**
     * Ranges a restarted node waits for because no NORMAL replica holds them ({@code BOOTSTRAP FORCE} or
     * {@code --rejoin-timeout} lets it go NORMAL without them); 0 when not waiting, and before the start.
     */
    int rejoinUnsourcedRanges();

    PeerClientStats peers();

    Coordinator.Stats coordinator();

    ReplicaService.Stats replica();

    HintStats hints();

    /** Hints waiting, per target node. */
    Map<Long, Integer> hintsByTarget();

    AntiEntropy.Stats antiEntropy();

    /** What this node answered for its peers' anti-entropy rounds. */
    AntiEntropyService.Stats antiEntropyAnswered();
}
