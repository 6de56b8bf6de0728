package io.trelliskv.cluster;

import io.trelliskv.common.Key;
import io.trelliskv.replication.Coordinator;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Asks every replica of a key for its copy ({@code REPLICAS}); throws {@link io.trelliskv.common.RefusedException} if it cannot. */
public interface ReplicaInspector {

    CompletableFuture<List<Coordinator.ReplicaCopy>> inspect(Key key);
}
