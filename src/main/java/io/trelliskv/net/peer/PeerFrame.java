package io.trelliskv.net.peer;

import java.util.Objects;

/**
 * One message on a peer connection after the hello.
 *
 * @param type      what the frame is
 * @param requestId the sender's id for a request; for {@link PeerMessageType#REPLY} and
 *                  {@link PeerMessageType#ERROR_REPLY} the id of the request answered
 * @param payload   the body, opaque to the codec; never null (may be empty)
 * @param deadlineMillis for a request, the moment (epoch ms of the sender's wall clock) after which the
 *                  sender no longer waits for its answer, or {@link #NO_DEADLINE}; travels in a
 *                  {@link PeerMessageType#DEADLINE} envelope, only to peers that read it
 */
public record PeerFrame(PeerMessageType type, long requestId, byte[] payload, long deadlineMillis) {

    /** The deadline of a request the receiver never drops for its age (what older peers send). */
    public static final long NO_DEADLINE = 0;

    public PeerFrame {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(payload, "payload");
        if (deadlineMillis != NO_DEADLINE && !type.isRequest()) {
            throw new IllegalArgumentException("deadline on a " + type + " frame (expected: requests only)");
        }
    }

    /** A frame without a deadline. */
    public PeerFrame(PeerMessageType type, long requestId, byte[] payload) {
        this(type, requestId, payload, NO_DEADLINE);
    }

    public boolean hasDeadline() {
        return deadlineMillis != NO_DEADLINE;
    }

    /** This request without its deadline: how it goes to a peer that does not read deadlines. */
    public PeerFrame withoutDeadline() {
        return hasDeadline() ? new PeerFrame(type, requestId, payload) : this;
    }
}
