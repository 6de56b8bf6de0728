package io.trelliskv.version;

/**
 * What a key holding a convergent counter stores: the value it was reset to (its base) and the increments
 * counted since, per coordinating node ({@link PnCounter}). The value is {@code base + increments}.
 *
 * <p>A counter counts from a reset point: the last-writer-wins state it was made from (a missing key, a
 * plain integer string, a SET, a DEL). That point is not in these bytes but is the version of the entry
 * that holds them (its epoch): every increment of one epoch keeps that version, so two replicas that
 * start counting from the same state hold entries of the same version and join them with
 * {@link #merge}, while a newer SET or DEL replaces them (see {@code storage.ValueKind}). Two states of
 * one epoch have the same base, since it is a function of the state they were made from.
 *
 * <p>Immutable.
 */
public final class CounterState {

    /** The counter of a missing key: base 0, nothing counted. */
    public static final CounterState ZERO = new CounterState(0, PnCounter.ZERO);

    /** The value at the reset point. */
    private final long base;
    /** The increments counted since the reset point, per coordinating node. */
    private final PnCounter increments;

    private CounterState(long base, PnCounter increments) {
        this.base = base;
        this.increments = increments;
    }

    public static CounterState of(long base, PnCounter increments) {
        return new CounterState(base, increments);
    }

    public long base() {
        return base;
    }

    public PnCounter increments() {
        return increments;
    }

    /**
     * The counter's value.
     *
     * @throws ArithmeticException if it does not fit in a signed 64-bit integer (concurrent increments
     *                             through several nodes can add up to more than any one of them checked)
     */
    public long value() {
        return Math.addExact(base, increments.value());
    }

    /**
     * This counter with {@code delta} added by {@code node}, the increment's coordinator.
     *
     * @throws ArithmeticException if the value or a part would overflow; nothing changes then
     */
    public CounterState add(long node, long delta) {
        CounterState next = new CounterState(base, increments.add(node, delta));
        next.value();
        return next;
    }

    /**
     * The join of two replicas' states of one epoch: each node's increments at their maximum. The bases
     * of one epoch are equal; should damaged bytes ever make them differ, the larger is kept, so the
     * join stays commutative.
     */
    public CounterState merge(CounterState other) {
        return new CounterState(Math.max(base, other.base), increments.merge(other.increments));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CounterState c && base == c.base && increments.equals(c.increments);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(base) * 31 + increments.hashCode();
    }

    @Override
    public String toString() {
        return "CounterState{base=" + base + ", " + increments + "}";
    }
}
