package io.trelliskv.membership;

/** A change in this node's view of a member, for the ring and routing to act on. */
public record MemberEvent(Type type, Member member) {

    public enum Type {
        /** First heard of; {@link Member#state()} says in what state (a joining node learns of dead ones too). */
        JOIN,
        /** Back to ALIVE from SUSPECT, DEAD or LEFT, on the member's own word (a newer incarnation). */
        ALIVE,
        SUSPECT,
        DEAD,
        LEFT,
        /** Still ALIVE, with a new address or metadata. */
        UPDATE,
        /** Explicitly removed from the cluster after being DEAD or LEFT. */
        REMOVED
    }
}
