package io.trelliskv.net.peer;

/** A peer broke the wire protocol (bad magic, version, hello or frame); its connection is closed. */
public final class PeerProtocolException extends RuntimeException {

    public PeerProtocolException(String message) {
        super(message);
    }
}
