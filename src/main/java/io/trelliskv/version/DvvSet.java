package io.trelliskv.version;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The causal history of a versioned key: a dotted version vector set (Almeida, Baquero, Gonçalves,
 * Preguiça, Fonte, "Scalable and Accurate Causality Tracking for Eventually Consistent Stores", 2014;
 * the structure Riak 2.0 keeps as {@code dvvset}). It holds the key's concurrent values — its siblings —
 * each tagged with the dot of the write that made it, and what the state has seen, in space that grows
 * with the number of nodes that coordinated writes, never with the number of clients.
 *
 * <h2>Layout</h2>
 * One entry per coordinating node, sorted by node id: {@code (node, n, values)} says the state has seen
 * the first {@code n} writes that {@code node} coordinated, and {@code values} are the ones among them
 * still alive, newest first: the i-th value (from 0) has the dot {@code (node, n - i)}. Writes a node
 * coordinates get consecutive counters, and every state that holds the dot {@code (node, k)} has seen
 * all of {@code node}'s earlier ones, so a counter per node is the whole history.
 *
 * <h2>Operations</h2>
 * <ul>
 * <li>{@link #context()}: the version vector a client reads with the values ({@code VGET}).</li>
 * <li>{@link #update}: a write coordinated by {@code node} with the client's context: drops every value
 * whose dot the context covers (what the client saw and so replaces), keeps the rest as siblings, and adds
 * the new value under the dot {@code (node, n + 1)}, where {@code n} is the larger of the state's and the
 * context's counter for {@code node}.</li>
 * <li>{@link #discard}: a delete with a context: drops what it covers, adds nothing. A state with no
 * values left is a tombstone that still carries the history, so an older copy cannot bring a deleted
 * value back.</li>
 * <li>{@link #sync}: joins two replicas' states; commutative, associative and idempotent. Per node, the
 * state with the larger counter knows more writes; of its values it keeps those the other state has not
 * dropped, i.e. those newer than the other's counter minus its live values.</li>
 * </ul>
 *
 * <p>Immutable. Values are compared with {@code equals} only by tests; the structure never looks inside them.
 *
 * @param <V> the value type
 */
public final class DvvSet<V> {

    /** One coordinating node's part of the history. {@code values} newest first, at most {@code counter} of them. */
    public record Entry<V>(long node, long counter, List<V> values) {
        public Entry {
            if (counter < 1) {
                throw new IllegalArgumentException("counter: " + counter + " (expected: >= 1)");
            }
            if (values.size() > counter) {
                throw new IllegalArgumentException(values.size() + " values for counter " + counter);
            }
            values = List.copyOf(values);
        }
    }

    private static final DvvSet<?> EMPTY = new DvvSet<>(List.of());

    /** Sorted by node id (unsigned), one per node. */
    private final List<Entry<V>> entries;

    private DvvSet(List<Entry<V>> entries) {
        this.entries = entries;
    }

    /** The history of a key never written. */
    @SuppressWarnings("unchecked")
    public static <V> DvvSet<V> empty() {
        return (DvvSet<V>) EMPTY;
    }

    /** A state from its entries in any order (for decoding); node ids must be distinct. */
    public static <V> DvvSet<V> of(List<Entry<V>> entries) {
        List<Entry<V>> sorted = new ArrayList<>(entries);
        sorted.sort((a, b) -> Long.compareUnsigned(a.node(), b.node()));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i - 1).node() == sorted.get(i).node()) {
                throw new IllegalArgumentException("node " + Long.toHexString(sorted.get(i).node()) + " appears twice");
            }
        }
        return new DvvSet<>(List.copyOf(sorted));
    }

    public List<Entry<V>> entries() {
        return entries;
    }

    /** The siblings: every live value, by node and then newest first. Empty for a tombstone or a key never written. */
    public List<V> values() {
        List<V> out = new ArrayList<>();
        for (Entry<V> e : entries) {
            out.addAll(e.values());
        }
        return out;
    }

    /** Number of siblings. */
    public int valueCount() {
        int n = 0;
        for (Entry<V> e : entries) {
            n += e.values().size();
        }
        return n;
    }

    /** True if there are no values: a key never written, or a tombstone (history without values). */
    public boolean hasNoValues() {
        return valueCount() == 0;
    }

    /** What this state has seen, as a client's causal context. */
    public VersionVector context() {
        long[] pairs = new long[entries.size() * 2];
        for (int i = 0; i < entries.size(); i++) {
            pairs[2 * i] = entries.get(i).node();
            pairs[2 * i + 1] = entries.get(i).counter();
        }
        return VersionVector.of(pairs);
    }

    /** The dots of the live values, parallel to {@link #values()}: {@code {node, counter}} pairs. */
    public List<long[]> dots() {
        List<long[]> out = new ArrayList<>();
        for (Entry<V> e : entries) {
            for (int i = 0; i < e.values().size(); i++) {
                out.add(new long[] {e.node(), e.counter() - i});
            }
        }
        return out;
    }

    /**
     * A write of {@code value} coordinated by {@code node} by a client that had read {@code context}: the
     * values the context covers are replaced, concurrent ones stay as siblings.
     */
    public DvvSet<V> update(VersionVector context, V value, long node) {
        Objects.requireNonNull(value, "value");
        List<Entry<V>> merged = new ArrayList<>(discard(context).entries);
        int i = 0;
        while (i < merged.size() && Long.compareUnsigned(merged.get(i).node(), node) < 0) {
            i++;
        }
        if (i < merged.size() && merged.get(i).node() == node) {
            Entry<V> e = merged.get(i);
            List<V> values = new ArrayList<>(e.values().size() + 1);
            values.add(value);
            values.addAll(e.values());
            merged.set(i, new Entry<>(node, e.counter() + 1, values));
        } else {
            merged.add(i, new Entry<>(node, 1, List.of(value)));
        }
        return new DvvSet<>(Collections.unmodifiableList(merged));
    }

    /** A delete by a client that had read {@code context}: the values it covers go, the history stays. */
    public DvvSet<V> discard(VersionVector context) {
        List<Entry<V>> ctx = new ArrayList<>(context.size());
        for (int i = 0; i < context.size(); i++) {
            ctx.add(new Entry<>(context.node(i), context.counter(i), List.of()));
        }
        return sync(new DvvSet<>(ctx));
    }

    /** The join of two replicas' states of the same key. */
    public DvvSet<V> sync(DvvSet<V> other) {
        List<Entry<V>> a = entries;
        List<Entry<V>> b = other.entries;
        if (b.isEmpty()) {
            return this;
        }
        if (a.isEmpty()) {
            return other;
        }
        List<Entry<V>> out = new ArrayList<>(a.size() + b.size());
        int i = 0;
        int j = 0;
        while (i < a.size() || j < b.size()) {
            int c = i == a.size() ? 1 : j == b.size() ? -1 : Long.compareUnsigned(a.get(i).node(), b.get(j).node());
            if (c < 0) {
                out.add(a.get(i++));
            } else if (c > 0) {
                out.add(b.get(j++));
            } else {
                out.add(merge(a.get(i++), b.get(j++)));
            }
        }
        return new DvvSet<>(Collections.unmodifiableList(out));
    }

    /**
     * One node's entries from two states. The one with the larger counter has seen more writes; of its
     * values, those with a counter above the other's oldest live dot minus one were never dropped there
     * (the other had not seen them, or still holds them), so they stay; the older ones the other dropped.
     */
    private static <V> Entry<V> merge(Entry<V> x, Entry<V> y) {
        if (x.counter() < y.counter() || (x.counter() == y.counter() && x.values().size() > y.values().size())) {
            Entry<V> t = x;
            x = y;
            y = t;
        }
        // x.counter >= y.counter; y has seen y.counter writes and dropped all but its last y.values().size().
        long yDroppedUpTo = y.counter() - y.values().size();
        long keep = Math.min(x.values().size(), x.counter() - yDroppedUpTo);
        if (keep == x.values().size()) {
            return x;
        }
        return new Entry<>(x.node(), x.counter(), x.values().subList(0, (int) keep));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DvvSet<?> d && entries.equals(d.entries);
    }

    @Override
    public int hashCode() {
        return entries.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("DvvSet[");
        for (int i = 0; i < entries.size(); i++) {
            Entry<V> e = entries.get(i);
            b.append(i == 0 ? "" : ", ").append(Long.toHexString(e.node())).append(':').append(e.counter()).append(e.values());
        }
        return b.append(']').toString();
    }
}
