package io.trelliskv.version;

/**
 * What a key holding a convergent counter stores: the state it counts from (its epoch and base) and the
 * increments counted since, per coordinating node ({@link PnCounter}). The value is {@code base +
 * increments}.
 *
 * <p>A PN-counter alone cannot be reset: a SET or DEL would be undone by the next join with a replica's
 * older increments. So a counter remembers the last-writer-wins state it was made from: its epoch is
 * that state's version (a missing key, a plain integer string, a SET, a DEL) and its base that state's
 * integer (0 for a missing key). Replicas that start counting from the same state hold the same epoch
 * and base and join their increments; a state of a newer epoch replaces an older one outright, so a
 * reset drops the increments of the epoch it replaced that it had not seen (see
 * {@code storage.ValueKind}).
 *
 * <p>Immutable.
 */
public final class CounterState {

    /** The value at the reset point. */
    private final long base;
    /** The version of the state the counter was made from. */
    private final Version epoch;
    /** The increments counted since the reset point, per coordinating node. */
    private final PnCounter increments;

    private CounterState(long base, Version epoch, PnCounter increments) {
        this.base = base;
        this.epoch = epoch;
        this.increments = increments;
    }

    /** A counter made from the state of version {@code epoch}, whose value was {@code base}, with nothing counted yet. */
    public static CounterState from(Version epoch, long base) {
        return new CounterState(base, epoch, PnCounter.ZERO);
    }

    public static CounterState of(long base, Version epoch, PnCounter increments) {
        return new CounterState(base, epoch, increments);
    }

    public long base() {
        return base;
    }

    public Version epoch() {
        return epoch;
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
        CounterState next = new CounterState(base, epoch, increments.add(node, delta));
        next.value();
        return next;
    }

    /**
     * The join of two replicas' states: within one epoch, each node's increments at their maximum; across
     * epochs, the state of the newer one. Commutative, associative and idempotent. (The bases of one
     * epoch are equal; should damaged bytes ever make them differ, the larger is kept.)
     */
    public CounterState merge(CounterState other) {
        int c = epoch.compareTo(other.epoch);
        if (c != 0) {
            return c > 0 ? this : other;
        }
        return new CounterState(Math.max(base, other.base), epoch, increments.merge(other.increments));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CounterState c && base == c.base && epoch.equals(c.epoch) && increments.equals(c.increments);
    }

    @Override
    public int hashCode() {
        return (Long.hashCode(base) * 31 + epoch.hashCode()) * 31 + increments.hashCode();
    }

    @Override
    public String toString() {
        return "CounterState{epoch=" + epoch + ", base=" + base + ", " + increments + "}";
    }
}
