package io.trelliskv.replication;

import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.common.ManualClock;
import io.trelliskv.repair.AntiEntropy;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.repair.AntiEntropyService;
import io.trelliskv.repair.AntiEntropyTransport;
import io.trelliskv.repair.ScanPacer;
import io.trelliskv.ring.TokenRing;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * Nodes with anti-entropy in one process: each has its own {@link MemoryEngine}, clock, {@link Hlc},
 * {@link ReplicaService}, {@link AntiEntropyService} and {@link AntiEntropy}, placed on a seeded
 * {@link TokenRing}. Messages are delivered in memory on the caller's thread, as the bytes the real
 * transport would carry, so every repair also runs the wire formats end to end. A node can be marked
 * down (not alive, unreachable) or failing (alive, every request fails).
 */
final class AntiEntropySim {

    static final long START_MILLIS = 1_700_000_000_000L;
    static final long GRACE_MILLIS = 4 * 60 * 60 * 1000L;
    private static final int TOKENS_PER_NODE = 8;

    /** One node. */
    final class Node {
        final long id;
        final ManualClock clock = new ManualClock(START_MILLIS);
        final Hlc hlc = new Hlc(clock);
        final MemoryEngine engine;
        final ReplicaService replica;
        final AntiEntropyService service;
        final AntiEntropy antiEntropy;

        Node(long id, AntiEntropyConfig config) {
            this.id = id;
            this.engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, GRACE_MILLIS,
                    EngineConfig.DEFAULT_EVICTION_SAMPLES), clock, hlc, id);
            this.replica = new ReplicaService(engine, hlc, ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS);
            this.service = new AntiEntropyService(engine, ScanPacer.unpaced(clock), clock, config);
            this.antiEntropy = new AntiEntropy(id, engine, ScanPacer.unpaced(clock), replica, () -> ring,
                    replicationFactor, AntiEntropySim.this::isAlive, (to, message, payload) -> deliver(id, to, message, payload),
                    config, clock, Long::toString, id);
        }
    }

    final int replicationFactor;
    final TokenRing ring;
    private final Map<Long, Node> nodes = new LinkedHashMap<>();
    private final Set<Long> down = new HashSet<>();
    private final Set<Long> failing = new HashSet<>();
    /** Messages delivered, by kind, for tests that look at traffic. */
    final Map<AntiEntropyTransport.Message, Integer> messages = new LinkedHashMap<>();

    AntiEntropySim(int n, int replicationFactor, AntiEntropyConfig config, long seed) {
        this.replicationFactor = replicationFactor;
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
            nodes.put(id, new Node(id, config));
        }
    }

    Node node(long id) {
        return nodes.get(id);
    }

    Collection<Node> nodes() {
        return nodes.values();
    }

    void setDown(long id, boolean isDown) {
        if (isDown) {
            down.add(id);
        } else {
            down.remove(id);
        }
    }

    void setFailing(long id, boolean isFailing) {
        if (isFailing) {
            failing.add(id);
        } else {
            failing.remove(id);
        }
    }

    boolean isAlive(long id) {
        return !down.contains(id);
    }

    private CompletableFuture<byte[]> deliver(long from, long to, AntiEntropyTransport.Message message, byte[] payload) {
        messages.merge(message, 1, Integer::sum);
        Node target = nodes.get(to);
        if (target == null || down.contains(to)) {
            return CompletableFuture.failedFuture(new IOException("node " + to + " is unreachable"));
        }
        if (failing.contains(to)) {
            return CompletableFuture.failedFuture(new IOException("node " + to + " failed the request"));
        }
        try {
            byte[] reply = switch (message) {
                case TREE -> target.service.answerTree(payload);
                case KEYS -> target.service.answerKeys(payload);
                case READ -> target.replica.answerRead(payload);
                case WRITE -> target.replica.applyWrite(Long.toString(from), payload);
            };
            return CompletableFuture.completedFuture(reply);
        } catch (MalformedMessageException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}
