package io.trelliskv.common;

/**
 * An operator's request refused in the node's current state: a repair before anti-entropy runs, the
 * removal of a live member, a second bootstrap. The message says why, for the operator; the admin
 * command turns it into an {@code ERR} reply. An expected outcome, not a bug: no stack trace.
 *
 * <p>It is an {@link IllegalStateException} so that callers written when refusals were plain
 * {@code IllegalStateException}s keep working; new code catches this type, never its parent, so a bug
 * is not reported to the operator as a refusal.
 */
public final class RefusedException extends IllegalStateException {

    public RefusedException(String message) {
        super(message);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
