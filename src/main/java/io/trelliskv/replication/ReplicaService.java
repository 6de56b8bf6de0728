package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.common.LogLimiter;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.persist.Durability;
import io.trelliskv.persist.LogWriteFailedException;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EntryView;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * The replica's side of replication: applies versioned entries sent by coordinators (writes, read
 * repair, hint replay) and answers their version queries. Runs in place on the peer connection's
 * event loop: both are a few map operations per key.
 */
public final class ReplicaService {

    private static final Logger log = LoggerFactory.getLogger(ReplicaService.class);

    private final Engine engine;
    private final Hlc hlc;
    private final long maxDriftMillis;
    private final Durability durability;
    private final LongAdder applied = new LongAdder();
    private final LongAdder stale = new LongAdder();
    private final LongAdder refusedBatches = new LongAdder();
    /** A peer whose clock runs ahead has every batch refused: a line a second says so (INFO counts them all). */
    private final LogLimiter refusalLog = new LogLimiter(1_000);
    private final LongAdder reads = new LongAdder();
    /** Write batches not applied because their coordinator's deadline had passed. */
    private final LongAdder expiredDropped = new LongAdder();
    /**
     * A batch reader for each thread that applies writes (the peer connections' event loops), reused batch
     * after batch: a write is read in place without an object per batch or per entry.
     */
    private final ThreadLocal<ReplicaCodec.WriteBatch> batches = ThreadLocal.withInitial(ReplicaCodec.WriteBatch::new);

    public ReplicaService(Engine engine, Hlc hlc, long maxDriftMillis) {
        this(engine, hlc, maxDriftMillis, Durability.NONE);
    }

    /** @param durability refuses write batches while this node's log cannot write ({@code MISCONF ...}) */
    public ReplicaService(Engine engine, Hlc hlc, long maxDriftMillis, Durability durability) {
        this.durability = durability;
        this.engine = engine;
        this.hlc = hlc;
        this.maxDriftMillis = maxDriftMillis;
    }

    /**
     * Applies a write batch from {@code from} (for log lines): every entry through the engine's
     * last-writer-wins merge, or none if any version is further ahead of this node's clock than the
     * allowed drift.
     *
     * @return the encoded reply
     * @throws MalformedMessageException if the payload is malformed
     */
    public byte[] applyWrite(String from, byte[] payload) {
        return applyWrite(from, payload, Deadline.NONE);
    }

    /**
     * Applies a write batch as {@link #applyWrite(String, byte[])} does, unless its coordinator's
     * {@code deadline} has passed: then nothing is applied (the coordinator has stopped waiting and
     * counts the replica as not answering, keeping a hint), and the batch is counted as dropped. The
     * batch is applied here, on arrival, so this one check is also the check just before applying.
     *
     * @throws DeadlinePassedException if the deadline has passed; nothing was applied
     * @throws MalformedMessageException if the payload is malformed
     */
    public byte[] applyWrite(String from, byte[] payload, Deadline deadline) {
        return applyWrite(from, ByteBuffer.wrap(payload), deadline);
    }

    /**
     * Applies a write batch as {@link #applyWrite(String, byte[], Deadline)} does, decoded from {@code payload}'s
     * position to its limit: a view of the peer connection's buffer, read only before this returns.
     */
    public byte[] applyWrite(String from, ByteBuffer payload, Deadline deadline) {
        ReplicaCodec.WriteBatch batch = batches.get();
        try {
            batch.read(payload);
            if (deadline.passed()) {
                expiredDropped.increment();
                throw new DeadlinePassedException(deadline.reason("write of " + batch.size() + " entries from " + from));
            }
            try {
                durability.checkWritable();
            } catch (LogWriteFailedException e) {
                refusedBatches.increment();
                return ReplicaCodec.writeRefused(e.getMessage());
            }
            try {
                apply(from, batch);
                return ReplicaCodec.writeApplied();
            } catch (ReplicaRefusedException e) {
                return ReplicaCodec.writeRefused(e.getMessage());
            }
        } finally {
            batch.release();
        }
    }

    /**
     * {@link #apply(String, List)} for a batch read in place: each entry is merged as a view of the frame
     * ({@link Engine#mergeAll}, one clock reading for the batch), so a replica stores a write without an
     * object per entry. Before the merges, the engine is handed the batch's tokens ({@link Engine#prefetch}):
     * a replica's merges of random keys spent most of their time waiting for the index slot and the record
     * of each key in turn.
     */
    private void apply(String from, ReplicaCodec.WriteBatch batch) {
        // The newest version decides both checks of the batch: its drift is the largest (one clock read, not
        // one per entry), and once the clock has observed it, every merge's own observation of an older one is
        // a read rather than a compare-and-set, which would wait for the stores of the merge before it.
        long newest = Long.MIN_VALUE;
        for (EntryView e = batch.next(); e != null; e = batch.next()) {
            newest = Math.max(newest, e.hlc());
        }
        if (newest != Long.MIN_VALUE) {
            long drift = hlc.driftMillis(newest);
            if (drift > maxDriftMillis) {
                batch.rewind();
                for (EntryView e = batch.next(); e != null; e = batch.next()) {
                    if (e.hlc() == newest) {
                        refuse(from, e.key(), drift, batch.size());
                    }
                }
            }
            hlc.observe(newest);
        }
        batch.prefetched(engine.prefetch(batch.tokens(), batch.size()));
        int stored = engine.mergeAll(batch::next);
        applied.add(stored);
        stale.add(batch.size() - stored);
    }

    /**
     * Applies versioned entries from {@code from} (for log lines) — a write batch, or what anti-entropy
     * pulled from a peer — every one through the engine's last-writer-wins merge, or none if any version
     * is further ahead of this node's clock than the allowed drift.
     *
     * @throws ReplicaRefusedException naming the key and the drift, if the batch was refused
     */
    public void apply(String from, List<Entry> entries) {
        for (Entry e : entries) {
            long drift = hlc.driftMillis(e.hlc());
            if (drift > maxDriftMillis) {
                refuse(from, e.key(), drift, entries.size());
            }
        }
        for (Entry e : entries) {
            if (engine.merge(e)) {
                applied.increment();
            } else {
                stale.increment();
            }
        }
    }

    /** Refuses a batch of {@code size} entries because {@code key}'s version is {@code drift} ms ahead. */
    private void refuse(String from, Key key, long drift, int size) {
        refusedBatches.increment();
        String reason = "version of key '" + ReplicationException.quote(key.bytes()) + "' is " + drift
                + " ms ahead of this node's clock (max drift " + maxDriftMillis + " ms)";
        long held = refusalLog.admit();
        if (held >= 0) {
            log.warn("Refused {} entries from {}: {}{}", size, from, reason, LogLimiter.more(held));
        }
        throw new ReplicaRefusedException(reason);
    }

    /**
     * Answers a version query: per key, nothing, this node's version, or its whole entry when that is
     * newer than the one the coordinator knows, or when its value is one that joins ({@link ValueKind#joins}):
     * two replicas' siblings or counts can differ under one version, so only the value tells.
     *
     * @throws MalformedMessageException if the payload is malformed
     */
    public byte[] answerRead(byte[] payload) {
        ReplicaCodec.ReadRequest req = ReplicaCodec.decodeRead(payload);
        reads.increment();
        List<ReadReply> replies = new ArrayList<>(req.keys().size());
        for (int i = 0; i < req.keys().size(); i++) {
            Key key = req.keys().get(i);
            Entry mine = engine.stored(key);
            if (mine == null) {
                replies.add(ReadReply.MISSING);
            } else if (Version.compare(mine.hlc(), mine.nodeId(), req.knownHlc()[i], req.knownNode()[i]) > 0
                    || ValueKind.joins(mine.kind())) {
                replies.add(new ReadReply(mine.hlc(), mine.nodeId(), mine));
            } else {
                replies.add(new ReadReply(mine.hlc(), mine.nodeId(), null));
            }
        }
        return ReplicaCodec.encodeReadReply(replies);
    }

    /** Counters for INFO. */
    public record Stats(long applied, long stale, long refusedBatches, long reads, long expiredWritesDropped) {
    }

    public Stats stats() {
        return new Stats(applied.sum(), stale.sum(), refusedBatches.sum(), reads.sum(), expiredDropped.sum());
    }

    /** The newest FLUSHALL this node applied ({@link Engine#flush}); gossiped with the node's tokens. */
    public Version flushFloor() {
        return engine.flushFloor();
    }
}
