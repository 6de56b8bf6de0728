package io.trelliskv.repair;

/**
 * Progress of the latest anti-entropy round (the running one, or the last finished), for
 * {@code REPAIR STATUS} and {@code trellis-cli repair}.
 *
 * @param round           the round's number (1, 2, ... since the node started); 0 before the first
 * @param requested       the number of the latest round requested; greater than {@code round} while one
 *                        waits for the running round to finish
 * @param trigger         {@code manual} (REPAIR) or {@code periodic}
 * @param running         whether the round is still going
 * @param rangesDone      token ranges finished (with every live peer, or given up on)
 * @param rangesTotal     this node's replica ranges
 * @param keysCompared    keys whose versions were compared, over every differing leaf
 * @param keysStreamedIn  entries newer at a peer, pulled and merged here
 * @param keysStreamedOut entries newer here (or missing there), pushed to a peer
 * @param bytesSent       payload bytes sent: trees, key lists, entries
 * @param bytesReceived   payload bytes received
 * @param failures        exchanges (one peer, one range) that failed; retried next round
 * @param elapsedMillis   time since the round started, or its duration once finished
 */
public record RepairStatus(long round, long requested, String trigger, boolean running, int rangesDone,
                           int rangesTotal, long keysCompared, long keysStreamedIn, long keysStreamedOut,
                           long bytesSent, long bytesReceived, long failures, long elapsedMillis) {

    /** Before any round. */
    static RepairStatus none(long requested) {
        return new RepairStatus(0, requested, "none", false, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
}
