package io.trelliskv.repair;

/**
 * An anti-entropy exchange with one peer for one range could not finish: the peer was unreachable,
 * timed out, answered with an error or a malformed reply, or refused the entries sent to it. The round
 * goes on with the next peer and range; the next round tries again.
 */
public final class ExchangeFailedException extends RuntimeException {

    public ExchangeFailedException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
