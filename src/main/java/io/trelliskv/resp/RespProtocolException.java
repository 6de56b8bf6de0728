package io.trelliskv.resp;

import io.netty.handler.codec.DecoderException;

/**
 * A client sent bytes that are not a RESP request. The message is Redis's error text without the
 * error code, for example {@code Protocol error: invalid bulk length}; the connection handler replies
 * {@code -ERR <message>} and closes the connection, as Redis does.
 */
public final class RespProtocolException extends DecoderException {

    public RespProtocolException(String message) {
        super(message);
    }
}
