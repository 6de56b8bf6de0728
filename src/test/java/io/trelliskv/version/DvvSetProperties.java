package io.trelliskv.version;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link DvvSet} against a model of causality that knows each write by name: replicas run random writes
 * (with the context a client read from some replica), deletes and syncs; the model tracks, per replica,
 * every write it has heard of and every write a later write or delete had seen. The siblings must be
 * exactly the writes heard of and not seen by any later write: the truly concurrent ones.
 */
class DvvSetProperties {

    /** Node ids spread over the whole unsigned range, negative ones included, to exercise the ordering. */
    private static final long[] NODES = {0x7a3L, -5L, Long.MIN_VALUE + 9, 42L};

    /** One step: kind 0 = write, 1 = delete, 2 = sync; at replica {@code at}, reading from or syncing with {@code from}. */
    record Op(int kind, int at, int from) {
    }

    @Provide
    Arbitrary<List<Op>> histories() {
        Arbitrary<Op> op = Combinators.combine(
                Arbitraries.integers().between(0, 9).map(k -> k < 5 ? 0 : k < 6 ? 1 : 2),
                Arbitraries.integers().between(0, NODES.length - 1),
                Arbitraries.integers().between(0, NODES.length - 1)).as(Op::new);
        return op.list().ofMinSize(1).ofMaxSize(60);
    }

    /** A replica's model: every write it has heard of, and those a later write or delete had seen. */
    private static final class Model {
        final Set<Integer> heard = new HashSet<>();
        final Set<Integer> superseded = new HashSet<>();

        Set<Integer> live() {
            Set<Integer> live = new HashSet<>(heard);
            live.removeAll(superseded);
            return live;
        }
    }

    /** Runs a history; returns the replicas' final states after checking every step against the model. */
    private static List<DvvSet<Integer>> run(List<Op> ops) {
        List<DvvSet<Integer>> states = new ArrayList<>();
        List<Model> models = new ArrayList<>();
        for (int i = 0; i < NODES.length; i++) {
            states.add(DvvSet.empty());
            models.add(new Model());
        }
        int nextWrite = 0;
        for (Op op : ops) {
            DvvSet<Integer> at = states.get(op.at());
            DvvSet<Integer> from = states.get(op.from());
            Model m = models.get(op.at());
            Model f = models.get(op.from());
            switch (op.kind()) {
                case 0 -> {
                    int w = nextWrite++;
                    states.set(op.at(), at.update(from.context(), w, NODES[op.at()]));
                    m.superseded.addAll(f.heard);
                    m.heard.addAll(f.heard);
                    m.heard.add(w);
                }
                case 1 -> {
                    states.set(op.at(), at.discard(from.context()));
                    m.superseded.addAll(f.heard);
                    m.heard.addAll(f.heard);
                }
                default -> {
                    states.set(op.at(), at.sync(from));
                    m.heard.addAll(f.heard);
                    m.superseded.addAll(f.superseded);
                }
            }
            assertThat(new HashSet<>(states.get(op.at()).values())).as("siblings after %s", op).isEqualTo(m.live());
            assertThat(states.get(op.at()).valueCount()).as("no value twice after %s", op).isEqualTo(m.live().size());
        }
        return states;
    }

    @Property(tries = 500, seed = "20261204")
    void siblingsAreExactlyTheConcurrentWrites(@ForAll("histories") List<Op> ops) {
        run(ops);
    }

    @Property(tries = 300, seed = "20261205")
    void syncIsCommutativeAssociativeAndIdempotent(@ForAll("histories") List<Op> ops) {
        List<DvvSet<Integer>> s = run(ops);
        DvvSet<Integer> a = s.get(0);
        DvvSet<Integer> b = s.get(1);
        DvvSet<Integer> c = s.get(2);
        assertThat(a.sync(b)).isEqualTo(b.sync(a));
        assertThat(a.sync(b).sync(c)).isEqualTo(a.sync(b.sync(c)));
        assertThat(a.sync(a)).isEqualTo(a);
        assertThat(a.sync(b).sync(b)).isEqualTo(a.sync(b));
    }

    @Property(tries = 300, seed = "20261206")
    void aWriteWithAStatesContextReplacesExactlyItsValues(@ForAll("histories") List<Op> ops) {
        List<DvvSet<Integer>> s = run(ops);
        DvvSet<Integer> seen = s.get(1);
        DvvSet<Integer> target = s.get(0).sync(s.get(2));
        DvvSet<Integer> written = target.update(seen.context(), -1, NODES[0]);
        Set<Integer> expected = new HashSet<>(target.values());
        seen.values().forEach(expected::remove);
        // Values the context covers are gone even if the reader saw them superseded elsewhere.
        List<long[]> dots = target.dots();
        for (int i = 0; i < dots.size(); i++) {
            if (seen.context().covers(dots.get(i)[0], dots.get(i)[1])) {
                expected.remove(target.values().get(i));
            }
        }
        expected.add(-1);
        assertThat(new HashSet<>(written.values())).isEqualTo(expected);
        assertThat(written.context().descends(seen.context())).isTrue();
        assertThat(written.context().descends(target.context())).isTrue();
    }

    @Property(tries = 200, seed = "20261207")
    void theContextEncodingRoundTrips(@ForAll("histories") List<Op> ops) {
        for (DvvSet<Integer> s : run(ops)) {
            VersionVector v = s.context();
            assertThat(VersionVector.decode(v.encode())).isEqualTo(v);
        }
    }
}
