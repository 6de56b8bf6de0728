package io.trelliskv.membership;

import io.trelliskv.common.Address;

import io.trelliskv.common.ManualClock;

import java.io.IOException;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Many {@link Swim} nodes in one process, on one thread, over an in-memory network with a manual clock.
 *
 * <p>Every timer of every node and every packet in flight is an event in one priority queue ordered by
 * (due time, insertion order); {@link #runFor(long)} pops them in order and moves the clock to each, so
 * simulated time costs nothing but the work done in it, and a run is a pure function of its seed. The
 * network has a seeded drop probability for datagrams (streams are reliable, as TCP is, but obey
 * partitions and kills), a uniform per-packet latency jitter, an extra per-link delay, directional link
 * cuts (so a partition can be one-way), and per-node switches: {@link #kill} stops all traffic to and
 * from a node (its Swim keeps running, isolated, like a node behind a dead switch port), {@link #slow}
 * delays everything a node sends, as a node that answers late.
 */
final class SimNetwork {

    /** Monotonic ms of the simulation; the manual clock's nanos start at 0. */
    final ManualClock clock = new ManualClock(1_700_000_000_000L);
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private long nextEventSeq;
    /** Drives drops and jitter; each node has its own Random derived from the seed. */
    private final Random random;
    /** Node ids and per-node seeds: well mixed, unlike the first outputs of Randoms with nearby seeds. */
    private final SplittableRandom ids;
    private final Map<Address, SimNode> nodes = new LinkedHashMap<>();
    /** Cut links, from-address to the set of to-addresses. */
    private final Map<Address, Set<Address>> cut = new HashMap<>();
    private final Map<Address, Map<Address, Long>> linkDelay = new HashMap<>();

    /** Probability that a datagram is lost, 0..1. */
    double dropProbability;
    /** Latency of a datagram or stream leg is uniform in [minDelayMillis, maxDelayMillis]. */
    long minDelayMillis = 1;
    long maxDelayMillis = 5;

    long datagramsSent;
    long datagramsDropped;
    long bytesSent;

    SimNetwork(long seed) {
        this.ids = new SplittableRandom(seed);
        this.random = new Random(seed);
    }

    /** One simulated node. */
    final class SimNode {
        final int index;
        final Address address;
        final Swim swim;
        boolean killed;
        /** Extra delay on everything this node sends, ms. */
        long slowMillis;

        private SimNode(int index, Address address, SwimConfig config, MembershipListener listener) {
            this.index = index;
            this.address = address;
            long id = ids.nextLong();
            this.swim = Swim.builder(config, id, address)
                    .transport(new SimTransport(this))
                    .scheduler(scheduler)
                    .clock(clock)
                    .random(new Random(ids.nextLong()))
                    .listener(listener)
                    .build();
        }

        long id() {
            return swim.id();
        }

        @Override
        public String toString() {
            return "node" + index + "@" + address;
        }
    }

    /** The scheduler every node shares: all of them run on the simulation's one thread. */
    final Scheduler scheduler = (delayMillis, task) -> {
        Event e = new Event(now() + Math.max(0, delayMillis), nextEventSeq++, task);
        events.add(e);
        return () -> e.cancelled = true;
    };

    private static final class Event implements Comparable<Event> {
        final long time;
        final long seq;
        final Runnable task;
        boolean cancelled;

        Event(long time, long seq, Runnable task) {
            this.time = time;
            this.seq = seq;
            this.task = task;
        }

        @Override
        public int compareTo(Event o) {
            return time != o.time ? Long.compare(time, o.time) : Long.compare(seq, o.seq);
        }
    }

    // ---------------------------------------------------------------- nodes

    SimNode addNode(SwimConfig config) {
        return addNode(config, MembershipListener.NONE);
    }

    SimNode addNode(SwimConfig config, MembershipListener listener) {
        int index = nodes.size();
        Address address = new Address("10.0." + (index / 250) + "." + (index % 250 + 1), 7946);
        SimNode node = new SimNode(index, address, config, listener);
        nodes.put(address, node);
        return node;
    }

    /** Adds {@code n} nodes, starts them, and has each join through the first one. */
    List<SimNode> startCluster(int n, SwimConfig config) {
        List<SimNode> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            list.add(addNode(config));
        }
        Address seedAddress = list.get(0).address;
        for (SimNode node : list) {
            node.swim.start();
            node.swim.join(List.of(seedAddress));
        }
        return list;
    }

    Collection<SimNode> nodes() {
        return nodes.values();
    }

    void kill(SimNode node) {
        node.killed = true;
    }

    void revive(SimNode node) {
        node.killed = false;
    }

    void slow(SimNode node, long millis) {
        node.slowMillis = millis;
    }

    /** Cuts the link from {@code from} to {@code to} only. */
    void cutOneWay(SimNode from, SimNode to) {
        cut.computeIfAbsent(from.address, a -> new HashSet<>()).add(to.address);
    }

    /** Cuts every link between the two groups, both ways. */
    void partition(Collection<SimNode> a, Collection<SimNode> b) {
        for (SimNode x : a) {
            for (SimNode y : b) {
                cutOneWay(x, y);
                cutOneWay(y, x);
            }
        }
    }

    /** Restores every cut link. */
    void heal() {
        cut.clear();
    }

    void setLinkDelay(SimNode from, SimNode to, long millis) {
        linkDelay.computeIfAbsent(from.address, a -> new HashMap<>()).put(to.address, millis);
    }

    private boolean connected(SimNode from, SimNode to) {
        if (from.killed || to.killed) {
            return false;
        }
        Set<Address> c = cut.get(from.address);
        return c == null || !c.contains(to.address);
    }

    private long delay(SimNode from, SimNode to) {
        long jitter = minDelayMillis + (maxDelayMillis > minDelayMillis
                ? random.nextInt((int) (maxDelayMillis - minDelayMillis + 1)) : 0);
        Map<Address, Long> extra = linkDelay.get(from.address);
        return jitter + from.slowMillis + (extra == null ? 0 : extra.getOrDefault(to.address, 0L));
    }

    // ---------------------------------------------------------------- driving time

    long now() {
        return clock.nanos() / 1_000_000;
    }

    /** Runs every event due within the next {@code millis} and leaves the clock there. */
    void runFor(long millis) {
        long until = now() + millis;
        while (!events.isEmpty() && events.peek().time <= until) {
            Event e = events.poll();
            if (e.cancelled) {
                continue;
            }
            if (e.time > now()) {
                clock.advanceMillis(e.time - now());
            }
            e.task.run();
        }
        if (until > now()) {
            clock.advanceMillis(until - now());
        }
    }

    /**
     * Runs until {@code done} holds, checking every {@code stepMillis}, for at most {@code maxMillis}.
     * Returns the simulated ms it took, or -1 if it never held.
     */
    long runUntil(BooleanSupplier done, long stepMillis, long maxMillis) {
        long start = now();
        while (now() - start <= maxMillis) {
            if (done.getAsBoolean()) {
                return now() - start;
            }
            runFor(stepMillis);
        }
        return -1;
    }

    /** Runs for {@code millis}, calling {@code check} every {@code stepMillis}. */
    void runChecking(long millis, long stepMillis, Consumer<Long> check) {
        long start = now();
        while (now() - start < millis) {
            runFor(Math.min(stepMillis, millis - (now() - start)));
            check.accept(now() - start);
        }
    }

    // ---------------------------------------------------------------- the transport

    private final class SimTransport implements Transport {
        private final SimNode owner;

        SimTransport(SimNode owner) {
            this.owner = owner;
        }

        @Override
        public void sendPacket(Address to, byte[] packet) {
            datagramsSent++;
            bytesSent += packet.length;
            SimNode dest = nodes.get(to);
            if (dest == null || owner.killed) {
                return;
            }
            if (dropProbability > 0 && random.nextDouble() < dropProbability) {
                datagramsDropped++;
                return;
            }
            scheduler.schedule(delay(owner, dest), () -> {
                if (connected(owner, dest)) {
                    dest.swim.onPacket(owner.address, packet);
                }
            });
        }

        @Override
        public void exchange(Address to, byte[] request, StreamCallback callback) {
            SimNode dest = nodes.get(to);
            if (dest == null) {
                scheduler.schedule(delay(owner, owner), () -> callback.onFailure(new ConnectException("refused: " + to)));
                return;
            }
            // An unreachable peer never answers; the caller's own timeout ends the wait, as with TCP.
            scheduler.schedule(delay(owner, dest), () -> {
                if (!connected(owner, dest)) {
                    return;
                }
                byte[] reply = dest.swim.onStreamRequest(owner.address, request);
                scheduler.schedule(delay(dest, owner), () -> {
                    if (!connected(dest, owner)) {
                        return;
                    }
                    if (reply == null) {
                        callback.onFailure(new IOException("closed by " + to));
                    } else {
                        callback.onReply(reply);
                    }
                });
            });
        }
    }
}
