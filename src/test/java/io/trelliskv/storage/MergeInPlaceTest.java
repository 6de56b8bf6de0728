package io.trelliskv.storage;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.CounterState;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.PnCounter;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link MemoryEngine#merge(EntryView)}, which stores a replicated entry straight from the frame it arrived
 * in, against {@link MemoryEngine#merge(Entry)}: two engines on equal clocks are given the same seeded
 * random program — merges of plain values, tombstones, expiring and already expired entries, older, newer
 * and equal versions, counters and versioned values (which the in-place path hands to the entry path),
 * interleaved with local writes, time passing, expiry cycles and flushes — one engine merging entries, the
 * other views of the same entries laid out in a buffer among unrelated bytes. They must answer every merge
 * alike and end alike: every stored entry, the counters and memory accounting, the expiry heaps and what
 * their journals were told.
 */
class MergeInPlaceTest {

    private static final long START = 1_700_000_000_000L;
    private static final long NODE = 9;
    private static final long GRACE = 5_000;
    private static final int STEPS = 600;
    /** Key lengths around the hash's 16-byte blocks and the key comparison's 8-byte words. */
    private static final int[] KEY_LENGTHS = {0, 1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 33, 40, 64, 100, 5};

    @Test
    void inPlaceMergeLeavesTheEngineAsEntryMergeDoes() {
        for (long seed = 1; seed <= 2; seed++) {
            for (int variant = 0; variant < 16; variant++) {
                run(seed, (variant & 1) != 0 ? GRACE : 0, (variant & 2) != 0, (variant & 4) != 0, (variant & 8) != 0,
                        false);
            }
        }
    }

    @Test
    void inPlaceMergeMatchesWhenWritersNodeIdsAreStoredInline() {
        run(11, GRACE, true, false, true, true);
        run(12, 0, false, true, false, true);
    }

    /** A journal that writes down every report. */
    private static final class RecordingJournal implements Journal {
        final List<String> reports = new ArrayList<>();

        @Override
        public void stored(Entry entry) {
            reports.add(describe(entry));
        }

        @Override
        public void flushed(Version floor) {
            reports.add("flush " + floor);
        }
    }

    private static void run(long seed, long grace, boolean journaled, boolean offHeap, boolean directFrames,
                            boolean fullNodeTable) {
        String what = "seed " + seed + ", grace " + grace + ", journal " + journaled + ", off-heap " + offHeap
                + ", direct frames " + directFrames + ", full node table " + fullNodeTable;
        Random rnd = new Random(seed);
        ManualClock clockA = new ManualClock(START);
        ManualClock clockB = new ManualClock(START);
        RecordingJournal journalA = new RecordingJournal();
        RecordingJournal journalB = new RecordingJournal();
        EngineConfig config = new EngineConfig(0, EvictionPolicy.NOEVICTION, grace, 5, offHeap);
        try (MemoryEngine a = new MemoryEngine(config, clockA, new Hlc(clockA), NODE, journaled ? journalA : Journal.NONE);
             MemoryEngine b = new MemoryEngine(config, clockB, new Hlc(clockB), NODE, journaled ? journalB : Journal.NONE)) {
            List<Key> keys = new ArrayList<>();
            for (int length : KEY_LENGTHS) {
                byte[] k = new byte[length];
                rnd.nextBytes(k);
                keys.add(Key.of(k));
            }
            if (fullNodeTable) {
                // 300 writers fill the node table (255 ids): later writers' ids are stored in their records.
                for (int n = 0; n < 300; n++) {
                    Entry e = new Entry(keys.get(0), new byte[] {1}, Hlc.pack(START - 10_000, n), 1_000 + n, 0);
                    assertThat(b.merge(view(e, rnd, directFrames))).isEqualTo(a.merge(e));
                }
            }
            for (int step = 0; step < STEPS; step++) {
                int action = rnd.nextInt(100);
                long now = clockA.millis();
                if (action < 6) {
                    Key key = keys.get(rnd.nextInt(keys.size()));
                    byte[] value = randomBytes(rnd, rnd.nextInt(40));
                    long expireAt = rnd.nextBoolean() ? 0 : now + 1 + rnd.nextInt(3_000);
                    assertThat(describe(b.put(key, value, expireAt))).isEqualTo(describe(a.put(key, value, expireAt)));
                } else if (action < 8) {
                    Key key = keys.get(rnd.nextInt(keys.size()));
                    assertThat(b.delete(key)).as(what).isEqualTo(a.delete(key));
                } else if (action < 12) {
                    long millis = rnd.nextInt(2_500);
                    clockA.advanceMillis(millis);
                    clockB.advanceMillis(millis);
                } else if (action < 14) {
                    assertThat(b.expireCycle(Long.MAX_VALUE)).as(what).isEqualTo(a.expireCycle(Long.MAX_VALUE));
                } else if (action < 15) {
                    Version floor = new Version(Hlc.pack(now - rnd.nextInt(4_000), 0), rnd.nextInt(4));
                    assertThat(b.flush(floor)).as(what).isEqualTo(a.flush(floor));
                } else {
                    Entry e = randomEntry(rnd, keys, now);
                    assertThat(b.merge(view(e, rnd, directFrames))).as(what + ", step " + step + ": " + describe(e))
                            .isEqualTo(a.merge(e));
                }
                if (step % 20 == 0 || step == STEPS - 1) {
                    assertSameState(what + ", step " + step, a, b);
                }
            }
            assertThat(journalB.reports).as(what).isEqualTo(journalA.reports);
            if (journaled) {
                assertThat(journalA.reports).as(what).isNotEmpty();
            }
        }
    }

    private static Entry randomEntry(Random rnd, List<Key> keys, long now) {
        Key key = keys.get(rnd.nextInt(keys.size()));
        long hlc = Hlc.pack(now - 3_000 + rnd.nextInt(4_000), rnd.nextInt(3));
        long writer = 1 + rnd.nextInt(3);
        int expiry = rnd.nextInt(10);
        long expireAt = expiry < 5 ? 0 : expiry < 8 ? now + 1 + rnd.nextInt(4_000) : now - rnd.nextInt(2_000);
        int kind = rnd.nextInt(100);
        if (kind < 25) {
            return new Entry(key, null, hlc, writer, expireAt);
        }
        if (kind < 80) {
            return new Entry(key, randomBytes(rnd, rnd.nextInt(300)), hlc, writer, expireAt);
        }
        if (kind < 92) {
            Version epoch = new Version(Hlc.pack(now - 4_000 + rnd.nextInt(2_000), 0), 1 + rnd.nextInt(3));
            PnCounter increments = PnCounter.of(new long[] {writer}, new long[] {rnd.nextInt(5)}, new long[] {0});
            byte[] state = CausalCodec.encode(CounterState.of(rnd.nextInt(100), epoch, increments));
            return new Entry(key, state, hlc, writer, expireAt, ValueKind.COUNTER);
        }
        return new Entry(key, randomBytes(rnd, 1 + rnd.nextInt(20)), hlc, writer, expireAt, ValueKind.VERSIONED);
    }

    /** {@code e} laid out in a fresh buffer, its key and value among random bytes, and a view of it. */
    private static EntryView view(Entry e, Random rnd, boolean direct) {
        byte[] key = e.key().bytes();
        int valueLength = e.value() == null ? -1 : e.value().length;
        int before = rnd.nextInt(9);
        int between = rnd.nextInt(9);
        int size = before + key.length + between + Math.max(0, valueLength) + rnd.nextInt(9);
        ByteBuffer b = direct ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size + 5).position(5).slice();
        b.put(0, randomBytes(rnd, size));
        b.put(before, key);
        int valueOffset = before + key.length + between;
        if (e.value() != null) {
            b.put(valueOffset, e.value());
        }
        return new EntryView().set(b, before, key.length, valueOffset, valueLength, e.hlc(), e.nodeId(), e.expireAt(),
                e.kind());
    }

    private static void assertSameState(String what, MemoryEngine a, MemoryEngine b) {
        assertThat(entries(b)).as(what).isEqualTo(entries(a));
        assertThat(b.stats()).as(what).isEqualTo(a.stats());
        assertThat(b.size()).as(what).isEqualTo(a.size());
        assertThat(b.volatileSize()).as(what).isEqualTo(a.volatileSize());
        assertThat(b.usedMemory()).as(what).isEqualTo(a.usedMemory());
        assertThat(b.refusedBelowFlushFloor()).as(what).isEqualTo(a.refusedBelowFlushFloor());
        assertThat(b.flushFloor()).as(what).isEqualTo(a.flushFloor());
        assertThat(b.expiryHeapElements()).as(what).isEqualTo(a.expiryHeapElements());
        assertThat(b.indexBytes()).as(what).isEqualTo(a.indexBytes());
        assertThat(b.slabBytes()).as(what).isEqualTo(a.slabBytes());
    }

    /** Every stored entry, tombstones and expired values included, with its LRU clock, in ring order. */
    private static List<String> entries(MemoryEngine engine) {
        List<Entry> all = new ArrayList<>();
        engine.forEachInRange(0, 0, all::add);
        all.sort((x, y) -> x.key().compareTo(y.key()));
        List<String> out = new ArrayList<>();
        for (Entry e : all) {
            out.add(describe(e) + " lru " + engine.lruClockOf(e.key()));
        }
        return out;
    }

    private static String describe(Entry e) {
        return HexFormat.of().formatHex(e.key().bytes()) + " = "
                + (e.value() == null ? "tombstone" : HexFormat.of().formatHex(e.value()))
                + " @" + e.hlc() + "/" + e.nodeId() + " expires " + e.expireAt() + " kind " + e.kind();
    }

    private static byte[] randomBytes(Random rnd, int length) {
        byte[] out = new byte[length];
        rnd.nextBytes(out);
        return out;
    }
}
