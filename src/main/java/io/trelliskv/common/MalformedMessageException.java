package io.trelliskv.common;

/**
 * A peer sent bytes that do not decode: truncated, trailing bytes, a count or a code out of its range.
 * The codecs of peer messages throw it, saying what was wrong ({@code keys reply: 3 keys in 2 bytes});
 * nothing is applied from a malformed message, and the exchange with that peer fails. It is an expected
 * outcome on a network, not a bug, so it carries no stack trace.
 *
 * <p>Not an {@link IllegalArgumentException}: callers catch this type, so a bug elsewhere (a bad argument
 * of the code's own making) is never mistaken for a peer's bad message.
 */
public final class MalformedMessageException extends RuntimeException {

    public MalformedMessageException(String message) {
        super(message);
    }

    public MalformedMessageException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
