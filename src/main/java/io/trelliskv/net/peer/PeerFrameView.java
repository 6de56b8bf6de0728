package io.trelliskv.net.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

import java.util.Objects;

/**
 * A request frame whose payload is a view of the connection's read buffer, not a copy: what
 * {@link PeerDecoder} hands on for the request types its service reads in place
 * ({@link PeerService#readsInPlace}), so that a batch of replicated writes is decoded straight from the
 * bytes the socket read. It holds a reference to that buffer: {@link PeerServerHandler} releases it once
 * the service has returned (the pipeline's tail would, if nothing took it).
 */
public final class PeerFrameView extends DefaultByteBufHolder {

    private final PeerMessageType type;
    private final long requestId;
    private final long deadlineMillis;

    /** @param deadlineMillis as {@link PeerFrame#deadlineMillis()} */
    public PeerFrameView(PeerMessageType type, long requestId, ByteBuf payload, long deadlineMillis) {
        super(payload);
        this.type = Objects.requireNonNull(type, "type");
        this.requestId = requestId;
        this.deadlineMillis = deadlineMillis;
        if (!type.isRequest()) {
            throw new IllegalArgumentException("view of a " + type + " frame (expected: requests only)");
        }
    }

    public PeerMessageType type() {
        return type;
    }

    public long requestId() {
        return requestId;
    }

    public long deadlineMillis() {
        return deadlineMillis;
    }

    @Override
    public PeerFrameView replace(ByteBuf content) {
        return new PeerFrameView(type, requestId, content, deadlineMillis);
    }

    @Override
    public String toString() {
        return type + "/" + requestId + " (" + content().readableBytes() + " bytes in place)";
    }
}
