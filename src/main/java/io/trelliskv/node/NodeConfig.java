package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.net.NetConfig;
import io.trelliskv.storage.EngineConfig;

/**
 * Everything a node is started with.
 *
 * @param net     the client-facing network settings (peers share the same port)
 * @param engine  the storage engine's settings
 * @param cluster how the node joins and takes part in a cluster
 */
public record NodeConfig(NetConfig net, EngineConfig engine, ClusterConfig cluster) {
}
