package io.trelliskv.net.peer;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Everything the shared port needs to accept peer connections: the peer settings, this node's hello
 * and the {@link PeerService} that answers requests. Given to the client server of the shared port
 * ({@code net.RespServer}); without one, peer connections are closed at their first byte.
 */
public final class PeerAcceptor {

    /** Most distinct (address, cluster) refusals remembered to log each once; past it, new ones are logged. */
    private static final int MAX_REMEMBERED_REFUSALS = 1024;

    private final PeerConfig config;
    /** This node's hello; replaced once when a node started on port 0 learns its port. */
    private volatile PeerHello self;
    private final PeerService service;
    /** "host cluster" pairs already logged as refused, so a foreign node retrying does not flood the log. */
    private final Set<String> refusalsLogged = ConcurrentHashMap.newKeySet();

    /**
     * @param config  peer settings; {@code config.clusterName()} must be {@code self.clusterName()}
     * @param self    this node's hello, sent back to every accepted peer
     * @param service answers the requests of accepted peers
     */
    public PeerAcceptor(PeerConfig config, PeerHello self, PeerService service) {
        this.config = Objects.requireNonNull(config, "config");
        this.self = Objects.requireNonNull(self, "self");
        this.service = Objects.requireNonNull(service, "service");
        if (!config.clusterName().equals(self.clusterName())) {
            throw new IllegalArgumentException("hello cluster: '" + self.clusterName() + "' (expected: the config's '"
                    + config.clusterName() + "')");
        }
    }

    public PeerConfig config() {
        return config;
    }

    /** The frame decoder of an accepted peer connection: it hands on in place what {@link #service()} reads so. */
    public PeerDecoder newDecoder() {
        return new PeerDecoder(config.maxFrameLength(), service::readsInPlace);
    }

    public PeerHello self() {
        return self;
    }

    /**
     * Replaces this node's hello: a node started on port 0 knows its port only once bound.
     * Peers that connect afterwards are greeted with it.
     */
    public void self(PeerHello hello) {
        if (!hello.clusterName().equals(self.clusterName()) || hello.nodeId() != self.nodeId()) {
            throw new IllegalArgumentException("hello: only the address may change (was " + self + ", got " + hello + ")");
        }
        this.self = hello;
    }

    public PeerService service() {
        return service;
    }

    /** True the first time a refusal of this peer address for this reason (or cluster) is seen: log it then. */
    public boolean firstRefusal(String peer, String cluster) {
        if (refusalsLogged.size() >= MAX_REMEMBERED_REFUSALS) {
            refusalsLogged.clear();
        }
        return refusalsLogged.add(peer + " " + cluster);
    }
}
