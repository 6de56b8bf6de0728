package io.trelliskv.request;

import io.trelliskv.net.DeferredReply;

import java.util.concurrent.CompletableFuture;

/**
 * The reply to come of a client's command, which the {@link Dispatcher} can hand straight to the
 * connection's {@link DeferredReply} slot: the reply goes there when it completes, without a completion
 * stage (a dependent future and its callback) made for every command only to pass it on. It is still a
 * future for everything else that waits for the command (the {@link Session}'s order, a later command on
 * its keys).
 *
 * <p>Thread-safety: {@link #deliverTo} (on the connection's event loop) and {@link #complete} (on any
 * thread) may race; the monitor makes the reply reach the slot exactly once either way.
 */
class ReplyToCome extends CompletableFuture<byte[]> {

    /** Where the reply goes once complete; null until {@link #deliverTo}. Guarded by this. */
    private DeferredReply slot;

    /**
     * Completes {@code slot} with the reply once it is complete (at once if it is already). A reply that
     * completes exceptionally leaves the slot alone, as {@code thenAccept(slot::complete)} would.
     */
    void deliverTo(DeferredReply slot) {
        synchronized (this) {
            if (!isDone()) {
                this.slot = slot; // complete() delivers
                return;
            }
        }
        if (!isCompletedExceptionally()) {
            slot.complete(join());
        }
    }

    @Override
    public boolean complete(byte[] reply) {
        if (!super.complete(reply)) {
            return false;
        }
        DeferredReply s;
        synchronized (this) {
            s = slot;
        }
        if (s != null) {
            s.complete(reply);
        }
        return true;
    }
}
