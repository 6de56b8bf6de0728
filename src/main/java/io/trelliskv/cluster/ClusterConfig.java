package io.trelliskv.cluster;

import io.trelliskv.common.Address;
import io.trelliskv.common.ConfigException;
import io.trelliskv.membership.SwimConfig;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.replication.HintConfig;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.ring.TokenAllocator;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

import static io.trelliskv.common.ConfigException.require;

/**
 * How a node takes part in a cluster.
 *
 * @param name      the cluster's name; peers with another name are refused, so two clusters never merge
 * @param seeds     nodes to join through; empty starts a new cluster
 * @param advertise the host peers use to reach this node; null means the bind address
 * @param vnodes    tokens (virtual nodes) this node takes on the ring
 * @param dataDir   where the node keeps its identity (id and tokens) across restarts; null keeps none
 * @param membership SWIM's intervals and multipliers; its cluster name is {@code name}
 * @param replication replication factor, default consistency levels, clock drift bound
 * @param hints      hinted handoff bounds and replay rate
 * @param antiEntropy how often and how hard anti-entropy repairs
 * @param rebalance  stream rate, automatic removal of dead nodes, settle time before streaming
 */
public record ClusterConfig(String name, List<Address> seeds, String advertise, int vnodes, Path dataDir,
                            SwimConfig membership, ReplicationConfig replication, HintConfig hints,
                            AntiEntropyConfig antiEntropy, RebalanceConfig rebalance) {

    public static final String DEFAULT_NAME = "trellis";

    public ClusterConfig {
        require(name != null && !name.isEmpty() && name.length() <= 64, "name",
                name == null ? null : "'" + name + "'", "1..64 characters");
        seeds = List.copyOf(seeds);
        for (Address seed : seeds) {
            require(seed.port() > 0, "seeds", seed, "a listening port, 1..65535");
        }
        require(vnodes >= 1 && vnodes <= TokenAllocator.MAX_VNODES, "vnodes", vnodes,
                "1.." + TokenAllocator.MAX_VNODES);
        Objects.requireNonNull(membership, "membership");
        Objects.requireNonNull(replication, "replication");
        Objects.requireNonNull(hints, "hints");
        Objects.requireNonNull(antiEntropy, "antiEntropy");
        Objects.requireNonNull(rebalance, "rebalance");
        if (!membership.clusterName().equals(name)) {
            throw ConfigException.conflict("membership.clusterName", "'" + membership.clusterName() + "'",
                    "differs from", "name", "'" + name + "'", ": members would drop each other's packets");
        }
    }

    /** With the default rebalance settings. */
    public ClusterConfig(String name, List<Address> seeds, String advertise, int vnodes, Path dataDir,
                         SwimConfig membership, ReplicationConfig replication, HintConfig hints,
                         AntiEntropyConfig antiEntropy) {
        this(name, seeds, advertise, vnodes, dataDir, membership, replication, hints, antiEntropy,
                RebalanceConfig.defaults());
    }

    /** With the default anti-entropy settings. */
    public ClusterConfig(String name, List<Address> seeds, String advertise, int vnodes, Path dataDir,
                         SwimConfig membership, ReplicationConfig replication, HintConfig hints) {
        this(name, seeds, advertise, vnodes, dataDir, membership, replication, hints, AntiEntropyConfig.defaults());
    }

    /** With the default replication settings. */
    public ClusterConfig(String name, List<Address> seeds, String advertise, int vnodes, Path dataDir,
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
    public ClusterConfig(String name, List<Address> seeds, String advertise, int vnodes, Path dataDir) {
        this(name, seeds, advertise, vnodes, dataDir, SwimConfig.lan(name));
    }

    /**
     * A node on its own that keeps the only copy of its keys (replication factor 1), so it may remove
     * deleted keys at once ({@code EngineConfig.unbounded()}); tests start one this way.
     */
    public static ClusterConfig standalone() {
        return new ClusterConfig(DEFAULT_NAME, List.of(), null, TokenAllocator.DEFAULT_VNODES, null,
                SwimConfig.lan(DEFAULT_NAME), ReplicationConfig.defaults().withReplicationFactor(1),
                HintConfig.defaults());
    }
}
