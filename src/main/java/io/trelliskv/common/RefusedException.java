package io.trelliskv.common;

/**
 * An operator's request refused in the node's current state: a repair before anti-entropy runs, the
 * removal of a live member, a second bootstrap. The message says why, for the operator; the admin
 * command turns it into an {@code ERR} reply. An expected outcome, not a bug: no stack trace.
 *
 * <p>Not an {@link IllegalStateException}: callers catch this type, so a bug (an illegal state of the
 * code's own making) is never reported to the operator as a refusal.
 */
public final class RefusedException extends RuntimeException {

    public RefusedException(String message) {
        super(message);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
