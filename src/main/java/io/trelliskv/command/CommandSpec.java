package io.trelliskv.command;

import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * One entry of the command table: the command's name, arity, flags and key positions (as COMMAND
 * reports them, in Redis's conventions), its handler, and its counters for INFO commandstats.
 *
 * @param name     lowercase command name
 * @param arity    exact argument count including the name if positive; minimum count if negative
 * @param firstKey position of the first key argument, 0 if none
 * @param lastKey  position of the last key argument; negative counts from the end (-1: last argument)
 * @param step     distance between key arguments
 */
public record CommandSpec(String name, int arity, Set<CommandFlag> flags, int firstKey, int lastKey, int step,
                          CommandHandler handler, Stats stats) {

    public CommandSpec(String name, int arity, Set<CommandFlag> flags, int firstKey, int lastKey, int step,
                       CommandHandler handler) {
        this(name, arity, flags.isEmpty() ? EnumSet.noneOf(CommandFlag.class) : EnumSet.copyOf(flags),
                firstKey, lastKey, step, handler, new Stats());
    }

    /** True if {@code argc} (including the name) satisfies the arity. */
    public boolean arityAccepts(int argc) {
        return arity > 0 ? argc == arity : argc >= -arity;
    }

    public boolean has(CommandFlag flag) {
        return flags.contains(flag);
    }

    /** Counters for INFO commandstats. */
    public static final class Stats {
        public final LongAdder calls = new LongAdder();
        public final LongAdder nanos = new LongAdder();
        /** Calls refused before running: arity, OOM. */
        public final LongAdder rejected = new LongAdder();
        /** Calls that ran and replied with an error. */
        public final LongAdder failed = new LongAdder();

        public long calls() {
            return calls.sum();
        }

        public long micros() {
            return nanos.sum() / 1000;
        }

        public long rejected() {
            return rejected.sum();
        }

        public long failed() {
            return failed.sum();
        }

        public void reset() {
            calls.reset();
            nanos.reset();
            rejected.reset();
            failed.reset();
        }
    }
}
