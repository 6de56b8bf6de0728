package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.command.VersionedCommands;
import io.trelliskv.common.ConfigException;
import io.trelliskv.common.Durations;
import io.trelliskv.net.NetConfig;
import io.trelliskv.persist.PersistConfig;
import io.trelliskv.storage.EngineConfig;

import java.util.Objects;

/**
 * Everything a node is started with. Each part checks its own options; this record checks the rules
 * between parts, so a node built anywhere (the command line, a test) has passed them all:
 * <ul>
 *   <li>a node whose keys have other replicas keeps tombstones longer than the hint window, or a hint
 *       replayed after the purge would bring a deleted key back;</li>
 *   <li>... and longer than the anti-entropy interval, or a replica that missed a delete would bring the
 *       key back after the other replicas purged its tombstone (a node that keeps the only copy, with
 *       replication factor 1, has nobody to tell and may remove deleted keys at once);</li>
 *   <li>a node bound to the wildcard address says which address its peers should use;</li>
 *   <li>a node that keeps its data on disk has a data directory to keep it in.</li>
 * </ul>
 *
 * @param net     the client-facing network settings (peers share the same port)
 * @param engine  the storage engine's settings
 * @param cluster how the node joins and takes part in a cluster
 * @param persist how it keeps its data on disk, in {@link ClusterConfig#dataDir()}
 * @param security who may talk to it: passwords, ACL file, protected mode
 * @param maxSiblings most siblings a versioned key may hold after a {@code VSET} ({@code --max-siblings}), >= 1
 */
public record NodeConfig(NetConfig net, EngineConfig engine, ClusterConfig cluster, PersistConfig persist,
                         SecurityConfig security, int maxSiblings) {

    /** The address that binds every interface, which peers cannot use to reach the node. */
    static final String WILDCARD_HOST = "0.0.0.0";

    public NodeConfig {
        Objects.requireNonNull(net, "net");
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(persist, "persist");
        Objects.requireNonNull(security, "security");
        ConfigException.require(maxSiblings >= 1, "maxSiblings", maxSiblings, ">= 1");
        if (persist.appendOnly() && cluster.dataDir() == null) {
            throw ConfigException.conflict("persist.appendOnly", "yes", "needs", "cluster.dataDir", null,
                    ": the directory to keep the data in");
        }
        if (cluster.replication().replicationFactor() > 1) {
            requireGraceLongerThan(engine.tombstoneGraceMillis(), "hints.windowMillis",
                    cluster.hints().windowMillis(), ", or a replayed hint could bring a deleted key back");
            requireGraceLongerThan(engine.tombstoneGraceMillis(), "antiEntropy.intervalMillis",
                    cluster.antiEntropy().intervalMillis(), ", or a replica that missed a delete could bring the key"
                            + " back after the other replicas purged its tombstone");
        }
        if (WILDCARD_HOST.equals(net.host()) && cluster.advertise() == null) {
            throw ConfigException.conflict("net.host", WILDCARD_HOST, "needs", "cluster.advertise", null,
                    ": the address peers should use");
        }
    }

    /** A node with the default sibling limit ({@link VersionedCommands#DEFAULT_MAX_SIBLINGS}). */
    public NodeConfig(NetConfig net, EngineConfig engine, ClusterConfig cluster, PersistConfig persist,
                      SecurityConfig security) {
        this(net, engine, cluster, persist, security, VersionedCommands.DEFAULT_MAX_SIBLINGS);
    }

    /** A node that keeps its data in memory only. */
    public NodeConfig(NetConfig net, EngineConfig engine, ClusterConfig cluster) {
        this(net, engine, cluster, PersistConfig.inMemory());
    }

    /** A node with the default security settings: no password, no ACL file, protected mode on. */
    public NodeConfig(NetConfig net, EngineConfig engine, ClusterConfig cluster, PersistConfig persist) {
        this(net, engine, cluster, persist, SecurityConfig.defaults());
    }

    private static void requireGraceLongerThan(long graceMillis, String other, long otherMillis, String reason) {
        if (graceMillis <= otherMillis) {
            throw ConfigException.conflict("engine.tombstoneGraceMillis", Durations.formatMillis(graceMillis),
                    "must be longer than", other, Durations.formatMillis(otherMillis), reason);
        }
    }
}
