package io.trelliskv.replication;

/**
 * A replica answered but refused a batch of entries, for example because a version lies further in
 * the future than its clock allows. Retrying the same entries there would be refused again, so such a
 * write is not kept as a hint.
 */
public final class ReplicaRefusedException extends RuntimeException {

    public ReplicaRefusedException(String message) {
        super(message, null, false, false);
    }
}
