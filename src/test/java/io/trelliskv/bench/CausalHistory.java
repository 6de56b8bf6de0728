package io.trelliskv.bench;

import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * The causal history a versioned key carries, for bench/causal.sh: for each number of writers W, one key
 * written by W writers spread over the given nodes, (a) each after reading the key (a read-modify-write
 * chain: one value survives) and (b) all with an empty context (concurrent: W siblings). Prints, per case,
 * the siblings VGET returns and the bytes of its causal context, the part of the stored entry that is
 * history rather than values. A dotted version vector grows with the number of nodes that coordinated
 * writes, not with the number of writers, which is what the table shows.
 *
 * <p>Arguments: {@code host:port[,host:port...] W [W...]}.
 */
public final class CausalHistory {

    private static final ProtocolCommand VGET = () -> "VGET".getBytes(StandardCharsets.US_ASCII);
    private static final ProtocolCommand VSET = () -> "VSET".getBytes(StandardCharsets.US_ASCII);

    private CausalHistory() {
    }

    public static void main(String[] args) {
        String[] targets = args[0].split(",");
        Jedis[] nodes = new Jedis[targets.length];
        for (int i = 0; i < targets.length; i++) {
            int colon = targets[i].lastIndexOf(':');
            nodes[i] = new Jedis(targets[i].substring(0, colon), Integer.parseInt(targets[i].substring(colon + 1)));
        }
        byte[] value = "v".repeat(100).getBytes(StandardCharsets.US_ASCII);
        String run = Long.toString(System.nanoTime(), 36);
        System.out.printf(Locale.ROOT, "%-8s | %-26s | %8s %14s%n", "writers", "case", "siblings", "context bytes");
        for (int a = 1; a < args.length; a++) {
            int writers = Integer.parseInt(args[a]);
            for (boolean chained : new boolean[] {true, false}) {
                byte[] key = ("history:" + run + ":" + writers + ":" + chained).getBytes(StandardCharsets.US_ASCII);
                for (int w = 0; w < writers; w++) {
                    Jedis node = nodes[w % nodes.length];
                    byte[] context = chained ? contextOf(node.sendCommand(VGET, key)) : new byte[0];
                    node.sendCommand(VSET, key, context, value);
                }
                List<?> reply = (List<?>) nodes[0].sendCommand(VGET, key);
                System.out.printf(Locale.ROOT, "%-8d | %-26s | %8d %14d%n", writers,
                        chained ? "each read before writing" : "all concurrent (no context)",
                        reply.size() - 1, contextOf(reply).length);
            }
        }
        for (Jedis node : nodes) {
            node.close();
        }
    }

    private static byte[] contextOf(Object vgetReply) {
        List<?> reply = (List<?>) vgetReply;
        return reply.isEmpty() ? new byte[0] : (byte[]) reply.get(0);
    }
}
