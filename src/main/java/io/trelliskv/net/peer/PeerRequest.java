package io.trelliskv.net.peer;

import java.util.Objects;

/**
 * A request frame on its way out of {@link PeerClient}: a {@link PeerFrame} whose body is a
 * {@link PeerPayload}, written into the frame's buffer only when the frame is encoded
 * ({@link PeerCodec#encodeRequest}). On the wire it is exactly the {@link PeerFrame} of the same fields.
 *
 * @param deadlineMillis as {@link PeerFrame#deadlineMillis()}
 */
public record PeerRequest(PeerMessageType type, long requestId, PeerPayload payload, long deadlineMillis) {

    public PeerRequest {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(payload, "payload");
        if (!type.isRequest() || type == PeerMessageType.DEADLINE) {
            throw new IllegalArgumentException("type: " + type + " (expected: a request type)");
        }
    }

    public boolean hasDeadline() {
        return deadlineMillis != PeerFrame.NO_DEADLINE;
    }

    /** This request without its deadline: how it goes to a peer that does not read deadlines. */
    public PeerRequest withoutDeadline() {
        return hasDeadline() ? new PeerRequest(type, requestId, payload, PeerFrame.NO_DEADLINE) : this;
    }
}
