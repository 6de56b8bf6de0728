package io.trelliskv.storage;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntToLongFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The behaviour every {@link Engine} must have. Subclasses supply the engine; they must stamp local
 * writes with {@link #NODE_ID}. Time only moves when a test advances the manual clock.
 */
abstract class AbstractEngineContractTest {

    /** The node id subclasses give their engines. */
    protected static final long NODE_ID = 0x2a;
    /** The manual clock's starting wall time, epoch ms. */
    protected static final long START_MILLIS = 1_700_000_000_000L;
    protected static final long GRACE_MILLIS = 10_000;

    protected ManualClock clock;
    protected Engine engine;

    abstract Engine newEngine(EngineConfig config, ManualClock clock);

    /** Creates the engine under test (closed after the test) with a fresh clock at START_MILLIS. */
    protected Engine engine(EngineConfig config) {
        clock = new ManualClock(START_MILLIS);
        engine = newEngine(config, clock);
        return engine;
    }

    protected Engine unbounded() {
        return engine(EngineConfig.unbounded());
    }

    protected Engine withTombstones() {
        return engine(new EngineConfig(0, EvictionPolicy.NOEVICTION, GRACE_MILLIS,
                EngineConfig.DEFAULT_EVICTION_SAMPLES));
    }

    protected Engine bounded(long maxMemory, EvictionPolicy policy) {
        return engine(new EngineConfig(maxMemory, policy, 0, EngineConfig.DEFAULT_EVICTION_SAMPLES));
    }

    @AfterEach
    void closeEngine() {
        if (engine != null) {
            engine.close();
        }
    }

    protected static Key key(String s) {
        return Key.of(s);
    }

    protected static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    protected static String text(Entry e) {
        return e == null ? null : new String(e.value(), StandardCharsets.UTF_8);
    }

    /** A versioned write as another replica would send it. */
    protected static Entry remote(String key, String value, long physicalMillis, int logical, long nodeId,
                                  long expireAt) {
        return new Entry(key(key), value == null ? null : bytes(value), Hlc.pack(physicalMillis, logical), nodeId,
                expireAt);
    }

    // ---- basic operations ----

    @Test
    void getReturnsWhatPutStored() {
        unbounded();
        assertThat(engine.get(key("a"))).isNull();
        engine.put(key("a"), bytes("1"), 0);
        assertThat(text(engine.get(key("a")))).isEqualTo("1");
        engine.put(key("a"), bytes("2"), 0);
        assertThat(text(engine.get(key("a")))).isEqualTo("2");
        assertThat(text(engine.peek(key("a")))).isEqualTo("2");
        assertThat(engine.size()).isEqualTo(1);
    }

    @Test
    void deleteRemovesAndReportsWhetherAKeyWasThere() {
        unbounded();
        engine.put(key("a"), bytes("1"), 0);
        assertThat(engine.delete(key("a"))).isTrue();
        assertThat(engine.get(key("a"))).isNull();
        assertThat(engine.delete(key("a"))).isFalse();
        assertThat(engine.delete(key("never"))).isFalse();
        assertThat(engine.size()).isZero();
    }

    @Test
    void keysAreBinarySafe() {
        unbounded();
        byte[][] keys = {
            {}, {0}, {0, 0}, {(byte) 0xff}, {'a', 0, 'b'}, {'a', 0, 'c'}, {(byte) 0xc3, (byte) 0x28}, {'\r', '\n'},
        };
        for (int i = 0; i < keys.length; i++) {
            engine.put(Key.of(keys[i].clone()), new byte[] {(byte) i, 0, (byte) 0x80}, 0);
        }
        assertThat(engine.size()).isEqualTo(keys.length);
        for (int i = 0; i < keys.length; i++) {
            assertThat(engine.get(Key.of(keys[i].clone())).value()).containsExactly((byte) i, 0, (byte) 0x80);
        }
    }

    @Test
    void statsCountHitsAndMissesOfGetButNotPeek() {
        unbounded();
        engine.put(key("a"), bytes("1"), 0);
        engine.get(key("a"));
        engine.get(key("a"));
        engine.get(key("b"));
        engine.peek(key("a"));
        engine.peek(key("b"));
        assertThat(engine.stats().keyspaceHits()).isEqualTo(2);
        assertThat(engine.stats().keyspaceMisses()).isEqualTo(1);
    }

    /** What {@link Engine#readPlain} gave its sink, and how (the lent buffer's position and limit after). */
    private static final class Written {
        byte[] bytes;
        int calls;
        boolean leftAsLent;
    }

    private static final Engine.ValueSink<Written> COPY = (w, source, offset, length) -> {
        int position = source.position();
        int limit = source.limit();
        w.bytes = new byte[length];
        source.get(offset, w.bytes);
        w.calls++;
        w.leftAsLent = source.position() == position && source.limit() == limit;
    };

    @Test
    void readPlainWritesALiveValueAndOnlyThat() {
        withTombstones();
        SplittableRandom random = new SplittableRandom(11);
        byte[] big = new byte[300_000]; // over the memory engine's largest chunk (256 KiB): a buffer of its own
        random.nextBytes(big);
        engine.put(key("a"), bytes("hello"), 0);
        engine.put(key("empty"), new byte[0], 0);
        engine.put(key("big"), big, 0);
        engine.put(key("soon"), bytes("gone"), START_MILLIS + 10);
        engine.put(key("deleted"), bytes("x"), 0);
        engine.delete(key("deleted"));

        for (String k : List.of("a", "empty", "big")) {
            Written w = new Written();
            assertThat(engine.readPlain(key(k), COPY, w)).as(k).isEqualTo(Engine.PlainRead.WRITTEN);
            assertThat(w.bytes).as(k).isEqualTo(engine.get(key(k)).value());
            assertThat(w.calls).isEqualTo(1);
            assertThat(w.leftAsLent).as("the lent buffer's position and limit").isTrue();
        }
        clock.advanceMillis(11);
        for (String k : List.of("missing", "deleted", "soon")) {
            Written w = new Written();
            assertThat(engine.readPlain(key(k), COPY, w)).as(k).isEqualTo(Engine.PlainRead.ABSENT);
            assertThat(w.calls).as(k).isZero();
        }
        assertThat(engine.stats().expiredKeys()).as("an expired value found is reclaimed, as get does").isEqualTo(1);
        assertThat(engine.stats().keyspaceHits()).as("three reads of each kind, by get and by readPlain")
                .isEqualTo(6);
        assertThat(engine.stats().keyspaceMisses()).isEqualTo(3);
    }

    @Test
    void readPlainLeavesAValueOfAnotherKindToGet() {
        unbounded();
        engine.put(key("c"), bytes("a counter's bytes"), ValueKind.COUNTER, 0);
        Written w = new Written();
        assertThat(engine.readPlain(key("c"), COPY, w)).isEqualTo(Engine.PlainRead.OTHER_KIND);
        assertThat(w.calls).isZero();
        assertThat(engine.stats().keyspaceHits() + engine.stats().keyspaceMisses()).as("left for get to count")
                .isZero();
        assertThat(engine.get(key("c")).kind()).isEqualTo(ValueKind.COUNTER);
    }

    // ---- versions ----

    @Test
    void versionsIncreaseAndCarryTheNodeId() {
        unbounded();
        Entry first = engine.put(key("a"), bytes("1"), 0);
        Entry second = engine.put(key("a"), bytes("2"), 0);
        Entry other = engine.put(key("b"), bytes("3"), 0);
        assertThat(first.nodeId()).isEqualTo(NODE_ID);
        assertThat(Hlc.physical(first.hlc())).isEqualTo(START_MILLIS);
        assertThat(second.newerThan(first)).isTrue();
        assertThat(other.newerThan(second)).isTrue();

        clock.stepWallClock(-60_000);
        Entry afterStepBack = engine.put(key("a"), bytes("4"), 0);
        assertThat(afterStepBack.newerThan(other)).isTrue();
    }

    @Test
    void aLocalWriteSupersedesAMergedVersionFromTheFuture() {
        withTombstones();
        Entry future = remote("a", "theirs", START_MILLIS + 3_600_000, 0, 99, 0);
        assertThat(engine.merge(future)).isTrue();

        Entry mine = engine.put(key("a"), bytes("mine"), 0);
        assertThat(mine.newerThan(future)).isTrue();
        assertThat(text(engine.get(key("a")))).isEqualTo("mine");
        // A replica that sees both writes keeps the same one.
        assertThat(engine.merge(future)).isFalse();

        engine.merge(remote("b", "theirs", START_MILLIS + 3_600_000, 0, 99, 0));
        engine.delete(key("b"));
        assertThat(engine.merge(remote("b", "theirs", START_MILLIS + 3_600_000, 0, 99, 0))).isFalse();
        assertThat(engine.get(key("b"))).isNull();
    }

    // ---- expiry ----

    @Test
    void aKeyExpiresAfterItsTimeNotBefore() {
        unbounded();
        long expireAt = START_MILLIS + 1_000;
        engine.put(key("a"), bytes("1"), expireAt);
        assertThat(engine.volatileSize()).isEqualTo(1);
        clock.advanceMillis(1_000);
        assertThat(text(engine.get(key("a")))).isEqualTo("1");
        assertThat(engine.get(key("a")).expireAt()).isEqualTo(expireAt);
        clock.advanceMillis(1);
        assertThat(engine.size()).as("not reclaimed until found").isEqualTo(1);
        assertThat(engine.get(key("a"))).isNull();
        assertThat(engine.stats().expiredKeys()).isEqualTo(1);
        assertThat(engine.size()).isZero();
        assertThat(engine.volatileSize()).isZero();
        assertThat(engine.usedMemory()).isZero();
    }

    @Test
    void peekAndTransactionsReclaimExpiredKeysLazilyToo() {
        unbounded();
        engine.put(key("a"), bytes("1"), START_MILLIS + 10);
        engine.put(key("b"), bytes("1"), START_MILLIS + 10);
        clock.advanceMillis(11);
        assertThat(engine.peek(key("a"))).isNull();
        Entry viaTxn = engine.atomically(key("b"), txn -> txn.get(key("b")));
        assertThat(viaTxn).isNull();
        assertThat(engine.stats().expiredKeys()).isEqualTo(2);
        assertThat(engine.size()).isZero();
    }

    @Test
    void overwritingRemovesOrKeepsTheExpiry() {
        unbounded();
        engine.put(key("a"), bytes("1"), START_MILLIS + 10);
        engine.put(key("a"), bytes("2"), 0);
        assertThat(engine.volatileSize()).isZero();
        clock.advanceMillis(100);
        assertThat(text(engine.get(key("a")))).isEqualTo("2");
        engine.put(key("a"), bytes("3"), START_MILLIS + 200);
        assertThat(engine.volatileSize()).isEqualTo(1);
        assertThat(engine.expireCycle(Long.MAX_VALUE)).isZero();
        assertThat(text(engine.get(key("a")))).isEqualTo("3");
    }

    @Test
    void activeExpiryReclaimsExpiredKeysWithoutReads() {
        unbounded();
        for (int i = 0; i < 1_000; i++) {
            engine.put(key("v" + i), bytes("x"), START_MILLIS + 100 + i);
            engine.put(key("p" + i), bytes("x"), 0);
        }
        clock.advanceMillis(600);
        int reclaimed = engine.expireCycle(Long.MAX_VALUE);
        assertThat(reclaimed).isEqualTo(500);
        assertThat(engine.size()).isEqualTo(1_500);
        assertThat(engine.volatileSize()).isEqualTo(500);
        clock.advanceMillis(1_000);
        assertThat(engine.expireCycle(Long.MAX_VALUE)).isEqualTo(500);
        assertThat(engine.size()).isEqualTo(1_000);
        assertThat(engine.volatileSize()).isZero();
        assertThat(engine.stats().expiredKeys()).isEqualTo(1_000);
        assertThat(engine.stats().keyspaceHits() + engine.stats().keyspaceMisses()).isZero();
    }

    @Test
    void activeExpiryWithNoBudgetStillProgressesAcrossCycles() {
        unbounded();
        for (int i = 0; i < 2_000; i++) {
            engine.put(key("v" + i), bytes("x"), START_MILLIS + 1);
        }
        clock.advanceMillis(2);
        int cycles = 0;
        while (engine.size() > 0 && cycles < 100_000) {
            engine.expireCycle(0);
            cycles++;
        }
        assertThat(engine.size()).isZero();
        assertThat(cycles).as("a zero budget does some work per cycle, not all of it").isGreaterThan(1);
    }

    // ---- tombstones ----

    @Test
    void tombstonesHideDeletedKeysAndBlockOlderWrites() {
        withTombstones();
        Entry written = engine.put(key("a"), bytes("1"), 0);
        clock.advanceMillis(5);
        assertThat(engine.delete(key("a"))).isTrue();

        assertThat(engine.get(key("a"))).isNull();
        assertThat(engine.peek(key("a"))).isNull();
        assertThat(engine.size()).isZero();
        assertThat(engine.volatileSize()).isZero();
        assertThat(engine.keys(k -> true)).isEmpty();
        assertThat(engine.randomEntry()).isNull();
        assertThat(engine.stats().tombstones()).isEqualTo(1);
        assertThat(engine.delete(key("a"))).as("nothing live to delete").isFalse();

        // The original write arriving late (a hint, a repair) must not resurrect the key.
        Entry late = new Entry(key("a"), bytes("1"), written.hlc(), written.nodeId(), 0);
        assertThat(engine.merge(late)).isFalse();
        assertThat(engine.merge(remote("a", "old", START_MILLIS + 1, 0, 99, 0))).isFalse();
        assertThat(engine.get(key("a"))).isNull();

        // A write newer than the delete wins.
        assertThat(engine.merge(remote("a", "new", START_MILLIS + 6, 0, 99, 0))).isTrue();
        assertThat(text(engine.get(key("a")))).isEqualTo("new");
        assertThat(engine.stats().tombstones()).isZero();
    }

    @Test
    void tombstonesArePurgedAfterTheGracePeriod() {
        withTombstones();
        engine.put(key("a"), bytes("1"), 0);
        engine.delete(key("a"));
        engine.delete(key("never-written"));
        assertThat(engine.stats().tombstones()).as("a delete has a version even where the key was missing")
                .isEqualTo(2);
        assertThat(engine.usedMemory()).isPositive();

        clock.advanceMillis(GRACE_MILLIS);
        assertThat(engine.expireCycle(Long.MAX_VALUE)).isZero();
        assertThat(engine.stats().tombstones()).isEqualTo(2);

        clock.advanceMillis(1);
        assertThat(engine.expireCycle(Long.MAX_VALUE)).isEqualTo(2);
        assertThat(engine.stats().tombstones()).isZero();
        assertThat(engine.usedMemory()).isZero();
        assertThat(engine.stats().expiredKeys()).as("tombstones are not keys").isZero();

        // Once purged, the delete is forgotten: that is what the grace period is for.
        assertThat(engine.merge(remote("a", "old", START_MILLIS, 0, 99, 0))).isTrue();
    }

    @Test
    void anExpiredKeyKeepsShadowingOlderWritesDuringTheGracePeriod() {
        withTombstones();
        Entry older = remote("a", "old", START_MILLIS - 10, 0, 99, 0);
        engine.put(key("a"), bytes("1"), START_MILLIS + 100);
        clock.advanceMillis(101);
        assertThat(engine.get(key("a"))).isNull();
        assertThat(engine.stats().expiredKeys()).isEqualTo(1);
        assertThat(engine.stats().tombstones()).isEqualTo(1);

        assertThat(engine.merge(older)).as("no resurrection by a late older write").isFalse();
        assertThat(engine.get(key("a"))).isNull();

        clock.advanceMillis(GRACE_MILLIS);
        engine.expireCycle(Long.MAX_VALUE);
        assertThat(engine.stats().tombstones()).isZero();
    }

    @Test
    void aMergedTombstoneDeletesAndIsHidden() {
        withTombstones();
        engine.put(key("a"), bytes("1"), 0);
        clock.advanceMillis(1);
        assertThat(engine.merge(remote("a", null, START_MILLIS + 1, 0, 99, START_MILLIS + 1 + GRACE_MILLIS)))
                .isTrue();
        assertThat(engine.get(key("a"))).isNull();
        assertThat(engine.size()).isZero();
        assertThat(engine.stats().tombstones()).isEqualTo(1);
    }

    @Test
    void withoutGraceDeletesLeaveNothingBehind() {
        unbounded();
        engine.put(key("a"), bytes("1"), 0);
        engine.delete(key("a"));
        engine.delete(key("b"));
        assertThat(engine.stats().tombstones()).isZero();
        assertThat(engine.usedMemory()).isZero();
        engine.put(key("c"), bytes("1"), 0);
        assertThat(engine.merge(remote("c", null, START_MILLIS + 1, 0, 99, 0))).isTrue();
        assertThat(engine.get(key("c"))).isNull();
        assertThat(engine.stats().tombstones()).isZero();
    }

    // ---- merge ----

    @Test
    void mergeKeepsTheNewerVersion() {
        unbounded();
        assertThat(engine.merge(remote("a", "v2", START_MILLIS, 2, 1, 0))).isTrue();
        assertThat(engine.merge(remote("a", "v1", START_MILLIS, 1, 1, 0))).isFalse();
        assertThat(text(engine.get(key("a")))).isEqualTo("v2");
        assertThat(engine.merge(remote("a", "v3", START_MILLIS + 1, 0, 1, 0))).isTrue();
        assertThat(text(engine.get(key("a")))).isEqualTo("v3");
        assertThat(engine.get(key("a")).version()).isEqualTo(remote("a", "v3", START_MILLIS + 1, 0, 1, 0).version());
    }

    @Test
    void mergingTheSameVersionTwiceChangesNothing() {
        unbounded();
        Entry e = remote("a", "v", START_MILLIS, 0, 7, START_MILLIS + 50);
        assertThat(engine.merge(e)).isTrue();
        long memory = engine.usedMemory();
        assertThat(engine.merge(e)).isFalse();
        assertThat(engine.merge(remote("a", "v", START_MILLIS, 0, 7, START_MILLIS + 50))).isFalse();
        assertThat(engine.size()).isEqualTo(1);
        assertThat(engine.volatileSize()).isEqualTo(1);
        assertThat(engine.usedMemory()).isEqualTo(memory);
        assertThat(text(engine.get(key("a")))).isEqualTo("v");
    }

    @Test
    void equalTimestampsAreDecidedByNodeIdTheSameWayInEitherOrder() {
        for (boolean lowFirst : new boolean[] {true, false}) {
            unbounded();
            Entry low = remote("a", "low", START_MILLIS, 3, 5, 0);
            Entry high = remote("a", "high", START_MILLIS, 3, 9, 0);
            Entry unsignedHighest = remote("b", "max", START_MILLIS, 3, -1L, 0);
            Entry one = remote("b", "one", START_MILLIS, 3, 1, 0);
            engine.merge(lowFirst ? low : high);
            engine.merge(lowFirst ? high : low);
            engine.merge(lowFirst ? one : unsignedHighest);
            engine.merge(lowFirst ? unsignedHighest : one);
            assertThat(text(engine.get(key("a")))).isEqualTo("high");
            assertThat(text(engine.get(key("b")))).as("node ids compare unsigned").isEqualTo("max");
            engine.close();
        }
    }

    @Test
    void mergeComparesAgainstExpiredButUnreclaimedEntries() {
        unbounded();
        engine.merge(remote("a", "new", START_MILLIS, 5, 1, START_MILLIS + 10));
        clock.advanceMillis(20);
        assertThat(engine.merge(remote("a", "old", START_MILLIS, 4, 1, 0))).isFalse();
        assertThat(engine.get(key("a"))).isNull();
    }

    @Test
    void aMergedEntryThatHasAlreadyExpiredStillReplacesTheOlderOne() {
        unbounded();
        engine.merge(remote("a", "old", START_MILLIS - 100, 0, 1, 0));
        clock.advanceMillis(20);
        assertThat(engine.merge(remote("a", "newer-but-expired", START_MILLIS, 0, 1, START_MILLIS + 10))).isTrue();
        assertThat(engine.get(key("a"))).isNull();
        assertThat(engine.stats().expiredKeys()).isEqualTo(1);
    }

    // ---- memory and eviction ----

    @Test
    void usedMemoryFollowsWritesExactlyAndClearResetsIt() {
        unbounded();
        assertThat(engine.usedMemory()).isZero();
        engine.put(key("a"), bytes("1"), 0);
        long one = engine.usedMemory();
        assertThat(one).isPositive();
        engine.put(key("b"), new byte[1_000], START_MILLIS + 1_000);
        long two = engine.usedMemory();
        assertThat(two - one).isGreaterThanOrEqualTo(1_000);
        engine.put(key("b"), new byte[10], 0);
        assertThat(engine.usedMemory()).isLessThan(two);
        engine.delete(key("b"));
        assertThat(engine.usedMemory()).isEqualTo(one);
        engine.put(key("a"), bytes("2"), 0);
        assertThat(engine.usedMemory()).as("same sizes, same charge").isEqualTo(one);

        for (int i = 0; i < 100; i++) {
            engine.put(key("k" + i), new byte[i], i % 2 == 0 ? 0 : START_MILLIS + 5);
        }
        engine.get(key("k1"));
        engine.clear();
        assertThat(engine.usedMemory()).isZero();
        assertThat(engine.size()).isZero();
        assertThat(engine.volatileSize()).isZero();
        assertThat(engine.get(key("a"))).isNull();
        assertThat(engine.stats().keyspaceHits()).as("clear keeps stats").isEqualTo(1);
        engine.put(key("a"), bytes("1"), 0);
        assertThat(engine.usedMemory()).isEqualTo(one);
    }

    /**
     * Bytes an unbounded engine of the kind under test accounts for keys {@code filled(0 .. keys - 1)}
     * with 100-byte values and the given expiry times: the bound at which those keys just fit.
     */
    private long memoryOf(int keys, IntToLongFunction expireAt) {
        try (Engine probe = newEngine(EngineConfig.unbounded(), new ManualClock(START_MILLIS))) {
            for (int i = 0; i < keys; i++) {
                probe.put(filled(i), new byte[100], expireAt.applyAsLong(i));
            }
            return probe.usedMemory();
        }
    }

    private long memoryOf(int keys) {
        return memoryOf(keys, i -> 0);
    }

    private static Key filled(int i) {
        return key(String.format("key:%06d", i));
    }

    @Test
    void noevictionRefusesRoomButKeepsServingReads() {
        bounded(memoryOf(100), EvictionPolicy.NOEVICTION);
        for (int i = 0; i < 100; i++) {
            engine.put(filled(i), new byte[100], 0);
            assertThat(engine.makeRoom()).isTrue();
        }
        engine.put(filled(100), new byte[100], 0);
        assertThat(engine.makeRoom()).isFalse();
        assertThat(engine.size()).isEqualTo(101);
        assertThat(engine.get(filled(0))).isNotNull();
        assertThat(engine.stats().evictedKeys()).isZero();
        engine.delete(filled(100));
        assertThat(engine.makeRoom()).isTrue();
    }

    @Test
    void anUnboundedEngineAlwaysHasRoom() {
        unbounded();
        engine.put(key("a"), new byte[1 << 20], 0);
        assertThat(engine.makeRoom()).isTrue();
    }

    @Test
    void allkeysLruEvictsLeastRecentlyUsedKeysFirst() {
        bounded(memoryOf(1_000), EvictionPolicy.ALLKEYS_LRU);
        for (int i = 0; i < 1_000; i++) {
            engine.put(filled(i), new byte[100], 0);
            assertThat(engine.makeRoom()).isTrue();
        }
        clock.advance(10, TimeUnit.SECONDS);
        for (int i = 900; i < 1_000; i++) {
            assertThat(engine.get(filled(i))).isNotNull();
        }
        clock.advance(10, TimeUnit.SECONDS);
        for (int i = 1_000; i < 1_300; i++) {
            engine.put(filled(i), new byte[100], 0);
            assertThat(engine.makeRoom()).isTrue();
        }
        assertThat(engine.stats().evictedKeys()).isBetween(290L, 310L);
        assertThat(engine.usedMemory()).isLessThanOrEqualTo(memoryOf(1_000));
        int touchedSurvivors = 0;
        for (int i = 900; i < 1_000; i++) {
            touchedSurvivors += engine.peek(filled(i)) != null ? 1 : 0;
        }
        assertThat(touchedSurvivors).as("recently read keys survive").isGreaterThanOrEqualTo(90);
    }

    @Test
    void volatileLruEvictsOnlyKeysWithATtl() {
        IntToLongFunction expiry = i -> i % 2 == 0 ? 0 : START_MILLIS + 3_600_000;
        bounded(memoryOf(200, expiry), EvictionPolicy.VOLATILE_LRU);
        for (int i = 0; i < 200; i++) {
            engine.put(filled(i), new byte[100], expiry.applyAsLong(i));
        }
        engine.put(filled(200), new byte[100], 0);
        engine.put(filled(201), new byte[100], 0);
        assertThat(engine.makeRoom()).isTrue();
        assertThat(engine.stats().evictedKeys()).isEqualTo(2);
        for (int i = 0; i <= 200; i += 2) {
            assertThat(engine.peek(filled(i))).as("persistent key %d", i).isNotNull();
        }
        assertThat(engine.volatileSize()).isEqualTo(98);

        for (int i = 202; i < 400; i++) {
            engine.put(filled(i), new byte[100], 0);
        }
        assertThat(engine.makeRoom()).as("nothing volatile left to evict").isFalse();
        assertThat(engine.volatileSize()).isZero();
        assertThat(engine.size()).isEqualTo(300);
    }

    @Test
    void volatileTtlEvictsOnlyKeysWithATtlPreferringTheNearestExpiry() {
        IntToLongFunction expiry = i -> i < 100 ? 0 : START_MILLIS + 1_000L * i;
        bounded(memoryOf(400, expiry), EvictionPolicy.VOLATILE_TTL);
        for (int i = 0; i < 400; i++) {
            engine.put(filled(i), new byte[100], expiry.applyAsLong(i));
        }
        for (int i = 400; i < 500; i++) {
            engine.put(filled(i), new byte[100], 0);
        }
        assertThat(engine.makeRoom()).isTrue();
        // Room for 100 persistent keys is made by evicting keys with a TTL, which may cost more each.
        long persistent = memoryOf(100);
        long withTtl = memoryOf(100, i -> START_MILLIS + 3_600_000);
        assertThat(engine.stats().evictedKeys()).as("a key with a TTL may cost more than one without")
                .isBetween(100 * persistent / withTtl, 100L);
        long evictedSoon = 0;
        long evictedLate = 0;
        for (int i = 100; i < 400; i++) {
            if (engine.peek(filled(i)) == null) {
                if (i < 250) {
                    evictedSoon++;
                } else {
                    evictedLate++;
                }
            }
        }
        assertThat(evictedSoon).as("nearer expiries go first (random choice would give about equal counts)")
                .isGreaterThan(2 * evictedLate);
        for (int i = 0; i < 100; i++) {
            assertThat(engine.peek(filled(i))).isNotNull();
        }

        for (int i = 500; i < 1_000; i++) {
            engine.put(filled(i), new byte[100], 0);
        }
        assertThat(engine.makeRoom()).isFalse();
        assertThat(engine.volatileSize()).isZero();
    }

    @Test
    void tombstonesAreNeverEvicted() {
        engine(new EngineConfig(memoryOf(10), EvictionPolicy.ALLKEYS_LRU, GRACE_MILLIS, 5));
        for (int i = 0; i < 100; i++) {
            engine.delete(filled(i));
        }
        assertThat(engine.makeRoom()).isFalse();
        assertThat(engine.stats().tombstones()).isEqualTo(100);
        assertThat(engine.stats().evictedKeys()).isZero();
    }

    // ---- iteration ----

    @Test
    void aFullScanReturnsEveryLiveKeyExactlyOnce() {
        withTombstones();
        Set<Key> expected = new HashSet<>();
        for (int i = 0; i < 2_000; i++) {
            expected.add(engine.put(key("s" + i), bytes("x"), 0).key());
        }
        engine.put(key("expired"), bytes("x"), START_MILLIS + 1);
        engine.put(key("deleted"), bytes("x"), 0);
        engine.delete(key("deleted"));
        clock.advanceMillis(2);
        Map<Key, Integer> seen = scanAll(3);
        assertThat(seen.keySet()).isEqualTo(expected);
        assertThat(seen.values()).allMatch(n -> n == 1);
    }

    private Map<Key, Integer> scanAll(int count) {
        Map<Key, Integer> seen = new HashMap<>();
        long cursor = 0;
        int steps = 0;
        do {
            Engine.ScanResult step = engine.scan(cursor, count, k -> true);
            for (Key k : step.keys()) {
                seen.merge(k, 1, Integer::sum);
            }
            cursor = step.nextCursor();
            assertThat(++steps).isLessThan(1_000_000);
        } while (cursor != 0);
        return seen;
    }

    @Test
    void scanReturnsEveryKeyExactlyOnceWhileOthersAreInserted() throws Exception {
        unbounded();
        Set<Key> initial = new HashSet<>();
        for (int i = 0; i < 5_000; i++) {
            initial.add(engine.put(key("initial" + i), bytes("x"), 0).key());
        }
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            Future<?> inserts = writer.submit(() -> {
                start.await();
                for (int i = 0; i < 20_000; i++) {
                    engine.put(key("new" + i), bytes("y"), 0);
                }
                return null;
            });
            start.countDown();
            Map<Key, Integer> seen = scanAll(5);
            inserts.get(30, TimeUnit.SECONDS);
            assertThat(seen.keySet()).containsAll(initial);
            assertThat(seen.values()).as("no key twice").allMatch(n -> n == 1);
        } finally {
            writer.shutdownNow();
        }
    }

    @Test
    void scanAppliesTheFilterAndRejectsBadCursors() {
        unbounded();
        for (int i = 0; i < 100; i++) {
            engine.put(key((i % 2 == 0 ? "even" : "odd") + i), bytes("x"), 0);
        }
        List<Key> evens = new ArrayList<>();
        long cursor = 0;
        do {
            Engine.ScanResult step = engine.scan(cursor, 10, k -> k.toString().startsWith("even"));
            evens.addAll(step.keys());
            cursor = step.nextCursor();
        } while (cursor != 0);
        assertThat(evens).hasSize(50).allMatch(k -> k.toString().startsWith("even"));

        assertThat(engine.scan(0, 1_000_000, null).keys()).as("a null filter passes every key").hasSize(100);
        assertThat(engine.keys(null)).hasSize(100);
        assertThat(engine.scan(-1, 10, k -> true)).isEqualTo(new Engine.ScanResult(0, List.of()));
        assertThat(engine.scan(Long.MAX_VALUE, 10, k -> true)).isEqualTo(new Engine.ScanResult(0, List.of()));
    }

    @Test
    void keysListsLiveKeysThatPassTheFilter() {
        unbounded();
        engine.put(key("user:1"), bytes("x"), 0);
        engine.put(key("user:2"), bytes("x"), START_MILLIS + 1);
        engine.put(key("item:1"), bytes("x"), 0);
        assertThat(engine.keys(k -> k.toString().startsWith("user:")))
                .containsExactlyInAnyOrder(key("user:1"), key("user:2"));
        clock.advanceMillis(2);
        assertThat(engine.keys(k -> true)).containsExactlyInAnyOrder(key("user:1"), key("item:1"));
    }

    @Test
    void randomEntryReturnsALiveEntryOrNull() {
        unbounded();
        assertThat(engine.randomEntry()).isNull();
        engine.put(key("gone"), bytes("x"), START_MILLIS + 1);
        engine.put(key("only"), bytes("x"), 0);
        clock.advanceMillis(2);
        for (int i = 0; i < 20; i++) {
            assertThat(engine.randomEntry().key()).isEqualTo(key("only"));
        }
        Set<Key> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            engine.put(key("r" + i), bytes("x"), 0);
        }
        for (int i = 0; i < 500; i++) {
            seen.add(engine.randomEntry().key());
        }
        assertThat(seen.size()).as("random, not always the same").isGreaterThan(10);
    }

    // ---- atomicity ----

    @Test
    void aTransactionSeesAndChangesItsKeys() {
        unbounded();
        engine.put(key("a"), bytes("1"), 0);
        String previous = engine.atomically(List.of(key("a"), key("b")), txn -> {
            Entry a = txn.get(key("a"));
            txn.put(key("b"), a.value(), 0);
            txn.delete(key("a"));
            return text(a);
        });
        assertThat(previous).isEqualTo("1");
        assertThat(engine.get(key("a"))).isNull();
        assertThat(text(engine.get(key("b")))).isEqualTo("1");
    }

    @Test
    void aTransactionRejectsKeysItHasNotLocked() {
        unbounded();
        assertThatThrownBy(() -> engine.atomically(key("a"), txn -> txn.get(key("b"))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.atomically(List.of(key("a"), key("b")), txn -> txn.put(key("c"), bytes("x"), 0)))
                .isInstanceOf(IllegalArgumentException.class);
        Engine.Txn[] leaked = new Engine.Txn[1];
        engine.atomically(key("a"), txn -> leaked[0] = txn);
        assertThatThrownBy(() -> leaked[0].get(key("a"))).isInstanceOf(IllegalStateException.class);
        assertThat(engine.get(key("c"))).isNull();
    }

    @Test
    void multiKeyTransactionsInOppositeOrdersNeitherDeadlockNorLoseUpdates() throws Exception {
        unbounded();
        List<Key> keys = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            keys.add(key("counter" + i));
        }
        List<Key> reversed = new ArrayList<>(keys);
        java.util.Collections.reverse(reversed);
        int rounds = 5_000;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (List<Key> order : List.of(keys, reversed)) {
                workers.add(pool.submit(() -> {
                    start.await();
                    for (int r = 0; r < rounds; r++) {
                        engine.atomically(order, txn -> {
                            for (Key k : order) {
                                Entry e = txn.get(k);
                                int n = e == null ? 0 : Integer.parseInt(text(e));
                                txn.put(k, bytes(Integer.toString(n + 1)), 0);
                            }
                            return null;
                        });
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> w : workers) {
                w.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        for (Key k : keys) {
            assertThat(text(engine.get(k))).isEqualTo(Integer.toString(2 * rounds));
        }
    }

    // ---- range iteration ----

    /**
     * forEachInRange visits exactly the entries whose token is in (start, end], tombstones and expired
     * values included, for plain, wrapping, tiny, single-token and whole-ring arcs.
     */
    @Test
    void forEachInRangeVisitsExactlyTheEntriesOfTheArc() {
        withTombstones();
        SplittableRandom random = new SplittableRandom(20240611);
        List<Key> keys = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            Key k = key("range-" + i);
            keys.add(k);
            engine.put(k, bytes("v" + i), i % 7 == 0 ? START_MILLIS + 1 : 0);
            if (i % 5 == 0) {
                engine.delete(k);
            }
        }
        clock.advanceMillis(2); // the i % 7 keys are now expired but not reclaimed
        List<long[]> arcs = new ArrayList<>(List.of(
                new long[] {Long.MIN_VALUE, Long.MAX_VALUE},
                new long[] {Long.MAX_VALUE, Long.MIN_VALUE},    // one token: MIN
                new long[] {Long.MAX_VALUE - 1, Long.MAX_VALUE}, // one token: MAX
                new long[] {0, 0},                              // whole ring
                new long[] {Long.MAX_VALUE, Long.MAX_VALUE},    // whole ring
                new long[] {Long.MAX_VALUE / 2, Long.MIN_VALUE / 2},  // wraps past MAX
                new long[] {5, 3},                              // wraps, all but three tokens
                new long[] {keys.get(0).token(), keys.get(0).token() + 1},
                new long[] {keys.get(1).token() - 1, keys.get(1).token()}));
        for (int i = 0; i < 200; i++) {
            long a = random.nextLong();
            long b = i % 3 == 0 ? a + random.nextLong(1L << 50) : random.nextLong(); // short ones too
            arcs.add(new long[] {a, b});
        }
        for (long[] arc : arcs) {
            Set<Key> expected = new HashSet<>();
            for (Key k : keys) {
                if (TokenRange.contains(arc[0], arc[1], k.token())) {
                    expected.add(k);
                }
            }
            List<Key> visited = new ArrayList<>();
            long count = engine.forEachInRange(arc[0], arc[1], e -> visited.add(e.key()));
            assertThat(visited).as("arc (%d, %d]", arc[0], arc[1]).doesNotHaveDuplicates()
                    .containsExactlyInAnyOrderElementsOf(expected);
            assertThat(count).isEqualTo(expected.size());
        }
    }

    @Test
    void forEachInRangeShowsTombstonesWithTheirVersions() {
        withTombstones();
        Key k = key("gone");
        engine.put(k, bytes("v"), 0);
        engine.delete(k);
        List<Entry> seen = new ArrayList<>();
        engine.forEachInRange(0, 0, seen::add);
        assertThat(seen).singleElement().satisfies(e -> {
            assertThat(e.isTombstone()).isTrue();
            assertThat(e.version()).isEqualTo(engine.stored(k).version());
        });
    }

    // ---- versioned flush (FLUSHALL) ----

    @Test
    void aFlushDropsEverythingOlderAndRefusesItFromThenOn() {
        withTombstones();
        engine.put(key("old"), bytes("v"), 0);
        engine.put(key("gone"), bytes("v"), 0);
        engine.delete(key("gone")); // a tombstone
        Entry newer = remote("newer", "theirs", START_MILLIS + 60_000, 0, 99, 0);
        assertThat(engine.merge(newer)).isTrue();
        io.trelliskv.version.Version floor = new io.trelliskv.version.Version(Hlc.pack(START_MILLIS + 1_000, 0), 7);

        assertThat(engine.flush(floor)).as("the value and the tombstone").isEqualTo(2);
        assertThat(engine.stored(key("old"))).isNull();
        assertThat(engine.stored(key("gone"))).as("tombstone dropped too").isNull();
        assertThat(engine.get(key("newer"))).as("newer than the flush").isNotNull();
        assertThat(engine.flushFloor()).isEqualTo(floor);

        // whatever brings an older entry back — a replica write, a hint, repair, a stream — is refused
        assertThat(engine.merge(remote("old", "back", START_MILLIS + 500, 0, 99, 0))).isFalse();
        assertThat(engine.merge(remote("gone", null, START_MILLIS + 999, 5, 99, 0))).isFalse();
        assertThat(engine.stored(key("old"))).isNull();
        assertThat(engine.refusedBelowFlushFloor()).isEqualTo(2);
        assertThat(engine.merge(remote("old", "after", START_MILLIS + 2_000, 0, 99, 0))).isTrue();

        // a local write after the flush is stamped after it, even if the wall clock is behind it
        clock.stepWallClock(-10_000);
        Entry local = engine.put(key("local"), bytes("x"), 0);
        assertThat(local.version()).isGreaterThan(floor);
    }

    @Test
    void anOlderFlushChangesNothing() {
        unbounded();
        io.trelliskv.version.Version floor = new io.trelliskv.version.Version(Hlc.pack(START_MILLIS + 1_000, 0), 7);
        engine.flush(floor);
        engine.merge(remote("k", "v", START_MILLIS + 1_500, 0, 99, 0));
        assertThat(engine.flush(new io.trelliskv.version.Version(Hlc.pack(START_MILLIS + 500, 0), 7))).isZero();
        assertThat(engine.flushFloor()).isEqualTo(floor);
        assertThat(engine.get(key("k"))).isNotNull();
    }
}
