package io.trelliskv.replication;

/**
 * A client's request (a replica write, a forwarded command) that was not started because its sender's
 * {@link Deadline} had passed. Nothing of it was applied. The message names the request and how late it was.
 */
public final class DeadlinePassedException extends RuntimeException {

    public DeadlinePassedException(String message) {
        super(message, null, false, false);
    }
}
