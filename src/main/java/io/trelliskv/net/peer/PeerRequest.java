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

    /**
     * This request as a peer takes it: without its deadline if the peer does not read deadlines, its payload
     * without the client's user ({@link PeerPayload#withoutUser()}) if the peer does not read users.
     */
    public PeerRequest forPeer(boolean readsDeadlines, boolean readsUsers) {
        PeerPayload p = readsUsers ? payload : payload.withoutUser();
        long deadline = readsDeadlines ? deadlineMillis : PeerFrame.NO_DEADLINE;
        return p == payload && deadline == deadlineMillis ? this : new PeerRequest(type, requestId, p, deadline);
    }
}
