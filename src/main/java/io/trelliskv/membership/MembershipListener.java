package io.trelliskv.membership;

/**
 * Receives member state changes. Called on the {@link Swim} thread, in the order the changes happen;
 * it must return quickly and must not call back into {@code Swim} from another thread.
 */
@FunctionalInterface
public interface MembershipListener {

    MembershipListener NONE = event -> { };

    void onEvent(MemberEvent event);
}
