package io.trelliskv.cluster;

import io.trelliskv.membership.SwimConfig;
import io.trelliskv.replication.AntiEntropyConfig;
import io.trelliskv.replication.HintConfig;
import io.trelliskv.replication.ReplicationConfig;

import java.nio.file.Path;
import java.util.List;

/**
 * How a node takes part in a cluster.
 *
 * @param name      the cluster's name; peers with another name are refused, so two clusters never merge
 * @param seeds     host:port of nodes to join through; empty starts a new cluster
 * @param advertise the host peers use to reach this node; null means the bind address
 * @param vnodes    tokens (virtual nodes) this node takes on the ring
 * @param dataDir   where the node keeps its identity (id and tokens) across restarts; null keeps none
 * @param membership SWIM's intervals and multipliers; its cluster name is {@code name}
 * @param replication replication factor, default consistency levels, clock drift bound
 * @param hints      hinted handoff bounds and replay rate
 * @param antiEntropy how often and how hard anti-entropy repairs
 * @param rebalance  stream rate, automatic removal of dead nodes, settle time before streaming
 */
public record ClusterConfig(String name, List<String> seeds, String advertise, int vnodes, Path dataDir,
                            SwimConfig membership, ReplicationConfig replication, HintConfig hints,
                            AntiEntropyConfig antiEntropy, RebalanceConfig rebalance) {

    public static final String DEFAULT_NAME = "trellis";

    public ClusterConfig {
        seeds = List.copyOf(seeds);
        if (replication == null || hints == null || antiEntropy == null || rebalance == null) {
            throw new IllegalArgumentException("replication, hint, anti-entropy and rebalance settings must be given");
        }
        if (name == null || name.isEmpty() || name.length() > 64) {
            throw new IllegalArgumentException("cluster name '" + name + "' (expected: 1..64 characters)");
        }
        if (vnodes < 1 || vnodes > io.trelliskv.ring.TokenAllocator.MAX_VNODES) {
            throw new IllegalArgumentException("vnodes: " + vnodes + " (expected: 1.."
                    + io.trelliskv.ring.TokenAllocator.MAX_VNODES + ")");
        }
        if (!membership.clusterName().equals(name)) {
            throw new IllegalArgumentException("membership cluster name '" + membership.clusterName()
                    + "' (expected: '" + name + "')");
        }
        for (String seed : seeds) {
            if (!seed.matches("[^:\\s]+:\\d{1,5}") || Integer.parseInt(seed.substring(seed.lastIndexOf(':') + 1)) > 65535) {
                throw new IllegalArgumentException("invalid seed '" + seed + "' (expected: host:port)");
            }
        }
    }

    /** With the default rebalance settings. */
    public ClusterConfig(String name, List<String> seeds, String advertise, int vnodes, Path dataDir,
                         SwimConfig membership, ReplicationConfig replication, HintConfig hints,
                         AntiEntropyConfig antiEntropy) {
        this(name, seeds, advertise, vnodes, dataDir, membership, replication, hints, antiEntropy,
                RebalanceConfig.defaults());
    }

    /** With the default anti-entropy settings. */
    public ClusterConfig(String name, List<String> seeds, String advertise, int vnodes, Path dataDir,
                         SwimConfig membership, ReplicationConfig replication, HintConfig hints) {
        this(name, seeds, advertise, vnodes, dataDir, membership, replication, hints, AntiEntropyConfig.defaults());
    }

    /** With the default replication settings. */
    public ClusterConfig(String name, List<String> seeds, String advertise, int vnodes, Path dataDir,
                         SwimConfig membership) {
        this(name, seeds, advertise, vnodes, dataDir, membership, ReplicationConfig.defaults(), HintConfig.defaults());
    }

    /** The same with other replication settings. */
    public ClusterConfig withReplication(ReplicationConfig replication, HintConfig hints) {
        return new ClusterConfig(name, seeds, advertise, vnodes, dataDir, membership, replication, hints, antiEntropy,
                rebalance);
    }

    /** The same with other rebalance settings. */
    public ClusterConfig withRebalance(RebalanceConfig rebalance) {
        return new ClusterConfig(name, seeds, advertise, vnodes, dataDir, membership, replication, hints, antiEntropy,
                rebalance);
    }

    /** With memberlist's LAN defaults for membership. */
    public ClusterConfig(String name, List<String> seeds, String advertise, int vnodes, Path dataDir) {
        this(name, seeds, advertise, vnodes, dataDir, SwimConfig.lan(name));
    }

    /** A node on its own, as tests and a plain `trellis PORT` start it. */
    public static ClusterConfig standalone() {
        return new ClusterConfig(DEFAULT_NAME, List.of(), null, io.trelliskv.ring.TokenAllocator.DEFAULT_VNODES, null);
    }
}
