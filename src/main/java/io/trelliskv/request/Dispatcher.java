package io.trelliskv.request;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.trelliskv.command.Args;
import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandFlag;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.Clock;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.net.CommandSink;
import io.trelliskv.net.DeferredReply;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.storage.Engine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Runs each client command: finds it in the {@link CommandTable}, checks its arity, refuses writes
 * that would take memory over the bound (after trying to evict), runs the handler, and turns
 * {@link CommandException}s into error replies. This is the one place where command errors become RESP
 * errors and where INFO's command statistics are counted.
 *
 * <p>If a handler fails unexpectedly, whatever part of its reply it wrote is discarded and replaced by
 * one error reply, so the connection's reply stream stays well-formed and the node keeps serving.
 *
 * <p>Routing is optional. Once {@link #enableRouting} has given the dispatcher a {@link Placement} and
 * a {@link Forwarder}, each keyed command passes through the {@link Router} after its arity check and
 * may run on its owner instead (the owner checks memory and counts the command's statistics); without
 * them — a standalone node, the tests' harness — every command runs here and the only cost is one null
 * check. Commands received from a peer come in through {@link #executeForwarded} and always run here.
 */
public final class Dispatcher implements CommandSink {

    private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);

    private final CommandTable table;
    private final Engine engine;
    private final Clock clock;
    /** Whether a memory bound is configured; when not, the OOM check is skipped entirely. */
    private final boolean memoryBounded;
    private final LongAdder commandsProcessed = new LongAdder();
    private final LongAdder unknownCommands = new LongAdder();
    private final LongAdder errorReplies = new LongAdder();
    /** MULTI, EXEC, DISCARD, WATCH, UNWATCH. */
    private final Transactions transactions;
    /** The order of the commands other nodes forward here, per client connection of theirs. */
    private final ForwardedStreams forwardedStreams = new ForwardedStreams();
    /** Sends keyed commands to their owners; null on a standalone node, where everything runs here. */
    private volatile Router router;
    /**
     * True from start until a node started with seeds has heard from one of them. Until then its ring
     * holds only itself, so a keyed command would run as on a cluster of one — a write acknowledged at
     * QUORUM by this node alone, a read that finds nothing — and is refused instead.
     */
    private volatile boolean joining;
    /** Coordinates keyed commands across their replicas; null without a cluster. */
    private volatile Coordination replication;
    /** Flushes the whole cluster; null without a cluster (FLUSHALL then flushes this node's engine). */
    private volatile Supplier<CompletableFuture<String>> clusterFlush;
    /** FLUSHALL's and FLUSHDB's specs, found once routing a flush becomes possible; null before. */
    private volatile CommandSpec flushAll;
    private volatile CommandSpec flushDb;

    public Dispatcher(CommandTable table, Engine engine, Clock clock, boolean memoryBounded) {
        this.table = table;
        this.engine = engine;
        this.clock = clock;
        this.memoryBounded = memoryBounded;
        this.transactions = new Transactions(table, engine);
    }

    /**
     * Lets keyed commands run on the node that owns their keys; until called, every command runs here.
     * May be called while serving: commands already routed are not affected.
     *
     * @return the router, for its counters
     */
    public Router enableRouting(Placement placement, Forwarder forwarder) {
        Router r = new Router(this, placement, forwarder);
        router = r;
        return r;
    }

    /**
     * Makes keyed commands that run here coordinate their keys' replicas (see {@link Replication})
     * whenever this node does not own the whole ring.
     */
    public void enableReplication(Coordination replication) {
        this.replication = replication;
    }

    /**
     * Makes FLUSHALL and FLUSHDB cluster-wide: {@code flush} flushes every live member and completes
     * with null, or with an error text (see {@code Cluster.flushAll}).
     */
    public void enableClusterFlush(Supplier<CompletableFuture<String>> flush) {
        this.flushAll = table.find("flushall".getBytes(StandardCharsets.US_ASCII));
        this.flushDb = table.find("flushdb".getBytes(StandardCharsets.US_ASCII));
        this.clusterFlush = flush;
    }

    /** The router, or null if routing is not enabled. */
    public Router router() {
        return router;
    }

    @Override
    public void execute(ClientConnection client, byte[][] args) {
        commandsProcessed.increment();
        if (client.attachment() instanceof Session s && s.queuing()) {
            CommandSpec queued = table.find(args[0]);
            if (queued != null) {
                client.commandStarted(queued.name(), clock.millis());
            }
            if (transactions.queue(client, s.transaction(), queued, args, this::errorReplied)) {
                return;
            }
        }
        CommandSpec spec = admit(client, args);
        if (spec == null) {
            return;
        }
        if (transactions.handles(spec)) {
            runTransactionCommand(client, spec, args);
            return;
        }
        if ((spec == flushAll || spec == flushDb) && clusterFlush != null && router != null) {
            flushInOrder(client, spec, args);
            return;
        }
        if (spec.firstKey() > 0) {
            if (joining) {
                refuseWhileJoining(client);
                return;
            }
            Router r = router;
            if (r != null) {
                runKeyed(client, r, spec, args);
                return;
            }
        }
        run(client, spec, args);
    }

    /**
     * Runs a client's keyed command once routing is enabled: here, forwarded to its keys' coordinator,
     * or split among several, in the connection's order.
     *
     * <h2>Order</h2>
     * The commands of one connection take effect in the order they were sent, whichever node
     * coordinates them: commands to one coordinator travel in order on one peer connection and start
     * there in order ({@link ForwardedStreams}); commands coordinated here start in order
     * ({@link InOrder}). Only a change of coordinators could break this — a node declared dead or alive
     * again, a ring change — as a command sent to the new coordinator could overtake one still on its way
     * to the old. So when the placement's epoch has changed while commands are outstanding, the command
     * waits until they have answered, and the connection's later commands wait behind it.
     */
    private void runKeyed(ClientConnection client, Router r, CommandSpec spec, byte[][] args) {
        Session session = Session.of(client);
        int protocol = client.writer().protocol();
        long epoch = r.epoch();
        CompletableFuture<Void> heldBack = session.mustWait(epoch);
        if (heldBack != null) {
            holdBack(client, session, r, () -> runDetachedKeyed(r, session, protocol, spec, args));
            return;
        }
        CompletableFuture<byte[]> routed = r.route(session, protocol, spec, args);
        if (routed == null) {
            Coordination rep = replication;
            if (rep == null || !rep.active()) {
                run(client, spec, args);
                return;
            }
            routed = rep.runForClient(client, session, spec, args);
            if (routed == null) {
                return; // answered at once
            }
        }
        if (routed.isDone()) {
            client.writer().target().writeBytes(routed.join());
            return;
        }
        DeferredReply reply = client.deferReply();
        session.outstanding(routed, epoch);
        routed.thenAccept(reply::complete);
    }

    /** Answers a command held back by a change of coordinators once {@code work}, run later, completes. */
    private void holdBack(ClientConnection client, Session session, Router r, Supplier<CompletableFuture<byte[]>> work) {
        DeferredReply reply = client.deferReply();
        session.holdBack(() -> {
            CompletableFuture<byte[]> done = work.get();
            session.outstanding(done, r.epoch());
            done.thenAccept(reply::complete);
        });
    }

    /**
     * Answers a client's command whose reply {@code work} produces (on any thread), in the
     * connection's order: held back while coordinators change, like a keyed command.
     */
    private void answerInOrder(ClientConnection client, Session session, Router r,
                               Supplier<CompletableFuture<byte[]>> work) {
        long epoch = r.epoch();
        if (session.mustWait(epoch) != null) {
            holdBack(client, session, r, work);
            return;
        }
        CompletableFuture<byte[]> done = work.get();
        if (done.isDone()) {
            client.writer().target().writeBytes(done.join());
            return;
        }
        DeferredReply reply = client.deferReply();
        session.outstanding(done, epoch);
        done.thenAccept(reply::complete);
    }

    /** MULTI, EXEC, DISCARD, WATCH, UNWATCH outside a queuing transaction; see {@link Transactions}. */
    private void runTransactionCommand(ClientConnection client, CommandSpec spec, byte[][] args) {
        Session session = Session.of(client);
        Transaction tx = session.transaction();
        RespWriter out = client.writer();
        int protocol = out.protocol();
        Router r = router;
        switch (spec.name()) {
            case "multi" -> {
                tx.begin();
                out.ok();
            }
            case "discard" -> {
                if (!tx.queuing()) {
                    errorReplied();
                    out.error("ERR DISCARD without MULTI");
                    return;
                }
                tx.end();
                out.ok();
            }
            case "unwatch" -> {
                tx.unwatch();
                out.ok();
            }
            case "watch" -> {
                Transaction.Watches watches = tx.watches();
                if (joining && r != null) {
                    watches.fail();
                    refuseWhileJoining(client);
                } else if (r == null) {
                    out.target().writeBytes(Transactions.recordWatched(watches, args, runDetached(protocol, spec, args)));
                } else {
                    CompletableFuture<Void> answered = watches.expect();
                    answerInOrder(client, session, r, () -> runDetachedKeyed(r, session, protocol, spec, args)
                            .thenApply(reply -> {
                                byte[] resp = Transactions.recordWatched(watches, args, reply);
                                answered.complete(null);
                                return resp;
                            }));
                }
            }
            default -> { // exec
                if (!tx.queuing()) {
                    errorReplied();
                    out.error("ERR EXEC without MULTI");
                    return;
                }
                if (tx.dirty()) {
                    tx.end();
                    errorReplied();
                    out.error(Transactions.EXECABORT);
                    return;
                }
                List<byte[][]> commands = tx.queued();
                Transaction.Watches watches = tx.watches();
                tx.end();
                if (joining && r != null) {
                    refuseWhileJoining(client);
                } else if (r == null) {
                    out.target().writeBytes(watches.failed() ? Transactions.aborted(protocol)
                            : transactions.runHere(this, protocol, watches.unit(commands)));
                } else {
                    // A WATCH pipelined ahead may not have its versions yet: EXEC, and every later
                    // command of the connection, waits for them.
                    CompletableFuture<Void> answered = watches.answered();
                    Supplier<CompletableFuture<byte[]>> exec = () -> watches.failed()
                            ? CompletableFuture.completedFuture(Transactions.aborted(protocol))
                            : execDetached(r, session, protocol, watches.unit(commands));
                    if (answered.isDone()) {
                        answerInOrder(client, session, r, exec);
                    } else {
                        session.waitFor(answered);
                        holdBack(client, session, r, exec);
                    }
                }
            }
        }
    }

    /** Runs a transaction where its keys' coordinator is (any thread): EXEC's reply. */
    private CompletableFuture<byte[]> execDetached(Router r, Session session, int protocol, Transaction.Unit unit) {
        CompletableFuture<byte[]> routed = r.routeTransaction(session, protocol, unit.keys(table), unit.encode());
        if (routed != null) {
            return routed;
        }
        Coordination rep = replication;
        if (rep == null || !rep.active()) {
            return CompletableFuture.completedFuture(transactions.runHere(this, protocol, unit));
        }
        return rep.transaction(session, protocol, unit).thenApply(reply -> {
            reply.recordInto(session);
            return reply.resp();
        });
    }

    private void refuseWhileJoining(ClientConnection client) {
        errorReplied();
        client.writer().error("TRYAGAIN this node has not joined its cluster yet (no seed has answered); "
                + "nothing was done: retry, or ask another node");
    }

    Transactions transactions() {
        return transactions;
    }

    /**
     * FLUSHALL or FLUSHDB in a cluster, in the connection's order like a write of every key: it starts once
     * the connection's earlier commands have answered (so none of them lands after the flush), and the
     * connection's later commands start once every live member has applied it (so none of them reads
     * what it flushed).
     */
    private void flushInOrder(ClientConnection client, CommandSpec spec, byte[][] args) {
        if (args.length > 2 || (args.length == 2 && !Args.is(args[1], "ASYNC") && !Args.is(args[1], "SYNC"))) {
            spec.stats().failed.increment();
            errorReplied();
            client.writer().error(CommandException.syntax().getMessage());
            return;
        }
        if (joining) {
            errorReplied();
            client.writer().error("TRYAGAIN this node has not joined its cluster yet (no seed has answered); "
                    + "nothing was flushed: retry, or ask another node");
            return;
        }
        spec.stats().calls.increment();
        Session session = Session.of(client);
        Router r = router;
        Supplier<CompletableFuture<String>> flush = clusterFlush;
        CompletableFuture<byte[]> flushed = new CompletableFuture<>();
        session.waitFor(session.allOutstanding());
        holdBack(client, session, r, () -> {
            flush.get().whenComplete((error, failure) -> {
                String text = failure != null ? "ERR flush failed: " + Router.reason(failure) : error;
                if (text != null) {
                    errorReplied();
                }
                flushed.complete((text == null ? "+OK" : "-" + text.replace('\r', ' ').replace('\n', ' '))
                        .concat("\r\n").getBytes(StandardCharsets.UTF_8));
            });
            return flushed;
        });
        session.waitFor(flushed);
    }

    /** Routes and runs a client's keyed command away from its connection (any thread): its reply. */
    private CompletableFuture<byte[]> runDetachedKeyed(Router r, Session session, int protocol, CommandSpec spec,
                                                      byte[][] args) {
        CompletableFuture<byte[]> routed = r.route(session, protocol, spec, args);
        if (routed != null) {
            return routed;
        }
        return executeHere(session, protocol, args).thenApply(reply -> {
            reply.recordInto(session);
            return reply.resp();
        });
    }

    /**
     * Runs a command received from a peer here, never routing it again (one hop, even while the ring
     * changes), with the same checks and statistics as a client's command; a keyed command coordinates
     * its replicas with the levels and floors the forwarding node sent.
     *
     * @return the raw RESP reply, encoded in the request's protocol, and the versions it wrote
     */
    public CompletableFuture<ForwardCodec.Reply> executeForwarded(long fromNode, ForwardCodec.Request request) {
        commandsProcessed.increment();
        Session session = Session.forwarded(request.readLevel(), request.writeLevel(), request.floors());
        byte[][] args = request.args();
        CommandSpec spec = table.find(args[0]);
        Coordination rep = replication;
        if (spec == transactions.exec()) {
            return executeForwardedTransaction(fromNode, request, session, rep);
        }
        if (spec == null || spec.firstKey() <= 0 || !spec.arityAccepts(args.length) || rep == null || !rep.active()) {
            return CompletableFuture.completedFuture(ForwardCodec.Reply.of(runDetached(request.protocol(), args)));
        }
        CompletableFuture<ForwardCodec.Reply> reply = new CompletableFuture<>();
        forwardedStreams.submit(fromNode, request.stream(), Coordination.tokens(Coordination.keys(spec, args)),
                spec.has(CommandFlag.WRITE), () -> {
            CompletableFuture<Void> ran = new CompletableFuture<>();
            rep.start(session, request.protocol(), spec, args, ran).thenAccept(reply::complete);
            return ran;
        });
        return reply;
    }

    /** A transaction forwarded by the node its client is connected to; see {@link Transactions}. */
    private CompletableFuture<ForwardCodec.Reply> executeForwardedTransaction(long fromNode, ForwardCodec.Request request,
                                                                           Session session, Coordination rep) {
        Transaction.Unit unit;
        try {
            unit = Transaction.Unit.decode(request.args());
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (rep == null || !rep.active()) {
            return CompletableFuture.completedFuture(ForwardCodec.Reply.of(
                    transactions.runHere(this, request.protocol(), unit)));
        }
        CompletableFuture<ForwardCodec.Reply> reply = new CompletableFuture<>();
        forwardedStreams.submit(fromNode, request.stream(), Coordination.tokens(unit.keys(table)),
                transactions.writes(unit), () -> {
            CompletableFuture<Void> ran = new CompletableFuture<>();
            rep.startTransaction(session, request.protocol(), unit, ran).thenAccept(reply::complete);
            return ran;
        });
        return reply;
    }

    /**
     * Runs a command here for no client of this node (a peer's, or a router's local share), as the
     * coordinator of its keys' replicas when replication is active. Never fails: errors are replies.
     */
    CompletableFuture<ForwardCodec.Reply> executeHere(Session session, int protocol, byte[][] args) {
        CommandSpec spec = table.find(args[0]);
        Coordination rep = replication;
        if (spec != null && spec.firstKey() > 0 && spec.arityAccepts(args.length) && rep != null && rep.active()) {
            return rep.execute(session, protocol, spec, args);
        }
        return CompletableFuture.completedFuture(ForwardCodec.Reply.of(runDetached(protocol, args)));
    }

    /** Runs a command here for no client of this node: its raw reply. */
    byte[] runDetached(int protocol, byte[][] args) {
        return runDetached(protocol, null, args);
    }

    /** Like {@link #runDetached(int, byte[][])} for a command already found and arity-checked (non-null spec). */
    byte[] runDetached(int protocol, CommandSpec found, byte[][] args) {
        ClientConnection peer = ClientConnection.detached(clock.millis());
        peer.writer().protocol(protocol);
        ByteBuf buf = ByteBufAllocator.DEFAULT.heapBuffer();
        try {
            peer.writer().target(buf);
            CommandSpec spec = found != null ? found : admit(peer, args);
            if (spec != null) {
                run(peer, spec, args);
            }
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    /** Finds the command and checks its arity; null if refused (the error reply is written). */
    private CommandSpec admit(ClientConnection client, byte[][] args) {
        CommandSpec spec = table.find(args[0]);
        if (spec == null) {
            unknownCommands.increment();
            errorReplies.increment();
            client.writer().error(unknownCommand(args));
            return null;
        }
        client.commandStarted(spec.name(), clock.millis());
        if (!spec.arityAccepts(args.length)) {
            spec.stats().rejected.increment();
            errorReplies.increment();
            client.writer().error("ERR wrong number of arguments for '" + spec.name() + "' command");
            return null;
        }
        return spec;
    }

    /** Checks memory, runs the handler here and counts it. */
    void run(ClientConnection client, CommandSpec spec, byte[][] args) {
        RespWriter out = client.writer();
        CommandSpec.Stats stats = spec.stats();
        if (memoryBounded && spec.has(CommandFlag.DENYOOM) && !engine.makeRoom()) {
            stats.rejected.increment();
            errorReplies.increment();
            out.error(CommandException.OOM);
            return;
        }
        int mark = out.target().writerIndex();
        long start = clock.nanos();
        try {
            spec.handler().handle(client, args, out);
        } catch (CommandException e) {
            out.target().writerIndex(mark);
            stats.failed.increment();
            errorReplies.increment();
            out.error(e.getMessage());
        } catch (RuntimeException e) {
            out.target().writerIndex(mark);
            stats.failed.increment();
            errorReplies.increment();
            log.error("Command '{}' failed for client id={} addr={}", spec.name(), client.id(),
                    client.remoteAddress(), e);
            out.error("ERR internal error while running '" + spec.name() + "': " + e.getClass().getSimpleName());
        }
        stats.nanos.add(clock.nanos() - start);
        stats.calls.increment();
    }

    /** True until a node started with seeds has heard from one of them; see {@link #joining}. */
    public boolean joining() {
        return joining;
    }

    /** Refuse keyed commands (true) until the node has joined its cluster (false); see {@link #joining}. */
    public void joining(boolean joining) {
        this.joining = joining;
    }

    /** An error reply was sent on the router's behalf (refused, or a forward that failed). */
    void errorReplied() {
        errorReplies.increment();
    }

    /** Redis's text: {@code ERR unknown command 'x', with args beginning with: 'a' 'b' }. */
    static String unknownCommand(byte[][] args) {
        StringBuilder sb = new StringBuilder("ERR unknown command '")
                .append(truncate(args[0], 128)).append("', with args beginning with: ");
        int budget = 128;
        for (int i = 1; i < args.length && budget > 0; i++) {
            String arg = truncate(args[i], budget);
            sb.append('\'').append(arg).append("' ");
            budget -= arg.length() + 3;
        }
        return sb.toString();
    }

    private static String truncate(byte[] b, int max) {
        return new String(b, 0, Math.min(b.length, max), StandardCharsets.UTF_8);
    }

    public CommandTable table() {
        return table;
    }

    public long commandsProcessed() {
        return commandsProcessed.sum();
    }

    public long unknownCommands() {
        return unknownCommands.sum();
    }

    public long errorReplies() {
        return errorReplies.sum();
    }

    /** CONFIG RESETSTAT. */
    public void resetStats() {
        commandsProcessed.reset();
        unknownCommands.reset();
        errorReplies.reset();
        table.all().forEach(spec -> spec.stats().reset());
    }
}
