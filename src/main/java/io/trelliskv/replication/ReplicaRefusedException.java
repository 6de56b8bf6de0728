package io.trelliskv.replication;

/**
 * A replica refused a batch of entries, for example because a version lies further in the future than
 * its clock allows: thrown where the replica applies them ({@link ReplicaService#apply}) and where a
 * coordinator reads the replica's answer. Retrying the same entries there would be refused again, so
 * such a write is not kept as a hint.
 */
public final class ReplicaRefusedException extends RuntimeException {

    public ReplicaRefusedException(String message) {
        super(message, null, false, false);
    }
}
