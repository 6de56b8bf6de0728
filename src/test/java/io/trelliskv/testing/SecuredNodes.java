package io.trelliskv.testing;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Clock;
import io.trelliskv.net.NetConfig;
import io.trelliskv.node.Node;
import io.trelliskv.node.NodeConfig;
import io.trelliskv.node.SecurityConfig;
import io.trelliskv.persist.PersistConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;

import java.io.IOException;

/** A started in-process node on a free loopback port, in memory only, with the given security settings. */
public final class SecuredNodes {

    private SecuredNodes() {
    }

    public static Node start(SecurityConfig security, ClusterConfig cluster) throws IOException {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 2, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        Node node = new Node(new NodeConfig(net, EngineConfig.defaults(), cluster, PersistConfig.inMemory(), security),
                Clock.SYSTEM);
        try {
            node.start();
        } catch (IOException | RuntimeException e) {
            node.close();
            throw e;
        }
        return node;
    }

    public static Node start(SecurityConfig security) throws IOException {
        return start(security, ClusterConfig.standalone());
    }
}
