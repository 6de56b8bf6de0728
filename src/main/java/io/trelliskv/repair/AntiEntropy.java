package io.trelliskv.repair;

import io.trelliskv.common.Clock;
import io.trelliskv.common.DaemonThreads;
import io.trelliskv.common.Key;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.common.RefusedException;
import io.trelliskv.replication.Liveness;
import io.trelliskv.replication.ReadReply;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.replication.ReplicaRefusedException;
import io.trelliskv.replication.ReplicaService;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.ring.TokenRing;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * Anti-entropy: replicas compare Merkle trees of the token ranges they share and exchange only the keys
 * that differ, in both directions, through the ordinary last-writer-wins merge. This is what brings back
 * data that hints and read repair miss: writes to a replica that was down past the hint window, hints
 * lost with a coordinator's restart, keys never read, and everything a node restarted empty once held.
 *
 * <h2>A round</h2>
 * For each of this node's replica ranges (every arc of the ring it holds a replica of, one per ring
 * token, from {@link TokenRing#replicaRanges}) and each other live replica of that range:
 * <ol>
 *   <li><b>Tree.</b> This node builds its {@link MerkleTree} of the range once (a paced scan of the
 *       engine, with a depth for about 8 keys per leaf) and sends the peer the range, the depth and its
 *       root. The peer builds its own tree of the same range at the same depth and answers SAME, or
 *       with its leaf hashes.</li>
 *   <li><b>Keys.</b> The differing leaves, grouped into runs of adjacent leaves (at most
 *       {@code maxLeavesPerRun}), go back to the peer, many runs per request; it lists its
 *       (key, version, value length) pairs in them, at most {@code maxKeysPerRequest} per reply, cutting
 *       a long run at a token so the rest is asked next. Run by run, this node scans its own keys of
 *       the run and compares versions.</li>
 *   <li><b>Entries.</b> Keys newer at the peer (or only there) are pulled with a replica read that
 *       carries this node's version, so the peer sends whole entries only where it is newer, and they
 *       are merged here through {@link ReplicaService#apply}, which refuses versions too far ahead of
 *       this node's clock. Keys newer here (or only here) are pushed with a replica write, which the
 *       peer merges with the same check. Both go in batches of at most {@code maxBatchBytes} of entries
 *       and {@link #MAX_ENTRIES_PER_BATCH} entries. Where either side holds a live value that joins
 *       (its digest differs), the key goes both ways whatever the versions: siblings and counts can
 *       differ under one version, and a counter ranks at its epoch, so a reset with an older version
 *       than the counter's can still be the entry both must keep.</li>
 * </ol>
 * One exchange repairs both sides, so a round started on any one node brings every range it shares back
 * in sync with every live peer. A failed exchange (unreachable or slow peer, refusal) is counted and
 * logged once per peer and round; the round goes on, and the next one retries.
 *
 * <h2>Bounds</h2>
 * Memory: one tree at a time (2^depth longs, at most 2^15 by default: 256 KiB) plus the peer's leaf
 * hashes, and for one run the keys of at most {@code maxLeavesPerRun} leaves. Network: one request in
 * flight; key lists and entry batches are bounded as above. CPU: the scans that build trees and list
 * keys lock one engine segment at a time and are paced by {@link ScanPacer} to {@code cpuFraction} of a
 * core; the comparison itself is linear in the keys of the differing leaves.
 *
 * <h2>Trees are rebuilt, not maintained</h2>
 * Trees are built at the start of each exchange instead of being updated on every write. Incremental
 * upkeep would cost every write a hash and an update of a tree on the event loop, and memory for the
 * trees of all of a node's ranges all the time (ranges change with the ring, too); a rebuild costs one
 * paced scan of the range per round, and rounds are minutes apart. The leaf hash is a sum, so an
 * incremental variant (subtract the old entry's hash, add the new one's) remains possible should scans
 * ever dominate.
 *
 * <h2>Threads</h2>
 * Rounds run one at a time on the {@code trellis-anti-entropy} thread, which waits for each reply (with
 * {@code timeoutMillis}); periodic rounds every {@code intervalMillis}, jittered by 10 % either way, and
 * manual ones on {@link #requestRepair()}. A round requested while another waits to start joins it.
 */
public final class AntiEntropy implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AntiEntropy.class);

    /** Most entries pushed or pulled in one message. */
    static final int MAX_ENTRIES_PER_BATCH = 256;
    /** Most runs of leaves sent in one keys request (16 bytes each). */
    static final int MAX_RUNS_PER_REQUEST = 256;

    /** Why a round ran. */
    public enum Trigger {
        PERIODIC, MANUAL;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final long localId;
    private final Engine engine;
    private final RangeScanner scanner;
    private final ReplicaService replica;
    private final Supplier<TokenRing> ring;
    private final int replicationFactor;
    private final Liveness liveness;
    private final AntiEntropyTransport transport;
    private final AntiEntropyConfig config;
    private final Clock clock;
    /** Names a node for log lines, e.g. {@code id@host:port}. */
    private final LongFunction<String> describe;

    /** Guards {@link #executor}, {@link #lastRequested}, {@link #queued} and {@link #random}. */
    private final Object lock = new Object();
    private ScheduledExecutorService executor;
    /** Number of the latest round requested; rounds run in this order. */
    private long lastRequested;
    /** The round that waits to start, or 0. */
    private long queued;
    private final SplittableRandom random;
    /** The running round, or the last one finished; null before the first. */
    private volatile Progress current;
    private volatile boolean closed;

    private final LongAdder roundsCompleted = new LongAdder();
    private final LongAdder keysCompared = new LongAdder();
    private final LongAdder keysStreamedIn = new LongAdder();
    private final LongAdder keysStreamedOut = new LongAdder();
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder bytesReceived = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private volatile long lastRoundMillis;

    /**
     * @param ring       the current ring (read once per round)
     * @param replica    merges the entries pulled from peers
     * @param describe   names a node for log lines
     * @param seed       seeds the jitter of periodic rounds
     */
    public AntiEntropy(long localId, Engine engine, ScanPacer pacer, ReplicaService replica, Supplier<TokenRing> ring,
                       int replicationFactor, Liveness liveness, AntiEntropyTransport transport,
                       AntiEntropyConfig config, Clock clock, LongFunction<String> describe, long seed) {
        this.localId = localId;
        this.engine = Objects.requireNonNull(engine, "engine");
        this.scanner = new RangeScanner(engine, pacer);
        this.replica = Objects.requireNonNull(replica, "replica");
        this.ring = Objects.requireNonNull(ring, "ring");
        this.replicationFactor = replicationFactor;
        this.liveness = Objects.requireNonNull(liveness, "liveness");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.describe = Objects.requireNonNull(describe, "describe");
        this.random = new SplittableRandom(seed);
    }

    /** Starts the {@code trellis-anti-entropy} thread and, unless the interval is 0, periodic rounds. */
    public void start() {
        synchronized (lock) {
            if (closed || executor != null) {
                throw new IllegalStateException(closed ? "closed" : "already started");
            }
            executor = Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("trellis-anti-entropy"));
            if (config.intervalMillis() > 0) {
                schedulePeriodic();
            }
        }
    }

    /** Caller holds {@link #lock}. */
    private void schedulePeriodic() {
        long interval = config.intervalMillis();
        long delay = interval - interval / 10 + (long) (random.nextDouble() * (interval / 5 + 1));
        executor.schedule(() -> {
            if (!closed) {
                request(Trigger.PERIODIC);
                synchronized (lock) {
                    if (!closed) {
                        schedulePeriodic();
                    }
                }
            }
        }, delay, TimeUnit.MILLISECONDS);
    }

    /**
     * Starts a round on demand (REPAIR), after the one running if any; returns its number. If a round
     * is already waiting to start, returns that one's number instead of queuing another.
     *
     * @throws RefusedException if not started or closed
     */
    public long requestRepair() {
        return request(Trigger.MANUAL);
    }

    private long request(Trigger trigger) {
        synchronized (lock) {
            if (executor == null || closed) {
                throw new RefusedException("anti-entropy is " + (closed ? "stopped" : "not started yet"));
            }
            if (queued != 0) {
                return queued;
            }
            long round = ++lastRequested;
            queued = round;
            executor.execute(() -> {
                synchronized (lock) {
                    queued = 0;
                }
                runRound(round, trigger);
            });
            return round;
        }
    }

    /** Runs one manual round on the calling thread (tests, benchmarks) and returns its outcome. */
    public RepairStatus repairNow() {
        long round;
        synchronized (lock) {
            round = ++lastRequested;
        }
        runRound(round, Trigger.MANUAL);
        return status();
    }

    /** The running round's progress, or the last finished one's. */
    public RepairStatus status() {
        long requested;
        synchronized (lock) {
            requested = lastRequested;
        }
        Progress p = current;
        return p == null ? RepairStatus.none(requested) : p.snapshot(requested, clock.millis());
    }

    /** Totals since the node started, for INFO. */
    public record Stats(long roundsCompleted, long keysCompared, long keysStreamedIn, long keysStreamedOut,
                        long bytesSent, long bytesReceived, long failures, long lastRoundMillis, boolean running) {
    }

    public Stats stats() {
        Progress p = current;
        return new Stats(roundsCompleted.sum(), keysCompared.sum(), keysStreamedIn.sum(), keysStreamedOut.sum(),
                bytesSent.sum(), bytesReceived.sum(), failures.sum(), lastRoundMillis,
                p != null && !p.finished);
    }

    public AntiEntropyConfig config() {
        return config;
    }

    /** Stops periodic rounds; a running round stops after its current exchange. */
    @Override
    public void close() {
        ScheduledExecutorService e;
        synchronized (lock) {
            closed = true;
            e = executor;
        }
        if (e != null) {
            e.shutdownNow();
        }
    }

    // ---- one round ----

    private void runRound(long round, Trigger trigger) {
        TokenRing r = ring.get();
        List<TokenRange> ranges = r.isEmpty() ? List.of() : r.replicaRanges(localId, replicationFactor);
        Progress p = new Progress(round, trigger, clock.millis(), ranges.size());
        current = p;
        Set<Long> failedPeers = new HashSet<>();
        try {
            for (TokenRange range : ranges) {
                if (closed) {
                    break;
                }
                repairRange(r, range, p, failedPeers);
                p.rangesDone.incrementAndGet();
            }
        } catch (RuntimeException e) {
            // Only a bug or shutdown (an interrupted pacer) gets here; exchanges catch their own failures.
            if (!closed) {
                log.error("Anti-entropy round {} stopped", round, e);
            }
        } finally {
            p.finishedAt = clock.millis();
            p.finished = true;
            lastRoundMillis = p.finishedAt - p.startedAt;
            roundsCompleted.increment();
        }
        if (trigger == Trigger.MANUAL || p.keysStreamedIn.get() + p.keysStreamedOut.get() + p.failures.get() > 0) {
            log.info("Anti-entropy round {} ({}) done in {} ms: {} of {} ranges, {} keys compared, {} streamed in, "
                            + "{} out, {} failed exchanges", round, trigger.label(), lastRoundMillis, p.rangesDone.get(),
                    ranges.size(), p.keysCompared.get(), p.keysStreamedIn.get(), p.keysStreamedOut.get(),
                    p.failures.get());
        }
    }

    /** Builds this node's tree of {@code range} once and exchanges with each other live replica. */
    private void repairRange(TokenRing r, TokenRange range, Progress p, Set<Long> failedPeers) {
        List<Long> peers = new ArrayList<>();
        for (long node : r.replicas(range.end(), replicationFactor)) {
            if (node != localId && liveness.isAlive(node)) {
                peers.add(node);
            }
        }
        if (peers.isEmpty()) {
            return;
        }
        long now = clock.millis();
        int depth = MerkleTree.depthFor((long) (engine.size() * range.size()), config.minDepth(), config.maxDepth());
        MerkleTree tree = scanner.tree(range, depth, now);
        for (long peer : peers) {
            try {
                new Exchange(peer, tree, p, now).run();
            } catch (ExchangeFailedException e) {
                p.failures.incrementAndGet();
                failures.increment();
                if (failedPeers.add(peer)) {
                    log.warn("Anti-entropy with {} failed for range {} (round {}; further failures with it this round"
                            + " are counted, not logged): {}", describe.apply(peer), range, p.round, e.getMessage());
                }
            }
        }
    }

    /** One exchange: one range with one peer. */
    private final class Exchange {

        private final long peer;
        private final String peerName;
        private final MerkleTree tree;
        private final Progress p;
        private final long now;
        private final List<Key> pullKeys = new ArrayList<>();
        private final List<Entry> pullKnown = new ArrayList<>();
        private long pullBytes;
        private final List<Entry> push = new ArrayList<>();
        private long pushBytes;

        Exchange(long peer, MerkleTree tree, Progress p, long now) {
            this.peer = peer;
            this.peerName = describe.apply(peer);
            this.tree = tree;
            this.p = p;
            this.now = now;
        }

        void run() {
            TokenRange range = tree.range();
            byte[] treeReply = call(AntiEntropyTransport.Message.TREE,
                    AntiEntropyCodec.encodeTreeRequest(range, tree.depth(), tree.root()));
            long[] theirs = decode(() -> AntiEntropyCodec.decodeTreeReply(treeReply, tree.leaves().length));
            if (theirs == null) {
                return;
            }
            ArrayDeque<TokenRange> pending = new ArrayDeque<>(
                    tree.runs(tree.differingLeaves(theirs), config.maxLeavesPerRun()));
            while (!pending.isEmpty()) {
                List<TokenRange> ask = new ArrayList<>();
                Iterator<TokenRange> it = pending.iterator();
                while (it.hasNext() && ask.size() < MAX_RUNS_PER_REQUEST) {
                    ask.add(it.next());
                }
                byte[] keysReply = call(AntiEntropyTransport.Message.KEYS,
                        AntiEntropyCodec.encodeKeysRequest(ask, config.maxKeysPerRequest()));
                AntiEntropyCodec.KeysReply reply = decode(() -> AntiEntropyCodec.decodeKeysReply(keysReply, ask.size()));
                if (reply.runsDone() == 0 && !reply.partial()) {
                    throw new ExchangeFailedException("keys reply from " + peerName + " made no progress", null);
                }
                List<AntiEntropyCodec.KeyVersion> keys = reply.keys();
                int next = 0;
                for (int i = 0; i < reply.runsDone(); i++) {
                    next = compare(pending.poll(), keys, next);
                }
                if (reply.partial()) {
                    TokenRange run = pending.poll();
                    if (!run.contains(reply.cut())) {
                        throw new ExchangeFailedException("keys reply from " + peerName + " cut run " + run
                                + " at token " + reply.cut() + ", outside it", null);
                    }
                    next = compare(new TokenRange(run.start(), reply.cut()), keys, next);
                    if (reply.cut() != run.end()) {
                        pending.addFirst(new TokenRange(reply.cut(), run.end()));
                    }
                }
            }
            flushPull();
            flushPush();
        }

        /**
         * Compares the peer's keys of {@code run}, which start at {@code keys[next]}, with this node's;
         * queues pulls and pushes; returns the index of the peer's first key past the run.
         */
        private int compare(TokenRange run, List<AntiEntropyCodec.KeyVersion> keys, int next) {
            Map<Key, Entry> mine = new HashMap<>();
            scanner.scan(run, now, e -> mine.put(e.key(), e));
            long compared = 0;
            while (next < keys.size() && run.contains(keys.get(next).key().token())) {
                AntiEntropyCodec.KeyVersion theirs = keys.get(next++);
                Entry local = mine.remove(theirs.key());
                compared++;
                long digest = local == null ? 0 : MerkleTree.valueDigest(local, now);
                if ((digest != 0 || theirs.digest() != 0) && digest != theirs.digest()) {
                    // Values that join can differ under one version, and a counter ranks at its epoch, not its
                    // version (a reset stamped before its latest increment can outrank it): each side gets the
                    // other's, and each engine keeps the join or the higher rank (storage.Precedence).
                    pull(theirs, null);
                    if (local != null) {
                        push(local);
                    }
                    continue;
                }
                int c = local == null ? -1 : Version.compare(local.hlc(), local.nodeId(), theirs.hlc(), theirs.nodeId());
                if (c < 0) {
                    pull(theirs, local);
                } else if (c > 0) {
                    push(local);
                }
            }
            for (Entry local : mine.values()) {
                compared++;
                push(local);
            }
            p.keysCompared.addAndGet(compared);
            keysCompared.add(compared);
            return next;
        }

        private void pull(AntiEntropyCodec.KeyVersion theirs, Entry local) {
            pullKeys.add(theirs.key());
            pullKnown.add(local);
            pullBytes += ReplicaCodec.entrySize(theirs.key().length(), Math.max(0, theirs.valueLength()));
            if (pullKeys.size() >= MAX_ENTRIES_PER_BATCH || pullBytes >= config.maxBatchBytes()) {
                flushPull();
            }
        }

        private void push(Entry local) {
            push.add(local);
            pushBytes += ReplicaCodec.entrySize(local);
            if (push.size() >= MAX_ENTRIES_PER_BATCH || pushBytes >= config.maxBatchBytes()) {
                flushPush();
            }
        }

        private void flushPull() {
            if (pullKeys.isEmpty()) {
                return;
            }
            byte[] reply = call(AntiEntropyTransport.Message.READ,
                    ReplicaCodec.encodeRead(pullKeys, pullKnown.toArray(new Entry[0])));
            List<ReadReply> replies = decode(() -> ReplicaCodec.decodeReadReply(reply));
            List<Entry> newer = new ArrayList<>();
            for (ReadReply r : replies) {
                if (r.entry() != null) {
                    newer.add(r.entry());
                }
            }
            pullKeys.clear();
            pullKnown.clear();
            pullBytes = 0;
            if (!newer.isEmpty()) {
                try {
                    replica.apply(peerName, newer);
                } catch (ReplicaRefusedException e) {
                    throw new ExchangeFailedException("refused " + newer.size() + " entries from " + peerName
                            + ": " + e.getMessage(), null);
                }
                p.keysStreamedIn.addAndGet(newer.size());
                keysStreamedIn.add(newer.size());
            }
        }

        private void flushPush() {
            if (push.isEmpty()) {
                return;
            }
            byte[] reply = call(AntiEntropyTransport.Message.WRITE, ReplicaCodec.encodeWrite(push));
            int n = push.size();
            push.clear();
            pushBytes = 0;
            try {
                ReplicaCodec.checkWriteReply(reply);
            } catch (ReplicaRefusedException | MalformedMessageException e) {
                throw new ExchangeFailedException(peerName + " refused " + n + " entries: " + e.getMessage(), e);
            }
            p.keysStreamedOut.addAndGet(n);
            keysStreamedOut.add(n);
        }

        /** Sends one request and waits for its reply, counting both payloads' bytes. */
        private byte[] call(AntiEntropyTransport.Message message, byte[] payload) {
            p.bytesSent.addAndGet(payload.length);
            bytesSent.add(payload.length);
            byte[] reply;
            try {
                reply = transport.call(peer, message, payload).get(config.timeoutMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new ExchangeFailedException(message + " to " + peerName + " timed out after "
                        + config.timeoutMillis() + " ms", e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                throw new ExchangeFailedException(message + " to " + peerName + " failed: " + cause, cause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ExchangeFailedException(message + " to " + peerName + " interrupted", e);
            }
            p.bytesReceived.addAndGet(reply.length);
            bytesReceived.add(reply.length);
            return reply;
        }

        private <T> T decode(Supplier<T> decoder) {
            try {
                return decoder.get();
            } catch (MalformedMessageException e) {
                throw new ExchangeFailedException("malformed reply from " + peerName + ": " + e.getMessage(), e);
            }
        }
    }

    /** The counters of one round; written by the round's thread, read by {@link #status()}. */
    private static final class Progress {
        final long round;
        final Trigger trigger;
        final long startedAt;
        final int rangesTotal;
        /** Epoch ms when the round ended; meaningful once {@link #finished}. */
        volatile long finishedAt;
        volatile boolean finished;
        final AtomicInteger rangesDone = new AtomicInteger();
        final AtomicLong keysCompared = new AtomicLong();
        final AtomicLong keysStreamedIn = new AtomicLong();
        final AtomicLong keysStreamedOut = new AtomicLong();
        final AtomicLong bytesSent = new AtomicLong();
        final AtomicLong bytesReceived = new AtomicLong();
        final AtomicLong failures = new AtomicLong();

        Progress(long round, Trigger trigger, long startedAt, int rangesTotal) {
            this.round = round;
            this.trigger = trigger;
            this.startedAt = startedAt;
            this.rangesTotal = rangesTotal;
        }

        RepairStatus snapshot(long requested, long now) {
            boolean done = finished;
            return new RepairStatus(round, requested, trigger.label(), !done, rangesDone.get(), rangesTotal,
                    keysCompared.get(), keysStreamedIn.get(), keysStreamedOut.get(), bytesSent.get(),
                    bytesReceived.get(), failures.get(), (done ? finishedAt : now) - startedAt);
        }
    }
}
