package io.trelliskv.storage;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.CounterState;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.PnCounter;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * How the engine's merge treats counters ({@link ValueKind}): joined only within one epoch (the version
 * of the state they count from), beating the state they were made from, losing to any newer write.
 */
class CounterEpochTest {

    private static final long START = 1_700_000_000_000L;
    private static final Key K = Key.of("k".getBytes());
    /** A plain integer written at this version, and the epoch of counters made from it. */
    private static final Version V = new Version(Hlc.pack(START, 3), 1);

    private final ManualClock clock = new ManualClock(START);
    private final MemoryEngine engine = new MemoryEngine(EngineConfig.defaults(), clock, new Hlc(clock), 9);

    @AfterEach
    void close() {
        engine.close();
    }

    private static Entry counter(Version epoch, long base, PnCounter increments, long expireAt) {
        return new Entry(K, CausalCodec.encode(CounterState.of(base, increments)), epoch.hlc(), epoch.nodeId(),
                expireAt, ValueKind.COUNTER);
    }

    private static Entry plain(Version v, String value) {
        return new Entry(K, value.getBytes(), v.hlc(), v.nodeId(), 0);
    }

    private long storedValue() {
        Entry e = engine.stored(K);
        assertThat(e.kind()).isEqualTo(ValueKind.COUNTER);
        return CausalCodec.decodeCounterState(e.value()).value();
    }

    @Test
    void countersOfOneEpochJoinInEitherOrderAndOnlyOnce() {
        Entry a = counter(V, 10, PnCounter.ZERO.add(1, 5), 0);
        Entry b = counter(V, 10, PnCounter.ZERO.add(2, -2), 0);
        Entry aLater = counter(V, 10, PnCounter.ZERO.add(1, 7), 0);
        for (List<Entry> order : List.of(List.of(a, b, aLater), List.of(aLater, b, a), List.of(b, a, aLater, a, b))) {
            engine.clear();
            order.forEach(engine::merge);
            assertThat(storedValue()).as("order " + order).isEqualTo(10 + 7 - 2);
            assertThat(engine.stored(K).version()).isEqualTo(V);
        }
        assertThat(engine.merge(a)).as("nothing new").isFalse();
    }

    @Test
    void aCounterBeatsTheStateItWasMadeFromAndLosesToANewerSet() {
        assertThat(engine.merge(plain(V, "10"))).isTrue();
        assertThat(engine.merge(counter(V, 10, PnCounter.ZERO.add(1, 1), 0))).as("counter made from v beats v").isTrue();
        assertThat(storedValue()).isEqualTo(11);
        assertThat(engine.merge(plain(V, "10"))).as("v arriving again changes nothing").isFalse();

        Version newer = new Version(Hlc.pack(START, 4), 2);
        assertThat(engine.merge(plain(newer, "100"))).as("a newer SET resets the counter").isTrue();
        assertThat(engine.merge(counter(V, 10, PnCounter.ZERO.add(1, 9), 0)))
                .as("increments of the older epoch are dropped").isFalse();
        assertThat(engine.stored(K).value()).isEqualTo("100".getBytes());
    }

    @Test
    void aCounterBeatsTheTombstoneItWasMadeFromAndLosesToANewerDelete() {
        engine.merge(new Entry(K, null, V.hlc(), V.nodeId(), 0));
        assertThat(engine.merge(counter(V, 0, PnCounter.ZERO.add(1, 4), 0))).isTrue();
        assertThat(storedValue()).isEqualTo(4);
        assertThat(engine.merge(new Entry(K, null, V.hlc(), V.nodeId(), 0))).isFalse();
        assertThat(engine.merge(new Entry(K, null, Hlc.pack(START, 5), 1, 0))).isTrue();
        assertThat(engine.get(K)).isNull();
    }

    @Test
    void aNewerEpochReplacesAnOlderOneWithoutJoining() {
        Version newer = new Version(Hlc.pack(START, 8), 2);
        engine.merge(counter(newer, 3, PnCounter.ZERO.add(2, 1), 0));
        assertThat(engine.merge(counter(V, 10, PnCounter.ZERO.add(1, 50), 0))).isFalse();
        assertThat(storedValue()).isEqualTo(4);

        engine.clear();
        engine.merge(counter(V, 10, PnCounter.ZERO.add(1, 50), 0));
        assertThat(engine.merge(counter(newer, 3, PnCounter.ZERO.add(2, 1), 0))).isTrue();
        assertThat(storedValue()).isEqualTo(4);
    }

    @Test
    void anExpiredCounterIsNotJoinedWithTheCounterMadeAfterItExpired() {
        long expireAt = START + 1_000;
        Entry old = counter(V, 0, PnCounter.ZERO.add(1, 40), expireAt);
        Entry fresh = counter(V, 0, PnCounter.ZERO.add(2, 1), 0);
        engine.merge(old);
        clock.advanceMillis(1_001);
        assertThat(engine.merge(fresh)).as("a live counter beats an expired one of its version").isTrue();
        assertThat(storedValue()).isEqualTo(1);
        assertThat(engine.merge(old)).as("nor does the expired one come back").isFalse();
        assertThat(storedValue()).isEqualTo(1);
    }

    @Test
    void putCounterKeepsTheEpochRecordsTheWriteAndRefusesAnOlderEpoch() {
        engine.merge(plain(V, "10"));
        byte[] bytes = CausalCodec.encode(CounterState.of(10, PnCounter.ZERO.add(9, 1)));
        WriteCapture.begin();
        List<Entry> written;
        try {
            engine.atomically(K, txn -> txn.putCounter(K, bytes, V, 0));
        } finally {
            written = WriteCapture.end();
        }
        assertThat(written).singleElement().satisfies(e -> {
            assertThat(e.version()).isEqualTo(V);
            assertThat(e.kind()).isEqualTo(ValueKind.COUNTER);
        });
        assertThat(storedValue()).isEqualTo(11);

        Version older = new Version(Hlc.pack(START, 1), 1);
        assertThatThrownBy(() -> engine.atomically(K, txn -> txn.putCounter(K, bytes, older, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("older than the stored version");
        Entry set = engine.put(K, "7".getBytes(), 0);
        assertThat(set.version()).as("a local SET after a counter is newer than its epoch").isGreaterThan(V);
    }
}
