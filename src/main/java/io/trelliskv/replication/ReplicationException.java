package io.trelliskv.replication;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A read or write that could not reach the replicas its consistency level asks for. The message is
 * the error reply a client sees, starting with its code: {@code UNAVAILABLE} (too few live replicas,
 * refused before anything was done), {@code TIMEOUT} (too few answered in time; a timed-out write may
 * or may not have been applied) or {@code REFUSED} (a replica refused the version, e.g. for clock drift).
 */
public final class ReplicationException extends RuntimeException {

    /** Longest quotation of a key in a message, in characters. */
    private static final int MAX_KEY_CHARS = 128;

    private ReplicationException(String message) {
        super(message, null, false, false);
    }

    static ReplicationException unavailable(byte[] key, ConsistencyLevel level, boolean write, int required,
                                            int alive) {
        return new ReplicationException("UNAVAILABLE " + (write ? "write" : "read") + " of key '" + quote(key)
                + "' at " + level + " needs " + required + " live replica" + (required == 1 ? "" : "s")
                + ", " + alive + " alive");
    }

    static ReplicationException timeout(byte[] key, ConsistencyLevel level, boolean write, int acked,
                                         int required) {
        return new ReplicationException("TIMEOUT " + (write ? "write" : "read") + " of key '" + quote(key)
                + "' at " + level + ": " + acked + " of " + required + " replicas answered in time"
                + (write ? "; the write may or may not have been applied" : ""));
    }

    /**
     * A read below the caller's floor (its own last write of the key, or of keys sharing its floor) that no replica
     * answering in time met: it waits for every replica, as the write may be on any one of them, and answering
     * with an older value would break read-your-writes.
     */
    static ReplicationException floorNotMet(byte[] key, ConsistencyLevel level, int answered, int replicas) {
        return new ReplicationException("TIMEOUT read of key '" + quote(key) + "' at " + level + ": " + answered
                + " of " + replicas + " replicas answered in time, none with this connection's last write of the key"
                + " (a replica that did not answer may hold it)");
    }

    static ReplicationException refused(byte[] key, String node, String reason) {
        return new ReplicationException("REFUSED replica " + node + " refused the write of key '" + quote(key)
                + "': " + reason);
    }

    /**
     * A write refused before it ran: the connection's earlier writes of the key (or of keys sharing its floor)
     * are stamped {@code drift} ms ahead of this node's clock, past the bound; stamped here, the write would be
     * ordered before them.
     */
    public static ReplicationException floorAhead(byte[] key, long drift, long maxDrift) {
        return new ReplicationException("REFUSED write of key '" + quote(key) + "': this connection wrote it (or a"
                + " key sharing its read-your-writes floor) at a version " + drift + " ms ahead of this node's clock"
                + " (max drift " + maxDrift + " ms); stamped here now, this write would be ordered before that one;"
                + " retry once the clocks agree");
    }

    /**
     * A read refused: a replica holds the key at a version {@code drift} ms ahead of this node's clock, past the
     * bound, which this node neither takes nor may answer or act as if it did not exist.
     */
    static ReplicationException versionAhead(byte[] key, String node, long drift, long maxDrift) {
        return new ReplicationException("REFUSED read of key '" + quote(key) + "': replica " + node + " holds it"
                + " at a version " + drift + " ms ahead of this node's clock (max drift " + maxDrift + " ms)");
    }

    /**
     * A FLUSHALL applied here (and on {@code live - missing.size()} members in all) that some live members
     * did not acknowledge; each will apply it when it hears of it through gossip.
     *
     * @param missing each member that did not acknowledge, with why
     */
    public static ReplicationException flushTimeout(int live, List<String> missing) {
        return new ReplicationException("TIMEOUT flush applied on " + (live - missing.size()) + " of " + live
                + " live nodes; " + String.join("; ", missing)
                + (missing.size() == 1 ? "; it will apply it" : "; each will apply it") + " when it hears of it");
    }

    static String quote(byte[] key) {
        String s = new String(key, StandardCharsets.UTF_8);
        s = s.replace('\r', ' ').replace('\n', ' ');
        return s.length() <= MAX_KEY_CHARS ? s : s.substring(0, MAX_KEY_CHARS) + "...";
    }
}
