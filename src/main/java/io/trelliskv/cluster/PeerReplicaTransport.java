package io.trelliskv.cluster;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.internal.ThreadExecutorMap;
import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.net.peer.PeerClient;
import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.net.peer.PeerPayload;
import io.trelliskv.replication.Deadline;
import io.trelliskv.replication.LatencyPercentile;
import io.trelliskv.replication.ReadReply;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.replication.ReplicaTransport;
import io.trelliskv.storage.Entry;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Replica messages over {@link PeerCalls}, addressed by node id.
 *
 * <p>A coordinator's writes made on an event loop ({@link #write(List, List, WriteAcks)}) are coalesced per replica
 * for the rest of the loop's turn: the writes of every command the loop runs while handling one batch
 * of reads (a client's pipeline, many clients' requests) go to each replica as one {@code REPLICA_WRITE}
 * of at most {@value #MAX_COALESCED} entries, sent when the turn's I/O is done, and its one ack
 * acknowledges each of them (a callback per write and replica, no future). One frame, one decode, one reply and one pending call per replica per turn,
 * instead of one per command. A refusal (clock drift: the entries all carry this node's clock) or a
 * failure applies to every write of the batch, each of which then keeps its own hints.
 *
 * <p>Reads made on an event loop ({@link #read}) are coalesced the same way, one {@code REPLICA_READ} per
 * replica per turn, its reply split among the commands that asked; one scheduled check per such batch tells
 * the commands that asked if the replica has not answered within their delay, so they can ask another
 * (a coordinator's speculative retry).
 *
 * <p>A coordinator's writes carry a deadline (now plus the replica timeout, when the batch is sent): the
 * replica does not apply a batch that arrives after the coordinator stopped waiting for it
 * ({@code replication.Deadline}). Read repair and hints carry none.
 */
final class PeerReplicaTransport implements ReplicaTransport {

    private static final Logger log = LoggerFactory.getLogger(PeerReplicaTransport.class);

    private final PeerCalls peers;
    private final Duration timeout;
    private final Clock clock;

    /** @param clock this node's clock, for the deadlines of coordinated writes */
    PeerReplicaTransport(PeerCalls peers, Duration timeout, Clock clock) {
        this.peers = peers;
        this.timeout = timeout;
        this.clock = clock;
    }

    /** One batch to one replica without a deadline: read repair and hint replay, which are not a client's. */
    @Override
    public CompletableFuture<Void> write(long nodeId, List<Entry> entries) {
        return call(nodeId, WriteBatch.of(entries), false).thenAccept(ReplicaCodec::checkWriteReply);
    }

    /** Most entries in one coalesced batch; a turn that writes more sends several. */
    static final int MAX_COALESCED = 512;

    /**
     * Writes waiting for the end of the loop's turn, for one replica: their entries, and per write and
     * replica who to tell of the answer ({@code to}, with the replica's index in that write's nodes). Kept by
     * the loop from turn to turn and emptied when sent, so a turn allocates no lists and no object per write.
     */
    private static final class Coalesced {
        final long nodeId;
        final List<Entry> entries = new ArrayList<>(INITIAL_BATCH);
        WriteAcks[] to = new WriteAcks[INITIAL_BATCH];
        int[] index = new int[INITIAL_BATCH];
        /** Writes queued: the used part of {@link #to} and {@link #index}. */
        int writes;

        Coalesced(long nodeId) {
            this.nodeId = nodeId;
        }

        void add(List<Entry> batch, WriteAcks acks, int n) {
            for (int i = 0; i < batch.size(); i++) {
                entries.add(batch.get(i));
            }
            if (writes == to.length) {
                to = Arrays.copyOf(to, writes * 2);
                index = Arrays.copyOf(index, writes * 2);
            }
            to[writes] = acks;
            index[writes] = n;
            writes++;
        }

        /** Forgets the writes queued (they are being sent); the entries stay until the caller clears them. */
        void takeWrites() {
            Arrays.fill(to, 0, writes, null);
            writes = 0;
        }
    }

    /** Room made at first in a turn's batch: a pipelined client's turn writes a few dozen, not the default ten. */
    private static final int INITIAL_BATCH = 64;

    /** An event loop's batches: every replica it has written to, and those written to in the current turn. */
    private static final class Turn {
        /**
         * Every replica written to, kept so that a turn allocates no batch; each holds at most a batch's room.
         * A handful (a cluster's nodes at most), so found by a scan of their ids: no boxed key to hash.
         */
        Coalesced[] known = new Coalesced[0];

        /** The batch for {@code nodeId}, made the first time. */
        Coalesced batchFor(long nodeId) {
            for (Coalesced c : known) {
                if (c.nodeId == nodeId) {
                    return c;
                }
            }
            Coalesced c = new Coalesced(nodeId);
            known = Arrays.copyOf(known, known.length + 1);
            known[known.length - 1] = c;
            return c;
        }
        /** The batches of the current turn, in the order first written; empty between turns. */
        final List<Coalesced> active = new ArrayList<>();
        /** The batches being sent, taken out of theirs first: sending may complete writes that write again. */
        final List<Sending> sending = new ArrayList<>();
    }

    /** Per event-loop thread, its batches. */
    private final ThreadLocal<Turn> turn = ThreadLocal.withInitial(Turn::new);
    /** {@link #sendTurn} as a task, made once: scheduling a turn's sends makes no new one. */
    private final Runnable sendTurnTask = this::sendTurn;

    @Override
    public void write(List<Long> nodeIds, List<Entry> entries, WriteAcks acks) {
        EventExecutor loop = ThreadExecutorMap.currentExecutor();
        if (loop == null || entries.size() > MAX_COALESCED) {
            writeNow(nodeIds, entries, acks);
            return;
        }
        Turn t = turn.get();
        if (t.active.isEmpty()) {
            loop.execute(sendTurnTask); // after the I/O of this turn
        }
        for (int n = 0; n < nodeIds.size(); n++) {
            Coalesced c = t.batchFor(nodeIds.get(n));
            if (c.writes > 0 && c.entries.size() + entries.size() > MAX_COALESCED) {
                // Sent now; it stays in the turn, and what follows goes at the turn's end.
                Sending full = new Sending(c, WriteBatch.of(c.entries));
                c.entries.clear();
                full.send();
            }
            if (c.writes == 0 && !t.active.contains(c)) {
                t.active.add(c);
            }
            c.add(entries, acks, n);
        }
    }

    /**
     * On the loop, once its turn's reads are handled: sends each replica's batch. Replicas that take the
     * same entries (every replica of a key set's writes, the common case) share one body.
     */
    private void sendTurn() {
        Turn t = turn.get();
        List<Entry> taken = null;
        WriteBatch payload = null;
        for (int i = 0; i < t.active.size(); i++) {
            Coalesced c = t.active.get(i);
            if (c.writes == 0) {
                continue;
            }
            if (taken == null || !sameEntries(taken, c.entries)) {
                taken = c.entries;
                payload = WriteBatch.of(c.entries);
            }
            t.sending.add(new Sending(c, payload)); // takes the writes; the entries stay for the next comparison
        }
        for (int i = 0; i < t.active.size(); i++) {
            t.active.get(i).entries.clear();
        }
        t.active.clear();
        for (int i = 0; i < t.sending.size(); i++) {
            t.sending.get(i).send();
        }
        t.sending.clear();
    }

    /** Whether two batches hold the same entries (the same objects) in the same order. */
    private static boolean sameEntries(List<Entry> a, List<Entry> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i) != b.get(i)) {
                return false;
            }
        }
        return true;
    }

    /** One replica's batch on its way: its body, and who its one answer (or failure) goes to. */
    private final class Sending implements BiConsumer<byte[], Throwable> {
        final long nodeId;
        final WriteBatch payload;
        final WriteAcks[] to;
        final int[] index;

        /** Takes the writes out of {@code c}, whose entries {@code payload} holds; leaves the entries to the caller. */
        Sending(Coalesced c, WriteBatch payload) {
            this.nodeId = c.nodeId;
            this.payload = payload;
            this.to = Arrays.copyOf(c.to, c.writes);
            this.index = Arrays.copyOf(c.index, c.writes);
            c.takeWrites();
        }

        void send() {
            CompletableFuture<byte[]> sent;
            try {
                sent = call(nodeId, payload, true);
            } catch (RuntimeException e) {
                sent = CompletableFuture.failedFuture(e);
            }
            sent.whenComplete(this);
        }

        /** The replica's answer, passed on to every coalesced write. */
        @Override
        public void accept(byte[] reply, Throwable failure) {
            Throwable outcome = failure != null ? failure : writeOutcome(reply);
            for (int i = 0; i < to.length; i++) {
                try {
                    to[i].answered(index[i], outcome);
                } catch (RuntimeException e) { // a bug in one write's callback must not keep the others waiting
                    log.error("Passing on replica {}'s write answer failed", Long.toHexString(nodeId), e);
                }
            }
        }
    }

    private void writeNow(List<Long> nodeIds, List<Entry> entries, WriteAcks acks) {
        WriteBatch payload = WriteBatch.of(entries); // one body for every replica
        for (int n = 0; n < nodeIds.size(); n++) {
            int index = n;
            CompletableFuture<byte[]> sent;
            try {
                sent = call(nodeIds.get(n), payload, true);
            } catch (RuntimeException e) {
                sent = CompletableFuture.failedFuture(e);
            }
            sent.whenComplete((reply, failure) -> acks.answered(index, failure != null ? failure : writeOutcome(reply)));
        }
    }

    /** Null if a write reply says applied; else why not ({@code ReplicaRefusedException}, or a malformed reply). */
    private static Throwable writeOutcome(byte[] reply) {
        try {
            ReplicaCodec.checkWriteReply(reply);
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    /**
     * @param withDeadline whether the replica must not apply the batch once this node stops waiting for it
     *                     (a coordinator's write: the client has been answered by then)
     */
    private CompletableFuture<byte[]> call(long nodeId, WriteBatch payload, boolean withDeadline) {
        long deadline = withDeadline ? clock.millis() + timeout.toMillis() : Deadline.NO_DEADLINE;
        return peers.call(nodeId, PeerMessageType.REPLICA_WRITE, payload, timeout, PeerClient.NO_STREAM, deadline);
    }

    /**
     * A batch of entries as the body of a {@code REPLICA_WRITE}: encoded ({@link ReplicaCodec#encodeWrite}) into
     * the frame's own buffer as the frame leaves, once per replica, with no byte array in between. Holds its
     * own copy of the list; the entries themselves are immutable.
     */
    private record WriteBatch(List<Entry> entries, int length) implements PeerPayload {

        static WriteBatch of(List<Entry> entries) {
            // One array (List.copyOf of an ArrayList copies twice: its toArray, then that array again).
            List<Entry> copy = Arrays.asList(entries.toArray(new Entry[0]));
            return new WriteBatch(copy, ReplicaCodec.writeSize(copy));
        }

        @Override
        public void writeTo(ByteBuffer out) {
            ReplicaCodec.encodeWrite(entries, out);
        }
    }

    /**
     * Reads waiting for the end of the loop's turn, for one replica: keys in order, and who asked for which. Sized
     * for a pipeline's worth of one-key reads at first, in arrays rather than an object per read.
     */
    private static final class CoalescedReads {
        /** The room made at first, for keys and for callers: a turn's reads of one replica are often this many. */
        static final int INITIAL = 16;

        final long nodeId;
        final List<Key> keys = new ArrayList<>(INITIAL);
        /** What the coordinator knows of each key, by the key's index; {@code known.length >= keys.size()}. */
        Entry[] known = new Entry[INITIAL];
        /** Who asked, in the order they did: {@code answers[0..callers)}. */
        ReadAnswers[] answers = new ReadAnswers[INITIAL];
        /** Where each caller's keys start in {@link #keys}, by the caller's index. */
        int[] from = new int[INITIAL];
        int callers;
        /** The shortest delay a caller gave before it is told the replica is slow, in ms; 0 if none asked to be. */
        long slowAfterMillis;

        CoalescedReads(long nodeId) {
            this.nodeId = nodeId;
        }

        void add(List<Key> ks, Entry[] kn, long slowAfter, ReadAnswers caller) {
            if (callers == answers.length) {
                answers = Arrays.copyOf(answers, callers * 2);
                from = Arrays.copyOf(from, callers * 2);
            }
            int start = keys.size();
            answers[callers] = caller;
            from[callers++] = start;
            keys.addAll(ks);
            if (keys.size() > known.length) {
                known = Arrays.copyOf(known, Math.max(keys.size(), known.length * 2));
            }
            if (kn != null) {
                System.arraycopy(kn, 0, known, start, ks.size());
            }
            if (slowAfter > 0 && (slowAfterMillis == 0 || slowAfter < slowAfterMillis)) {
                slowAfterMillis = slowAfter;
            }
        }
    }

    /** Per event-loop thread, the reads of the current turn, one batch per replica (a few); empty between turns. */
    private final ThreadLocal<List<CoalescedReads>> readTurn = ThreadLocal.withInitial(ArrayList::new);

    /** The percentile of recent read round trips below which a replica is not yet slow. */
    static final double SLOW_PERCENTILE = 0.99;

    /** Per event-loop thread, its batches' round trips: a replica is slow only past their 99th percentile. */
    private final ThreadLocal<LatencyPercentile> readLatency =
            ThreadLocal.withInitial(() -> new LatencyPercentile(SLOW_PERCENTILE));

    @Override
    public CompletableFuture<List<ReadReply>> read(long nodeId, List<Key> keys, Entry[] known) {
        CompletableFuture<List<ReadReply>> reply = new CompletableFuture<>();
        read(nodeId, keys, known, 0, new ReadAnswers() {
            @Override
            public void answered(List<ReadReply> replies, int from, Throwable failure) {
                if (failure != null) {
                    reply.completeExceptionally(failure);
                } else {
                    reply.complete(from == 0 && replies.size() == keys.size() ? replies
                            : replies.subList(from, from + keys.size()));
                }
            }

            @Override
            public void slow() {
            }
        });
        return reply;
    }

    /**
     * Reads made on an event loop are coalesced as writes are: each replica gets one {@code REPLICA_READ}
     * per turn with every key the turn's commands asked of it (at most {@value #MAX_COALESCED}), and each
     * caller gets its own keys' part of the one reply. A failure or timeout fails every read of the batch.
     * One scheduled check per batch, on the loop, tells its callers if the replica is slow: it has not answered
     * within the callers' delay, or within the 99th percentile of the loop's recent read round trips if that is
     * longer (so that under load, when every answer takes longer, reads do not ask a second replica for a large
     * share of keys). Reads made off an event loop are never told.
     */
    @Override
    public void read(long nodeId, List<Key> keys, Entry[] known, long slowAfterMillis, ReadAnswers answers) {
        EventExecutor loop = ThreadExecutorMap.currentExecutor();
        if (loop == null || keys.size() > MAX_COALESCED) {
            CoalescedReads alone = new CoalescedReads(nodeId);
            alone.add(keys, known, slowAfterMillis, answers);
            sendReads(alone, loop);
            return;
        }
        List<CoalescedReads> batches = readTurn.get();
        if (batches.isEmpty()) {
            loop.execute(this::sendReadTurn); // after the I/O of this turn
        }
        CoalescedReads c = null;
        for (int b = 0; b < batches.size(); b++) {
            if (batches.get(b).nodeId == nodeId) {
                c = batches.get(b);
                if (c.keys.size() + keys.size() > MAX_COALESCED) {
                    batches.remove(b);
                    sendReads(c, loop);
                    c = null;
                }
                break;
            }
        }
        if (c == null) {
            c = new CoalescedReads(nodeId);
            batches.add(c);
        }
        c.add(keys, known, slowAfterMillis, answers);
    }

    /** On the loop, once its turn's reads are handled: sends each replica's reads. */
    private void sendReadTurn() {
        List<CoalescedReads> batches = readTurn.get();
        CoalescedReads[] all = batches.toArray(new CoalescedReads[0]);
        batches.clear();
        EventExecutor loop = ThreadExecutorMap.currentExecutor();
        for (CoalescedReads c : all) {
            sendReads(c, loop);
        }
    }

    /** Sends one batch; on {@code loop} (if any), checks once after the callers' delay whether it was answered. */
    private void sendReads(CoalescedReads c, EventExecutor loop) {
        long start = System.nanoTime();
        CompletableFuture<List<ReadReply>> sent;
        try {
            sent = readNow(c.nodeId, c.keys, c.known);
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        if (loop != null && c.slowAfterMillis > 0 && !sent.isDone()) {
            CompletableFuture<List<ReadReply>> answer = sent;
            long delay = Math.min(Math.max(c.slowAfterMillis, readLatency.get().millis()), timeout.toMillis());
            loop.schedule(() -> {
                if (!answer.isDone()) {
                    tellSlow(c);
                }
            }, delay, TimeUnit.MILLISECONDS);
        }
        sent.whenComplete((all, failure) -> {
            if (failure == null) {
                readLatency.get().record(System.nanoTime() - start);
            }
            passOn(c, all, failure);
        });
    }

    private static void tellSlow(CoalescedReads c) {
        for (int j = 0; j < c.callers; j++) {
            try {
                c.answers[j].slow();
            } catch (RuntimeException e) { // one read's bug must not keep the others from their retries
                log.error("Telling a read that replica {} is slow failed", Long.toHexString(c.nodeId), e);
            }
        }
    }

    /** Gives each caller its keys' part of the batch's reply (the whole reply and where its part starts), or the failure. */
    private static void passOn(CoalescedReads c, List<ReadReply> all, Throwable failure) {
        Throwable outcome = failure;
        if (outcome == null && all.size() != c.keys.size()) {
            outcome = new IllegalStateException("read reply of " + all.size() + " entries for " + c.keys.size()
                    + " keys");
        }
        for (int j = 0; j < c.callers; j++) {
            try {
                c.answers[j].answered(outcome == null ? all : null, c.from[j], outcome);
            } catch (RuntimeException e) { // a bug in one read's callback must not keep the others waiting
                log.error("Passing on replica {}'s read answer failed", Long.toHexString(c.nodeId), e);
            }
        }
    }

    /** Sends one {@code REPLICA_READ}; {@code known} may be longer than {@code keys} (the rest is not sent). */
    private CompletableFuture<List<ReadReply>> readNow(long nodeId, List<Key> keys, Entry[] known) {
        return peers.call(nodeId, PeerMessageType.REPLICA_READ, ReplicaCodec.encodeRead(keys, known), timeout)
                .thenApply(ReplicaCodec::decodeReadReply);
    }
}
