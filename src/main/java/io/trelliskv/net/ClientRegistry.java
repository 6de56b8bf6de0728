package io.trelliskv.net;

import io.netty.channel.Channel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The connected clients, for CLIENT LIST, INFO clients and the max-clients limit.
 *
 * <p><b>Peers count too</b>, as Redis counts its replicas: {@code --maxclients} bounds every connection
 * accepted on the node's ports, clients and peers together. A connection is registered as a client at
 * accept (a peer is told apart only by its first byte) and, once {@code ProtocolDetector} sees a peer,
 * its place passes to the peer count ({@link #clientBecamePeer}), so it goes on counting against the limit
 * for as long as it is open. A connection refused at accept whose first byte then shows a peer is counted
 * in {@link #rejectedPeerConnections()} as well as {@link #rejectedConnections()}.
 */
public final class ClientRegistry {

    private final int maxClients;
    private final ConcurrentHashMap<Long, ClientConnection> clients = new ConcurrentHashMap<>();
    /** Open peer connections accepted on the shared port; each holds a place under {@link #maxClients}. */
    private final AtomicInteger peers = new AtomicInteger();
    /**
     * Places taken under {@link #maxClients}: the clients and the peers. Taken by compare-and-set, so that
     * connections accepted at once on several event loops never take more places than there are.
     */
    private final AtomicInteger places = new AtomicInteger();
    private final AtomicLong nextId = new AtomicLong(1);
    private final AtomicLong totalConnections = new AtomicLong();
    private final AtomicLong rejectedConnections = new AtomicLong();
    private final AtomicLong rejectedPeerConnections = new AtomicLong();
    private final AtomicLong refusedPlaintextClients = new AtomicLong();

    public ClientRegistry(int maxClients) {
        this.maxClients = maxClients;
    }

    /** Registers a new connection, or returns null if the client limit is reached. */
    ClientConnection register(Channel channel, long nowMillis) {
        int taken;
        do {
            taken = places.get();
            if (taken >= maxClients) {
                rejectedConnections.incrementAndGet();
                return null;
            }
        } while (!places.compareAndSet(taken, taken + 1));
        ClientConnection c = new ClientConnection(nextId.getAndIncrement(), channel, nowMillis);
        clients.put(c.id(), c);
        totalConnections.incrementAndGet();
        return c;
    }

    void unregister(ClientConnection c) {
        if (clients.remove(c.id()) != null) {
            places.decrementAndGet(); // a connection that became a peer gives its place back in peerClosed
        }
    }

    /** A connection registered as {@code c} turned out to be a peer: it keeps its place, as a peer. */
    void clientBecamePeer(ClientConnection c) {
        peers.incrementAndGet();
        clients.remove(c.id());
    }

    /** A peer connection counted by {@link #clientBecamePeer} has closed. */
    void peerClosed() {
        peers.decrementAndGet();
        places.decrementAndGet();
    }

    /** A connection refused at accept (already counted in {@link #rejectedConnections()}) was a peer. */
    void rejectedPeer() {
        rejectedPeerConnections.incrementAndGet();
    }

    /** A RESP client on the plain port was refused: it serves none ({@code --tls-clients-only yes}). */
    void refusedPlaintextClient() {
        refusedPlaintextClients.incrementAndGet();
    }

    /** Clients refused on the plain port under {@code --tls-clients-only yes} (INFO {@code plaintext_clients_refused}). */
    public long refusedPlaintextClients() {
        return refusedPlaintextClients.get();
    }

    /** Open peer connections accepted by this node (INFO {@code connected_peers}). */
    public int connectedPeers() {
        return peers.get();
    }

    /** Peer connections refused because the node had {@code --maxclients} connections open. */
    public long rejectedPeerConnections() {
        return rejectedPeerConnections.get();
    }

    public int connected() {
        return clients.size();
    }

    public int maxClients() {
        return maxClients;
    }

    public long totalConnections() {
        return totalConnections.get();
    }

    public long rejectedConnections() {
        return rejectedConnections.get();
    }

    /** A snapshot of the connected clients, ordered by id. */
    public List<ClientConnection> list() {
        Collection<ClientConnection> values = clients.values();
        List<ClientConnection> list = new ArrayList<>(values);
        list.sort((a, b) -> Long.compare(a.id(), b.id()));
        return list;
    }
}
