package io.trelliskv.membership;

/**
 * Counters of one {@link Swim}, for INFO and for tests. Written only by the Swim thread; volatile so
 * that any thread may read them (each read is current, a set of reads is not a consistent snapshot).
 */
public final class SwimStats {

    volatile long packetsReceived;
    volatile long packetsSent;
    /** Truncated, trailing bytes, unknown codes, out-of-range fields. */
    volatile long malformed;
    volatile long unsupportedVersion;
    /** Packets and streams from another cluster name, dropped. */
    volatile long foreignCluster;
    /** Pings meant for another node id at this address (a restarted node with a new id, say). */
    volatile long misdirectedPings;
    /** Probes this node started. */
    volatile long probes;
    /** Of those, probes of a member this node had just heard was suspected, out of round-robin order. */
    volatile long promptProbes;
    /** Probes that failed directly and indirectly, so this node raised a suspicion. */
    volatile long probesFailed;
    volatile long indirectProbesSent;
    volatile long nacksReceived;
    /** Times another member went to SUSPECT in this node's view, whoever accused it. */
    volatile long suspicions;
    /** Times another member went to DEAD in this node's view. */
    volatile long deaths;
    /** Times this node refuted a suspicion (or death, or removal) of itself. */
    volatile long refutations;
    volatile long pushPulls;
    volatile long pushPullFailures;
    volatile long streamRequests;
    /** Exceptions thrown by listeners or transports, or bugs caught on the receive path. */
    volatile long errors;

    public long packetsReceived() {
        return packetsReceived;
    }

    public long packetsSent() {
        return packetsSent;
    }

    public long malformed() {
        return malformed;
    }

    public long unsupportedVersion() {
        return unsupportedVersion;
    }

    public long foreignCluster() {
        return foreignCluster;
    }

    public long misdirectedPings() {
        return misdirectedPings;
    }

    public long probes() {
        return probes;
    }

    public long promptProbes() {
        return promptProbes;
    }

    public long probesFailed() {
        return probesFailed;
    }

    public long indirectProbesSent() {
        return indirectProbesSent;
    }

    public long nacksReceived() {
        return nacksReceived;
    }

    public long suspicions() {
        return suspicions;
    }

    public long deaths() {
        return deaths;
    }

    public long refutations() {
        return refutations;
    }

    public long pushPulls() {
        return pushPulls;
    }

    public long pushPullFailures() {
        return pushPullFailures;
    }

    public long streamRequests() {
        return streamRequests;
    }

    public long errors() {
        return errors;
    }

    void rejected(PacketRejectedException e) {
        switch (e.reason()) {
            case MALFORMED -> malformed++;
            case UNSUPPORTED_VERSION -> unsupportedVersion++;
            case FOREIGN_CLUSTER -> foreignCluster++;
        }
    }
}
