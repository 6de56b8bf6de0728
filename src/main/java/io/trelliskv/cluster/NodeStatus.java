package io.trelliskv.cluster;

/**
 * Where a node stands in ring ownership, gossiped in its membership metadata beside its tokens
 * ({@link TokenMeta}). Independent of liveness: a DEAD node keeps the status it last announced.
 *
 * <ul>
 * <li>{@link #NORMAL}: serves reads and writes for its ranges.</li>
 * <li>{@link #JOINING}: has tokens and takes writes for the ranges it will own, but is not yet read
 *     from and not routed to, while it streams those ranges from their current replicas.</li>
 * <li>{@link #LEAVING}: still owns (and serves) its ranges while it streams them to the nodes that
 *     will own them; writes go to those nodes too.</li>
 * </ul>
 */
public enum NodeStatus {
    // ONLY APPEND: the numeric values are part of the protocol (TokenMeta carries them).
    NORMAL(0),
    JOINING(1),
    LEAVING(2);

    /** The wire code. */
    final int code;

    NodeStatus(int code) {
        this.code = code;
    }

    /** The status for a wire code, or null if this build does not know it. */
    static NodeStatus fromCode(int code) {
        for (NodeStatus s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return null;
    }
}
