package io.trelliskv.version;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link PnCounter} in a replicated history: increments coordinated by random replicas, states passed
 * between them in any order and any number of times. Once every state has reached every replica, each
 * holds the exact sum of all increments; merge is a join (commutative, associative, idempotent).
 */
class PnCounterProperties {

    private static final long[] NODES = {3L, -2L, Long.MIN_VALUE, 0x55L};

    /** kind 0: replica {@code at} increments by {@code delta}; kind 1: replica {@code at} merges {@code from}'s state. */
    record Op(int kind, int at, int from, long delta) {
    }

    @Provide
    Arbitrary<List<Op>> histories() {
        return Combinators.combine(
                Arbitraries.integers().between(0, 1),
                Arbitraries.integers().between(0, NODES.length - 1),
                Arbitraries.integers().between(0, NODES.length - 1),
                Arbitraries.longs().between(-1_000_000, 1_000_000)).as(Op::new).list().ofMaxSize(80);
    }

    @Property(tries = 500, seed = "20261208")
    void everyIncrementCountsOnceEverywhereAfterAllStatesMeet(@ForAll("histories") List<Op> ops) {
        List<PnCounter> states = new ArrayList<>();
        for (int i = 0; i < NODES.length; i++) {
            states.add(PnCounter.ZERO);
        }
        long sum = 0;
        for (Op op : ops) {
            if (op.kind() == 0) {
                states.set(op.at(), states.get(op.at()).add(NODES[op.at()], op.delta()));
                sum += op.delta();
            } else {
                states.set(op.at(), states.get(op.at()).merge(states.get(op.from())));
            }
        }
        PnCounter all = PnCounter.ZERO;
        for (PnCounter s : states) {
            all = all.merge(s);
        }
        assertThat(all.value()).isEqualTo(sum);
        PnCounter a = states.get(0);
        PnCounter b = states.get(1);
        PnCounter c = states.get(2);
        assertThat(a.merge(b)).isEqualTo(b.merge(a));
        assertThat(a.merge(b).merge(c)).isEqualTo(a.merge(b.merge(c)));
        assertThat(a.merge(a)).isEqualTo(a);
        assertThat(all.descends(a)).isTrue();
        assertThat(all.merge(a).value()).as("merging an older state again counts nothing twice").isEqualTo(sum);
    }

    @Test
    void overflowIsRefusedAndLeavesTheCounterAsItWas() {
        PnCounter c = PnCounter.ZERO.add(1, Long.MAX_VALUE);
        assertThatThrownBy(() -> c.add(2, 1)).isInstanceOf(ArithmeticException.class);
        assertThat(c.value()).isEqualTo(Long.MAX_VALUE);
        PnCounter low = PnCounter.ZERO.add(1, -Long.MAX_VALUE).add(2, -1);
        assertThat(low.value()).isEqualTo(Long.MIN_VALUE);
        assertThatThrownBy(() -> low.add(1, -1)).isInstanceOf(ArithmeticException.class);
        // A part holds at most Long.MAX_VALUE: one decrement by 2^63 cannot be represented.
        assertThatThrownBy(() -> PnCounter.ZERO.add(1, Long.MIN_VALUE)).isInstanceOf(ArithmeticException.class);
    }
}
