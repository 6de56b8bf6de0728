package io.trelliskv.repair;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Range streams: batches by cursor, resumption, cancellation, rate limit; the reader and its codec. */
class RangeStreamTest {

    private final ManualClock clock = new ManualClock(1_700_000_000_000L);
    private final MemoryEngine source = engine(1);
    private final MemoryEngine target = engine(2);

    private MemoryEngine engine(long id) {
        return new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, 3_600_000,
                EngineConfig.DEFAULT_EVICTION_SAMPLES), clock, new Hlc(clock), id);
    }

    private void fill(int keys) {
        for (int i = 0; i < keys; i++) {
            source.put(Key.of("k" + i), ("value-" + i).getBytes(StandardCharsets.UTF_8), 0);
        }
        source.delete(Key.of("k0")); // tombstones move too
    }

    /** Entries stored, tombstones included. */
    private static long stored(MemoryEngine e) {
        return e.forEachInRange(0, 0, x -> { });
    }

    private final List<Long> cursorsAsked = new ArrayList<>();

    private StreamCodec.Batch pullThroughTheCodec(TokenRange range, long cursor, int maxBytes) {
        cursorsAsked.add(cursor);
        byte[] reply = new RangeReader(source).answer(StreamCodec.encodeRequest(range, cursor, maxBytes));
        StreamCodec.Batch b = StreamCodec.decodeReply(reply);
        b.entries().forEach(target::merge);
        return b;
    }

    private static List<RangeStream.Assignment> wholeRing() {
        return List.of(new RangeStream.Assignment(TokenRange.fullRing(42), List.of(1L)));
    }

    @Test
    void aStreamCopiesEveryEntryOnceInBatchesAndResumesWhereItWasCancelled() {
        fill(20_000);
        RangeStream[] stream = new RangeStream[1];
        int[] calls = {0};
        stream[0] = new RangeStream(RangeStream.Kind.BOOTSTRAP, wholeRing(), (peer, range, cursor, max) -> {
            if (++calls[0] == 10) {
                stream[0].cancel();
            }
            return pullThroughTheCodec(range, cursor, 16_384);
        }, node -> true, 0, clock, nanos -> { }, Long::toString);

        stream[0].run();
        assertThat(stream[0].progress().state()).isEqualTo(RangeStream.State.CANCELLED);
        assertThat(stream[0].finished()).isNotDone();
        long keysBefore = stream[0].progress().keys();

        stream[0].run();
        assertThat(stream[0].finished()).isCompleted();
        RangeStream.Progress p = stream[0].progress();
        assertThat(p.rangesDone()).isEqualTo(2).isEqualTo(p.rangesTotal());
        assertThat(p.keys()).isEqualTo(stored(source)).isGreaterThan(keysBefore);
        assertThat(new HashSet<>(cursorsAsked)).as("no batch asked twice").hasSize(cursorsAsked.size());
        assertThat(stored(target)).isEqualTo(stored(source));
        assertThat(target.stored(Key.of("k0")).isTombstone()).isTrue();
    }

    @Test
    void aFailedBatchMovesToTheNextPeerFromTheSameCursor() {
        fill(5_000);
        List<Long> peersAsked = new ArrayList<>();
        Set<Long> cursorsFromPeer2 = new HashSet<>();
        RangeStream s = new RangeStream(RangeStream.Kind.RESTORE,
                List.of(new RangeStream.Assignment(TokenRange.fullRing(0), List.of(1L, 2L, 3L))),
                (peer, range, cursor, max) -> {
                    peersAsked.add(peer);
                    if (peer == 1L && peersAsked.size() > 3) {
                        throw new IllegalStateException("connection reset");
                    }
                    if (peer == 2L) {
                        cursorsFromPeer2.add(cursor);
                    }
                    return pullThroughTheCodec(range, cursor, 8_192);
                }, node -> node != 3L, 0, clock, nanos -> { }, Long::toString);
        s.run();
        assertThat(s.finished()).isCompleted();
        assertThat(peersAsked).doesNotContain(3L).contains(2L);
        assertThat(s.progress().failures()).isPositive();
        assertThat(s.progress().lastError()).contains("connection reset");
        assertThat(stored(target)).isEqualTo(stored(source));
    }

    @Test
    void throughputIsLimitedByTheTokenBucket() {
        List<Long> slept = new ArrayList<>();
        int[] batches = {0};
        long perSecond = 1_000_000;
        RangeStream s = new RangeStream(RangeStream.Kind.DECOMMISSION,
                List.of(new RangeStream.Assignment(new TokenRange(0, 100), List.of(1L))),
                (peer, range, cursor, max) -> {
                    batches[0]++;
                    return new StreamCodec.Batch(List.of(), 500_000, cursor + 10, cursor + 10 == 100);
                }, node -> true, perSecond, clock, nanos -> {
                    slept.add(nanos);
                    clock.advance(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
                }, Long::toString);
        long start = clock.nanos();
        s.run();
        assertThat(batches[0]).isEqualTo(10);
        double seconds = (clock.nanos() - start) / 1e9;
        assertThat(seconds).as("5 MB at 1 MB/s").isBetween(4.0, 5.1);
    }

    @Test
    void theReaderCutsBatchesAtSlicesAndStopsAtTheEnd() {
        fill(10_000);
        TokenRange range = new TokenRange(Long.MIN_VALUE / 2, Long.MAX_VALUE / 2);
        RangeReader reader = new RangeReader(source);
        long cursor = range.start();
        Set<Key> seen = new HashSet<>();
        int batches = 0;
        while (true) {
            StreamCodec.Batch b = reader.read(range, cursor, 1);
            batches++;
            for (Entry e : b.entries()) {
                assertThat(range.contains(e.key().token())).isTrue();
                assertThat(seen.add(e.key())).as("each entry once").isTrue();
            }
            cursor = b.next();
            if (b.done()) {
                break;
            }
        }
        assertThat(cursor).isEqualTo(range.end());
        assertThat(batches).as("at a 1-byte budget, a batch ends with the first slice (2^52 tokens) that has an entry")
                .isBetween(1_000, 2_048);
        long expected = 0;
        for (int i = 0; i < 10_000; i++) {
            if (range.contains(Key.of("k" + i).token())) {
                expected++;
            }
        }
        assertThat(seen).hasSize((int) expected);
        assertThat(reader.read(range, range.end(), 1).entries()).as("nothing past the end").isEmpty();
    }

    @Test
    void malformedRequestsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> StreamCodec.decodeRequest(new byte[3]))
                .hasMessage("stream request: 3 bytes (expected: 28)");
        assertThatThrownBy(() -> StreamCodec.decodeRequest(StreamCodec.encodeRequest(TokenRange.fullRing(5), 5, 10)))
                .hasMessageContaining("the whole ring");
        assertThatThrownBy(() -> StreamCodec.decodeRequest(StreamCodec.encodeRequest(new TokenRange(0, 10), 50, 10)))
                .hasMessageContaining("cursor 50");
        assertThatThrownBy(() -> StreamCodec.decodeRequest(StreamCodec.encodeRequest(new TokenRange(0, 10), 0, 0)))
                .hasMessageContaining("maxBytes 0");
        assertThatThrownBy(() -> StreamCodec.decodeReply(new byte[] {7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
                .hasMessageContaining("done flag 7");
    }
}
