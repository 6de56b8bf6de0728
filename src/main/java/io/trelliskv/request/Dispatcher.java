package io.trelliskv.request;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.FastThreadLocal;
import io.trelliskv.command.Args;
import io.trelliskv.command.CommandCategories;
import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandFlag;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.net.CommandSink;
import io.trelliskv.net.DeferredReply;
import io.trelliskv.persist.Durability;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.Deadline;
import io.trelliskv.replication.ReplicationException;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.security.Acl;
import io.trelliskv.storage.Engine;
import io.trelliskv.version.Hlc;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * The first stage of a request's path, and its last: admits each command and writes or defers its reply
 * in the connection's order.
 *
 * <pre>
 *   client ─▶ Dispatcher ─▶ Router ─▶ Coordination ─▶ Execution ─▶ engine
 *             admit, order   route:    coordinate:     execute the
 *             and reply      here,     replicas,       handler
 *                            forward,  levels,
 *                            or split  versions
 * </pre>
 * Each stage hands the request to the next and never calls back up; a reply travels back as the
 * return value (written into the connection at once) or as a future the dispatcher answers the
 * connection's deferred reply slot with. A peer's forwarded command enters through
 * {@link #executeForwarded} and goes straight to {@link Coordination}: it is never routed again.
 *
 * <h2>Admission</h2>
 * Finds the command in the {@link CommandTable} and checks its arity (unknown commands and wrong arity
 * are refused here, with Redis's texts); queues it while the connection is in MULTI; refuses keyed
 * commands while the node has not joined its cluster. The memory bound is checked where the handler
 * runs ({@link Execution}), on the node whose memory the write takes.
 *
 * <h2>Order</h2>
 * The commands of one connection take effect in the order they were sent, whichever node coordinates
 * them. Three mechanisms keep it, one per stage: a coordinator starts a connection's commands in order,
 * each waiting only for the earlier ones it conflicts with ({@link Coordination}, with the session's
 * {@link InOrder} or the coordinator's {@link ForwardedStreams}); the router sends a connection's
 * forwards to one coordinator on one peer connection, in order ({@link Forwarder}); and here, a command
 * routed after a change of coordinators (a node declared dead or alive again, a ring change) waits until
 * the connection's outstanding commands have answered, so it cannot overtake one still on its way to
 * the old coordinator ({@link Session#mustWait}). Replies are written in request order whatever order
 * they complete in ({@link ClientConnection#deferReply}).
 *
 * <p>A standalone node, and a node whose cluster has not started yet, has no router: every command runs
 * here, and the only cost is one null check.
 */
public final class Dispatcher implements CommandSink {

    private static final byte[] OK = "+OK\r\n".getBytes(StandardCharsets.US_ASCII);

    /** The most keys of one read {@link #arriving} hands the engine at once. */
    private static final int PREFETCH_KEYS = 64;

    /** Per event loop: the tokens {@link #arriving} gathers, and where it keeps what the engine read. */
    private static final class Prefetch {
        final long[] tokens = new long[PREFETCH_KEYS];
        int read;
    }

    private static final FastThreadLocal<Prefetch> PREFETCH = new FastThreadLocal<>() {
        @Override
        protected Prefetch initialValue() {
            return new Prefetch();
        }
    };

    private final CommandTable table;
    private final Engine engine;
    private final Clock clock;
    private final RequestStats stats = new RequestStats();
    /** The last stage, shared by every path. */
    private final Execution execution;
    /** Logins and permissions, checked on admission. */
    private final AccessControl access;
    /** The node's log, for what acknowledgements wait for. */
    private final Durability durability;
    /** MULTI, EXEC, DISCARD, WATCH, UNWATCH. */
    private final Transactions transactions;
    /** The route and coordinate stages of a node in a cluster; null until its cluster has started. */
    private volatile ClusterStages cluster;
    /**
     * True from start until a node started with seeds has heard from one of them. Until then its ring
     * holds only itself, so a keyed command would run as on a cluster of one — a write acknowledged at
     * QUORUM by this node alone, a read that finds nothing — and is refused instead.
     */
    private volatile boolean joining;

    /**
     * The stages a node in a cluster adds: the router, and the coordination it hands local commands to;
     * and the two commands that go to every member.
     */
    private record ClusterStages(Router router, Coordination coordination, CommandSpec flushAll, CommandSpec flushDb) {

        boolean flushes(CommandSpec spec) {
            return spec == flushAll || spec == flushDb;
        }
    }

    public Dispatcher(CommandTable table, Engine engine, Clock clock, boolean memoryBounded) {
        this(table, engine, clock, memoryBounded, Durability.NONE);
    }

    /**
     * @param durability the node's log: writes are refused while it cannot write, and under
     *                   {@code appendfsync always} a write is acknowledged only once it is on disk
     */
    public Dispatcher(CommandTable table, Engine engine, Clock clock, boolean memoryBounded, Durability durability) {
        this(table, engine, clock, memoryBounded, durability, new Acl(new CommandCategories(table)), false);
    }

    /**
     * @param acl           the node's users: who may run what (see {@link AccessControl})
     * @param protectedMode refuse clients from other hosts while the default user needs no password
     */
    public Dispatcher(CommandTable table, Engine engine, Clock clock, boolean memoryBounded, Durability durability,
                      Acl acl, boolean protectedMode) {
        this.table = table;
        this.engine = engine;
        this.clock = clock;
        this.durability = durability;
        this.execution = new Execution(engine, clock, memoryBounded, stats, durability);
        this.transactions = new Transactions(table, engine);
        this.access = new AccessControl(acl, clock, protectedMode);
    }

    /**
     * Makes this node serve as a member of a cluster: keyed commands go to the node that coordinates
     * their keys ({@code placement}, {@code forwarder}), those coordinated here coordinate their
     * replicas ({@code coordinator}, with {@code hlc}, the clock the engine stamps writes with) whenever
     * this node does not own the whole ring, and FLUSHALL and
     * FLUSHDB flush every live member ({@code clusterFlush} completes when every live member applied it, or
     * fails: with a {@link ReplicationException} whose message is the reply, or with any other failure).
     * Called once, when the cluster starts; until then every command runs here.
     *
     * @return the router, for its counters
     */
    public Router serveCluster(Placement placement, Forwarder forwarder, Coordinator coordinator, Hlc hlc,
                               Supplier<CompletableFuture<Void>> clusterFlush) {
        if (cluster != null) {
            throw new IllegalStateException("the cluster's stages are already in place");
        }
        Coordination coordination = new Coordination(execution, transactions, table, coordinator, hlc, placement,
                stats, durability);
        Router router = new Router(placement, forwarder, clusterFlush, coordination, stats);
        cluster = new ClusterStages(router, coordination, table.find("flushall".getBytes(StandardCharsets.US_ASCII)),
                table.find("flushdb".getBytes(StandardCharsets.US_ASCII)));
        return router;
    }

    /** The router, or null if this node does not serve a cluster (yet). */
    public Router router() {
        ClusterStages c = cluster;
        return c == null ? null : c.router();
    }

    /**
     * A read's commands, before they run: asks the engine to bring their keys into the processor's cache,
     * all together ({@link Engine#prefetch}), so the commands that follow do not each wait for memory in
     * turn. Each key's lookup starts with cache misses on the engine's index and on the record, one after
     * the other; across keys they overlap. Done when the read names two keys or more (a pipeline, or one
     * MGET or MSET); at most {@value #PREFETCH_KEYS} are handed over. Nothing depends on it: an unknown
     * command, or a key this node does not hold, costs a lookup that finds nothing.
     */
    @Override
    public void arriving(List<Object> commands, int from) {
        Prefetch p = PREFETCH.get();
        long[] tokens = p.tokens;
        int count = 0;
        for (int c = from, n = commands.size(); c < n && count < tokens.length; c++) {
            byte[][] args = (byte[][]) commands.get(c);
            CommandSpec spec = table.find(args[0]);
            if (spec == null || spec.firstKey() <= 0) {
                continue;
            }
            int last = spec.lastKey() < 0 ? args.length + spec.lastKey() : Math.min(spec.lastKey(), args.length - 1);
            int step = Math.max(1, spec.step());
            for (int i = spec.firstKey(); i <= last && count < tokens.length; i += step) {
                tokens[count++] = Key.tokenOf(args[i]);
            }
        }
        if (count >= 2) {
            p.read += engine.prefetch(tokens, count); // kept, so the reads are not optimized away
        }
    }

    @Override
    public void execute(ClientConnection client, byte[][] args) {
        if (durability.acknowledgesDurably() && writes(table.find(args[0]))) {
            executeDurably(client, args);
            return;
        }
        executeNow(client, args);
    }

    private boolean writes(CommandSpec spec) {
        return spec != null && (spec.has(CommandFlag.WRITE) || spec == transactions.exec());
    }

    /**
     * Under {@code appendfsync always}: runs a command whose reply must not leave before what it wrote is on
     * disk. A reply the command writes at once is caught and put in a deferred slot that is answered once the
     * log's barrier, taken after the command ran, completes. A reply the command defers comes from
     * {@link Coordination}, which waits for the same barrier on the node that wrote.
     */
    private void executeDurably(ClientConnection client, byte[][] args) {
        RespWriter out = client.writer();
        ByteBuf own = out.target();
        // from the connection's pool, as its own output is: a write per command must not make garbage
        ByteBuf caught = own != null ? own.alloc().buffer(64) : Unpooled.buffer(64);
        out.target(caught);
        try {
            executeNow(client, args);
        } finally {
            if (out.target() != caught) {
                caught.release(); // the command deferred its reply (and wrote none here)
            } else {
                out.target(own);
                if (!caught.isReadable()) {
                    caught.release();
                } else {
                    held.get().hold(durability.durable(), client.deferReply(), caught);
                }
            }
        }
    }

    /**
     * Under {@code appendfsync always}: the replies each thread (an event loop) holds until the log's barrier
     * they wait for completes.
     */
    private final ThreadLocal<HeldReplies> held = ThreadLocal.withInitial(HeldReplies::new);

    /**
     * The replies one event loop holds back until the log's barrier completes. Replies waiting for the same
     * barrier (the same group commit) are released together, by one callback and one task on the loop,
     * not one of each per reply. Used by its event loop's thread only: the lists are read by the task the
     * callback puts on that loop, never by the log's thread.
     */
    private static final class HeldReplies {
        private CompletableFuture<Void> barrier;
        private List<DeferredReply> slots;
        private List<ByteBuf> replies;

        void hold(CompletableFuture<Void> next, DeferredReply slot, ByteBuf reply) {
            if (next == barrier) {
                slots.add(slot);
                replies.add(reply);
                return;
            }
            List<DeferredReply> s = new ArrayList<>();
            List<ByteBuf> r = new ArrayList<>();
            s.add(slot);
            r.add(reply);
            if (!next.isDone() && slot.calledOnLoop()) { // else nothing may add to the lists the loop reads
                barrier = next; // a barrier is handed out only until it completes
                slots = s;
                replies = r;
            }
            next.whenComplete((v, failure) -> slot.onLoop(() ->
                    DeferredReply.completeAll(s, r, failure == null ? null : ErrorReplies.reason(failure))));
        }
    }

    private void executeNow(ClientConnection client, byte[][] args) {
        stats.commandReceived();
        if (client.attachment() instanceof Session s && s.queuing()) {
            CommandSpec queued = table.find(args[0]);
            if (queued != null) {
                client.commandStarted(queued.name(), clock.millis());
                String refusal = access.refusal(client, queued, args, true);
                if (refusal != null) {
                    // As Redis: a command refused while queued is not queued, and EXEC then aborts.
                    s.transaction().markDirty();
                    stats.errorReplied();
                    client.writer().error(refusal);
                    if (refusal == AccessControl.USER_GONE) {
                        client.closeAfterReply();
                    }
                    return;
                }
            }
            if (transactions.queue(client, s.transaction(), queued, args, stats::errorReplied)) {
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
        ClusterStages c = cluster;
        Router r = c == null ? null : c.router();
        if (c != null && c.flushes(spec)) {
            flushInOrder(client, r, spec, args);
            return;
        }
        if (spec.firstKey() > 0) {
            if (joining) {
                refuseWhileJoining(client);
                return;
            }
            if (r != null) {
                runKeyed(client, r, spec, args);
                return;
            }
        }
        execution.run(client, spec, args);
    }

    /**
     * Hands a client's keyed command to the router, in the connection's order: when the placement's
     * epoch has changed while the connection's commands are outstanding, the command waits until they
     * have answered (see Order above), and the connection's later commands wait behind it.
     */
    private void runKeyed(ClientConnection client, Router r, CommandSpec spec, byte[][] args) {
        Session session = Session.of(client);
        int protocol = client.writer().protocol();
        long epoch = r.epoch();
        CompletableFuture<Void> heldBack = session.mustWait(epoch);
        if (heldBack != null) {
            String user = client.user(); // the user it was admitted as, whatever the connection logs in as meanwhile
            holdBack(client, session, r, () -> r.route(session, protocol, user, spec, args));
            return;
        }
        CompletableFuture<byte[]> routed = r.routeForClient(client, session, spec, args);
        if (routed == null) {
            return; // answered at once
        }
        if (routed.isDone()) {
            client.writer().target().writeBytes(routed.join());
            return;
        }
        DeferredReply reply = client.deferReply();
        session.outstanding(routed, epoch);
        if (routed instanceof ReplyToCome toCome) {
            toCome.deliverTo(reply); // no stage of its own for a command coordinated here
        } else {
            routed.thenAccept(reply::complete);
        }
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
        Router r = router();
        switch (spec.name()) {
            case "multi" -> {
                tx.begin();
                out.ok();
            }
            case "discard" -> {
                if (!tx.queuing()) {
                    stats.errorReplied();
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
                    out.target().writeBytes(Transactions.recordWatched(watches, args,
                            execution.runDetached(protocol, spec, args)));
                } else {
                    CompletableFuture<Void> answered = watches.expect();
                    String user = client.user();
                    answerInOrder(client, session, r, () -> r.route(session, protocol, user, spec, args)
                            .thenApply(reply -> {
                                byte[] resp = Transactions.recordWatched(watches, args, reply);
                                answered.complete(null);
                                return resp;
                            }));
                }
            }
            default -> { // exec
                if (!tx.queuing()) {
                    stats.errorReplied();
                    out.error("ERR EXEC without MULTI");
                    return;
                }
                if (tx.dirty()) {
                    tx.end();
                    stats.errorReplied();
                    out.error(Transactions.EXECABORT);
                    return;
                }
                List<byte[][]> commands = recheckAtExec(client, tx.queued());
                Transaction.Watches watches = tx.watches();
                tx.end();
                if (joining && r != null) {
                    refuseWhileJoining(client);
                } else if (r == null) {
                    out.target().writeBytes(watches.failed() ? Transactions.aborted(protocol)
                            : transactions.runHere(execution, protocol, watches.unit(commands)));
                } else {
                    // A WATCH pipelined ahead may not have its versions yet: EXEC, and every later
                    // command of the connection, waits for them.
                    CompletableFuture<Void> answered = watches.answered();
                    String user = client.user(); // EXEC's: its commands run as it, however late they leave
                    Supplier<CompletableFuture<byte[]>> exec = () -> watches.failed()
                            ? CompletableFuture.completedFuture(Transactions.aborted(protocol))
                            : r.routeTransaction(session, protocol, user, watches.unit(commands).keys(table),
                                    watches.unit(commands));
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

    /**
     * The queued commands with each one its user may no longer run (ACL rules changed since it was queued) replaced
     * by its refusal ({@link Transactions#refused}), as Redis 7.0 checks them again at EXEC: the others run.
     */
    private List<byte[][]> recheckAtExec(ClientConnection client, List<byte[][]> queued) {
        List<byte[][]> commands = queued;
        for (int i = 0; i < queued.size(); i++) {
            byte[][] args = queued.get(i);
            CommandSpec spec = table.find(args[0]);
            String refusal = spec == null ? null : access.refusalAtExec(client, spec, args);
            if (refusal != null) {
                if (commands == queued) {
                    commands = new ArrayList<>(queued);
                }
                commands.set(i, Transactions.refused(refusal));
            }
        }
        return commands;
    }

    private void refuseWhileJoining(ClientConnection client) {
        stats.errorReplied();
        client.writer().error("TRYAGAIN this node has not joined its cluster yet (no seed has answered); "
                + "nothing was done: retry, or ask another node");
    }

    /**
     * FLUSHALL or FLUSHDB in a cluster, in the connection's order like a write of every key: it starts once
     * the connection's earlier commands have answered (so none of them lands after the flush), and the
     * connection's later commands start once every live member has applied it (so none of them reads
     * what it flushed).
     */
    private void flushInOrder(ClientConnection client, Router r, CommandSpec spec, byte[][] args) {
        if (args.length > 2 || (args.length == 2 && !Args.is(args[1], "ASYNC") && !Args.is(args[1], "SYNC"))) {
            spec.stats().failed.increment();
            stats.errorReplied();
            client.writer().error(CommandException.syntax().getMessage());
            return;
        }
        if (joining) {
            stats.errorReplied();
            client.writer().error("TRYAGAIN this node has not joined its cluster yet (no seed has answered); "
                    + "nothing was flushed: retry, or ask another node");
            return;
        }
        spec.stats().calls.increment();
        Session session = Session.of(client);
        CompletableFuture<byte[]> flushed = new CompletableFuture<>();
        session.waitFor(session.allOutstanding());
        // Commands held back ahead of this one (a change of coordinators) have only just been routed
        // when this runs: wait for their answers too, so none of them lands after the flush.
        holdBack(client, session, r, () -> {
            session.allOutstanding().thenCompose(v -> r.flushAll()).whenComplete((done, failure) -> {
                if (failure == null) {
                    flushed.complete(OK);
                    return;
                }
                Throwable cause = ErrorReplies.unwrap(failure);
                stats.errorReplied();
                flushed.complete(ErrorReplies.errorReply(cause instanceof ReplicationException
                        ? cause.getMessage() : "ERR flush failed: " + ErrorReplies.reason(cause)));
            });
            return flushed;
        });
        session.waitFor(flushed);
    }

    /**
     * Runs a command received from a peer here, never routing it again (one hop, even while the ring
     * changes), with the same checks and statistics as a client's command; a keyed command coordinates
     * its replicas with the levels and floors the forwarding node sent.
     *
     * @return the raw RESP reply, encoded in the request's protocol, and the versions it wrote
     */
    public CompletableFuture<ForwardCodec.Reply> executeForwarded(long fromNode, ForwardCodec.Request request) {
        return executeForwarded(fromNode, request, Deadline.NONE);
    }

    /**
     * Runs a command a peer forwarded, unless its sender's {@code deadline} has passed: checked on arrival
     * here and again when the command's turn comes in its client connection's order
     * ({@link Coordination#executeForwarded}), the moment the engine would be touched. A command not
     * started is answered with a TRYAGAIN error (which its sender has already given up waiting for) and
     * counted (INFO {@code expired_forwards_dropped}).
     */
    public CompletableFuture<ForwardCodec.Reply> executeForwarded(long fromNode, ForwardCodec.Request request,
                                                                  Deadline deadline) {
        stats.commandReceived();
        if (deadline.passed()) {
            return CompletableFuture.completedFuture(Coordination.notStarted(stats, deadline));
        }
        byte[][] args = request.args();
        CommandSpec spec = table.find(args[0]);
        ClusterStages c = cluster;
        if (spec == transactions.exec()) {
            Transaction.Unit unit;
            try {
                unit = Transaction.Unit.decode(args);
            } catch (MalformedMessageException e) {
                return CompletableFuture.failedFuture(e);
            }
            if (request.user() != null) {
                unit = recheckForwarded(fromNode, request.user(), unit);
            }
            if (c == null) {
                return CompletableFuture.completedFuture(ForwardCodec.Reply.of(
                        transactions.runHere(execution, request.protocol(), unit)));
            }
            return c.coordination().executeForwardedTransaction(fromNode, request, session(request), unit, deadline);
        }
        if (request.user() != null && spec != null) {
            // This node's ACL decides what runs here, whoever forwarded it: the client's user as defined here.
            String refusal = access.refusalForwarded(request.user(), fromNode, spec, args, false);
            if (refusal != null) {
                spec.stats().rejected.increment();
                stats.errorReplied();
                return CompletableFuture.completedFuture(ForwardCodec.Reply.of(ErrorReplies.errorReply(refusal)));
            }
        }
        if (c == null || spec == null || spec.firstKey() <= 0 || !spec.arityAccepts(args.length)) {
            return CompletableFuture.completedFuture(ForwardCodec.Reply.of(execution.detached(request.protocol(),
                    connection -> {
                        CommandSpec admitted = admit(connection, args);
                        if (admitted != null) {
                            execution.run(connection, admitted, args);
                        }
                    })));
        }
        return c.coordination().executeForwarded(fromNode, request, session(request), spec, deadline);
    }

    /**
     * A forwarded transaction with each command that the client's user, as this node defines it, may not run
     * replaced by its refusal ({@link Transactions#refused}): its reply in EXEC's; the others run.
     */
    private Transaction.Unit recheckForwarded(long fromNode, String user, Transaction.Unit unit) {
        List<byte[][]> commands = unit.commands();
        for (int i = 0; i < unit.commands().size(); i++) {
            byte[][] command = unit.commands().get(i);
            CommandSpec spec = table.find(command[0]);
            String refusal = spec == null ? null : access.refusalForwarded(user, fromNode, spec, command, true);
            if (refusal != null) {
                if (commands == unit.commands()) {
                    commands = new ArrayList<>(unit.commands());
                }
                commands.set(i, Transactions.refused(refusal));
            }
        }
        return commands == unit.commands() ? unit
                : new Transaction.Unit(unit.watchedKeys(), unit.watchedVersions(), commands);
    }

    /** The session a forwarded command runs in: the levels and floors of the client's connection. */
    private static Session session(ForwardCodec.Request request) {
        return Session.forwarded(request.readLevel(), request.writeLevel(), request.floors());
    }

    /** Finds the command and checks its arity; null if refused (the error reply is written). */
    private CommandSpec admit(ClientConnection client, byte[][] args) {
        CommandSpec spec = table.find(args[0]);
        if (spec == null) {
            stats.unknownCommand();
            stats.errorReplied();
            client.writer().error(CommandException.unknownCommand(args).getMessage());
            return null;
        }
        client.commandStarted(spec.name(), clock.millis());
        // In Redis's order: protected mode (at the connection's first command here, at its accept in Redis), the
        // arity, then logging in and permissions, so a malformed command is told so whoever sends it.
        String refusal = access.greet(client);
        if (refusal == null && !spec.arityAccepts(args.length)) {
            spec.stats().rejected.increment();
            stats.errorReplied();
            client.writer().error("ERR wrong number of arguments for '" + spec.name() + "' command");
            return null;
        }
        if (refusal == null) {
            refusal = access.refusal(client, spec, args);
        }
        if (refusal != null) {
            spec.stats().rejected.increment();
            stats.errorReplied();
            client.writer().error(refusal);
            if (refusal == AccessControl.DENIED || refusal == AccessControl.USER_GONE) {
                client.closeAfterReply();
            }
            return null;
        }
        return spec;
    }

    /** True until a node started with seeds has heard from one of them; see {@link #joining}. */
    public boolean joining() {
        return joining;
    }

    /** Refuse keyed commands (true) until the node has joined its cluster (false); see {@link #joining}. */
    public void joining(boolean joining) {
        this.joining = joining;
    }

    /** The node's users, for AUTH and ACL. */
    public Acl acl() {
        return access.acl();
    }

    /** Protected mode as {@code CONFIG SET protected-mode} sets it. */
    public void protectedMode(boolean on) {
        access.protectedMode(on);
    }

    public boolean protectedMode() {
        return access.protectedMode();
    }

    public CommandTable table() {
        return table;
    }

    /** Commands received, unknown commands, error replies. */
    public RequestStats stats() {
        return stats;
    }

    /** CONFIG RESETSTAT. */
    public void resetStats() {
        stats.reset();
        table.all().forEach(spec -> spec.stats().reset());
    }
}
