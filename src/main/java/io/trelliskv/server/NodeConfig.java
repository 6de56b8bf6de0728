package io.trelliskv.server;

import io.trelliskv.net.NetConfig;
import io.trelliskv.storage.EngineConfig;

import java.util.List;

/**
 * Everything a node is started with.
 *
 * @param net    the client-facing network settings
 * @param engine the storage engine's settings
 * @param seeds  seed addresses (host:port) given on the command line; clustering arrives later, so
 *               for now they are reported and not contacted
 */
public record NodeConfig(NetConfig net, EngineConfig engine, List<String> seeds) {

    public NodeConfig {
        seeds = List.copyOf(seeds);
    }
}
