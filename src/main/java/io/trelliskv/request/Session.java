package io.trelliskv.request;

import io.trelliskv.common.Key;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What a node remembers about one client connection: the consistency levels the client chose with
 * CONSISTENCY (null: the node's defaults); the versions of its own writes, so a later read of the same
 * key returns that write or a newer one (read-your-writes); the order its keyed commands start in here
 * ({@link InOrder}) and the replies still outstanding, so a change of coordinators cannot reorder them
 * ({@link #mustWait}); and its MULTI/WATCH state ({@link Transaction}). A forwarded command gets a
 * session of its own with only the levels and floors its forwarding node sent.
 *
 * <p>Write versions are kept exactly for the keys this connection wrote recently, in a direct-mapped
 * table of up to {@value #EXACT_SLOTS} slots by key token ({@link RecentWrites}: one slot read per
 * write, no object): a key stays exact until a later key takes its slot — with random keys, one written
 * 1,000 writes ago still is with probability 0.6. A key pushed out of its slot leaves its version in one
 * of {@value #BUCKETS} buckets by key token, each holding the newest version pushed out to it: bounded
 * memory however many keys a client writes. A bucket is conservative — a key that shares one with a
 * key pushed out later may ask more replicas than it needed to, never fewer. Nothing is allocated
 * before the connection's first acknowledged write, and the table starts small and grows only as keys
 * meet in it.
 *
 * <p>Thread-safety: levels and the transaction are set on the connection's event loop and read
 * anywhere; write versions and outstanding replies are recorded on any thread, under the session's
 * monitor.
 */
public final class Session {

    /**
     * The exact table's most slots: 24 bytes each, so 48 KiB for a connection that writes many keys.
     * Twice the slots halve how often a recent key is pushed out; at 2,048 a key stays exact for 2,048 of
     * the connection's later writes on average. (Keeping exactly the last 1,024 keys in order of last
     * write took about twice that memory: a probed table at most half full, and a ring of the writes.)
     */
    static final int EXACT_SLOTS = 2048;
    /**
     * Buckets of pushed-out versions. Few on purpose: a connection pushes keys out only once it writes more
     * keys than the exact table holds, and then it pushes one out with nearly every write, so each bucket is
     * raised every {@code BUCKETS} writes or so and holds a version about that recent however many there are;
     * what their number changes is the memory a write touches: 16 buckets are four cache lines, which stay in
     * the cache beside the connection's other state; 256 (4 KiB a connection) showed as 3-4 % of the entry
     * node's CPU samples in a profile of pipelined SETs through a 3-node cluster, spent waiting for the line.
     */
    static final int BUCKETS = 16;

    private volatile ConsistencyLevel readLevel;
    private volatile ConsistencyLevel writeLevel;
    /** The versions of recently written keys, by key token; null until the first write. */
    private RecentWrites exact;
    /** Per bucket, the newest version pushed out of {@link #exact}: hlc at [2i], node at [2i+1]. */
    private long[] floors;
    /**
     * The newest hybrid logical clock among every write recorded; 0 before the first. Written under the monitor,
     * read without it ({@link #newestFloorHlc}, on every blind write).
     */
    private volatile long newestWritten;
    /** What {@link #record(List)}'s first pass read: a sink that keeps its reads from being optimized away. */
    private long touched;

    /** Floors given by a forwarding node for the keys of one command, in key order; or null. */
    private final Version[] given;

    /** The client connection's id: names its stream of forwarded commands ({@link ForwardedStreams}). */
    private final long stream;

    /**
     * The connection's blind writes run here since its last reply slot or flush, to be replicated as one write
     * ({@link WriteRun}); null when none. Event loop only.
     */
    WriteRun run;

    /**
     * The connection's reads coordinated here since its last reply slot or flush, to be read from the replicas as
     * one ({@link ReadRun}); null when none. Event loop only.
     */
    ReadRun readRun;

    Session(long stream) {
        this.stream = stream;
        this.given = null;
        this.order = new InOrder();
        this.outstanding = new ArrayDeque<>();
    }

    private Session(ConsistencyLevel readLevel, ConsistencyLevel writeLevel, Version[] given) {
        this.stream = 0;
        this.readLevel = readLevel;
        this.writeLevel = writeLevel;
        this.given = given;
        this.order = null;
        this.outstanding = null;
    }

    /**
     * The session of one command forwarded by another node: the client's levels (null: defaults) and
     * its floors for the command's keys, in key order (null: none).
     */
    static Session forwarded(ConsistencyLevel readLevel, ConsistencyLevel writeLevel, Version[] floors) {
        return new Session(readLevel, writeLevel, floors);
    }

    /** The connection's session, made on first use. */
    public static Session of(ClientConnection client) {
        Object a = client.attachment();
        if (a instanceof Session s) {
            return s;
        }
        Session s = new Session(client.id());
        client.attachment(s);
        return s;
    }

    /** The order in which the connection's keyed commands start here; null on a forwarded command's session. */
    private final InOrder order;

    /**
     * The replies of the connection's keyed commands that are still outstanding (forwarded, or waiting
     * for replicas), oldest first; done ones are pruned as commands arrive. Guarded by this.
     */
    private final ArrayDeque<CompletableFuture<?>> outstanding;
    /** The {@link Placement#epoch} under which the outstanding commands were routed. Guarded by this. */
    private long routedEpoch;
    /**
     * Completes once every command held back by a change of coordinators has been routed; null or done
     * when nothing is held back. Guarded by this.
     */
    private CompletableFuture<Void> heldBack;
    /**
     * True once a command of this connection went to another node than its key's coordinator (which
     * could not be reached), until the next command is routed: for that command the coordinator has
     * changed as if the placement's epoch had, though nobody's view changed.
     */
    private boolean rerouted;

    InOrder order() {
        return order;
    }

    /** The connection's MULTI/WATCH state; null until its first transaction command. Event loop only. */
    private Transaction transaction;

    /** The connection's transaction state, made on first use. */
    Transaction transaction() {
        if (transaction == null) {
            transaction = new Transaction();
        }
        return transaction;
    }

    /** True between MULTI and EXEC or DISCARD: commands are queued, not run. */
    boolean queuing() {
        return transaction != null && transaction.queuing();
    }

    long stream() {
        return stream;
    }

    /**
     * Whether a keyed command arriving now must wait before it is routed: while commands routed under
     * an earlier {@link Placement#epoch} are outstanding, a key's coordinator may have changed (a node
     * died, came back, or the ring moved), and the command could overtake an earlier one of the same
     * key at its old coordinator. It then waits until those have answered, and every command after it
     * waits behind it, so the connection's commands still start in the order sent.
     *
     * @return null to route the command now; else a future to chain it on with {@link #holdBack}
     */
    synchronized CompletableFuture<Void> mustWait(long epoch) {
        if (heldBack != null && !heldBack.isDone()) {
            return heldBack;
        }
        while (!outstanding.isEmpty() && outstanding.peekFirst().isDone()) {
            outstanding.pollFirst();
        }
        if ((epoch == routedEpoch && !rerouted) || outstanding.isEmpty()) {
            routedEpoch = epoch;
            rerouted = false;
            return null;
        }
        routedEpoch = epoch;
        rerouted = false;
        outstanding.removeIf(CompletableFuture::isDone);
        heldBack = CompletableFuture.allOf(outstanding.toArray(new CompletableFuture<?>[0]))
                .handle((v, failure) -> null);
        return heldBack;
    }

    /**
     * Holds back the connection's next commands until {@code ready} completes (EXEC waiting for the
     * answers of WATCHes pipelined ahead of it); they then go in order, after any held back already.
     */
    synchronized void waitFor(CompletableFuture<?> ready) {
        CompletableFuture<Void> gate = ready.handle((v, failure) -> null);
        heldBack = heldBack == null || heldBack.isDone() ? gate
                : heldBack.thenCombine(gate, (a, b) -> null);
    }

    /** Routes a held-back command ({@code route}) once every earlier held-back one has been routed. */
    synchronized void holdBack(Runnable route) {
        heldBack = heldBack.thenRun(route);
    }

    /** Completes once every command outstanding now has answered. */
    synchronized CompletableFuture<Void> allOutstanding() {
        outstanding.removeIf(CompletableFuture::isDone);
        return CompletableFuture.allOf(outstanding.toArray(new CompletableFuture<?>[0]));
    }

    /**
     * A command of this connection fell back to a key's next owner because its coordinator could not be
     * reached: the coordinator may answer again before anybody declares it dead, so the connection's
     * next command waits, as at a change of epoch, until the outstanding ones have answered (else it
     * could reach the coordinator and run before the fallen-back command runs at the next owner).
     */
    synchronized void rerouted() {
        rerouted = true;
    }

    /**
     * Per key token, the node the connection's outstanding commands on that key went to, and their
     * replies; null until the first command that did not answer at once. Guarded by this. See
     * {@link #conflicting}.
     */
    private RoutedKeys routedKeys;

    /**
     * What a command about to go to {@code targets[i]} for the key with {@code tokens[i]} must wait for:
     * the outstanding replies of the connection's commands on one of its keys if they went to another
     * coordinator, or wait themselves. Commands sent to one coordinator keep their order there (one
     * stream, {@link InOrder}); sent to different coordinators they do not, and the later one must not
     * start before the earlier ones' replies (which also record their written versions, so the later
     * one reads them: read-your-writes across coordinators).
     *
     * @return null if the command may go now
     */
    synchronized CompletableFuture<Void> conflicting(long[] tokens, long[] targets) {
        List<CompletableFuture<?>> found = routedKeys == null ? null : routedKeys.mustAwait(tokens, targets);
        if (found == null) {
            return null;
        }
        return CompletableFuture.allOf(found.toArray(new CompletableFuture<?>[0])).handle((v, failure) -> null);
    }

    /**
     * Remembers where a command on these keys went (see {@link #conflicting}) until its reply completes.
     * It joins the outstanding commands on each key, and a later command on the key waits for all of
     * them unless they all went, unheld, where it goes. A held command (one that waited for an earlier
     * command of the connection: it may not have been sent yet, so a later command to the same
     * coordinator could overtake it, and the earlier ones may have gone elsewhere) marks its keys held
     * until all their commands have answered. It never replaces them: it waited only for the keys whose
     * commands went elsewhere, and on its other keys an earlier write can still be waiting for its
     * replicas' acks after the held command answered (its read-your-writes floor is recorded only with
     * its reply), so a later command on such a key elsewhere must wait for it too.
     */
    synchronized void routed(long[] tokens, long[] targets, CompletableFuture<?> reply, boolean held) {
        if (reply.isDone()) {
            return;
        }
        if (routedKeys == null) {
            routedKeys = new RoutedKeys();
        }
        routedKeys.routed(tokens, targets, reply, held);
    }

    /** Remembers an outstanding command's reply, so a later change of coordinators waits for it. */
    synchronized void outstanding(CompletableFuture<?> reply, long epoch) {
        if (!reply.isDone()) {
            outstanding.addLast(reply);
            routedEpoch = epoch;
        }
    }

    /** The level chosen with CONSISTENCY, or null for the node's default. */
    public ConsistencyLevel readLevel() {
        return readLevel;
    }

    public ConsistencyLevel writeLevel() {
        return writeLevel;
    }

    public void readLevel(ConsistencyLevel level) {
        this.readLevel = level;
    }

    public void writeLevel(ConsistencyLevel level) {
        this.writeLevel = level;
    }

    /** Remembers the version of an acknowledged write of a key with this token. */
    synchronized void record(long token, long hlc, long nodeId) {
        newestWritten = Math.max(newestWritten, hlc);
        if (exact == null) {
            exact = new RecentWrites(EXACT_SLOTS, this::pushOut);
        }
        exact.record(token, hlc, nodeId);
    }

    /**
     * Remembers the versions of acknowledged writes ({@link #record} for each), under one lock. Their slots in
     * the table are read first, all of them ({@link RecentWrites#touch}): a pipeline's keys are random, so each
     * slot is a cache miss, and reads that depend on nothing read before them overlap, where the records, each
     * testing what its slot holds, would wait for one miss after the other.
     */
    synchronized void record(List<Entry> written) {
        if (exact == null) {
            exact = new RecentWrites(EXACT_SLOTS, this::pushOut);
        }
        int n = written.size();
        if (n > 1) {
            long read = 0;
            for (int i = 0; i < n; i++) {
                read += exact.touch(written.get(i).key().token());
            }
            touched = read; // kept, so the reads are not optimized away
        }
        long newest = newestWritten;
        for (int i = 0; i < n; i++) {
            Entry e = written.get(i);
            newest = Math.max(newest, e.hlc());
            exact.record(e.key().token(), e.hlc(), e.nodeId());
        }
        newestWritten = newest;
    }

    /** Keeps the version of a key pushed out of {@link #exact} in its bucket, if newer than the bucket's. */
    private void pushOut(long token, long hlc, long nodeId) {
        if (floors == null) {
            floors = new long[2 * BUCKETS];
        }
        int b = 2 * bucket(token);
        if (Version.compare(hlc, nodeId, floors[b], floors[b + 1]) > 0) {
            floors[b] = hlc;
            floors[b + 1] = nodeId;
        }
    }

    /** Per key, the newest version this connection wrote that the read must see; null if it never wrote. */
    synchronized Version[] floors(List<Key> keys) {
        if (given != null && given.length == keys.size()) {
            return given;
        }
        if (exact == null) {
            return null;
        }
        Version[] out = new Version[keys.size()];
        for (int i = 0; i < out.length; i++) {
            long token = keys.get(i).token();
            int slot = exact.indexOf(token);
            Version v = slot < 0 ? null : new Version(exact.hlc(slot), exact.nodeId(slot));
            if (floors != null) {
                int b = 2 * bucket(token);
                if ((floors[b] != 0 || floors[b + 1] != 0)
                        && (v == null || Version.compare(floors[b], floors[b + 1], v.hlc(), v.nodeId()) > 0)) {
                    v = new Version(floors[b], floors[b + 1]);
                }
            }
            out[i] = v;
        }
        return out;
    }

    /**
     * A clock at least as new as every {@link #floors floor} of {@code keys}, 0 if the connection never
     * wrote: all a blind write needs of them (its clock observes it). On a client's connection this is the
     * newest clock the connection ever wrote, found without a lookup per key: a clock that observes more
     * than the key's own floor is no less right (it observes a version that was issued), and a blind write
     * is the hot path of every pipelined SET. On a forwarded command's session, the newest of the floors
     * its forwarding node sent.
     */
    long newestFloorHlc(List<Key> keys) { // given is immutable, newestWritten volatile: no lock
        if (given != null && given.length == keys.size()) {
            long newest = 0;
            for (Version v : given) {
                if (v != null) {
                    newest = Math.max(newest, v.hlc());
                }
            }
            return newest;
        }
        return newestWritten;
    }

    private static int bucket(long token) {
        return (int) (token ^ (token >>> 32)) & (BUCKETS - 1);
    }
}
