package io.trelliskv.net;

import io.netty.channel.Channel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** The connected clients, for CLIENT LIST, INFO clients and the max-clients limit. */
public final class ClientRegistry {

    private final int maxClients;
    private final ConcurrentHashMap<Long, ClientConnection> clients = new ConcurrentHashMap<>();
    private final AtomicLong nextId = new AtomicLong(1);
    private final AtomicLong totalConnections = new AtomicLong();
    private final AtomicLong rejectedConnections = new AtomicLong();

    public ClientRegistry(int maxClients) {
        this.maxClients = maxClients;
    }

    /** Registers a new connection, or returns null if the client limit is reached. */
    ClientConnection register(Channel channel, long nowMillis) {
        if (clients.size() >= maxClients) {
            rejectedConnections.incrementAndGet();
            return null;
        }
        ClientConnection c = new ClientConnection(nextId.getAndIncrement(), channel, nowMillis);
        clients.put(c.id(), c);
        totalConnections.incrementAndGet();
        return c;
    }

    void unregister(ClientConnection c) {
        clients.remove(c.id());
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
