package io.trelliskv.cluster;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.trelliskv.command.Args;
import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.Key;
import io.trelliskv.common.ParseException;
import io.trelliskv.common.RefusedException;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.net.DeferredReply;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.ReadReply;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.request.ErrorReplies;
import io.trelliskv.request.Session;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.version.Hlc;

import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.trelliskv.command.CommandFlag.FAST;
import static io.trelliskv.command.CommandFlag.LOADING;
import static io.trelliskv.command.CommandFlag.STALE;

/**
 * Commands about replication itself.
 *
 * <ul>
 * <li>{@code CONSISTENCY}: the levels in force on this connection, as {@code read LEVEL write LEVEL}.
 *     {@code CONSISTENCY LEVEL} sets both, {@code CONSISTENCY READ|WRITE LEVEL} one of them, and
 *     {@code CONSISTENCY DEFAULT} goes back to the node's defaults. LEVEL is ONE, QUORUM or ALL. The
 *     choice travels with the connection's commands when they are forwarded.</li>
 * <li>{@code REPLICAS key}: every replica of the key in preference order, each as
 *     {@code [node, state, version, kind]}: node as {@code id@host:port}; state {@code alive}, {@code down}
 *     or an error; version as {@code physicalMillis.logical@nodeId} or {@code none}; kind {@code value},
 *     {@code tombstone}, {@code missing} or {@code unknown}. Asks each live replica; repairs nothing.</li>
 * </ul>
 */
public final class ReplicationCommands {

    private final ReplicationConfig config;
    private final ClusterState state;
    private final ReplicaInspector replicas;

    public ReplicationCommands(ReplicationConfig config, ClusterState state, ReplicaInspector replicas) {
        this.config = config;
        this.state = state;
        this.replicas = replicas;
    }

    public void registerInto(CommandTable t) {
        t.register("consistency", -1, EnumSet.of(FAST, LOADING, STALE), this::consistency);
        t.register("replicas", 2, EnumSet.of(LOADING, STALE), this::replicas);
    }

    private void consistency(ClientConnection client, byte[][] args, RespWriter out) {
        Session session = Session.of(client);
        if (args.length == 1) {
            ConsistencyLevel read = session.readLevel() != null ? session.readLevel() : config.readLevel();
            ConsistencyLevel write = session.writeLevel() != null ? session.writeLevel() : config.writeLevel();
            out.array(4).bulk("read").bulk(read.name()).bulk("write").bulk(write.name());
            return;
        }
        if (args.length == 2 && Args.is(args[1], "DEFAULT")) {
            session.readLevel(null);
            session.writeLevel(null);
        } else if (args.length == 2) {
            ConsistencyLevel level = parse(args[1]);
            session.readLevel(level);
            session.writeLevel(level);
        } else if (args.length == 3 && Args.is(args[1], "READ")) {
            session.readLevel(parse(args[2]));
        } else if (args.length == 3 && Args.is(args[1], "WRITE")) {
            session.writeLevel(parse(args[2]));
        } else {
            throw CommandException.syntax();
        }
        out.ok();
    }

    private static ConsistencyLevel parse(byte[] arg) {
        try {
            return ConsistencyLevel.parse(Args.str(arg));
        } catch (ParseException e) {
            throw new CommandException("ERR " + e.getMessage());
        }
    }

    private void replicas(ClientConnection client, byte[][] args, RespWriter out) {
        Key key = Key.of(args[1]);
        CompletableFuture<List<Coordinator.ReplicaCopy>> copies;
        try {
            copies = replicas.inspect(key);
        } catch (RefusedException e) {
            throw new CommandException("ERR " + e.getMessage());
        }
        DeferredReply reply = client.deferReply();
        int protocol = client.writer().protocol();
        copies.whenComplete((found, failure) -> {
            if (failure != null) {
                reply.fail("ERR " + ErrorReplies.reason(failure));
                return;
            }
            ByteBuf buf = Unpooled.buffer();
            RespWriter w = new RespWriter();
            w.protocol(protocol);
            w.target(buf);
            w.array(found.size());
            for (Coordinator.ReplicaCopy copy : found) {
                w.array(4).bulk(state.describe(copy.nodeId()));
                if (copy.error() != null) {
                    w.bulk(copy.alive() ? "error: " + copy.error() : "down").bulk("unknown").bulk("unknown");
                    continue;
                }
                ReadReply r = copy.copy();
                w.bulk("alive");
                if (r.missing()) {
                    w.bulk("none").bulk("missing");
                } else {
                    w.bulk(version(r.hlc(), r.nodeId()))
                            .bulk(r.entry() == null ? "unknown" : r.entry().isTombstone() ? "tombstone" : "value");
                }
            }
            reply.complete(buf);
        });
    }

    /** A version as operators read it: {@code physicalMillis.logical@nodeId}. */
    static String version(long hlc, long nodeId) {
        return Hlc.physical(hlc) + "." + Hlc.logical(hlc) + "@" + Long.toHexString(nodeId);
    }
}
