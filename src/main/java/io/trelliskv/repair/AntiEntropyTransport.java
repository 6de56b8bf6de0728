package io.trelliskv.repair;

import io.trelliskv.replication.ReplicaCodec;

import java.util.concurrent.CompletableFuture;

/**
 * How anti-entropy reaches a peer: one request, one reply, both opaque bytes in the layouts of
 * {@link AntiEntropyCodec} (trees, key lists) and {@link ReplicaCodec} (the entries pulled and pushed).
 * Bytes rather than typed messages so that repair can count exactly what crossed the network. The node
 * implements it over its peer connections; tests over an in-memory network.
 *
 * <p>The future completes on any thread, exceptionally if the peer could not be reached, failed or
 * answered with an error.
 */
public interface AntiEntropyTransport {

    /** The kinds of request; the peer answers each with the matching reply layout. */
    enum Message {
        /** Compare a tree: {@link AntiEntropyCodec} tree request and reply. */
        TREE,
        /** List the keys of runs of leaves: {@link AntiEntropyCodec} keys request and reply. */
        KEYS,
        /** Entries the peer has newer: {@link ReplicaCodec} read and read reply. */
        READ,
        /** Entries for the peer to merge: {@link ReplicaCodec} write and write reply. */
        WRITE
    }

    CompletableFuture<byte[]> call(long nodeId, Message message, byte[] payload);
}
