package io.trelliskv.harness;

import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.util.SafeEncoder;

import java.util.List;
import java.util.Random;

/**
 * One client's connections of the counter and versioned workloads: at most one per node, opened on
 * first use at the client's consistency level, dropped after an error that is not a reply (its state is
 * then unknown) and reopened as a new session. The node of each operation is a random live one.
 */
final class ClientConnections implements AutoCloseable {

    private final int client;
    private final Nodes nodes;
    private final String level;
    private final Jedis[] connections;
    /** Connections opened so far, per node: a new connection is a new session. */
    private final int[] generation;

    ClientConnections(int client, Nodes nodes, String level) {
        this.client = client;
        this.nodes = nodes;
        this.level = level;
        this.connections = new Jedis[nodes.count() + 1];
        this.generation = new int[nodes.count() + 1];
    }

    String level() {
        return level;
    }

    /** A random node among the live ones. */
    int pickNode(Random random) {
        List<Integer> live = nodes.live();
        return live.get(random.nextInt(live.size()));
    }

    /** The session an operation on {@code node} runs in, as the history names it: {@code client@node.n}. */
    String session(int node) {
        return client + "@" + node + "." + generation[node];
    }

    /** The open connection to {@code node}, or a new one; a failed connect pauses as the other clients do. */
    Jedis to(int node) {
        if (connections[node] == null) {
            Jedis j = null;
            try {
                j = nodes.client(node, Workload.CONNECT_TIMEOUT_MILLIS, Workload.SOCKET_TIMEOUT_MILLIS);
                j.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), level);
            } catch (RuntimeException e) {
                Workload.closeQuietly(j);
                Nodes.sleep(Workload.RECONNECT_PAUSE_MILLIS);
                throw e;
            }
            connections[node] = j;
            generation[node]++;
        }
        return connections[node];
    }

    /** After an error that is not a reply, the connection's state is unknown: open a new one next time. */
    void drop(int node, RuntimeException e) {
        if (!(e instanceof JedisDataException)) {
            Workload.closeQuietly(connections[node]);
            connections[node] = null;
        }
    }

    @Override
    public void close() {
        for (Jedis j : connections) {
            Workload.closeQuietly(j);
        }
    }
}
