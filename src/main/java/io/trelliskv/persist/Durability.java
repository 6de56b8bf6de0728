package io.trelliskv.persist;

import java.util.concurrent.CompletableFuture;

/**
 * What the request path and the replica side ask of a node's log: may a write be applied now, and when
 * may it be acknowledged. {@link Persistence} answers from its {@link WriteAheadLog}; {@link #NONE} is a
 * node that keeps its data in memory only.
 */
public interface Durability {

    /** In memory only: every write may be applied, and acknowledged at once. */
    Durability NONE = new Durability() {
        @Override
        public void checkWritable() {
        }

        @Override
        public boolean acknowledgesDurably() {
            return false;
        }

        @Override
        public CompletableFuture<Void> durable() {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public boolean onDisk() {
            return false;
        }
    };

    /** Whether the node keeps its data on disk (so what else it must keep across restarts, hints, goes there too). */
    default boolean onDisk() {
        return true;
    }

    /**
     * Returns if writes may be applied; throws the {@link LogWriteFailedException} (a {@code MISCONF} text)
     * to refuse them with while the log cannot write.
     */
    void checkWritable();

    /** Whether acknowledgements wait for {@link #durable()} ({@code appendfsync always}). */
    boolean acknowledgesDurably();

    /**
     * Completes once every write applied so far is durable (forced to disk under {@code always}; at once
     * otherwise), or fails with the log's error. Completes on the log's thread: what depends on it must
     * hand itself back to its own thread.
     */
    CompletableFuture<Void> durable();
}
