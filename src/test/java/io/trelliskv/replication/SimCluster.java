package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.ring.TokenRing;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.storage.WriteCapture;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import io.trelliskv.version.VersionVector;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * A replicated cluster of N nodes in one process, on the test's thread. Each node has its own
 * {@link MemoryEngine}, its own {@link ManualClock} under its own {@link Hlc} (so clocks can be skewed
 * or stepped one node at a time), a {@link ReplicaService}, a {@link Coordinator}, a {@link HintStore}
 * and a {@link HintReplayer}; a {@link SimReplicaNetwork} connects them and is also everyone's
 * {@link Liveness}. Replicas come from a {@link TokenRing} with seeded tokens, so placement is the
 * production algorithm.
 *
 * <p>Commands run at a node the way the server runs them: {@link SimNode#set} checks availability,
 * writes the local engine inside {@link WriteCapture} and hands what was written to
 * {@link Coordinator#write}; {@link SimNode#get} checks availability, calls {@link Coordinator#read}
 * and reads the local engine once that completes.
 */
final class SimCluster {

    static final long START_MILLIS = 1_700_000_000_000L;
    /** Tombstones outlive every test: deletes must leave a version behind. */
    static final long GRACE_MILLIS = 4 * 60 * 60 * 1_000L;
    private static final int TOKENS_PER_NODE = 8;

    final ReplicationConfig config;
    final SimReplicaNetwork network;
    private final Map<Long, SimNode> nodes = new LinkedHashMap<>();
    private final TokenRing ring;

    /** Nodes 1 to {@code n}; replicas per key: {@code config.replicationFactor()}. */
    SimCluster(int n, ReplicationConfig config, long seed) {
        this.config = config;
        this.network = new SimReplicaNetwork(seed);
        SplittableRandom random = new SplittableRandom(seed);
        Map<Long, Collection<Long>> tokens = new LinkedHashMap<>();
        for (long id = 1; id <= n; id++) {
            List<Long> mine = new ArrayList<>();
            for (int t = 0; t < TOKENS_PER_NODE; t++) {
                mine.add(random.nextLong());
            }
            tokens.put(id, mine);
        }
        this.ring = TokenRing.of(1, tokens);
        for (long id = 1; id <= n; id++) {
            SimNode node = new SimNode(id, random.split());
            nodes.put(id, node);
            network.register(id, node.replica);
        }
    }

    /** Three nodes, three replicas of every key, QUORUM by default, no background read repair. */
    static SimCluster ofThree(long seed) {
        return new SimCluster(3, config(false), seed);
    }

    static ReplicationConfig config(boolean sloppyQuorum) {
        return new ReplicationConfig(3, ConsistencyLevel.QUORUM, ConsistencyLevel.QUORUM, sloppyQuorum,
                ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS, 0.0,
                ReplicationConfig.DEFAULT_REPLICA_TIMEOUT_MILLIS);
    }

    SimNode node(long id) {
        SimNode node = nodes.get(id);
        if (node == null) {
            throw new IllegalArgumentException("no node " + id + " (expected: 1 to " + nodes.size() + ")");
        }
        return node;
    }

    Collection<SimNode> nodes() {
        return nodes.values();
    }

    /** The replicas of {@code key} in preference order. */
    List<Long> replicasOf(String key) {
        return ring.replicas(Key.of(key).token(), config.replicationFactor());
    }

    /** The other live replicas of {@code key} in the order a read coordinated at {@code from} asks them. */
    List<Long> readOrder(long from, String key) {
        long[] order = Coordinator.readOrder(Key.of(key).token(), replicasOf(key), from, network::isAlive);
        return Arrays.stream(order).boxed().toList();
    }

    void fault(long node, SimReplicaNetwork.Fault fault) {
        network.set(node, fault);
    }

    /** Moves every node's clock forward together (skews stay as they are), and runs the reads' slow checks now due. */
    void advanceMillis(long ms) {
        nodes.values().forEach(n -> n.clock.advanceMillis(ms));
        network.runDueChecks();
    }

    /** {@code ticks} rounds of hint replay on every live node, {@link HintReplayer#TICK_MILLIS} apart. */
    void replayHints(int ticks) {
        for (int i = 0; i < ticks; i++) {
            advanceMillis(HintReplayer.TICK_MILLIS);
            for (SimNode n : nodes.values()) {
                if (network.isAlive(n.id)) {
                    n.replayer.tick();
                }
            }
        }
    }

    /** Each replica's stored entry for {@code key} (null where it has none), in preference order. */
    List<Entry> storedEverywhere(String key) {
        List<Entry> out = new ArrayList<>();
        for (long id : replicasOf(key)) {
            out.add(node(id).stored(key));
        }
        return out;
    }

    /** Each replica's version of {@code key} ({@link Version#ZERO} where it has none). */
    List<Version> versionsEverywhere(String key) {
        return storedEverywhere(key).stream().map(e -> e == null ? Version.ZERO : e.version()).toList();
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(Entry e) {
        return e == null || e.value() == null ? null : new String(e.value(), StandardCharsets.UTF_8);
    }

    /** A write a command made at a node: the version it stamped, and its replication. */
    record Write(Entry entry, CompletableFuture<Void> acked) {

        Version version() {
            return entry.version();
        }
    }

    /** One node of the cluster. */
    final class SimNode {

        final long id;
        final ManualClock clock = new ManualClock(START_MILLIS);
        final Hlc hlc = new Hlc(clock);
        final MemoryEngine engine;
        final ReplicaService replica;
        final HintStore hints;
        final Coordinator coordinator;
        final HintReplayer replayer;

        private SimNode(long id, SplittableRandom random) {
            this.id = id;
            this.engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, GRACE_MILLIS,
                    EngineConfig.DEFAULT_EVICTION_SAMPLES), clock, hlc, id);
            this.replica = new ReplicaService(engine, hlc, config.maxClockDriftMillis());
            this.hints = new HintStore(HintConfig.defaults(), clock);
            ReplicaPlacement placement = new ReplicaPlacement() {
                @Override
                public long localNodeId() {
                    return SimNode.this.id;
                }

                @Override
                public List<Long> replicas(long token) {
                    return ring.replicas(token, config.replicationFactor());
                }
            };
            ReplicaTransport transport = network.from(id, clock);
            this.coordinator = new Coordinator(engine, hlc, placement, network, transport, hints::add, config,
                    random);
            this.replayer = new HintReplayer(hints, transport, network, HintConfig.defaults(), clock);
        }

        /** SET key value, coordinated here at {@code level}. */
        Write set(String key, String value, ConsistencyLevel level) {
            return write(key, level, () -> engine.put(Key.of(key), bytes(value), 0));
        }

        /** VSET key context value, coordinated here at {@code level}: this node's siblings updated, as VSET does. */
        Write vset(String key, VersionVector context, String value, ConsistencyLevel level) {
            Key k = Key.of(key);
            return write(key, level, () -> engine.atomically(k, txn -> txn.put(k,
                    CausalCodec.encode(siblingsOf(txn.get(k)).update(context, bytes(value), id)), ValueKind.VERSIONED, 0)));
        }

        /** This node's siblings of a versioned key, as text; empty if it holds none. */
        List<String> siblings(String key) {
            List<String> out = new ArrayList<>();
            for (byte[] v : siblingsOf(engine.stored(Key.of(key))).values()) {
                out.add(new String(v, StandardCharsets.UTF_8));
            }
            return out;
        }

        private static DvvSet<byte[]> siblingsOf(Entry e) {
            return e == null || e.isTombstone() ? DvvSet.empty() : CausalCodec.decodeDvv(e.value());
        }

        /** DEL key, coordinated here at {@code level}: leaves a tombstone. */
        Write delete(String key, ConsistencyLevel level) {
            return write(key, level, () -> engine.delete(Key.of(key)));
        }

        private Write write(String key, ConsistencyLevel level, Runnable command) {
            coordinator.checkAvailable(List.of(Key.of(key)), level, true);
            List<Entry> written;
            WriteCapture.begin();
            try {
                command.run();
            } finally {
                written = WriteCapture.end();
            }
            return new Write(written.get(written.size() - 1), coordinator.write(written, level));
        }

        /** GET key at {@code level}: the value this node returns once the read phase is done. */
        CompletableFuture<String> get(String key, ConsistencyLevel level) {
            return get(key, level, null);
        }

        /** GET key at {@code level} for a client whose last write of the key was {@code floor}. */
        CompletableFuture<String> get(String key, ConsistencyLevel level, Version floor) {
            List<Key> keys = List.of(Key.of(key));
            coordinator.checkAvailable(keys, level, false);
            CompletableFuture<Void> phase = coordinator.read(keys, level, floor == null ? null : new Version[] {floor});
            if (phase == null) {
                return CompletableFuture.completedFuture(text(engine.get(Key.of(key))));
            }
            return phase.thenApply(v -> text(engine.get(Key.of(key))));
        }

        /** This node's stored entry for {@code key}, tombstones included; null if none. */
        Entry stored(String key) {
            return engine.stored(Key.of(key));
        }

        /** Stores {@code entry} here directly, as if an earlier replication had brought it. */
        boolean merge(Entry entry) {
            return engine.merge(entry);
        }
    }
}
