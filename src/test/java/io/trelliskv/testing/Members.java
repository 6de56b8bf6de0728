package io.trelliskv.testing;

import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.util.SafeEncoder;

/**
 * The MEMBERS table as the process tests read it: a header, then one row per member,
 * {@code id address state incarnation ownership [(this node)]}.
 */
public final class Members {

    private static final ProtocolCommand MEMBERS = () -> SafeEncoder.encode("MEMBERS");

    private Members() {
    }

    /** The MEMBERS text of the node {@code j} is connected to. */
    public static String of(Jedis j) {
        return SafeEncoder.encode((byte[]) j.sendCommand(MEMBERS));
    }

    /** The id column of the {@code (this node)} row, as MEMBERS prints it (16 hex digits). */
    public static String selfId(String text) {
        return text.lines().filter(l -> l.endsWith("(this node)")).map(l -> l.trim().split("\\s+")[0]).findFirst()
                .orElseThrow(() -> new AssertionError("no '(this node)' row in MEMBERS:\n" + text));
    }

    /** The state column of the row whose id (as MEMBERS prints it) is {@code id}; null if there is none. */
    public static String stateOf(String text, String id) {
        return text.lines().map(l -> l.trim().split("\\s+")).filter(f -> f.length >= 3 && f[0].equals(id))
                .map(f -> f[2]).findFirst().orElse(null);
    }
}
