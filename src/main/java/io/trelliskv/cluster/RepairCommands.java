package io.trelliskv.cluster;

import io.trelliskv.command.Args;
import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.RefusedException;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.repair.RepairStatus;
import io.trelliskv.resp.RespWriter;

import java.util.EnumSet;

import static io.trelliskv.command.CommandFlag.ADMIN;
import static io.trelliskv.command.CommandFlag.FAST;
import static io.trelliskv.command.CommandFlag.LOADING;
import static io.trelliskv.command.CommandFlag.STALE;

/**
 * Anti-entropy on demand.
 *
 * <ul>
 * <li>{@code REPAIR}: starts a round of anti-entropy on this node (after the running one, if any) and
 *     replies with its number at once; a round that already waits to start is joined, not doubled.
 *     The round compares every range this node replicates with every other live replica.</li>
 * <li>{@code REPAIR STATUS}: the latest round's progress (the running one, or the last finished) as a
 *     map: {@code round}, {@code requested} (the latest round asked for; greater than {@code round}
 *     while it waits), {@code trigger} ({@code manual} or {@code periodic}), {@code state}
 *     ({@code running} or {@code done}; {@code none} before the first round), {@code ranges_done},
 *     {@code ranges_total}, {@code keys_compared}, {@code keys_streamed_in}, {@code keys_streamed_out},
 *     {@code bytes_sent}, {@code bytes_received}, {@code failures}, {@code elapsed_ms}.</li>
 * </ul>
 */
public final class RepairCommands {

    private final RepairControl antiEntropy;

    public RepairCommands(RepairControl antiEntropy) {
        this.antiEntropy = antiEntropy;
    }

    public void registerInto(CommandTable t) {
        t.register("repair", -1, EnumSet.of(ADMIN, FAST, LOADING, STALE), this::repair);
    }

    private void repair(ClientConnection client, byte[][] args, RespWriter out) {
        if (args.length == 1) {
            try {
                out.integer(antiEntropy.requestRepair());
            } catch (RefusedException e) {
                throw new CommandException("ERR " + e.getMessage());
            }
            return;
        }
        if (args.length == 2 && Args.is(args[1], "STATUS")) {
            RepairStatus s;
            try {
                s = antiEntropy.status();
            } catch (RefusedException e) {
                throw new CommandException("ERR " + e.getMessage());
            }
            status(s, out);
            return;
        }
        throw new CommandException("ERR unknown REPAIR subcommand or wrong number of arguments (expected: REPAIR"
                + " or REPAIR STATUS)");
    }

    private static void status(RepairStatus s, RespWriter out) {
        out.map(13);
        out.bulk("round").integer(s.round());
        out.bulk("requested").integer(s.requested());
        out.bulk("trigger").bulk(s.trigger());
        out.bulk("state").bulk(s.round() == 0 ? "none" : s.running() ? "running" : "done");
        out.bulk("ranges_done").integer(s.rangesDone());
        out.bulk("ranges_total").integer(s.rangesTotal());
        out.bulk("keys_compared").integer(s.keysCompared());
        out.bulk("keys_streamed_in").integer(s.keysStreamedIn());
        out.bulk("keys_streamed_out").integer(s.keysStreamedOut());
        out.bulk("bytes_sent").integer(s.bytesSent());
        out.bulk("bytes_received").integer(s.bytesReceived());
        out.bulk("failures").integer(s.failures());
        out.bulk("elapsed_ms").integer(s.elapsedMillis());
    }
}
