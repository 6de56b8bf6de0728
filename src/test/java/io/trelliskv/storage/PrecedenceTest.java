package io.trelliskv.storage;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.CounterState;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.PnCounter;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Precedence} is the one order of entries: for every pair that does not rank equal, the engine's
 * merge keeps the value of the one it ranks higher, in either order of arrival.
 */
class PrecedenceTest {

    private static final long START = 1_700_000_000_000L;
    private static final Key K = Key.of("k".getBytes());
    private static final Version EPOCH = at(5, 1);

    private static Version at(int logical, long node) {
        return new Version(Hlc.pack(START, logical), node);
    }

    private static Entry plain(int logical, String value) {
        return plain(at(logical, 2), value);
    }

    private static Entry plain(Version v, String value) {
        return new Entry(K, value.getBytes(), v.hlc(), v.nodeId(), 0);
    }

    private static Entry counter(int logical, Version epoch, long delta, long expireAt) {
        return new Entry(K, CausalCodec.encode(CounterState.of(0, epoch, PnCounter.ZERO.add(3, delta))),
                at(logical, 3).hlc(), 3, expireAt, ValueKind.COUNTER);
    }

    @Test
    void theRankOrderIsTheOrderTheEngineMergesBy() {
        List<Entry> entries = List.of(
                plain(4, "before the epoch"),
                plain(EPOCH, "the epoch's state"),
                plain(10, "reset"),
                new Entry(K, null, at(11, 2).hlc(), 2, 0),
                counter(12, EPOCH, 3, 0),
                counter(13, at(10, 2), 7, 0),
                counter(14, EPOCH, 9, START - 1));
        int ordered = 0;
        for (Entry a : entries) {
            for (Entry b : entries) {
                int c = Precedence.compare(a, b, START);
                assertThat(Integer.signum(Precedence.compare(b, a, START))).isEqualTo(-Integer.signum(c));
                if (c == 0) {
                    continue;
                }
                ordered++;
                Entry winner = c > 0 ? a : b;
                ManualClock clock = new ManualClock(START);
                try (MemoryEngine engine = new MemoryEngine(new EngineConfig(0, EvictionPolicy.NOEVICTION, 60_000,
                        EngineConfig.DEFAULT_EVICTION_SAMPLES), clock, new Hlc(clock), 9)) {
                    engine.merge(a);
                    engine.merge(b);
                    assertThat(engine.stored(K).value()).as("%s then %s", a, b).isEqualTo(winner.value());
                }
            }
        }
        assertThat(ordered).isEqualTo(entries.size() * (entries.size() - 1));
    }

    @Test
    void aLiveCounterRanksAtItsEpochJustAboveTheStateOfThatVersion() {
        Entry counter = counter(12, EPOCH, 3, 0);
        assertThat(Precedence.rank(counter, START)).isEqualTo(EPOCH);
        assertThat(Precedence.compare(counter, plain(EPOCH, "x"), START)).isPositive();
        assertThat(Precedence.compare(counter, plain(10, "reset"), START)).isNegative();
        assertThat(Precedence.rank(counter(12, EPOCH, 3, START - 1), START)).as("expired").isEqualTo(at(12, 3));
    }
}
