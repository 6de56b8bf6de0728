package io.trelliskv.cluster;

import io.trelliskv.command.Args;
import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandFlag;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.RefusedException;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.resp.RespWriter;

import java.nio.charset.StandardCharsets;
import java.util.EnumSet;

import static io.trelliskv.command.CommandFlag.ADMIN;
import static io.trelliskv.command.CommandFlag.LOADING;
import static io.trelliskv.command.CommandFlag.STALE;

/**
 * Ring changes on demand ({@link Rebalancer} does the work, through a {@link RebalanceControl}).
 *
 * <ul>
 * <li>{@code STATUS}: every member with its liveness, ring status (NORMAL, JOINING, LEAVING) and tokens,
 *     then this node's streams in flight and recently finished with their progress (ranges, keys, bytes).</li>
 * <li>{@code DECOMMISSION}: announces LEAVING, streams this node's ranges to their new owners, then
 *     leaves the ring and exits; replies OK at once. {@code DECOMMISSION CANCEL} stops it.</li>
 * <li>{@code REMOVENODE id} (hex node id, as MEMBERS shows it): takes a DEAD member off the ring; the
 *     nodes that gain its ranges pull them from the surviving replicas.</li>
 * <li>{@code BOOTSTRAP CANCEL} / {@code BOOTSTRAP RESUME}: pauses this joining node's streaming, or
 *     resumes it where it stopped. {@code BOOTSTRAP FORCE}: a restarted node that waits because some of
 *     its ranges have no NORMAL replica left (every copy restarted empty) goes NORMAL without them.</li>
 * </ul>
 */
public final class RebalanceCommands {

    private final RebalanceControl control;

    public RebalanceCommands(RebalanceControl control) {
        this.control = control;
    }

    public void registerInto(CommandTable t) {
        EnumSet<CommandFlag> flags = EnumSet.of(ADMIN, LOADING, STALE);
        t.register("status", 1, flags, (c, a, out) -> out.verbatim(status()));
        t.register("decommission", -1, flags, this::decommission);
        t.register("removenode", 2, flags, this::removeNode);
        t.register("bootstrap", 2, flags, this::bootstrap);
    }

    private String status() {
        try {
            return control.describe();
        } catch (RefusedException e) {
            throw new CommandException("ERR " + e.getMessage());
        }
    }

    private void decommission(ClientConnection client, byte[][] args, RespWriter out) {
        if (args.length == 1) {
            run(control::decommission);
        } else if (args.length == 2 && Args.is(args[1], "CANCEL")) {
            run(control::cancelDecommission);
        } else {
            throw new CommandException("ERR wrong arguments (expected: DECOMMISSION or DECOMMISSION CANCEL)");
        }
        out.ok();
    }

    private void removeNode(ClientConnection client, byte[][] args, RespWriter out) {
        String text = new String(args[1], StandardCharsets.UTF_8);
        long id;
        try {
            id = Long.parseUnsignedLong(text, 16);
        } catch (NumberFormatException e) {
            throw new CommandException("ERR node id '" + text + "' (expected: hexadecimal, as MEMBERS shows it)");
        }
        run(() -> control.removeNode(id));
        out.ok();
    }

    private void bootstrap(ClientConnection client, byte[][] args, RespWriter out) {
        if (Args.is(args[1], "CANCEL")) {
            run(control::cancelBootstrap);
        } else if (Args.is(args[1], "RESUME")) {
            run(control::resumeBootstrap);
        } else if (Args.is(args[1], "FORCE")) {
            run(control::forceRejoin);
        } else {
            throw new CommandException("ERR unknown BOOTSTRAP subcommand (expected: BOOTSTRAP CANCEL, RESUME or FORCE)");
        }
        out.ok();
    }

    private static void run(Runnable action) {
        try {
            action.run();
        } catch (RefusedException e) {
            throw new CommandException("ERR " + e.getMessage());
        }
    }
}
