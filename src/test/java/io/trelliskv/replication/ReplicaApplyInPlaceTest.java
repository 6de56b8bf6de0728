package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.common.ManualClock;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.CounterState;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.PnCounter;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A replica applying a write batch in place ({@link ReplicaService#applyWrite(String, ByteBuffer, Deadline)}:
 * the batch read as views of the frame's bytes, each entry merged from them) against applying the same
 * batch decoded into entries ({@link ReplicaService#apply}): the same replies and the same engine, for
 * random batches of every kind, laid out inside a larger buffer as a peer frame's payload is; and nothing
 * applied from a malformed batch or one with a version too far ahead, after which the reader reads the
 * next batch as usual.
 */
class ReplicaApplyInPlaceTest {

    private static final long NOW = 1_700_000_000_000L;
    private static final long MAX_DRIFT = 1_000;

    private final ManualClock clockA = new ManualClock(NOW);
    private final ManualClock clockB = new ManualClock(NOW);
    private final Hlc hlcA = new Hlc(clockA);
    private final Hlc hlcB = new Hlc(clockB);
    private final MemoryEngine inPlace = new MemoryEngine(EngineConfig.defaults(), clockA, hlcA, 1);
    private final MemoryEngine decoded = new MemoryEngine(EngineConfig.defaults(), clockB, hlcB, 1);
    private final ReplicaService inPlaceReplica = new ReplicaService(inPlace, hlcA, MAX_DRIFT);
    private final ReplicaService decodedReplica = new ReplicaService(decoded, hlcB, MAX_DRIFT);

    @AfterEach
    void close() {
        inPlace.close();
        decoded.close();
    }

    @Test
    void batchesAppliedInPlaceLeaveTheEngineAsDecodedEntriesDo() {
        Random rnd = new Random(5);
        List<Key> keys = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            keys.add(Key.of(("key:" + "x".repeat(i * 3) + i).getBytes()));
        }
        for (int round = 0; round < 300; round++) {
            List<Entry> batch = new ArrayList<>();
            int size = 1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 40 : 8); // past the reader's first token array too
            for (int i = 0; i < size; i++) {
                batch.add(randomEntry(rnd, keys.get(rnd.nextInt(keys.size()))));
            }
            byte[] encoded = ReplicaCodec.encodeWrite(batch);
            ByteBuffer frame = frameWith(encoded, rnd);
            byte[] reply = inPlaceReplica.applyWrite("peer", frame, Deadline.NONE);
            assertThat(frame.position()).isEqualTo(frame.limit());
            ReplicaCodec.checkWriteReply(reply);
            decodedReplica.apply("peer", ReplicaCodec.decodeWrite(encoded));
            if (rnd.nextInt(4) == 0) {
                clockA.advanceMillis(200);
                clockB.advanceMillis(200);
            }
            assertThat(entries(inPlace)).as("round %d", round).isEqualTo(entries(decoded));
        }
        assertThat(inPlaceReplica.stats()).isEqualTo(decodedReplica.stats());
        assertThat(inPlaceReplica.stats().applied()).isPositive();
        assertThat(inPlaceReplica.stats().stale()).isPositive();
        assertThat(inPlace.stats()).isEqualTo(decoded.stats());
        assertThat(inPlace.usedMemory()).isEqualTo(decoded.usedMemory());
    }

    @Test
    void aBatchsTokensAreItsKeysTokensInOrderBatchAfterBatch() {
        ReplicaCodec.WriteBatch reader = new ReplicaCodec.WriteBatch();
        Random rnd = new Random(3);
        for (int size : new int[] {20, 3, 45, 1}) {
            List<Entry> batch = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                batch.add(randomEntry(rnd, Key.of(("k" + rnd.nextInt(1_000_000)).getBytes())));
            }
            reader.read(frameWith(ReplicaCodec.encodeWrite(batch), rnd));
            reader.next();
            long[] tokens = reader.tokens();
            for (int i = 0; i < size; i++) {
                assertThat(tokens[i]).as("batch of %d, entry %d", size, i).isEqualTo(batch.get(i).key().token());
            }
            assertThat(reader.next().token()).as("the visit starts again").isEqualTo(batch.get(0).key().token());
        }
    }

    @Test
    void malformedBatchAppliesNothingAndTheNextBatchIsRead() {
        Entry a = new Entry(Key.of("a"), "1".getBytes(), hlcA.now(), 2, 0);
        Entry b = new Entry(Key.of("b"), "2".getBytes(), hlcA.now(), 2, 0);
        byte[] good = ReplicaCodec.encodeWrite(List.of(a, b));
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 3);
        assertThatThrownBy(() -> inPlaceReplica.applyWrite("peer", ByteBuffer.wrap(truncated), Deadline.NONE))
                .isInstanceOf(MalformedMessageException.class).hasMessageContaining("entry version: truncated");
        assertThat(entries(inPlace)).isEmpty();

        ReplicaCodec.checkWriteReply(inPlaceReplica.applyWrite("peer", frameWith(good, new Random(1)), Deadline.NONE));
        assertThat(inPlace.get(Key.of("b")).value()).isEqualTo("2".getBytes());
        assertThat(inPlaceReplica.stats().applied()).isEqualTo(2);
    }

    @Test
    void batchWithAVersionTooFarAheadAppliesNothing() {
        Entry fine = new Entry(Key.of("fine"), "1".getBytes(), hlcA.now(), 2, 0);
        Entry ahead = new Entry(Key.of("ahead"), "2".getBytes(), Hlc.pack(NOW + MAX_DRIFT + 60_000, 0), 2, 0);
        byte[] reply = inPlaceReplica.applyWrite("peer", frameWith(ReplicaCodec.encodeWrite(List.of(fine, ahead)),
                new Random(2)), Deadline.NONE);
        assertThatThrownBy(() -> ReplicaCodec.checkWriteReply(reply)).isInstanceOf(ReplicaRefusedException.class)
                .hasMessageContaining("version of key 'ahead'");
        assertThat(entries(inPlace)).isEmpty();
        assertThat(inPlaceReplica.stats().refusedBatches()).isEqualTo(1);
    }

    private Entry randomEntry(Random rnd, Key key) {
        long hlc = Hlc.pack(clockA.millis() - 2_000 + rnd.nextInt(2_500), rnd.nextInt(2));
        long writer = 2 + rnd.nextInt(2);
        long expireAt = rnd.nextInt(4) == 0 ? clockA.millis() + rnd.nextInt(3_000) : 0;
        int kind = rnd.nextInt(10);
        if (kind < 3) {
            return new Entry(key, null, hlc, writer, expireAt);
        }
        if (kind < 8) {
            byte[] value = new byte[rnd.nextInt(120)];
            rnd.nextBytes(value);
            return new Entry(key, value, hlc, writer, expireAt);
        }
        if (kind < 9) {
            Version epoch = new Version(Hlc.pack(NOW - 10_000, 0), 2);
            PnCounter increments = PnCounter.of(new long[] {writer}, new long[] {1 + rnd.nextInt(5)}, new long[] {0});
            return new Entry(key, CausalCodec.encode(CounterState.of(7, epoch, increments)), hlc, writer, expireAt,
                    ValueKind.COUNTER);
        }
        return new Entry(key, new byte[] {(byte) rnd.nextInt()}, hlc, writer, expireAt, ValueKind.VERSIONED);
    }

    /** {@code payload} between random bytes in a direct buffer, its position and limit around the payload. */
    private static ByteBuffer frameWith(byte[] payload, Random rnd) {
        int before = rnd.nextInt(17);
        ByteBuffer frame = ByteBuffer.allocateDirect(before + payload.length + rnd.nextInt(17));
        byte[] junk = new byte[frame.capacity()];
        rnd.nextBytes(junk);
        frame.put(0, junk).put(before, payload);
        return frame.position(before).limit(before + payload.length);
    }

    private static List<String> entries(MemoryEngine engine) {
        List<Entry> all = new ArrayList<>();
        engine.forEachInRange(0, 0, all::add);
        all.sort((x, y) -> x.key().compareTo(y.key()));
        List<String> out = new ArrayList<>();
        for (Entry e : all) {
            out.add(HexFormat.of().formatHex(e.key().bytes()) + " = "
                    + (e.value() == null ? "tombstone" : HexFormat.of().formatHex(e.value()))
                    + " @" + e.hlc() + "/" + e.nodeId() + " expires " + e.expireAt() + " kind " + e.kind());
        }
        return out;
    }
}
