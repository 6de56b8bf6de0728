package io.trelliskv.membership;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

import static io.trelliskv.common.ConfigException.require;

/**
 * Tuning of the membership protocol. {@link #lan(String)} gives defaults close to hashicorp/memberlist's
 * {@code DefaultLANConfig} (all but the probe interval); {@link #toBuilder()} changes a few of them. All
 * durations are in ms.
 *
 * @param clusterName             packets from another cluster name are dropped (and counted), so two
 *                                clusters never merge; at most 255 UTF-8 bytes
 * @param probeIntervalMillis     one protocol period: one member probed per period; also the unit of the
 *                                suspicion timeouts
 * @param probeTimeoutMillis      wait for a direct ack before asking others for indirect probes; about
 *                                the 99th percentile round trip. A probe waits for acks, direct or
 *                                relayed, for its window, {@link #probeWindowMillis()}, which may outlast
 *                                the probe interval
 * @param indirectChecks          members asked to probe indirectly when a direct probe times out
 * @param suspicionMult           minimum suspicion timeout in probe intervals, times log10(cluster size)
 * @param suspicionMaxTimeoutMult maximum suspicion timeout (no confirmations) as a multiple of the minimum
 * @param retransmitMult          each broadcast is sent {@code retransmitMult * ceil(log10(n + 1))} times
 * @param pushPullIntervalMillis  full state exchange with one random member; scaled up above 32 members;
 *                                0 disables
 * @param reconnectIntervalMillis push-pull with one random DEAD member, so the two sides of a healed
 *                                partition find each other again (as serf's reconnect); 0 disables
 * @param awarenessMaxMultiplier  Lifeguard: the probe interval and timeout are scaled by at most this
 * @param gossipIntervalMillis    gossip round: queued broadcasts go to {@code gossipNodes} random members
 * @param gossipNodes             members gossiped to per round
 * @param gossipToTheDeadMillis   a DEAD member keeps receiving gossip this long, so it can learn it was
 *                                declared dead and refute
 * @param streamTimeoutMillis     a push-pull exchange that has not answered by then has failed
 * @param maxPacketSize           largest datagram sent, bytes; piggy-backed broadcasts fill up to it
 * @param joinRetryInitialMillis  first delay before retrying a join no seed answered; doubles each time
 * @param joinRetryMaxMillis      cap of the join retry delay
 */
public record SwimConfig(
        String clusterName,
        long probeIntervalMillis,
        long probeTimeoutMillis,
        int indirectChecks,
        int suspicionMult,
        int suspicionMaxTimeoutMult,
        int retransmitMult,
        long pushPullIntervalMillis,
        long reconnectIntervalMillis,
        int awarenessMaxMultiplier,
        long gossipIntervalMillis,
        int gossipNodes,
        long gossipToTheDeadMillis,
        long streamTimeoutMillis,
        int maxPacketSize,
        long joinRetryInitialMillis,
        long joinRetryMaxMillis) {

    /** Smallest packet size allowed: room for the header, the largest primary message and a broadcast. */
    public static final int MIN_PACKET_SIZE = 512;
    /** Largest UDP payload. */
    public static final int MAX_PACKET_SIZE = 65_507;

    public SwimConfig {
        Objects.requireNonNull(clusterName, "clusterName");
        int nameBytes = clusterName.getBytes(StandardCharsets.UTF_8).length;
        require(nameBytes <= 255, "clusterName", nameBytes + " bytes", "<= 255 bytes");
        requirePositive("probeIntervalMillis", probeIntervalMillis);
        requirePositive("probeTimeoutMillis", probeTimeoutMillis);
        require(indirectChecks >= 0, "indirectChecks", indirectChecks, ">= 0");
        require(suspicionMult >= 1, "suspicionMult", suspicionMult, ">= 1");
        require(suspicionMaxTimeoutMult >= 1, "suspicionMaxTimeoutMult", suspicionMaxTimeoutMult, ">= 1");
        require(retransmitMult >= 1, "retransmitMult", retransmitMult, ">= 1");
        require(pushPullIntervalMillis >= 0, "pushPullIntervalMillis", pushPullIntervalMillis, ">= 0");
        require(reconnectIntervalMillis >= 0, "reconnectIntervalMillis", reconnectIntervalMillis, ">= 0");
        require(awarenessMaxMultiplier >= 1, "awarenessMaxMultiplier", awarenessMaxMultiplier, ">= 1");
        requirePositive("gossipIntervalMillis", gossipIntervalMillis);
        require(gossipNodes >= 0, "gossipNodes", gossipNodes, ">= 0");
        require(gossipToTheDeadMillis >= 0, "gossipToTheDeadMillis", gossipToTheDeadMillis, ">= 0");
        requirePositive("streamTimeoutMillis", streamTimeoutMillis);
        require(maxPacketSize >= MIN_PACKET_SIZE && maxPacketSize <= MAX_PACKET_SIZE, "maxPacketSize",
                maxPacketSize, MIN_PACKET_SIZE + ".." + MAX_PACKET_SIZE);
        requirePositive("joinRetryInitialMillis", joinRetryInitialMillis);
        require(joinRetryMaxMillis >= joinRetryInitialMillis, "joinRetryMaxMillis", joinRetryMaxMillis,
                ">= joinRetryInitialMillis (" + joinRetryInitialMillis + ")");
    }

    /**
     * How long a probe waits for an ack, direct or relayed, before it fails:
     * {@code max(probeIntervalMillis, 2 * probeTimeoutMillis)}, the probe timeout for the direct ping and
     * as much again for the indirect ones. In memberlist a probe ends with its protocol period; with the
     * window apart from the interval, probing more often does not make a member that answers late (up to
     * the window) look dead.
     */
    public long probeWindowMillis() {
        return Math.max(probeIntervalMillis, 2 * probeTimeoutMillis);
    }

    /**
     * Defaults for a local network: memberlist's {@code DefaultLANConfig} but for the probe interval,
     * 500 ms instead of 1 s, with the probe window kept at memberlist's 1 s. Every member is probed twice
     * as often, so a dead one is found sooner, and the minimum suspicion timeout, which is counted in
     * probe intervals, halves (2 s up to 10 members): SIGKILL to DEAD everywhere in a 5-node cluster
     * within 5 s. That interval alone declared live members dead under 10 % loss (with the probe timeout
     * halved too); it is safe with the refinements in {@link Swim} (prompt probes of suspects, first-hand
     * refutations, no verdict without a recent failure of this node's own probe, nacks in time) and the
     * window that stays at 1 s. The price is twice the probe traffic: about 220 B/s of UDP per node
     * instead of 110.
     */
    public static SwimConfig lan(String clusterName) {
        return new SwimConfig(clusterName,
                500,     // probe interval (memberlist: 1 s; the probe window stays 1 s)
                500,     // probe timeout
                3,       // indirect checks
                4,       // suspicion mult
                6,       // suspicion max timeout mult
                4,       // retransmit mult
                30_000,  // push-pull interval
                30_000,  // reconnect interval
                8,       // awareness max multiplier
                200,     // gossip interval
                3,       // gossip nodes
                30_000,  // gossip to the dead
                10_000,  // stream timeout
                1_400,   // max packet size
                1_000,   // join retry initial
                60_000); // join retry max
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    private static void requirePositive(String name, long value) {
        require(value > 0, name, value, "> 0");
    }

    /** Changes some settings of a config; {@link #build()} validates the result. */
    public static final class Builder {
        private String clusterName;
        private long probeIntervalMillis;
        private long probeTimeoutMillis;
        private int indirectChecks;
        private int suspicionMult;
        private int suspicionMaxTimeoutMult;
        private int retransmitMult;
        private long pushPullIntervalMillis;
        private long reconnectIntervalMillis;
        private int awarenessMaxMultiplier;
        private long gossipIntervalMillis;
        private int gossipNodes;
        private long gossipToTheDeadMillis;
        private long streamTimeoutMillis;
        private int maxPacketSize;
        private long joinRetryInitialMillis;
        private long joinRetryMaxMillis;

        private Builder(SwimConfig c) {
            clusterName = c.clusterName;
            probeIntervalMillis = c.probeIntervalMillis;
            probeTimeoutMillis = c.probeTimeoutMillis;
            indirectChecks = c.indirectChecks;
            suspicionMult = c.suspicionMult;
            suspicionMaxTimeoutMult = c.suspicionMaxTimeoutMult;
            retransmitMult = c.retransmitMult;
            pushPullIntervalMillis = c.pushPullIntervalMillis;
            reconnectIntervalMillis = c.reconnectIntervalMillis;
            awarenessMaxMultiplier = c.awarenessMaxMultiplier;
            gossipIntervalMillis = c.gossipIntervalMillis;
            gossipNodes = c.gossipNodes;
            gossipToTheDeadMillis = c.gossipToTheDeadMillis;
            streamTimeoutMillis = c.streamTimeoutMillis;
            maxPacketSize = c.maxPacketSize;
            joinRetryInitialMillis = c.joinRetryInitialMillis;
            joinRetryMaxMillis = c.joinRetryMaxMillis;
        }

        public Builder clusterName(String v) {
            clusterName = v;
            return this;
        }

        public Builder probeIntervalMillis(long v) {
            probeIntervalMillis = v;
            return this;
        }

        public Builder probeTimeoutMillis(long v) {
            probeTimeoutMillis = v;
            return this;
        }

        public Builder indirectChecks(int v) {
            indirectChecks = v;
            return this;
        }

        public Builder suspicionMult(int v) {
            suspicionMult = v;
            return this;
        }

        public Builder suspicionMaxTimeoutMult(int v) {
            suspicionMaxTimeoutMult = v;
            return this;
        }

        public Builder retransmitMult(int v) {
            retransmitMult = v;
            return this;
        }

        public Builder pushPullIntervalMillis(long v) {
            pushPullIntervalMillis = v;
            return this;
        }

        public Builder reconnectIntervalMillis(long v) {
            reconnectIntervalMillis = v;
            return this;
        }

        public Builder awarenessMaxMultiplier(int v) {
            awarenessMaxMultiplier = v;
            return this;
        }

        public Builder gossipIntervalMillis(long v) {
            gossipIntervalMillis = v;
            return this;
        }

        public Builder gossipNodes(int v) {
            gossipNodes = v;
            return this;
        }

        public Builder gossipToTheDeadMillis(long v) {
            gossipToTheDeadMillis = v;
            return this;
        }

        public Builder streamTimeoutMillis(long v) {
            streamTimeoutMillis = v;
            return this;
        }

        public Builder maxPacketSize(int v) {
            maxPacketSize = v;
            return this;
        }

        public Builder joinRetryInitialMillis(long v) {
            joinRetryInitialMillis = v;
            return this;
        }

        public Builder joinRetryMaxMillis(long v) {
            joinRetryMaxMillis = v;
            return this;
        }

        public SwimConfig build() {
            return new SwimConfig(clusterName, probeIntervalMillis, probeTimeoutMillis, indirectChecks,
                    suspicionMult, suspicionMaxTimeoutMult, retransmitMult, pushPullIntervalMillis,
                    reconnectIntervalMillis, awarenessMaxMultiplier, gossipIntervalMillis, gossipNodes,
                    gossipToTheDeadMillis, streamTimeoutMillis, maxPacketSize, joinRetryInitialMillis,
                    joinRetryMaxMillis);
        }
    }
}
