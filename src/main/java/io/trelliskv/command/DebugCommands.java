package io.trelliskv.command;

import io.trelliskv.common.OffsetClock;
import io.trelliskv.storage.Engine;

import java.util.EnumSet;

import static io.trelliskv.command.CommandFlag.ADMIN;
import static io.trelliskv.command.CommandFlag.LOADING;
import static io.trelliskv.command.CommandFlag.STALE;

/**
 * Test-only commands, registered only on a node started with {@code --test-clock-control}; on any other
 * node {@code DEBUG} is an unknown command.
 *
 * <ul>
 * <li>{@code DEBUG CLOCK-OFFSET}: the offset of this node's wall clock from the machine's, in ms.</li>
 * <li>{@code DEBUG CLOCK-OFFSET ms}: sets it (not cumulative; negative moves the clock back). Used by the
 *     fault-injection harness to skew or jump one node's clock; TTLs, versions and membership timers
 *     all read it.</li>
 * <li>{@code DEBUG WIPE}: empties this node's engine only, as if its data were lost, leaving its place
 *     on the ring and its flush floor as they are (FLUSHALL acts on the whole cluster). Used to test
 *     that anti-entropy rebuilds a replica.</li>
 * </ul>
 */
public final class DebugCommands {

    private final OffsetClock clock;
    private final Engine engine;

    public DebugCommands(OffsetClock clock, Engine engine) {
        this.clock = clock;
        this.engine = engine;
    }

    public void registerInto(CommandTable t) {
        t.register("debug", -2, EnumSet.of(ADMIN, LOADING, STALE), (c, a, out) -> {
            if (Args.is(a[1], "WIPE") && a.length == 2) {
                engine.clear();
                out.ok();
                return;
            }
            if (!Args.is(a[1], "CLOCK-OFFSET") || a.length > 3) {
                throw new CommandException("ERR DEBUG subcommand must be CLOCK-OFFSET [ms] or WIPE");
            }
            if (a.length == 2) {
                out.integer(clock.offsetMillis());
                return;
            }
            clock.offsetMillis(Args.parseLong(a[2]));
            out.ok();
        });
    }
}
