package io.trelliskv.net.peer;

import java.util.Objects;

/**
 * One message on a peer connection after the hello.
 *
 * @param type      what the frame is
 * @param requestId the sender's id for a request; for {@link PeerMessageType#REPLY} and
 *                  {@link PeerMessageType#ERROR_REPLY} the id of the request answered
 * @param payload   the body, opaque to the codec; never null (may be empty)
 */
public record PeerFrame(PeerMessageType type, long requestId, byte[] payload) {

    public PeerFrame {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(payload, "payload");
    }
}
