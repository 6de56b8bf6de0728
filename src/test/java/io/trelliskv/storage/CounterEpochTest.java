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

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How the engine's merge orders counters ({@link ValueKind}): joined within one epoch (the version of the
 * state they count from), beating that state and older epochs, losing to any write newer than their
 * epoch; and restamped where the order disagrees with the versions, so versions keep telling replicas
 * what differs.
 */
class CounterEpochTest {

    private static final long START = 1_700_000_000_000L;
    private static final long NODE = 9;
    private static final Key K = Key.of("k".getBytes());
    /** A plain integer written at this version, and the epoch of counters made from it. */
    private static final Version V = new Version(Hlc.pack(START, 3), 1);

    private final ManualClock clock = new ManualClock(START);
    private final MemoryEngine engine = new MemoryEngine(EngineConfig.defaults(), clock, new Hlc(clock), NODE);

    @AfterEach
    void close() {
        engine.close();
    }

    private static Version at(int logical, long node) {
        return new Version(Hlc.pack(START, logical), node);
    }

    private static Entry counter(Version version, Version epoch, long base, PnCounter increments, long expireAt) {
        return new Entry(K, CausalCodec.encode(CounterState.of(base, epoch, increments)), version.hlc(),
                version.nodeId(), expireAt, ValueKind.COUNTER);
    }

    private static Entry plain(Version v, String value) {
        return new Entry(K, value.getBytes(), v.hlc(), v.nodeId(), 0);
    }

    private CounterState storedCounter() {
        Entry e = engine.stored(K);
        assertThat(e.kind()).isEqualTo(ValueKind.COUNTER);
        return CausalCodec.decodeCounterState(e.value());
    }

    @Test
    void countersOfOneEpochJoinInAnyOrderEachIncrementOnce() {
        Entry a = counter(at(5, 1), V, 10, PnCounter.ZERO.add(1, 5), 0);
        Entry b = counter(at(6, 2), V, 10, PnCounter.ZERO.add(2, -2), 0);
        Entry aLater = counter(at(7, 1), V, 10, PnCounter.ZERO.add(1, 7), 0);
        for (List<Entry> order : List.of(List.of(a, b, aLater), List.of(aLater, b, a), List.of(b, a, aLater, a, b))) {
            engine.clear();
            order.forEach(engine::merge);
            assertThat(storedCounter().value()).as("order " + order).isEqualTo(10 + 7 - 2);
            assertThat(storedCounter().epoch()).isEqualTo(V);
        }
        Version before = engine.stored(K).version();
        assertThat(engine.merge(a)).as("nothing new").isFalse();
        assertThat(engine.merge(aLater)).as("nothing new").isFalse();
        assertThat(engine.stored(K).version()).isEqualTo(before);
    }

    @Test
    void aJoinThatEqualsNeitherSideIsStoredUnderANewerVersion() {
        Entry a = counter(at(5, 1), V, 0, PnCounter.ZERO.add(1, 5), 0);
        Entry b = counter(at(6, 2), V, 0, PnCounter.ZERO.add(2, 1), 0);
        engine.merge(a);
        assertThat(engine.merge(b)).isTrue();
        Entry joined = engine.stored(K);
        assertThat(joined.version()).isGreaterThan(b.version());
        assertThat(joined.nodeId()).isEqualTo(NODE);
        assertThat(engine.merge(counter(at(8, 3), V, 0, PnCounter.ZERO.add(1, 5).add(2, 1), 0)))
                .as("a newer copy of the same state is taken with its version").isTrue();
        assertThat(engine.stored(K).version()).isEqualTo(at(8, 3));
        assertThat(storedCounter().value()).isEqualTo(6);
    }

    @Test
    void aCounterBeatsTheStateItWasMadeFromAndLosesToAnyWriteNewerThanItsEpoch() {
        assertThat(engine.merge(plain(V, "10"))).isTrue();
        assertThat(engine.merge(counter(at(9, 2), V, 10, PnCounter.ZERO.add(2, 1), 0))).isTrue();
        assertThat(storedCounter().value()).isEqualTo(11);
        assertThat(engine.merge(plain(V, "10"))).as("v arriving again changes nothing").isFalse();

        Version reset = at(5, 3); // newer than the epoch, older than the increment: concurrent with it
        assertThat(engine.merge(plain(reset, "100"))).as("the reset wins over the increment it had not seen").isTrue();
        assertThat(engine.stored(K).value()).isEqualTo("100".getBytes());
        assertThat(engine.merge(counter(at(20, 2), V, 10, PnCounter.ZERO.add(2, 9), 0)))
                .as("later increments of the older epoch are dropped").isFalse();
        assertThat(engine.stored(K).value()).isEqualTo("100".getBytes());
    }

    @Test
    void aDeleteNewerThanTheEpochBeatsTheCounterAndACounterMadeFromItBeatsIt() {
        engine.merge(counter(at(9, 2), V, 0, PnCounter.ZERO.add(2, 4), 0));
        Version delete = at(5, 1);
        assertThat(engine.merge(new Entry(K, null, delete.hlc(), delete.nodeId(), 0))).isTrue();
        assertThat(engine.get(K)).isNull();
        assertThat(engine.merge(counter(at(12, 2), delete, 0, PnCounter.ZERO.add(2, 1), 0))).isTrue();
        assertThat(storedCounter().value()).isEqualTo(1);
    }

    @Test
    void aNewerEpochBeatsAnOlderOneAndIsRestampedIfItsVersionIsOlder() {
        Version newerEpoch = at(4, 3);
        Entry fresh = counter(at(5, 3), newerEpoch, 3, PnCounter.ZERO.add(3, 1), 0);
        Entry stale = counter(at(30, 1), V, 10, PnCounter.ZERO.add(1, 50), 0);
        engine.merge(fresh);
        assertThat(engine.merge(stale)).as("the winner is restamped past the newer version").isTrue();
        assertThat(storedCounter().value()).isEqualTo(4);
        assertThat(engine.stored(K).version()).isGreaterThan(stale.version());

        engine.clear();
        engine.merge(stale);
        assertThat(engine.merge(fresh)).isTrue();
        assertThat(storedCounter().value()).isEqualTo(4);
        assertThat(engine.stored(K).version()).isGreaterThan(stale.version());
    }

    @Test
    void replayingWhatTheEngineLoggedRebuildsTheSameCounter() {
        List<Entry> log = new ArrayList<>();
        Journal journal = new Journal() {
            @Override
            public void stored(Entry entry) {
                log.add(entry);
            }

            @Override
            public void flushed(Version floor) {
            }
        };
        try (MemoryEngine logged = new MemoryEngine(EngineConfig.defaults(), clock, new Hlc(clock), NODE, journal);
             MemoryEngine replayed = new MemoryEngine(EngineConfig.defaults(), clock, new Hlc(clock), NODE)) {
            logged.merge(plain(V, "10"));
            logged.merge(counter(at(9, 2), V, 10, PnCounter.ZERO.add(2, 4), 0));
            CounterState mine = CausalCodec.decodeCounterState(logged.stored(K).value()).add(NODE, 3);
            logged.put(K, CausalCodec.encode(mine), ValueKind.COUNTER, 0);
            logged.merge(counter(at(8, 1), V, 10, PnCounter.ZERO.add(1, -1), 0)); // joined and restamped
            log.forEach(replayed::merge);
            assertThat(replayed.stored(K).value()).isEqualTo(logged.stored(K).value());
            assertThat(replayed.stored(K).version()).isEqualTo(logged.stored(K).version());
            assertThat(CausalCodec.decodeCounterState(replayed.stored(K).value()).value()).isEqualTo(10 + 4 + 3 - 1);
        }
    }

    @Test
    void anExpiredCounterRanksAtItsVersionLikeTheTombstoneItBecomes() {
        long expireAt = START + 1_000;
        Entry old = counter(at(5, 1), V, 0, PnCounter.ZERO.add(1, 40), expireAt);
        Version expired = old.version();
        Entry fresh = counter(at(9, 2), expired, 0, PnCounter.ZERO.add(2, 1), 0);
        engine.merge(old);
        clock.advanceMillis(1_001);
        assertThat(engine.merge(fresh)).isTrue();
        assertThat(storedCounter().value()).isEqualTo(1);
        assertThat(engine.merge(old)).as("the expired one does not come back").isFalse();
        assertThat(storedCounter().value()).isEqualTo(1);
    }
}
