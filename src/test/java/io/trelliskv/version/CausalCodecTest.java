package io.trelliskv.version;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CausalCodecTest {

    private static DvvSet<byte[]> sample() {
        DvvSet<byte[]> s = DvvSet.empty();
        s = s.update(VersionVector.EMPTY, "a".getBytes(), 7);
        s = s.update(VersionVector.EMPTY, "b".getBytes(), -3);
        s = s.update(s.context(), new byte[300], 7);
        return s.sync(DvvSet.<byte[]>empty().update(VersionVector.EMPTY, new byte[0], Long.MIN_VALUE));
    }

    @Test
    void versionedValuesAndCountersRoundTrip() {
        DvvSet<byte[]> s = sample();
        DvvSet<byte[]> back = CausalCodec.decodeDvv(CausalCodec.encode(s));
        assertThat(back.context()).isEqualTo(s.context());
        assertThat(back.values()).hasSameSizeAs(s.values());
        for (int i = 0; i < s.values().size(); i++) {
            assertThat(back.values().get(i)).isEqualTo(s.values().get(i));
        }
        PnCounter c = PnCounter.ZERO.add(5, 10).add(-1, -4).add(Long.MIN_VALUE, Long.MAX_VALUE - 10);
        assertThat(CausalCodec.decodeCounter(CausalCodec.encode(c))).isEqualTo(c);
        assertThat(CausalCodec.decodeCounter(CausalCodec.encode(PnCounter.ZERO))).isEqualTo(PnCounter.ZERO);
    }

    @Test
    void counterStatesRoundTripAndABarePnCounterReadsAsBaseZero() {
        PnCounter c = PnCounter.ZERO.add(5, 10).add(-1, -4);
        for (long base : new long[] {0, -1, 42, Long.MIN_VALUE, Long.MAX_VALUE}) {
            CounterState state = CounterState.of(base, new Version(Hlc.pack(1_700_000_000_000L, 3), -5), c);
            byte[] bytes = CausalCodec.encode(state);
            assertThat(bytes[0]).isEqualTo(CausalCodec.COUNTER_STATE_FORMAT);
            assertThat(CausalCodec.decodeCounterState(bytes)).isEqualTo(state);
        }
        assertThat(CausalCodec.decodeCounterState(CausalCodec.encode(c))).isEqualTo(CounterState.of(0, Version.ZERO, c));
        byte[] good = CausalCodec.encode(CounterState.of(7, new Version(5, 6), c));
        for (int len = 0; len < good.length; len++) {
            byte[] cut = Arrays.copyOf(good, len);
            assertThatThrownBy(() -> CausalCodec.decodeCounterState(cut)).as("cut to %d", len)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        byte[] unknown = good.clone();
        unknown[0] = 9;
        assertThatThrownBy(() -> CausalCodec.decodeCounterState(unknown)).hasMessage("unknown counter format 9");
    }

    @Test
    void everyTruncationAndRandomGarbageIsRefusedWithAReason() {
        List<byte[]> encodings = List.of(CausalCodec.encode(sample()),
                CausalCodec.encode(PnCounter.ZERO.add(5, 10).add(9, -2)));
        for (byte[] good : encodings) {
            for (int len = 0; len < good.length; len++) {
                byte[] cut = Arrays.copyOf(good, len);
                assertThatThrownBy(() -> {
                    if (good == encodings.get(0)) {
                        CausalCodec.decodeDvv(cut);
                    } else {
                        CausalCodec.decodeCounter(cut);
                    }
                }).as("cut to %d", len).isInstanceOf(IllegalArgumentException.class);
            }
        }
        Random random = new Random(20261204);
        for (int i = 0; i < 2000; i++) {
            byte[] junk = new byte[random.nextInt(40)];
            random.nextBytes(junk);
            try {
                CausalCodec.decodeDvv(junk);
            } catch (IllegalArgumentException expected) {
                // refused with a reason: fine
            }
            try {
                CausalCodec.decodeCounter(junk);
            } catch (IllegalArgumentException expected) {
                // refused with a reason: fine
            }
        }
    }
}
