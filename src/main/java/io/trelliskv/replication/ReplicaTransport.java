package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.storage.Entry;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * How a coordinator reaches the other replicas of a key. The node implements it over pooled peer
 * connections; tests implement it over an in-memory network with a fake clock.
 *
 * <p>Every future completes (the transport owns the timeout), on any thread: normally, or
 * exceptionally with a {@link java.util.concurrent.TimeoutException} or an I/O failure (the replica may
 * or may not have applied the entries; they are worth keeping as hints) or a
 * {@link ReplicaRefusedException} (the replica answered and applied nothing; hints would be refused
 * again).
 */
public interface ReplicaTransport {

    /**
     * Applies versioned entries (values and tombstones) on {@code nodeId} through its last-writer-wins
     * merge. The replica refuses the whole batch if any entry's version is further ahead of its clock
     * than it allows. Completes once the replica has applied them.
     */
    CompletableFuture<Void> write(long nodeId, List<Entry> entries);

    /** Told how each replica of a {@link #write(List, List, WriteAcks)} answered. */
    @FunctionalInterface
    interface WriteAcks {
        /**
         * The replica at {@code index} of the nodes written to has answered: applied ({@code failure} null),
         * or failed as a future of {@link #write(long, List)} fails. Called once per replica, on any thread.
         */
        void answered(int index, Throwable failure);
    }

    /**
     * {@link #write(long, List)} of one batch to several replicas (a coordinator's write of a key to its
     * other replicas), which a transport may encode once and coalesce with other writes; each replica's
     * answer goes to {@code acks} with its index in {@code nodeIds}. A callback rather than a future per
     * replica: this is the hot path of every replicated write. Never throws.
     */
    default void write(List<Long> nodeIds, List<Entry> entries, WriteAcks acks) {
        for (int n = 0; n < nodeIds.size(); n++) {
            int index = n;
            CompletableFuture<Void> ack;
            try {
                ack = write(nodeIds.get(n), entries);
            } catch (RuntimeException e) {
                ack = CompletableFuture.failedFuture(e);
            }
            ack.whenComplete((ok, failure) -> acks.answered(index, failure));
        }
    }

    /**
     * Asks {@code nodeId} for its versions of {@code keys}. {@code known[i]} is the entry the
     * coordinator already has for {@code keys.get(i)} (null if none; for a live counter, an entry at its
     * epoch, which is what an entry must be newer than to outrank it): the replica sends the whole entry
     * only when its own is newer, and otherwise just its version, which saves the value's bytes.
     * Completes with one {@link ReadReply} per key, in order.
     */
    CompletableFuture<List<ReadReply>> read(long nodeId, List<Key> keys, Entry[] known);

    /** Told how a replica of a {@link #read(long, List, Entry[], long, ReadAnswers)} answered. */
    interface ReadAnswers {
        /**
         * The replica answered ({@code failure} null) with one {@link ReadReply} per key, in order, from
         * {@code replies.get(from)} on (a transport that coalesced reads passes each its part of one answer, not a
         * copy); or failed as a future of {@link #read(long, List, Entry[])} fails. Called once, on any thread.
         */
        void answered(List<ReadReply> replies, int from, Throwable failure);

        /**
         * The replica has not answered after the delay the read was given: a coordinator may ask another replica
         * (a speculative retry). Called at most once, on any thread, normally before {@link #answered}; where the
         * two race on different threads it may come after, so a caller checks whether it was answered.
         */
        void slow();
    }

    /**
     * {@link #read(long, List, Entry[])} with its answer passed to {@code answers}, which is also told if no
     * answer came within {@code slowAfterMillis} (0: never told). A callback rather than a future: this is the hot
     * path of every replicated read. The transport checks for slow answers once per batch of reads it sends, not
     * with a timer per read, and may wait longer than {@code slowAfterMillis} where its replicas' answers usually
     * take longer (the peer transport: their 99th percentile); by default it never tells. Never throws.
     */
    default void read(long nodeId, List<Key> keys, Entry[] known, long slowAfterMillis, ReadAnswers answers) {
        CompletableFuture<List<ReadReply>> reply;
        try {
            reply = read(nodeId, keys, known);
        } catch (RuntimeException e) {
            reply = CompletableFuture.failedFuture(e);
        }
        reply.whenComplete((replies, failure) -> answers.answered(replies, 0, failure));
    }
}
