package io.trelliskv.membership;

/**
 * A packet or stream message that {@link Codec} refused. The receive path catches it, counts it by
 * {@link Reason} and drops the input; it never escapes to the transport. Carries no stack trace: it is
 * an expected outcome on a network anyone can send to, not a bug.
 */
public final class PacketRejectedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public enum Reason {
        /** Truncated, trailing bytes, unknown message type, or a field out of its range. */
        MALFORMED,
        /** A protocol version this node does not speak. */
        UNSUPPORTED_VERSION,
        /** Sent by a member of another cluster (different cluster name). */
        FOREIGN_CLUSTER
    }

    private final Reason reason;

    public PacketRejectedException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
