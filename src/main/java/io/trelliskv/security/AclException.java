package io.trelliskv.security;

/** A rule or an ACL file that cannot be applied; the message is the reason, in Redis's words where it has them. */
public final class AclException extends RuntimeException {

    public AclException(String message) {
        super(message);
    }
}
