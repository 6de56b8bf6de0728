package io.trelliskv.net.peer;

/**
 * The kinds of frame peers exchange after the hello. A request carries a request id chosen by its
 * sender; its answer, {@link #REPLY} or {@link #ERROR_REPLY}, carries the same id.
 */
public enum PeerMessageType {
    // ONLY APPEND: the numeric values are part of the protocol.

    /** A membership push-pull exchange: request and reply are opaque {@code membership.Codec} messages. */
    SWIM_STREAM(1, true),
    /** A client command forwarded to a node that owns its key, to be run there once (never forwarded on). */
    FORWARD(2, true),
    /** The successful answer to the request with the same id; the payload is the request type's reply. */
    REPLY(3, false),
    /** The failed answer to the request with the same id; the payload is a UTF-8 message for operators. */
    ERROR_REPLY(4, false),
    /** Versioned entries for a replica to merge (a write, read repair, a hint): {@code replication.ReplicaCodec}. */
    REPLICA_WRITE(5, true),
    /** A coordinator asks a replica for its versions of keys: {@code replication.ReplicaCodec}. */
    REPLICA_READ(6, true),
    /** Anti-entropy asks a replica to compare its Merkle tree of a range: {@code replication.AntiEntropyCodec}. */
    ANTI_ENTROPY_TREE(7, true),
    /** Anti-entropy asks a replica for its (key, version) pairs in runs of leaves: {@code replication.AntiEntropyCodec}. */
    ANTI_ENTROPY_KEYS(8, true),
    /** A node pulling a token range (bootstrap, removal) asks a replica for a batch of it: {@code replication.StreamCodec}. */
    STREAM_RANGE(9, true),
    /** FLUSHALL: drop everything older than the version in the payload ([long hlc][long node]), then ack. */
    FLUSH(10, true),
    /**
     * A request with a deadline, wrapped: {@code [long deadline, epoch ms of the sender's clock][u8 the
     * request's type][the request's payload]}. Sent only to a peer whose hello is
     * {@link PeerCodec#VERSION_WITH_DEADLINES} or later; decoded into the request it wraps, with its
     * deadline ({@link PeerFrame#deadlineMillis()}), so no service ever sees this type.
     */
    DEADLINE(11, true),
    /**
     * A dialer's answer to the acceptor's challenge ({@link PeerCodec#VERSION_WITH_CHALLENGE}): its first frame, an
     * HMAC over both sides' nonces and ids ({@code security.PeerAuthenticator}), before which the acceptor handles
     * no request. Not answered.
     */
    AUTH_RESPONSE(12, false);

    private static final PeerMessageType[] BY_CODE = new PeerMessageType[256];

    static {
        for (PeerMessageType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;
    private final boolean request;

    PeerMessageType(int code, boolean request) {
        this.code = code;
        this.request = request;
    }

    /** The byte that stands for this type on the wire. */
    public int code() {
        return code;
    }

    /** True for requests, which are answered; false for the answers themselves. */
    public boolean isRequest() {
        return request;
    }

    /** The type for a wire code, or null if this build does not know it. */
    public static PeerMessageType fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
