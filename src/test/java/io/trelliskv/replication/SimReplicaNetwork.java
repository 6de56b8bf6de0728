package io.trelliskv.replication;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.storage.Entry;

import java.net.ConnectException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The replica messages of a {@link SimCluster}, delivered in memory on the caller's thread: every
 * request is encoded with {@link ReplicaCodec}, handed to the target's {@link ReplicaService} as bytes,
 * and its reply decoded again, so each test also runs the wire format end to end.
 *
 * <p>Per-node switches ({@link Fault}) make one replica down, silent or slow; a seeded drop probability
 * makes any message time out at random, so a randomized run replays exactly from its seed. Nothing
 * sleeps: a slow replica's messages wait in a queue until the test {@link #release releases} them.
 *
 * <p>A read held that way is reported slow to its coordinator ({@link ReplicaTransport.ReadAnswers#slow}) once the
 * sender's clock has passed the read's delay and the test calls {@link #runDueChecks} (which
 * {@code SimCluster.advanceMillis} does): the fake clock drives speculative retries.
 */
final class SimReplicaNetwork implements Liveness {

    /** What happens to messages sent to a node. */
    enum Fault {
        /** Delivered and answered at once. */
        NONE,
        /** Not alive for membership; a message sent anyway fails to connect. */
        DOWN,
        /**
         * Not alive for membership, which has not heard yet that the node is back (a partition that has just
         * healed), but delivered and answered at once.
         */
        UNSEEN,
        /** Alive, but requests are lost: the caller times out and nothing is applied. */
        DROP,
        /** Alive; requests are applied but the replies are lost, so the caller times out. */
        LOSE_REPLY,
        /** Alive; requests wait, unapplied and unanswered, until {@link #release} delivers them. */
        DELAY
    }

    /** One delivered message, for tests that count messages or look at what crossed the wire. */
    record Delivery(long from, long to, List<Entry> written, List<ReadReply> readReplies) {

        boolean isRead() {
            return readReplies != null;
        }

        /** Read replies that carried a whole entry (a value or tombstone crossed the wire). */
        long wholeEntries() {
            return readReplies == null ? 0 : readReplies.stream().filter(r -> r.entry() != null).count();
        }
    }

    /** A message held for a {@link Fault#DELAY DELAY}ed node. */
    private record Held(long to, Runnable deliver) {
    }

    /** A check due at {@code dueMillis} of the sender's clock: whether a read has been answered. */
    private record SlowCheck(Clock clock, long dueMillis, Runnable check) {
    }

    private final Map<Long, ReplicaService> services = new HashMap<>();
    private final Map<Long, Fault> faults = new HashMap<>();
    private final List<Held> held = new ArrayList<>();
    private final List<SlowCheck> slowChecks = new ArrayList<>();
    private final List<Delivery> deliveries = new ArrayList<>();
    /** Drives {@link #dropProbability} and {@link #releaseAllShuffled()}; seeded by the cluster. */
    private final Random random;
    /** Chance, 0 to 1, that a message to a node without a fault times out (request lost). */
    private double dropProbability;

    SimReplicaNetwork(long seed) {
        this.random = new Random(seed);
    }

    void register(long node, ReplicaService service) {
        services.put(node, service);
        faults.put(node, Fault.NONE);
    }

    void set(long node, Fault fault) {
        if (!services.containsKey(node)) {
            throw new IllegalArgumentException("unknown node " + Long.toHexString(node));
        }
        faults.put(node, fault);
    }

    Fault faultOf(long node) {
        return faults.get(node);
    }

    void dropProbability(double p) {
        this.dropProbability = p;
    }

    @Override
    public boolean isAlive(long node) {
        Fault f = faults.get(node);
        return f != null && f != Fault.DOWN && f != Fault.UNSEEN;
    }

    /** The transport a node's coordinator and hint replayer use; reads are never reported slow. */
    ReplicaTransport from(long self) {
        return from(self, null);
    }

    /** The transport of a node whose clock is {@code clock}, which times its reads' slow checks. */
    ReplicaTransport from(long self, Clock clock) {
        return new ReplicaTransport() {
            @Override
            public CompletableFuture<Void> write(long to, List<Entry> entries) {
                byte[] request = ReplicaCodec.encodeWrite(entries);
                return send(to, () -> {
                    byte[] reply = services.get(to).applyWrite(Long.toHexString(self), request);
                    deliveries.add(new Delivery(self, to, ReplicaCodec.decodeWrite(request), null));
                    ReplicaCodec.checkWriteReply(reply);
                    return null;
                });
            }

            @Override
            public CompletableFuture<List<ReadReply>> read(long to, List<Key> keys, Entry[] known) {
                byte[] request = ReplicaCodec.encodeRead(keys, known);
                return send(to, () -> {
                    List<ReadReply> replies = ReplicaCodec.decodeReadReply(services.get(to).answerRead(request));
                    deliveries.add(new Delivery(self, to, null, replies));
                    return replies;
                });
            }

            @Override
            public void read(long to, List<Key> keys, Entry[] known, long slowAfterMillis, ReadAnswers answers) {
                CompletableFuture<List<ReadReply>> reply = read(to, keys, known);
                if (!reply.isDone() && clock != null && slowAfterMillis > 0) {
                    slowChecks.add(new SlowCheck(clock, clock.millis() + slowAfterMillis, () -> {
                        if (!reply.isDone()) {
                            answers.slow();
                        }
                    }));
                }
                reply.whenComplete((replies, failure) -> answers.answered(replies, 0, failure));
            }
        };
    }

    /** Runs the slow checks whose time has come on their sender's clock, in the order made; returns how many. */
    int runDueChecks() {
        List<SlowCheck> due = slowChecks.stream().filter(c -> c.clock.millis() >= c.dueMillis).toList();
        slowChecks.removeAll(due);
        due.forEach(c -> c.check.run());
        return due.size();
    }

    private <T> CompletableFuture<T> send(long to, Supplier<T> deliver) {
        Fault fault = faults.get(to);
        if (fault == null) {
            return CompletableFuture.failedFuture(new ConnectException("unknown node " + Long.toHexString(to)));
        }
        if (fault == Fault.NONE && dropProbability > 0 && random.nextDouble() < dropProbability) {
            fault = Fault.DROP;
        }
        return switch (fault) {
            case NONE, UNSEEN -> answer(deliver);
            case DOWN -> CompletableFuture.failedFuture(new ConnectException(Long.toHexString(to) + " is down"));
            case DROP -> CompletableFuture.failedFuture(timeout(to));
            case LOSE_REPLY -> {
                answer(deliver);
                yield CompletableFuture.failedFuture(timeout(to));
            }
            case DELAY -> {
                CompletableFuture<T> reply = new CompletableFuture<>();
                held.add(new Held(to, () -> answer(deliver).whenComplete((r, failure) -> {
                    if (failure != null) {
                        reply.completeExceptionally(failure);
                    } else {
                        reply.complete(r);
                    }
                })));
                yield reply;
            }
        };
    }

    private static <T> CompletableFuture<T> answer(Supplier<T> deliver) {
        try {
            return CompletableFuture.completedFuture(deliver.get());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static TimeoutException timeout(long to) {
        return new TimeoutException("no answer from " + Long.toHexString(to));
    }

    /** Messages held for {@code node}. */
    int heldFor(long node) {
        return (int) held.stream().filter(h -> h.to == node).count();
    }

    /** Delivers the messages held for {@code node}, oldest first, and answers them; returns how many. */
    int release(long node) {
        List<Held> mine = held.stream().filter(h -> h.to == node).toList();
        held.removeAll(mine);
        mine.forEach(h -> h.deliver.run());
        return mine.size();
    }

    /** Delivers the messages held for {@code node} newest first, as a network may reorder them. */
    int releaseNewestFirst(long node) {
        List<Held> mine = new ArrayList<>(held.stream().filter(h -> h.to == node).toList());
        held.removeAll(mine);
        Collections.reverse(mine);
        mine.forEach(h -> h.deliver.run());
        return mine.size();
    }

    /** Delivers every held message in an order drawn from the seed; returns how many. */
    int releaseAllShuffled() {
        List<Held> all = new ArrayList<>(held);
        held.clear();
        Collections.shuffle(all, random);
        all.forEach(h -> h.deliver.run());
        return all.size();
    }

    /** Every message delivered so far, in order. */
    List<Delivery> deliveries() {
        return Collections.unmodifiableList(deliveries);
    }

    void clearDeliveries() {
        deliveries.clear();
    }
}
