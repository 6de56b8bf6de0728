package io.trelliskv.request;

import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandFlag;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.Key;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.resp.RawReply;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

import static io.trelliskv.command.CommandFlag.FAST;
import static io.trelliskv.command.CommandFlag.LOADING;
import static io.trelliskv.command.CommandFlag.READONLY;
import static io.trelliskv.command.CommandFlag.STALE;

/**
 * MULTI, EXEC, DISCARD, WATCH and UNWATCH, with Redis 7.0's replies, on a store whose keys live on
 * different nodes.
 *
 * <h2>Queuing</h2>
 * After MULTI, the connection's commands are checked (known, right arity, allowed in a transaction)
 * and queued ({@code +QUEUED}), not run. A command refused while queuing makes EXEC refuse the whole
 * transaction ({@code -EXECABORT}), so a client library's transaction never half-applies. Allowed are
 * the keyed data commands and PING, ECHO, TIME and UNWATCH; keyless commands that act on the whole
 * keyspace or the node (KEYS, SCAN, DBSIZE, FLUSHALL, CONFIG, CONSISTENCY ...) are refused while
 * queuing: a transaction runs on one node, and they would mean something else there.
 *
 * <h2>Where a transaction runs</h2>
 * Every key a transaction touches or watches must have the same coordinator (the first live replica);
 * else EXEC replies {@code -CROSSSLOT} and nothing runs, as Redis Cluster refuses keys of different
 * slots. The coordinator — this node or the one the transaction is forwarded to, in the connection's
 * order like any command — first brings its copies of the keys up to the read level, then runs the
 * commands back to back while holding the engine's locks of all the keys, so no other command on
 * those keys runs in between; the entries they wrote go to the other replicas in one message and the
 * reply waits for the write level, as for a single command. EXEC's reply is the array of the
 * commands' replies; a command that fails at run time (WRONGTYPE, not an integer) puts its error in
 * the array and the others still run, as in Redis.
 *
 * <h2>WATCH</h2>
 * WATCH asks each key's coordinator for the version it holds (after a read at the read level) and
 * remembers it. EXEC sends the versions along; the coordinator compares them, under the same locks, to
 * what it holds, and if any key changed — written or deleted by anyone, this connection included —
 * runs nothing and EXEC replies a null array. Versions are last-writer-wins versions, so the check
 * is exact at the coordinator; a write acknowledged by another coordinator during a failover, not yet
 * replicated here, can be missed, as it can be missed by any read at that level.
 */
final class Transactions {

    /** Keyless commands a transaction may hold. */
    private static final Set<String> KEYLESS_ALLOWED = Set.of("ping", "echo", "time", "unwatch");

    static final String EXECABORT = "EXECABORT Transaction discarded because of previous errors.";

    private final Engine engine;
    private final CommandTable table;
    private final CommandSpec multi;
    private final CommandSpec exec;
    private final CommandSpec discard;
    private final CommandSpec watch;
    private final CommandSpec unwatch;

    Transactions(CommandTable table, Engine engine) {
        this.table = table;
        this.engine = engine;
        // The client-facing behaviour is in handle/queue; the handlers below are what runs where the
        // table is consulted without a client (a coordinator running a forwarded WATCH or EXEC).
        table.register("multi", 1, EnumSet.of(FAST, LOADING, STALE), (c, a, out) -> out.ok());
        table.register("exec", 1, EnumSet.of(LOADING, STALE), (c, a, out) -> out.error("ERR EXEC without MULTI"));
        table.register("discard", 1, EnumSet.of(FAST, LOADING, STALE),
                (c, a, out) -> out.error("ERR DISCARD without MULTI"));
        table.register("watch", -2, EnumSet.of(READONLY, FAST, LOADING, STALE), 1, -1, 1, this::versions);
        table.register("unwatch", 1, EnumSet.of(FAST, LOADING, STALE), (c, a, out) -> out.ok());
        this.multi = table.find(bytes("multi"));
        this.exec = table.find(bytes("exec"));
        this.discard = table.find(bytes("discard"));
        this.watch = table.find(bytes("watch"));
        this.unwatch = table.find(bytes("unwatch"));
    }

    /** True for the five transaction commands, which the dispatcher hands to {@link #handle}. */
    boolean handles(CommandSpec spec) {
        return spec == multi || spec == exec || spec == discard || spec == watch || spec == unwatch;
    }

    CommandSpec exec() {
        return exec;
    }

    /**
     * While the connection is in MULTI: queues the command, or runs EXEC/DISCARD, or refuses.
     *
     * @param spec null for an unknown command
     * @return true if the command was dealt with (queued or refused); false for a command that runs now
     *         as usual (QUIT)
     */
    boolean queue(ClientConnection client, Transaction tx, CommandSpec spec, byte[][] args, Runnable countError) {
        RespWriter out = client.writer();
        if (spec == null) {
            tx.markDirty();
            countError.run();
            out.error(CommandException.unknownCommand(args).getMessage());
            return true;
        }
        if (!spec.arityAccepts(args.length)) {
            countError.run();
            String why = "wrong number of arguments for '" + spec.name() + "' command";
            if (spec == exec) { // as Redis: EXEC refused ends the transaction, saying why
                tx.end();
                out.error("EXECABORT Transaction discarded because of: " + why);
            } else {
                tx.markDirty();
                out.error("ERR " + why);
            }
            return true;
        }
        if (spec == exec || spec == discard || spec.name().equals("quit")) {
            return false;
        }
        if (spec == multi) {
            countError.run();
            out.error("ERR MULTI calls can not be nested");
            return true;
        }
        if (spec == watch) {
            countError.run();
            out.error("ERR WATCH inside MULTI is not allowed");
            return true;
        }
        boolean data = spec.firstKey() > 0 && (spec.has(CommandFlag.WRITE) || spec.has(CommandFlag.READONLY));
        if (!data && !KEYLESS_ALLOWED.contains(spec.name())) {
            tx.markDirty();
            countError.run();
            out.error("ERR '" + spec.name() + "' is not allowed in a transaction: a transaction runs on the "
                    + "coordinator of its keys, and this command is not about keys");
            return true;
        }
        tx.queue(args);
        out.simple("QUEUED");
        return true;
    }

    /** WATCH's handler where a coordinator runs it: each key's version here, "hlc:node" or empty. */
    private void versions(ClientConnection client, byte[][] args, RespWriter out) {
        out.array(args.length - 1);
        for (int i = 1; i < args.length; i++) {
            Entry e = engine.stored(Key.of(args[i]));
            out.bulk(e == null ? "" : e.hlc() + ":" + e.nodeId());
        }
    }

    /**
     * Records the versions of a WATCH's answer. An error answer (no live owner, a timeout) marks the
     * watches failed: the EXEC after it will not run on state nobody checked.
     *
     * @return the client's reply: OK, or the error the coordinator answered
     */
    static byte[] recordWatched(Transaction.Watches watches, byte[][] args, byte[] reply) {
        if (reply.length == 0 || reply[0] == '-' || reply[0] == '!') {
            watches.fail();
            return reply;
        }
        byte[][] elements = RawReply.arrayElements(reply);
        for (int i = 0; i < elements.length && i + 1 < args.length; i++) {
            String v = bulkText(elements[i]);
            int colon = v.indexOf(':');
            watches.record(args[i + 1], v.isEmpty() ? null
                    : new Version(Long.parseLong(v.substring(0, colon)), Long.parseLong(v.substring(colon + 1))));
        }
        return "+OK\r\n".getBytes(StandardCharsets.US_ASCII);
    }

    /** EXEC's reply when a watched key changed (or could not be checked): a null array. */
    static byte[] aborted(int protocol) {
        return (protocol == 3 ? "_\r\n" : "*-1\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** The text of a raw RESP bulk string ({@code $3\r\nabc\r\n}). */
    private static String bulkText(byte[] raw) {
        int start = 0;
        while (raw[start] != '\n') {
            start++;
        }
        return new String(raw, start + 1, raw.length - start - 3, StandardCharsets.US_ASCII);
    }

    /**
     * Runs a transaction on this node's engine: checks the watched versions, then runs every command
     * while holding the locks of all the keys. The caller captures what it wrote.
     *
     * @return EXEC's raw reply: the array of the commands' replies, or a null array if a watched key
     *         changed
     */
    byte[] runHere(Execution execution, int protocol, Transaction.Unit unit) {
        return engine.atomically(unit.keys(table), txn -> {
            for (int i = 0; i < unit.watchedKeys().size(); i++) {
                Entry now = engine.stored(Key.of(unit.watchedKeys().get(i)));
                Version was = unit.watchedVersions().get(i);
                boolean same = now == null ? was == null
                        : was != null && was.hlc() == now.hlc() && was.nodeId() == now.nodeId();
                if (!same) {
                    return aborted(protocol);
                }
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(("*" + unit.commands().size() + "\r\n").getBytes(StandardCharsets.US_ASCII));
            for (byte[][] command : unit.commands()) {
                CommandSpec spec = table.find(command[0]);
                if (spec == unwatch) {
                    out.writeBytes("+OK\r\n".getBytes(StandardCharsets.US_ASCII));
                } else if (command.length == 2 && Arrays.equals(command[0], REFUSED)) {
                    out.writeBytes(ErrorReplies.errorReply(new String(command[1], StandardCharsets.UTF_8)));
                } else if (spec == null || !spec.arityAccepts(command.length)) {
                    out.writeBytes(("-ERR command '" + new String(command[0], StandardCharsets.UTF_8)
                            + "' cannot run here\r\n").getBytes(StandardCharsets.UTF_8));
                } else {
                    out.writeBytes(execution.runDetached(protocol, spec, command));
                }
            }
            return out.toByteArray();
        });
    }

    /**
     * Stands in a transaction's commands for one refused at EXEC ({@link #refused}): a name no client can queue
     * (an unknown command aborts the transaction), so only EXEC's check puts it there; it travels with the
     * transaction when forwarded, and its reply is its error.
     */
    private static final byte[] REFUSED = "\0refused".getBytes(StandardCharsets.US_ASCII);

    /** A queued command refused at EXEC: its reply in EXEC's will be {@code error}. */
    static byte[][] refused(String error) {
        return new byte[][] {REFUSED, error.getBytes(StandardCharsets.UTF_8)};
    }

    /** Whether the transaction writes: it needs the write level's replicas. */
    boolean writes(Transaction.Unit unit) {
        for (byte[][] c : unit.commands()) {
            CommandSpec spec = table.find(c[0]);
            if (spec != null && spec.has(CommandFlag.WRITE)) {
                return true;
            }
        }
        return false;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
