package io.trelliskv.membership;

/** The kinds of membership messages on the wire, by their one-byte codes. */
enum MessageType {
    // ONLY APPEND: the numeric values are part of the protocol.
    PING(0),
    INDIRECT_PING(1),
    ACK(2),
    NACK(3),
    ALIVE(4),
    SUSPECT(5),
    DEAD(6),
    LEFT(7),
    PUSH_PULL(8),
    REMOVED(9);

    private static final MessageType[] BY_CODE = values();

    final int code;

    MessageType(int code) {
        this.code = code;
    }

    /** The type for a wire code, or {@code null} if there is none (a newer protocol, or garbage). */
    static MessageType fromCode(int code) {
        return code >= 0 && code < BY_CODE.length && BY_CODE[code].code == code ? BY_CODE[code] : null;
    }
}
