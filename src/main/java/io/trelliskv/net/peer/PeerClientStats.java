package io.trelliskv.net.peer;

/**
 * Figures of a {@link PeerClient} for INFO.
 *
 * @param openConnections peer connections open now
 * @param inFlight        calls started and not yet completed
 * @param failures        calls completed exceptionally since start (timeouts, unavailable peers, error replies)
 * @param timeouts        of the failures, calls that ran out of time
 */
public record PeerClientStats(int openConnections, int inFlight, long failures, long timeouts) {
}
