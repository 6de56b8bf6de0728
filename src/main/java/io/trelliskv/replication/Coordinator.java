package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.common.LogLimiter;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.Precedence;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongPredicate;
import java.util.random.RandomGenerator;

/**
 * Coordinates reads and writes across a key's replicas, Dynamo style, around a command that runs on
 * this node's engine.
 *
 * <h2>A command's life</h2>
 * <ol>
 *   <li>{@link #checkAvailable}: if fewer replicas of a key are alive than the consistency level
 *       needs, the command is refused at once ({@code UNAVAILABLE}) and nothing is done.</li>
 *   <li>{@link #read} (reads, and writes that read first such as INCR or APPEND): as many of the other
 *       replicas as the level needs are asked for their versions, another in place of one that fails or is
 *       slow (a speculative retry). Each is told the version this node already has and sends the
 *       whole entry only when its own is newer, so a value crosses the network only when it is needed.
 *       (For a counter, this node tells its epoch instead: a reset newer than the epoch outranks the
 *       counter even when its version is older; see {@link Precedence}.) Entries sent are merged into
 *       the local engine, whose rank order is last writer wins but for counters; once enough replicas have
 *       answered, the command runs against the local engine and so sees the newest version any of
 *       them had. Values of a kind that joins (versioned siblings, counters: {@link ValueKind#joins})
 *       are not ordered by version: replicas send them whole whatever their version, the engine joins
 *       them, and the command sees the join of every answer ({@link #reconcile}). When every asked replica
 *       has answered, stale ones get the winning entry — for joined values, this node's join — written back
 *       (read repair). At ONE the local copy suffices and the others are checked in the background
 *       with {@link ReplicationConfig#readRepairChance}.</li>
 *   <li>The command runs here; the engine stamps its writes with this node's hybrid logical clock and
 *       id, and the caller collects them ({@code storage.WriteCapture}).</li>
 *   <li>{@link #write}: those entries go to every other replica; the write completes after W acks,
 *       counting this node's own copy. A replica that is down or does not answer in time gets the
 *       entries as hints, replayed when it is back; they count toward W only with a sloppy quorum.</li>
 * </ol>
 *
 * <h2>Read-your-writes</h2>
 * A caller may give, per key, the version of its own last write of that key (its floor). If this
 * node's copy is older than the floor, every other replica is asked instead of the level's count — those
 * this node takes for dead too, last, their failures excused — so the read returns that write or a newer
 * one as long as one replica that took it can be reached, also one whose return this node's membership has
 * not heard of yet (for a joined
 * value, siblings or a counter, a newer version is not enough: see {@link #meets}). The read
 * waits for all of them only until the floor is met: from then on the level's count is enough, so a
 * slow or silent replica does not hold up or fail a read that already has what it needs.
 *
 * <p>Thread-safety: all methods may be called from any thread; replies complete on transport threads.
 */
public final class Coordinator {

    private static final Logger log = LoggerFactory.getLogger(Coordinator.class);

    /** Where writes go that a replica could not take now. */
    public interface HintSink {
        /** Keeps {@code entry} for {@code target}; false if the hint store is full. */
        boolean add(long target, Entry entry);
    }

    private final Engine engine;
    private final Hlc hlc;
    private final ReplicaPlacement placement;
    private final Liveness liveness;
    private final ReplicaTransport transport;
    private final HintSink hints;
    private final ReplicationConfig config;
    private final RandomGenerator random;

    /** {@link #isAlive}, made once: {@link #readOrder} asks it for every key read. */
    private final LongPredicate alive = this::isAlive;

    /** Reads that asked other replicas: one per {@link #read} (a command's, or a pipeline's run of them). */
    private final LongAdder remoteReads = new LongAdder();
    private final LongAdder remoteWrites = new LongAdder();
    private final LongAdder readRepairs = new LongAdder();
    private final LongAdder backgroundChecks = new LongAdder();
    /** Replicas a read asked in place of one that was slow or failed (speculative retries). */
    private final LongAdder speculativeReads = new LongAdder();
    private final LongAdder unavailable = new LongAdder();
    private final LongAdder timeouts = new LongAdder();
    private final LongAdder refusals = new LongAdder();
    /** Versions ignored for drift come by the thousand while a replica's clock runs ahead: a line a second. */
    private final LogLimiter driftLog = new LogLimiter(1_000);
    private final LongAdder hinted = new LongAdder();
    private final LongAdder hintsDropped = new LongAdder();
    /** Entries sent to pending replicas (nodes joining a range), beyond the replicas that count. */
    private final LongAdder pendingWrites = new LongAdder();
    private final LongAdder driftRejected = new LongAdder();

    public Coordinator(Engine engine, Hlc hlc, ReplicaPlacement placement, Liveness liveness,
                       ReplicaTransport transport, HintSink hints, ReplicationConfig config, RandomGenerator random) {
        this.engine = engine;
        this.hlc = hlc;
        this.placement = placement;
        this.liveness = liveness;
        this.transport = transport;
        this.hints = hints;
        this.config = config;
        this.random = random;
    }

    public ReplicationConfig config() {
        return config;
    }

    // ---- availability ----

    /**
     * Refuses at once if some key has fewer live replicas than {@code level} needs. A write with a
     * sloppy quorum needs only this node.
     *
     * @throws ReplicationException UNAVAILABLE
     */
    public void checkAvailable(List<Key> keys, ConsistencyLevel level, boolean write) {
        if (write && config.sloppyQuorum()) {
            return;
        }
        for (int k = 0; k < keys.size(); k++) { // indexed loops: no iterator per key and replica list
            Key key = keys.get(k);
            List<Long> replicas = placement.replicas(key.token());
            if (replicas.isEmpty()) {
                continue;
            }
            int required = level.required(replicas.size());
            int alive = 0;
            for (int r = 0; r < replicas.size(); r++) {
                if (isAlive(replicas.get(r))) {
                    alive++;
                }
            }
            if (alive < required) {
                unavailable.increment();
                throw ReplicationException.unavailable(key.bytes(), level, write, required, alive);
            }
        }
    }

    // ---- reads ----

    /**
     * Brings this node's copies of {@code keys} up to the newest version among as many replicas as
     * {@code level} asks for (more where a floor is not met).
     *
     * <p>Which replicas: of a key's other live replicas, in {@link #readOrder}, as many as the level still needs
     * once this node's own copy is counted (one, for QUORUM at N = 3 on a replica); every other one where the
     * caller's floor is not met, the live ones first. A replica that fails, or that has not answered after
     * {@link ReplicationConfig#speculativeDelayMillis}, has the next replica in that order asked in its place
     * (a speculative retry, as Cassandra's {@code speculative_retry}); its own answer still counts if it comes.
     *
     * @param floors per key, the version the caller must see at least (its own last write), or null
     * @return null if this node's copies already satisfy the level and the floors (nothing to wait
     *         for); else a future that completes when enough replicas have answered, or fails with a
     *         {@link ReplicationException} TIMEOUT
     */
    public CompletableFuture<Void> read(List<Key> keys, ConsistencyLevel level, Version[] floors) {
        ReadFuture done = new ReadFuture();
        return read(keys, level, floors, done) ? done : null;
    }

    /** Told once when a {@link #read} is over. */
    public interface ReadDone {
        /**
         * Enough replicas have answered ({@code failure} null), or the read failed with a
         * {@link ReplicationException}: TIMEOUT, or REFUSED where a replica holds a key at a version too far ahead
         * of this node's clock. Called on any thread, possibly before {@link #read} returns.
         */
        void readDone(Throwable failure);

        /**
         * Like {@link #readDone(Throwable)}, telling which keys failed: {@code keyFailures[i]} is the failure of the
         * read's key {@code i} (TIMEOUT: short of answers; REFUSED: a replica holds it at a version too far ahead of
         * this node's clock), null for a key that has the answers it needs; the array is null on success. By default,
         * which keys is not asked.
         */
        default void readDone(Throwable failure, ReplicationException[] keyFailures) {
            readDone(failure);
        }
    }

    /** The future {@link #read} answers: completed by the read's one {@link ReadDone#readDone}. */
    private static final class ReadFuture extends CompletableFuture<Void> implements ReadDone {
        @Override
        public void readDone(Throwable failure) {
            if (failure == null) {
                complete(null);
            } else {
                completeExceptionally(failure);
            }
        }
    }

    /** Nobody waits for a read that only checks replicas in the background. */
    private static final ReadDone NOBODY = failure -> { };

    /**
     * Like {@link #read(List, ConsistencyLevel, Version[])}, telling {@code whenDone} rather than completing a
     * future, so a caller that waits with an object it has already pays for no completion stage.
     *
     * @return false if this node's copies already satisfy the level and the floors: {@code whenDone} is not
     *         called; true if it will be, once
     */
    public boolean read(List<Key> keys, ConsistencyLevel level, Version[] floors, ReadDone whenDone) {
        long self = placement.localNodeId();
        ReadOp op = new ReadOp(keys, level, whenDone);
        boolean remote = false;
        for (int i = 0; i < keys.size(); i++) {
            Key key = keys.get(i);
            List<Long> replicas = placement.replicas(key.token());
            Entry local = engine.storedVersion(key); // a plain value's bytes only if repair sends them
            KeyRead read = op.reads[i];
            read.known = local;
            if (replicas.isEmpty()) {
                continue;
            }
            long[] order = readOrder(key.token(), replicas, self, alive);
            read.order = order;
            read.local = holdsReplica(replicas, self) ? 1 : 0;
            int need = Math.max(0, level.required(replicas.size()) - read.local);
            Version floor = floors == null ? null : floors[i];
            read.levelNeed = need;
            int ask = Math.min(need, order.length); // at ALL: every live one
            if (floor != null && !meets(local, floor)) {
                // Every other replica, those this node takes for dead last: the one that took the connection's
                // write may be back before this node has heard so (a partition that has just healed). Their
                // failures are excused (Request.unseen): with none of them reachable, what the live ones have.
                read.live = order.length;
                order = withUnseen(order, replicas, self);
                read.order = order;
                read.floor = floor;
                need = Math.max(need, order.length);
                ask = order.length;
            }
            read.need = need;
            op.ask(i, ask);
            if (need > 0) {
                remote = true;
            }
        }
        if (!remote) {
            if (level == ConsistencyLevel.ONE && config.readRepairChance() > 0
                    && random.nextDouble() < config.readRepairChance()) {
                for (int i = 0; i < keys.size(); i++) {
                    op.ask(i, op.reads[i].order == null ? 0 : op.reads[i].order.length); // every live replica
                }
                if (op.requests.isEmpty()) {
                    return false;
                }
                backgroundChecks.increment();
                op.whenDone = NOBODY; // nobody waits for it: it only repairs
                op.send();
            }
            return false;
        }
        remoteReads.increment();
        op.send();
        return true;
    }

    /**
     * The other live replicas of a key in the order a read asks them: the ring's order, rotated by the key's
     * token. Each key asks the same replicas first while they live, and the keys of one replica set spread
     * their reads evenly over its members: the ring's order alone asks one member first for a whole arc, so
     * the load would split as the vnodes happen to lie (with one token per node, two thirds to this node's
     * successor at N = 3). Tokens are Murmur3 hashes, so their low bits are uniform.
     */
    static long[] readOrder(long token, List<Long> replicas, long self, LongPredicate isAlive) {
        int live = 0;
        long liveBits = 0; // bit p: the replica at position p of the ring's list is another live one (N <= 16)
        for (int p = 0; p < replicas.size(); p++) {
            long node = replicas.get(p);
            if (node != self && isAlive.test(node)) {
                liveBits |= 1L << p;
                live++;
            }
        }
        long[] order = new long[live];
        if (live == 0) {
            return order;
        }
        int start = (int) Long.remainderUnsigned(token, live);
        int k = 0;
        for (int p = 0; p < replicas.size(); p++) {
            if ((liveBits & (1L << p)) != 0) {
                order[Math.floorMod(k - start, live)] = replicas.get(p);
                k++;
            }
        }
        return order;
    }

    /**
     * {@code live} (the other live replicas in order) followed by the other replicas not in it: those this node
     * took for dead when {@code live} was made (membership is not asked again, so a change meanwhile cannot
     * leave one out or list one twice).
     */
    static long[] withUnseen(long[] live, List<Long> replicas, long self) {
        long[] all = new long[replicas.size()];
        System.arraycopy(live, 0, all, 0, live.length);
        int k = live.length;
        for (int p = 0; p < replicas.size(); p++) {
            long node = replicas.get(p);
            if (node != self && !contains(live, node)) {
                all[k++] = node;
            }
        }
        return k == live.length ? live : Arrays.copyOf(all, k);
    }

    private static boolean contains(long[] nodes, long node) {
        for (long n : nodes) {
            if (n == node) {
                return true;
            }
        }
        return false;
    }

    private static boolean holdsReplica(List<Long> replicas, long node) {
        for (int p = 0; p < replicas.size(); p++) {
            if (replicas.get(p) == node) {
                return true;
            }
        }
        return false;
    }

    /**
     * Of two replicas' entries for one key (either may be null), what a read settles on at {@code nowMillis}:
     * the entry of higher rank ({@link Precedence}: a version, or a live counter's epoch), which is the one
     * every engine's merge keeps. Two that rank equal and join (live versioned values; live counters of one
     * epoch) give their join ({@link ValueKind#join}) under the newer version, with the expiry of the values
     * it holds ({@link ValueKind#joinedExpiry}), as the engine's merge stores it; two versioned
     * values join whatever their versions. Values that do not decode cannot be joined and fall back to the
     * newer version.
     */
    public static Entry reconcile(Entry a, Entry b, long nowMillis) {
        if (a == null || b == null) {
            return a == null ? b : a;
        }
        Entry newer = b.newerThan(a) ? b : a;
        if (Precedence.liveCounter(a, nowMillis) || Precedence.liveCounter(b, nowMillis)) {
            int c = Precedence.compare(a, b, nowMillis);
            if (c != 0) {
                return c > 0 ? a : b;
            }
        }
        if (a.isTombstone() || b.isTombstone() || a.kind() != b.kind() || !ValueKind.joins(a.kind())) {
            return newer;
        }
        try {
            byte[] joined = ValueKind.join(a.kind(), a.value(), b.value());
            return new Entry(newer.key(), joined, newer.hlc(), newer.nodeId(), ValueKind.joinedExpiry(a, b, joined),
                    newer.kind());
        } catch (IllegalArgumentException damaged) {
            return newer;
        }
    }

    /**
     * What a replica is told this node knows of a key, in a read: an entry whose version is the rank of
     * {@code known} ({@link Precedence#rank}), so that the replica sends its own whole entry exactly when it
     * may outrank this node's. For a live counter that is its epoch, older than its version: a reset (SET,
     * DEL) newer than the epoch outranks the counter even when stamped before the counter's latest
     * increment, and must reach this node. Replicas compare the version only, as they always have.
     */
    private static Entry askedAbove(Entry known, long nowMillis) {
        if (known == null || !Precedence.liveCounter(known, nowMillis)) {
            return known;
        }
        Version rank = Precedence.rank(known, nowMillis);
        return new Entry(known.key(), null, rank.hlc(), rank.nodeId(), 0);
    }

    /**
     * True if read repair must send {@code newest} to a replica that answered {@code theirs}: it has nothing,
     * or an entry of lower rank. A replica that sent no entry holds one whose version is no newer than the
     * rank this node asked above ({@link #askedAbove}) and that does not join: unless it is {@code newest}
     * itself, it ranks below.
     */
    private static boolean outranks(Entry newest, ReadReply theirs, long nowMillis) {
        if (theirs.missing()) {
            return true;
        }
        if (Version.compare(newest.hlc(), newest.nodeId(), theirs.hlc(), theirs.nodeId()) == 0) {
            return false;
        }
        return theirs.entry() == null || Precedence.compare(newest, theirs.entry(), nowMillis) > 0;
    }

    /** This node's time, as its hybrid logical clock has it: for expiry in the rank order. */
    private long nowMillis() {
        return hlc.nowMillis();
    }

    /** True if a replica that answered {@code theirs} holds exactly {@code mine}: same version and same value. */
    private static boolean holds(ReadReply theirs, Entry mine) {
        if (theirs.missing()) {
            return false;
        }
        if (Version.compare(mine.hlc(), mine.nodeId(), theirs.hlc(), theirs.nodeId()) != 0) {
            return false;
        }
        return theirs.entry() == null || Arrays.equals(theirs.entry().value(), mine.value());
    }

    /**
     * This node's copies of those of {@code keys} that meet their floors and that this node stamped itself (writes
     * it coordinated: the connection's own, or newer ones made here), for a command forwarded with those floors to
     * carry ahead of it; at most {@link #MAX_CARRIED_BYTES} of keys and values. Null if none. A copy stamped
     * elsewhere is left out: its coordinator holds it (a read-modify-write's result, which the first replica
     * stamped and this node only took as a replica, would otherwise travel back to it with every later forward).
     *
     * @param floors per key, the caller's floor, or null (no floor: nothing to carry)
     */
    public List<Entry> holding(List<Key> keys, Version[] floors) {
        long self = placement.localNodeId();
        List<Entry> held = null;
        long bytes = 0;
        for (int i = 0; floors != null && i < keys.size() && i < floors.length; i++) {
            if (floors[i] == null) {
                continue;
            }
            // The version first, without the value: a coarse floor covers many keys this node holds older or not at all.
            Entry version = engine.storedVersion(keys.get(i));
            if (version == null || version.nodeId() != self || !meets(version, floors[i])) {
                continue;
            }
            Entry e = engine.stored(keys.get(i));
            if (e == null || e.nodeId() != self || !meets(e, floors[i])) {
                continue;
            }
            bytes += e.key().bytes().length + (e.value() == null ? 0 : e.value().length);
            if (bytes > MAX_CARRIED_BYTES) {
                break; // the command's own read still asks the replicas for the rest
            }
            if (held == null) {
                held = new ArrayList<>(1);
            }
            held.add(e);
        }
        return held;
    }

    /**
     * Most bytes of keys and values one forward carries ahead of it ({@link #holding}): the copy is made on the
     * client's event loop, and a carried batch must fit a peer frame with the forward's own.
     */
    static final int MAX_CARRIED_BYTES = 64 * 1024;

    /**
     * Whether {@code e} holds the caller's write of version {@code floor}. A newer plain value or tombstone
     * supersedes it; a joined value (siblings, a counter) does not: a newer one may be a concurrent write
     * joined elsewhere that lacks the caller's, so there only the write's own version proves it is there.
     */
    private static boolean meets(Entry e, Version floor) {
        if (e == null) {
            return false;
        }
        int c = e.version().compareTo(floor);
        return ValueKind.joins(e.kind()) && !e.isTombstone() ? c == 0 : c >= 0;
    }

    /** One key's part of a {@link ReadOp}; guarded by the read's monitor. */
    private static final class KeyRead {
        /** This node's copy when the read started: what the replicas are told it has. */
        Entry known;
        /** What the entries replicas sent settle on ({@link #reconcile}); for read repair. */
        Entry seen;
        /**
         * Remote answers the key waits for: {@link #levelNeed}, or every other replica below a floor (one taken for
         * dead that cannot be reached is then no longer waited for).
         */
        int need;
        /** Remote answers the level alone asks for; {@link #need} drops to it once the floor is met. */
        int levelNeed;
        /** The floor this node's copy was below, until an answer meets it; else null. */
        Version floor;
        /** Remote answers so far. */
        int answered;
        /** 1 where this node is a replica of the key (its own copy counts as an answer). */
        int local;
        /**
         * The other live replicas in the order they are asked ({@link #readOrder}), below a floor followed by those
         * taken for dead; null if the key has none.
         */
        long[] order;
        /** How many of {@link #order} have been asked: always a prefix, so the next is {@code order[asked]}. */
        int asked;
        /** Below a floor, how many of {@link #order} were taken for alive (the rest for dead); else its length. */
        int live = Integer.MAX_VALUE;
        /**
         * Set when a replica answered with a version too far ahead of this node's clock to take: the read fails
         * with it. Answering without it would return an older value (or none) as the latest, and a write that
         * read first (DEL, INCR) would be stamped below it and lose to it, acknowledged.
         */
        ReplicationException ahead;
    }

    /** The key indexes of a request that asks about the first key alone: shared by every such request, never written. */
    private static final int[] FIRST_KEY_ONLY = {0};

    /** One read across replicas; its state is guarded by its own monitor. */
    private final class ReadOp {
        final List<Key> keys;
        final ConsistencyLevel level;
        /** Each key's part of the read, by index. */
        final KeyRead[] reads;
        /** Every request made, a replica's first and any asked in place of a slow or failed one; for read repair. */
        final List<Request> requests = new ArrayList<>(2);
        /** Told once, when enough replicas have answered or too few can. */
        ReadDone whenDone;
        /** Set once {@link #whenDone} has been told (or is about to be): nothing more is asked. */
        boolean over;
        /** Requests that have neither answered nor failed. */
        int outstanding;
        /** What the replicas are told of every key ({@link #askedAbove}), for a request of all the keys; set by {@link #send}. */
        Entry[] askedAll;

        ReadOp(List<Key> keys, ConsistencyLevel level, ReadDone whenDone) {
            this.keys = keys;
            this.level = level;
            this.whenDone = whenDone;
            this.reads = new KeyRead[keys.size()];
            for (int i = 0; i < reads.length; i++) {
                reads[i] = new KeyRead();
            }
        }

        /** Before {@link #send}: asks key {@code i}'s replicas, in order, until {@code count} have been asked. */
        void ask(int i, int count) {
            KeyRead read = reads[i];
            for (; read.asked < count; read.asked++) {
                requestTo(read.order[read.asked], requests).add(i);
            }
        }

        /** Whether {@code node} is one of the replicas {@code read} asked below its floor though taken for dead. */
        private boolean takenForDead(KeyRead read, long node) {
            for (int p = read.live; p < read.order.length; p++) {
                if (read.order[p] == node) {
                    return true;
                }
            }
            return false;
        }

        /** The request to {@code node} among {@code in}, made and added if there is none. */
        private Request requestTo(long node, List<Request> in) {
            for (int r = 0; r < in.size(); r++) {
                if (in.get(r).node == node) {
                    return in.get(r);
                }
            }
            Request request = new Request(node);
            in.add(request);
            return request;
        }

        void send() {
            long now = nowMillis();
            Entry[] all = new Entry[keys.size()];
            for (int i = 0; i < all.length; i++) {
                all[i] = askedAbove(reads[i].known, now);
            }
            int first;
            synchronized (this) {
                askedAll = all;
                outstanding = requests.size();
                first = requests.size(); // more may join while these are sent: retries send themselves
            }
            checkDone();
            for (int r = 0; r < first; r++) {
                Request request;
                synchronized (this) {
                    request = requests.get(r);
                }
                request.send(now);
            }
        }

        /**
         * Tells {@link #whenDone}, once, when every key has the answers it needs, or was refused (a replica holds
         * it at a version too far ahead), or no request is left. The read fails with its first refusal, else the
         * TIMEOUT of its first key short of answers; each failed key's own is in the key failures.
         */
        private void checkDone() {
            ReplicationException failure = null;
            ReplicationException[] keyFailures = null;
            boolean refused = false;
            int shortKey = -1;
            synchronized (this) {
                if (over) {
                    return;
                }
                for (int i = 0; i < reads.length; i++) {
                    if (reads[i].ahead != null) {
                        refused = true;
                    } else if (shortKey < 0 && reads[i].answered < reads[i].need) {
                        shortKey = i;
                    }
                }
                if (shortKey >= 0 && outstanding > 0) {
                    return; // answers may yet come
                }
                over = true;
                if (refused || shortKey >= 0) {
                    keyFailures = new ReplicationException[reads.length];
                    for (int i = 0; i < reads.length; i++) {
                        KeyRead read = reads[i];
                        if (read.ahead != null) {
                            keyFailures[i] = read.ahead;
                            if (failure == null) {
                                failure = read.ahead; // the first refusal
                            }
                        } else if (read.answered < read.need && read.floor != null) {
                            keyFailures[i] = ReplicationException.floorNotMet(keys.get(i).bytes(), level,
                                    read.answered + read.local, read.need + read.local);
                        } else if (read.answered < read.need) {
                            keyFailures[i] = ReplicationException.timeout(keys.get(i).bytes(), level, false,
                                    read.answered + read.local, read.need + read.local);
                        }
                    }
                    if (!refused) {
                        failure = keyFailures[shortKey];
                    }
                }
            }
            if (refused) {
                refusals.increment();
            } else if (shortKey >= 0) {
                timeouts.increment();
            }
            whenDone.readDone(failure, keyFailures);
        }

        /**
         * Under the monitor: for each key of {@code slow} still short of answers, a request to the key's next live
         * replica in order, counted as outstanding; null if there is none. At most once per request.
         */
        private List<Request> replace(Request slow) {
            if (slow.replaced || over) {
                return null;
            }
            slow.replaced = true;
            List<Request> fresh = null;
            for (int j = 0; j < slow.count; j++) {
                int i = slow.idx[j];
                KeyRead read = reads[i];
                if (read.answered >= read.need) {
                    continue;
                }
                while (read.asked < read.order.length) {
                    long next = read.order[read.asked++];
                    if (isAlive(next)) {
                        if (fresh == null) {
                            fresh = new ArrayList<>(1);
                        }
                        requestTo(next, fresh).add(i);
                        break;
                    }
                }
            }
            if (fresh != null) {
                requests.addAll(fresh);
                outstanding += fresh.size();
                speculativeReads.add(fresh.size());
            }
            return fresh;
        }

        private void sendAll(List<Request> fresh, long now) {
            if (fresh != null) {
                for (Request request : fresh) {
                    request.send(now);
                }
            }
        }

        /** One request to one replica: the keys it asks about (by index), and its answer. */
        private final class Request implements ReplicaTransport.ReadAnswers {
            final long node;
            /**
             * Indexes of the keys asked about, ascending: {@code idx[0..count)}. Starts as {@link #FIRST_KEY_ONLY},
             * shared and never written, which is all a one-key read needs.
             */
            int[] idx = FIRST_KEY_ONLY;
            int count;
            /**
             * The replica's answer, one per key asked from {@link #from} on (a batch's answer is shared by the reads
             * coalesced into it); null until it answers, and if it fails.
             */
            List<ReadReply> replies;
            int from;
            /** It has answered or failed. */
            boolean finished;
            /** Another replica has been asked in its place. */
            boolean replaced;
            Request(long node) {
                this.node = node;
            }

            void add(int i) {
                if (count == 0 && i == 0) {
                    count = 1; // idx is FIRST_KEY_ONLY
                    return;
                }
                if (idx == FIRST_KEY_ONLY || count == idx.length) {
                    idx = Arrays.copyOf(idx, Math.max(2, count * 2));
                }
                idx[count++] = i;
            }

            void send(long now) {
                List<Key> ks;
                Entry[] kn;
                if (count == keys.size()) { // every key, in order: the read's own list
                    ks = keys;
                    synchronized (ReadOp.this) {
                        kn = askedAll;
                    }
                } else {
                    ks = new ArrayList<>(count);
                    kn = new Entry[count];
                    for (int j = 0; j < count; j++) {
                        ks.add(keys.get(idx[j]));
                        kn[j] = askedAbove(reads[idx[j]].known, now);
                    }
                }
                try {
                    transport.read(node, ks, kn, config.speculativeDelayMillis(), this);
                } catch (RuntimeException e) {
                    answered(null, 0, e);
                }
            }

            @Override
            public void slow() {
                List<Request> fresh;
                synchronized (ReadOp.this) {
                    if (finished) {
                        return;
                    }
                    fresh = replace(this);
                }
                sendAll(fresh, nowMillis());
            }

            @Override
            public void answered(List<ReadReply> rs, int first, Throwable failure) {
                boolean ok = failure == null && rs != null && first >= 0 && rs.size() - first >= count;
                List<Integer> floorsMet = null;
                long now = nowMillis();
                if (ok) {
                    for (int j = 0; j < count; j++) {
                        Entry newer = rs.get(first + j).entry();
                        int i = idx[j];
                        if (newer != null && acceptable(newer, node)) {
                            engine.merge(newer);
                            synchronized (ReadOp.this) {
                                reads[i].seen = reconcile(reads[i].seen, newer, now);
                            }
                        } else if (newer != null) {
                            ReplicationException ahead = ReplicationException.versionAhead(keys.get(i).bytes(),
                                    Long.toHexString(node), hlc.driftMillis(newer.hlc()), config.maxClockDriftMillis());
                            synchronized (ReadOp.this) {
                                if (reads[i].ahead == null) {
                                    reads[i].ahead = ahead;
                                }
                            }
                        }
                        Version floor;
                        synchronized (ReadOp.this) {
                            floor = reads[i].floor;
                        }
                        if (floor != null && meets(engine.storedVersion(keys.get(i)), floor)) {
                            if (floorsMet == null) {
                                floorsMet = new ArrayList<>(1);
                            }
                            floorsMet.add(i);
                        }
                    }
                }
                List<Request> fresh = null;
                boolean last;
                synchronized (ReadOp.this) {
                    finished = true;
                    if (ok) {
                        replies = rs;
                        from = first;
                        for (int j = 0; j < count; j++) {
                            reads[idx[j]].answered++;
                        }
                    } else {
                        for (int j = 0; j < count; j++) {
                            KeyRead read = reads[idx[j]];
                            if (read.floor != null && takenForDead(read, node)) {
                                // asked below the floor though taken for dead, and unreachable: no longer waited for
                                read.need = Math.max(read.levelNeed, read.need - 1);
                            }
                        }
                        fresh = replace(this); // failed: its keys' next replicas, at once
                    }
                    if (floorsMet != null) {
                        for (int i : floorsMet) {
                            reads[i].floor = null;
                            reads[i].need = reads[i].levelNeed;
                        }
                    }
                    last = --outstanding == 0;
                }
                sendAll(fresh, now);
                checkDone();
                if (last) {
                    repair();
                }
            }
        }

        /**
         * Writes the winning entry (the highest rank: {@link #reconcile}) back to every replica that answered
         * with one of lower rank; where this node holds a value that joins, writes its join back to every
         * replica that does not hold exactly it. A replica holding a reset that outranks this node's counter
         * has sent it ({@link #askedAbove}), so this node's engine holds the reset and repair spreads it.
         * Replicas that were not asked (the level did not need them) are left to the next read, hints and
         * anti-entropy.
         */
        private void repair() {
            List<Request> all;
            synchronized (this) {
                all = requests; // every request has finished: no longer written
            }
            Map<Long, List<Entry>> fixes = null;
            long nowMillis = nowMillis();
            // This node's copy of each key, read once for every replica that answered for it; made only when
            // a replica may lack something (not in the common case).
            Entry[] current = null;
            boolean[] looked = null;
            for (Request request : all) {
                if (request.replies == null) {
                    continue; // failed: nothing known of its copy
                }
                for (int j = 0; j < request.count; j++) {
                    int i = request.idx[j];
                    ReadReply theirs = request.replies.get(request.from + j);
                    Entry newest;
                    synchronized (this) {
                        KeyRead read = reads[i];
                        if (read.seen == null && holdsWhatWasKnown(theirs, read.known)) {
                            continue; // the common case: it holds this node's copy, and nobody sent a newer one
                        }
                        newest = reconcile(read.known, read.seen, nowMillis);
                    }
                    if (current == null) {
                        current = new Entry[keys.size()];
                        looked = new boolean[keys.size()];
                    }
                    if (!looked[i]) {
                        current[i] = engine.stored(keys.get(i));
                        looked[i] = true;
                    }
                    Entry now = current[i];
                    if (now != null && !now.isTombstone() && ValueKind.joins(now.kind())) {
                        if (!holds(theirs, now)) { // the join of every answer merged here
                            fixes = addFix(fixes, request.node, now);
                        }
                        continue;
                    }
                    if (newest != null && now != null && now.newerThan(newest)) {
                        continue; // written since (by the command this read served): that write replicates itself
                    }
                    if (newest != null && newest.value() == Engine.VALUE_NOT_COPIED) {
                        // This node's copy as the read found it, without its bytes: still stored unless evicted
                        // since, then there is nothing to send.
                        newest = now != null && !newest.newerThan(now) && !now.newerThan(newest) ? now : null;
                    }
                    if (newest != null && outranks(newest, theirs, nowMillis)) {
                        fixes = addFix(fixes, request.node, newest);
                    }
                }
            }
            if (fixes == null) {
                return; // every replica asked holds the newest: the common case
            }
            for (Map.Entry<Long, List<Entry>> fix : fixes.entrySet()) {
                readRepairs.add(fix.getValue().size());
                writeTo(fix.getKey(), fix.getValue()).exceptionally(failure -> null);
            }
        }

        /**
         * True if a replica that answered {@code theirs} holds the version this node had when the read started,
         * {@code known}, of a kind that does not join: then, with no newer entry seen, it is as new as anything
         * this read learnt, and a write made here since replicates itself, so repair has nothing to send it.
         */
        private static boolean holdsWhatWasKnown(ReadReply theirs, Entry known) {
            return known != null && theirs.entry() == null && !theirs.missing()
                    && (known.isTombstone() || !ValueKind.joins(known.kind()))
                    && Version.compare(known.hlc(), known.nodeId(), theirs.hlc(), theirs.nodeId()) == 0;
        }

        /** Adds an entry to write back to {@code node}; makes the map on the first. */
        private static Map<Long, List<Entry>> addFix(Map<Long, List<Entry>> fixes, long node, Entry entry) {
            Map<Long, List<Entry>> out = fixes != null ? fixes : new LinkedHashMap<>();
            out.computeIfAbsent(node, n -> new ArrayList<>(1)).add(entry);
            return out;
        }
    }

    // ---- writes ----

    /**
     * Sends the entries a command wrote here to the keys' other replicas and completes after each key
     * has as many acks as {@code level} needs, this node's copy included. Replicas that are down or
     * time out get hints.
     *
     * @return a future that completes normally, or with a {@link ReplicationException} (TIMEOUT or
     *         REFUSED): the entries stay written here either way
     */
    public CompletableFuture<Void> write(List<Entry> written, ConsistencyLevel level) {
        return replicate(written, level, null);
    }

    /** Told once when a {@link #write(List, ConsistencyLevel, WriteDone)} is over. */
    public interface WriteDone {
        /**
         * Every key has the acks its level needs ({@code failure} null), or the write failed with a
         * {@link ReplicationException} (TIMEOUT or REFUSED). Called on any thread, possibly before
         * {@link #write(List, ConsistencyLevel, WriteDone)} returns (a level met by this node's own copy, or
         * no replica to write to).
         */
        void writeDone(Throwable failure);

        /**
         * {@link #writeDone(Throwable)}, with each key's own outcome: a write of several clients' commands answers
         * each by its keys. By default, the failure alone.
         */
        default void writeDone(Throwable failure, Outcome outcome) {
            writeDone(failure);
        }
    }

    /** Each key's outcome of a write that is over. */
    public interface Outcome {
        /**
         * Why the write of {@code key} failed, naming that key: null if it has the acks its level requires (or is
         * not part of the write). A refusal by any replica of the write fails every key short of its acks with it.
         */
        ReplicationException failureOf(Key key);
    }

    /**
     * Like {@link #write(List, ConsistencyLevel)}, telling {@code whenDone} rather than completing a future
     * the caller waits on, so a caller that waits with an object it has already pays for no completion stage.
     */
    public void write(List<Entry> written, ConsistencyLevel level, WriteDone whenDone) {
        replicate(written, level, whenDone);
    }

    /** {@link #write}: the op, itself the future; {@code whenDone} is told as well when not null. */
    private WriteOp replicate(List<Entry> written, ConsistencyLevel level, WriteDone whenDone) {
        List<Entry> entries = lastOfEachKey(written);
        long self = placement.localNodeId();
        WriteOp op = new WriteOp(entries, level, whenDone);
        // Keys of one replica set (one key; a run of pipelined writes on a cluster of N nodes) go to one list
        // of nodes, each taking every entry; keys of several sets, to each node its own.
        List<Long> shared = entries.size() == 1 ? placement.replicas(entries.get(0).key().token())
                : sharedReplicas(entries);
        int down = shared == null ? 0 : downAmong(shared, self); // liveness read once for all the entries
        Map<Long, List<Integer>> perNode = shared != null ? null : new LinkedHashMap<>();
        List<Long> single = null; // the live replicas every entry goes to, when they share them
        Map<Long, List<Entry>> pending = null;
        // Indexed loops over the ring's lists: this runs for every replicated write, and an iterator over
        // an unmodifiable list is two objects.
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            List<Long> replicas = shared != null ? shared : placement.replicas(e.key().token());
            op.counts[2 * i + 1] = replicas.isEmpty() ? 0 : level.required(replicas.size());
            op.counts[2 * i] = containsNode(replicas, self) ? 1 : 0;
            if (perNode == null) {
                hintDown(e, replicas, down, op, i);
                if (i == 0) {
                    single = liveOthers(e, replicas, self, down);
                }
            } else {
                for (int r = 0; r < replicas.size(); r++) {
                    Long node = replicas.get(r); // boxed as the ring keeps them: added to lists and maps as is
                    if (node == self) {
                        continue;
                    }
                    if (isAlive(node)) {
                        perNode.computeIfAbsent(node, n -> new ArrayList<>()).add(i);
                    } else if (hint(node, e) && config.sloppyQuorum()) {
                        op.counts[2 * i]++;
                    }
                }
            }
            List<Long> joining = placement.pendingReplicas(e.key().token());
            for (int r = 0; r < joining.size(); r++) {
                long node = joining.get(r);
                if (node == self) {
                    continue; // written here already
                }
                if (isAlive(node)) {
                    if (pending == null) {
                        pending = new LinkedHashMap<>();
                    }
                    pending.computeIfAbsent(node, n -> new ArrayList<>()).add(e);
                } else {
                    hint(node, e);
                }
            }
        }
        if ((single != null ? single.size() : perNode.size()) > 0) {
            remoteWrites.increment();
        }
        if (single != null) {
            op.start(single.size());
            op.sendAll(single);
        } else {
            // Replicas that take the same keys (all of them, for keys of one replica set) get one batch,
            // which the transport encodes once.
            Map<List<Integer>, List<Long>> nodesByKeys = new LinkedHashMap<>();
            for (Map.Entry<Long, List<Integer>> e : perNode.entrySet()) {
                nodesByKeys.computeIfAbsent(e.getValue(), k -> new ArrayList<>(2)).add(e.getKey());
            }
            op.start(perNode.size());
            nodesByKeys.forEach(op::send);
        }
        if (pending != null) {
            pending.forEach(this::writePending);
        }
        return op;
    }

    /**
     * The entries less the earlier versions of a key written twice (a command's SET then EXPIRE, two SETs of a
     * pipeline's run): only the last version matters. Entries of distinct keys, as nearly all writes' are, are
     * returned as they are; a short list is checked pair by pair, as a map per write cost more than the check.
     */
    private static List<Entry> lastOfEachKey(List<Entry> written) {
        int n = written.size();
        boolean repeats = n > 64;
        for (int i = 1; i < n && !repeats; i++) {
            Key k = written.get(i).key();
            for (int j = 0; j < i && !repeats; j++) {
                repeats = written.get(j).key().equals(k);
            }
        }
        if (!repeats) {
            return written;
        }
        Map<Key, Entry> last = new LinkedHashMap<>();
        for (Entry e : written) {
            last.put(e.key(), e);
        }
        return new ArrayList<>(last.values());
    }

    /** The replicas of a token, in the ring's order of preference. */
    public List<Long> replicas(long token) {
        return placement.replicas(token);
    }

    /** Whether a token's replicas are {@code replicas} ({@link #replicas}), in any order. */
    public boolean sameReplicas(List<Long> replicas, long token) {
        List<Long> theirs = placement.replicas(token);
        return theirs == replicas || sameNodes(theirs, replicas);
    }

    /**
     * The first entry's replica list if every entry's key has the same replicas, in any order (the ring lists
     * them in each range's order of preference, which a write does not need); else null.
     */
    private List<Long> sharedReplicas(List<Entry> entries) {
        List<Long> shared = placement.replicas(entries.get(0).key().token());
        for (int i = 1; i < entries.size(); i++) {
            List<Long> replicas = placement.replicas(entries.get(i).key().token());
            if (replicas != shared && !sameNodes(replicas, shared)) {
                return null;
            }
        }
        return shared;
    }

    /** Whether two short lists of distinct nodes hold the same nodes, without an iterator. */
    private static boolean sameNodes(List<Long> a, List<Long> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!containsNode(b, a.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** A bit per replica other than this node that is down, by its index in {@code replicas} (at most 16). */
    private int downAmong(List<Long> replicas, long self) {
        int down = 0;
        for (int r = 0; r < replicas.size(); r++) {
            Long node = replicas.get(r);
            if (node != self && !isAlive(node)) {
                down |= 1 << r;
            }
        }
        return down;
    }

    /** Hints entry {@code i} for each replica that is down, counting it toward the level under a sloppy quorum. */
    private void hintDown(Entry e, List<Long> replicas, int down, WriteOp op, int i) {
        for (int r = 0; down != 0 && r < replicas.size(); r++) {
            if ((down & (1 << r)) != 0 && hint(replicas.get(r), e) && config.sloppyQuorum()) {
                op.counts[2 * i]++;
            }
        }
    }

    /**
     * Of the replicas other than this node, those that are up ({@code down} marks the others): when all are, as
     * they mostly are, the ring's own list of them ({@link ReplicaPlacement#otherReplicas}), and the write makes
     * no list.
     */
    private List<Long> liveOthers(Entry e, List<Long> replicas, long self, int down) {
        int others = containsNode(replicas, self) ? replicas.size() - 1 : replicas.size();
        if (down == 0) {
            List<Long> cached = placement.otherReplicas(e.key().token());
            if (cached.size() == others && inOrderWithout(cached, replicas, self)) { // not a list of a newer ring
                return cached;
            }
        }
        List<Long> live = new ArrayList<>(others);
        for (int r = 0; r < replicas.size(); r++) {
            if (replicas.get(r) != self && (down & (1 << r)) == 0) {
                live.add(replicas.get(r));
            }
        }
        return live;
    }

    /** Whether {@code others} is {@code replicas} less {@code self}, in order (of equal size already). */
    private static boolean inOrderWithout(List<Long> others, List<Long> replicas, long self) {
        int j = 0;
        for (int r = 0; r < replicas.size(); r++) {
            if (replicas.get(r) != self && !others.get(j++).equals(replicas.get(r))) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code nodes} holds {@code node}, without boxing it. */
    private static boolean containsNode(List<Long> nodes, long node) {
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i) == node) {
                return true;
            }
        }
        return false;
    }

    /**
     * Sends entries to a node that will own their keys once a range move finishes (bootstrap or
     * decommission). Its ack does not count toward the level; a failed send leaves hints, so the entries
     * reach it even if its stream of the range has already gone past them.
     */
    private void writePending(long node, List<Entry> batch) {
        pendingWrites.add(batch.size());
        writeTo(node, batch).whenComplete((ok, failure) -> {
            if (failure != null && !(unwrap(failure) instanceof ReplicaRefusedException)) {
                for (Entry e : batch) {
                    hint(node, e);
                }
            }
        });
    }

    /**
     * One write across replicas; its state is guarded by its own monitor. It is itself the future the
     * caller gets, and itself the callback of its batch when every replica takes all its entries (a
     * write of one key, or of keys with one replica set): one object per replicated write besides its
     * counts, where a future and a callback would be two more. A caller with a {@link WriteDone} is told
     * through it, and waits with no stage of its own either.
     */
    private final class WriteOp extends CompletableFuture<Void> implements ReplicaTransport.WriteAcks, Outcome {
        final List<Entry> entries;
        final ConsistencyLevel level;
        /** Told once when the write is over, besides this future; null if the caller waits on the future. */
        final WriteDone whenDone;
        /**
         * Per entry {@code i}: the acks it has at {@code [2i]}, and those its level requires at {@code [2i + 1]}
         * (one array rather than two, as a write is most often of one key).
         */
        final int[] counts;
        /** The replicas of {@link #sendAll}, which this op's own {@link #answered(int, Throwable)} is told of. */
        List<Long> allNodes;
        /** Replicas written to that have not answered. */
        int outstanding;
        String refusal;
        long refusedBy;
        /** Set by the answer (or the start) that ends the write ({@link #endsNow}). Guarded by this, as the counts are. */
        boolean over;

        WriteOp(List<Entry> entries, ConsistencyLevel level, WriteDone whenDone) {
            this.entries = entries;
            this.level = level;
            this.whenDone = whenDone;
            this.counts = new int[2 * entries.size()];
        }

        /** Before the first send: how many replicas are written to (0: done or failed now). */
        void start(int replicas) {
            ReplicationException failure;
            synchronized (this) {
                outstanding = replicas;
                if (!endsNow()) {
                    return;
                }
                failure = failure();
            }
            finish(failure);
        }

        /** Sends every entry to each of {@code nodes}, as one batch; this op is told of each answer. */
        void sendAll(List<Long> nodes) {
            if (nodes.isEmpty()) {
                return;
            }
            allNodes = nodes;
            transport.write(nodes, entries, this);
        }

        /** The answer of the replica at {@code index} of {@link #sendAll}'s nodes. */
        @Override
        public void answered(int index, Throwable failure) {
            // The node matters only to a failure (its hints, or who refused): an ack reads no more than it must.
            answered(failure == null ? 0 : allNodes.get(index), null, entries, failure);
        }

        /** Sends the entries at {@code idx} to each of {@code nodes}, as one batch. */
        void send(List<Integer> idx, List<Long> nodes) {
            if (idx.size() == entries.size()) {
                sendAll(nodes); // the one group of replicas that takes every entry
                return;
            }
            List<Entry> batch = new ArrayList<>(idx.size());
            for (int i : idx) {
                batch.add(entries.get(i));
            }
            transport.write(nodes, batch, (n, failure) -> answered(nodes.get(n), idx, batch, failure));
        }

        /** @param idx the indexes of the entries {@code batch} holds; null: all of them */
        private void answered(long node, List<Integer> idx, List<Entry> batch, Throwable failure) {
            Throwable cause = unwrap(failure);
            boolean hintedNow = false;
            if (cause != null && !(cause instanceof ReplicaRefusedException)) {
                boolean kept = true;
                for (int i = 0; i < batch.size(); i++) {
                    kept &= hint(node, batch.get(i));
                }
                hintedNow = kept && config.sloppyQuorum();
            }
            if (isDone()) {
                return; // over already (a quorum's later acks): counting this one changes nothing, nor takes the monitor
            }
            ReplicationException ended;
            synchronized (this) {
                if (cause == null || hintedNow) {
                    if (idx == null) {
                        for (int i = 0; i < counts.length; i += 2) {
                            counts[i]++;
                        }
                    } else {
                        for (int i = 0; i < idx.size(); i++) {
                            counts[2 * idx.get(i)]++;
                        }
                    }
                } else if (cause instanceof ReplicaRefusedException && refusal == null) {
                    refusal = cause.getMessage();
                    refusedBy = node;
                }
                outstanding--;
                if (!endsNow()) {
                    return;
                }
                ended = failure();
            }
            finish(ended);
        }

        /**
         * Under this monitor: true, once, when the write is over: every entry has the acks its level requires,
         * or no replica is left to answer. The answers after that change nothing ({@link #over}), so a write
         * acknowledged by a quorum costs its later acks one count each.
         */
        private boolean endsNow() {
            if (over) {
                return false;
            }
            over = outstanding == 0 || shortKey() < 0;
            return over;
        }

        /** Under this monitor: the first entry with fewer acks than its level requires, or -1. */
        private int shortKey() {
            for (int i = 0; i < counts.length; i += 2) {
                if (counts[i] < counts[i + 1]) {
                    return i / 2;
                }
            }
            return -1;
        }

        /**
         * Under this monitor, once {@link #endsNow}: why the write failed (a replica's refusal, else too few
         * acks), or null if it is acknowledged or this future was completed otherwise already.
         */
        private ReplicationException failure() {
            int shortKey = shortKey();
            if (shortKey < 0 || isDone()) {
                return null;
            }
            byte[] key = entries.get(shortKey).key().bytes();
            if (refusal != null) {
                refusals.increment();
                return ReplicationException.refused(key, Long.toHexString(refusedBy), refusal);
            }
            timeouts.increment();
            return ReplicationException.timeout(key, level, true, counts[2 * shortKey], counts[2 * shortKey + 1]);
        }

        @Override
        public synchronized ReplicationException failureOf(Key key) {
            for (int i = 0; i < entries.size(); i++) {
                if (!entries.get(i).key().equals(key)) {
                    continue;
                }
                if (counts[2 * i] >= counts[2 * i + 1]) {
                    return null;
                }
                return refusal != null ? ReplicationException.refused(key.bytes(), Long.toHexString(refusedBy), refusal)
                        : ReplicationException.timeout(key.bytes(), level, true, counts[2 * i], counts[2 * i + 1]);
            }
            return null;
        }

        /** Completes the future and, the first time, tells {@link #whenDone}. */
        private void finish(ReplicationException failure) {
            boolean first = failure == null ? complete(null) : completeExceptionally(failure);
            if (first && whenDone != null) {
                whenDone.writeDone(failure, this);
            }
        }
    }

    // ---- inspection ----

    /** One replica's copy of a key, for the REPLICAS command. */
    public record ReplicaCopy(long nodeId, boolean alive, ReadReply copy, String error) {
    }

    /**
     * Every replica's version of {@code key}, asked of each live replica (this node's own copy read
     * directly), in preference order. Does not repair.
     */
    public CompletableFuture<List<ReplicaCopy>> inspect(Key key) {
        List<Long> replicas = placement.replicas(key.token());
        List<CompletableFuture<ReplicaCopy>> copies = new ArrayList<>();
        for (long node : replicas) {
            if (node == placement.localNodeId()) {
                Entry e = engine.stored(key);
                copies.add(CompletableFuture.completedFuture(new ReplicaCopy(node, true,
                        e == null ? ReadReply.MISSING : new ReadReply(e.hlc(), e.nodeId(), e), null)));
            } else if (!isAlive(node)) {
                copies.add(CompletableFuture.completedFuture(new ReplicaCopy(node, false, null, "not alive")));
            } else {
                CompletableFuture<List<ReadReply>> f;
                try {
                    f = transport.read(node, List.of(key), new Entry[1]);
                } catch (RuntimeException ex) {
                    f = CompletableFuture.failedFuture(ex);
                }
                copies.add(f.handle((rs, failure) -> failure == null && rs != null && rs.size() == 1
                        ? new ReplicaCopy(node, true, rs.get(0), null)
                        : new ReplicaCopy(node, true, null, failure == null ? "malformed answer"
                                : String.valueOf(unwrap(failure).getMessage()))));
            }
        }
        return CompletableFuture.allOf(copies.toArray(CompletableFuture[]::new))
                .thenApply(v -> copies.stream().map(CompletableFuture::join).toList());
    }

    // ---- shared ----

    private boolean isAlive(long node) {
        return node == placement.localNodeId() || liveness.isAlive(node);
    }

    private CompletableFuture<Void> writeTo(long node, List<Entry> entries) {
        try {
            return transport.write(node, entries);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private boolean hint(long node, Entry e) {
        if (hints.add(node, e)) {
            hinted.increment();
            return true;
        }
        hintsDropped.increment();
        return false;
    }

    /** Whether a version read from a replica is close enough to this node's clock to accept. */
    private boolean acceptable(Entry e, long from) {
        long drift = hlc.driftMillis(e.hlc());
        if (drift <= config.maxClockDriftMillis()) {
            return true;
        }
        driftRejected.increment();
        long held = driftLog.admit();
        if (held >= 0) {
            log.warn("Ignoring version of key '{}' from replica {}: {} ms ahead of this node's clock (max drift {} ms){}",
                    ReplicationException.quote(e.key().bytes()), Long.toHexString(from), drift,
                    config.maxClockDriftMillis(), LogLimiter.more(held));
        }
        return false;
    }

    static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Counters for INFO. */
    public record Stats(long remoteReads, long remoteWrites, long readRepairs, long backgroundChecks,
                        long unavailable, long timeouts, long refusals, long hinted, long hintsDropped,
                        long driftRejected, long pendingWrites, long speculativeReads) {
    }

    public Stats stats() {
        return new Stats(remoteReads.sum(), remoteWrites.sum(), readRepairs.sum(), backgroundChecks.sum(),
                unavailable.sum(), timeouts.sum(), refusals.sum(), hinted.sum(), hintsDropped.sum(),
                driftRejected.sum(), pendingWrites.sum(), speculativeReads.sum());
    }
}
