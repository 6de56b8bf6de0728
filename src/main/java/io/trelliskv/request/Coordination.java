package io.trelliskv.request;

import io.netty.buffer.ByteBuf;
import io.trelliskv.command.Args;
import io.trelliskv.command.CommandFlag;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.Key;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.persist.Durability;
import io.trelliskv.persist.LogWriteFailedException;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.Deadline;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.replication.ReplicationException;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.WriteCapture;
import io.trelliskv.version.Hlc;
import io.trelliskv.version.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The third stage of a request's path: runs a keyed command on this node as the coordinator of its
 * keys' replicas — the glue between the command handlers ({@link Execution}, the next and last stage),
 * which know Redis semantics and act on the local engine, and the {@link Coordinator}, which knows
 * replicas and consistency levels. Commands reach it from the {@link Router} (a client's command whose
 * keys this node coordinates, or a local share of a split command) and from the {@link Dispatcher} (a
 * command a peer forwarded here, which is never routed again).
 *
 * <ol>
 *   <li>Too few live replicas for the levels: {@code -UNAVAILABLE ...} at once.</li>
 *   <li>Reads, and writes whose result depends on what is stored (INCR, APPEND, SET NX/XX/GET, DEL's
 *       count ...), first bring the local copies up to the read level (see
 *       {@link Coordinator#read}); blind writes (SET without conditions, SETEX, PSETEX, MSET) skip
 *       this, as their outcome does not depend on the old value. Every write is stamped after the
 *       connection's own earlier writes of its keys, wherever they ran ({@link #followFloors}).</li>
 *   <li>The handler runs here; the entries it writes are captured and replicated at the write level;
 *       the reply waits for the acks ({@code -TIMEOUT ...} or {@code -REFUSED ...} otherwise).</li>
 * </ol>
 * A read at ONE whose local copy is new enough for the connection runs straight into the client's
 * connection, exactly as on a single node.
 *
 * <p>Only a node that is a replica coordinates. The {@link Router} sends read-modify-write commands to
 * the first live replica of their keys, so they serialize on one node while it lives and stay atomic;
 * reads and blind writes ({@link #anyReplica}) run on the node the client is connected to when it is a
 * replica, saving the hop. While this node owns the whole ring (a cluster of one)
 * there is nobody to replicate to, and commands go straight to {@link Execution}.
 *
 * <h2>Durability</h2>
 * Under {@code appendfsync always} a write's reply waits, besides the replicas' acks (each replica acks
 * once its own copy is on disk), for this node's log to force what the command wrote
 * ({@link Durability#durable()}, a barrier taken right after the handler ran): an {@code OK} at QUORUM
 * means W copies on disk.
 *
 * <h2>Order</h2>
 * Commands start here in the order of their connection or forwarded stream, each waiting only for the
 * earlier commands it conflicts with (a shared key, not both reads): a client connection's through its
 * session's {@link InOrder}, a peer's forwarded commands through {@link ForwardedStreams}, keyed by the
 * sending node and its client connection, as the sender keeps each connection's forwards in order on one
 * peer connection.
 */
final class Coordination {

    private static final Logger log = LoggerFactory.getLogger(Coordination.class);
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);
    private static final byte[] OK = "+OK\r\n".getBytes(StandardCharsets.US_ASCII);

    private final Execution execution;
    private final Transactions transactions;
    private final CommandTable table;
    private final Coordinator coordinator;
    /** The clock this node's engine stamps writes with; a write first observes the connection's floors. */
    private final Hlc hlc;
    private final Placement placement;
    private final ReplicationConfig config;
    private final RequestStats stats;
    private final Durability durability;
    /** The order of the commands other nodes forward here, per client connection of theirs. */
    private final ForwardedStreams forwardedStreams = new ForwardedStreams();

    Coordination(Execution execution, Transactions transactions, CommandTable table, Coordinator coordinator,
                 Hlc hlc, Placement placement, RequestStats stats, Durability durability) {
        this.execution = execution;
        this.hlc = hlc;
        this.durability = durability;
        this.transactions = transactions;
        this.table = table;
        this.coordinator = coordinator;
        this.placement = placement;
        this.config = coordinator.config();
        this.stats = stats;
    }

    /** False while this node owns the whole ring: there is nobody to replicate to. */
    boolean active() {
        return !placement.ownsEverything();
    }

    /**
     * This node's copies of the keys that meet the connection's floors and that it stamped itself
     * ({@link Coordinator#holding}), or null: what a command forwarded with those floors carries ahead of it. Where
     * this node is a replica but not the first, the connection's reads and blind writes run here and its
     * read-modify-writes at the first replica, and a write here may be acknowledged before the first replica has
     * it: by the hint kept for a replica taken for dead, counted under a sloppy quorum, while the write to the first
     * replica is still on its way on another connection. The first replica reads below the floor from every replica,
     * but this node may be the one it cannot reach just then (its connections here backing off after a partition
     * heals, or this node still taken for dead): without the copy it could run the command on the older value, and
     * an {@code INCR} after the connection's {@code SET} would overwrite the SET it never saw.
     */
    List<Entry> holding(List<Key> keys, Version[] floors) {
        return floors == null ? null : coordinator.holding(keys, floors);
    }

    /**
     * How one command is to be coordinated. A {@link ClientCommand} is its own plan, as it lives exactly as
     * long; other commands and transactions get a {@link Planned}.
     */
    private interface Plan {
        List<Key> keys();

        boolean write();

        /** Whether the keys are brought up to the read level before the handler runs: all but blind writes. */
        boolean readFirst();

        ConsistencyLevel readLevel();

        ConsistencyLevel writeLevel();
    }

    /** The plan of a command or transaction that has no {@link ClientCommand} to hold it. */
    private record Planned(List<Key> keys, boolean write, boolean readFirst, ConsistencyLevel readLevel,
                           ConsistencyLevel writeLevel) implements Plan {
    }

    private Plan plan(Session session, CommandSpec spec, byte[][] args, List<Key> keys) {
        boolean write = spec.has(CommandFlag.WRITE);
        return new Planned(keys, write, !write || !blind(spec, args), readLevelOf(session), writeLevelOf(session));
    }

    /** The read level of the session's commands: its own ({@code CONSISTENCY}), else the node's. */
    private ConsistencyLevel readLevelOf(Session session) {
        return session.readLevel() != null ? session.readLevel() : config.readLevel();
    }

    /** The write level of the session's commands: its own ({@code CONSISTENCY}), else the node's. */
    private ConsistencyLevel writeLevelOf(Session session) {
        return session.writeLevel() != null ? session.writeLevel() : config.writeLevel();
    }

    /**
     * Checks availability, makes a write's versions follow the connection's own earlier writes of its keys
     * ({@link #followFloors}), and starts the read phase.
     *
     * @return null if there is nothing to wait for
     * @throws ReplicationException UNAVAILABLE
     */
    private CompletableFuture<Void> prepare(Session session, Plan plan) {
        Version[] floors = admit(session, plan);
        return plan.readFirst() ? coordinator.read(plan.keys(), plan.readLevel(), floors) : null;
    }

    /**
     * {@link #prepare}, telling {@code whenRead} when the read phase is over rather than answering a future.
     *
     * @return false if there is nothing to wait for ({@code whenRead} is not called)
     * @throws ReplicationException UNAVAILABLE
     */
    private boolean prepare(Session session, Plan plan, Coordinator.ReadDone whenRead) {
        Version[] floors = admit(session, plan);
        return plan.readFirst() && coordinator.read(plan.keys(), plan.readLevel(), floors, whenRead);
    }

    /**
     * Checks availability and makes a write's clock follow the connection's floors: the part of
     * {@link #prepare} before the read phase.
     *
     * @return the floors a read phase must meet (null if none, and for a blind write, which has none)
     * @throws ReplicationException UNAVAILABLE
     */
    private Version[] admit(Session session, Plan plan) {
        if (plan.readFirst()) {
            coordinator.checkAvailable(plan.keys(), plan.readLevel(), false);
        }
        if (plan.write()) {
            coordinator.checkAvailable(plan.keys(), plan.writeLevel(), true);
        }
        if (!plan.readFirst()) {
            followNewestFloor(session, plan.keys());
            return null;
        }
        Version[] floors = session.floors(plan.keys());
        if (plan.write()) {
            followFloors(plan.keys(), floors);
        }
        return floors;
    }

    /**
     * A blind write's part of {@link #followFloors}: of its floors, only the newest clock matters.
     *
     * @throws ReplicationException REFUSED, if a floor is too far ahead
     */
    private void followNewestFloor(Session session, List<Key> keys) {
        long newest = session.newestFloorHlc(keys);
        if (newest > hlc.peek()) { // else the clock is past it already (a floor of this node's own writes)
            if (hlc.driftMillis(newest) <= config.maxClockDriftMillis()) {
                hlc.observe(newest);
            } else {
                // The connection's newest write, of any key, is too far ahead: follow this write's own keys.
                followFloors(keys, session.floors(keys));
            }
        }
    }

    /**
     * Makes this node's clock observe the versions of the connection's own earlier writes of a write's
     * keys (its floors), so the write is stamped after them. The engine stamps a write after the version
     * it replaces, but only one it holds: an earlier write of the connection coordinated by another node
     * (a read-modify-write at the key's first replica, this node being another replica) may not have
     * reached this node yet, and a blind write, which reads nothing first, would be stamped by this node's
     * clock alone — older than that write if the other node's clock is ahead, or in the same millisecond
     * with a greater counter — and last-writer-wins would keep the earlier write. A floor of a shared
     * bucket ({@link Session}) only moves the clock to a version this connection already wrote.
     *
     * <p>A floor further ahead of this node's wall clock than {@code --max-clock-drift} is not observed: it was
     * stamped by a node whose clock runs ahead, and observing it would make this node stamp every later write as
     * far ahead, so that its peers refuse them, or, where the fast node is the other replica, accept them, and
     * pass the lead on through their clients' floors. Nor can the write be stamped below its floor, where
     * last-writer-wins would drop it for the connection's own earlier write: it is refused, until this clock
     * comes within the bound of the floor.
     *
     * @throws ReplicationException REFUSED, if a floor is too far ahead
     */
    private void followFloors(List<Key> keys, Version[] floors) {
        if (floors == null) {
            return;
        }
        for (int i = 0; i < floors.length; i++) {
            // Only a floor the clock is not past yet moves it: only such a floor needs a reading of the wall clock.
            long drift = floors[i] == null || floors[i].hlc() <= hlc.peek() ? 0 : hlc.driftMillis(floors[i].hlc());
            if (drift > config.maxClockDriftMillis()) {
                throw ReplicationException.floorAhead(keys.get(i).bytes(), drift, config.maxClockDriftMillis());
            }
        }
        for (Version floor : floors) {
            if (floor != null) {
                hlc.observe(floor.hlc());
            }
        }
    }

    /**
     * Runs a command of a client connected to this node, on the connection's event loop, in the
     * connection's order ({@link InOrder}): a command whose handler must wait for a read phase holds
     * back the handlers of the connection's later commands on the same keys (not just their replies)
     * until it has run, so {@code DEL k} then {@code SET k v} in one pipeline leaves {@code k = v}, and a GET after
     * an INCR sees the increment.
     *
     * @param keys   the command's keys ({@link #keys}), when the caller has them already; else null
     * @param tokens their tokens, likewise
     * @return null if the reply was written to the client at once; otherwise the reply to come
     *         (never completing exceptionally)
     */
    CompletableFuture<byte[]> runForClient(ClientConnection client, Session session, CommandSpec spec,
                                           byte[][] args, List<Key> keys, long[] tokens) {
        if (!active()) {
            execution.run(client, spec, args);
            return null;
        }
        List<Key> k = keys != null ? keys : keys(spec, args);
        long[] t = tokens != null ? tokens : tokens(k);
        if (joinsRun(client, session, spec, args) && session.order().clearToWrite(t)) {
            writeIntoRun(client, session, spec, args, k, t);
            return null; // its reply is in the connection, held with the run's
        }
        if (joinsReadRun(client, session, spec) && readIntoRun(client, session, spec, args, k, t)) {
            return null; // its reply comes with the run's
        }
        ClientCommand command = new ClientCommand(client, session, spec, args, k);
        session.order().submit(t, command.write, command::begin);
        return command.submitted();
    }

    /**
     * Whether a client's command is a blind write to replicate with the connection's run of them
     * ({@link WriteRun}): not when its reply must also wait for this node's log, nor at a level this node's
     * own copy meets (its reply goes at once), nor on a connection that cannot hold replies.
     */
    private boolean joinsRun(ClientConnection client, Session session, CommandSpec spec, byte[][] args) {
        return spec.has(CommandFlag.WRITE) && !client.isDetached() && !durability.acknowledgesDurably()
                && writeLevelOf(session).required(config.replicationFactor()) > 1 && blind(spec, args);
    }

    /**
     * Runs a blind write of a client's into its connection and adds it to the connection's run of writes
     * ({@link WriteRun}), opening one if none is open (or the open one cannot take it: another level, or full).
     * Its start needs no {@link ClientCommand}: it waits for nothing ({@link InOrder#clearToWrite}), and its
     * reply waits with the run's.
     */
    private void writeIntoRun(ClientConnection client, Session session, CommandSpec spec, byte[][] args,
                              List<Key> keys, long[] tokens) {
        ConsistencyLevel level = writeLevelOf(session);
        try {
            coordinator.checkAvailable(keys, level, true);
            followNewestFloor(session, keys);
        } catch (ReplicationException e) {
            stats.errorReplied();
            client.writer().error(e.getMessage());
            return;
        }
        if (session.readRun != null) {
            client.releaseReplies(); // the reads' replies go before this write's
        }
        ByteBuf out = client.writer().target();
        WriteRun run = session.run;
        if (run != null && !run.takes(out, level)) {
            client.releaseReplies();
            run = null;
            out = client.writer().target();
        }
        int mark = out.writerIndex();
        List<Entry> written;
        WriteCapture.begin();
        try {
            runKeyed(client, spec, args, keys);
        } finally {
            written = WriteCapture.end();
        }
        if (written.isEmpty()) {
            return; // an error reply: nothing to replicate
        }
        if (run == null) {
            run = new WriteRun(coordinator, stats, client, session, out, mark, level);
            client.holdReplies(run);
            session.run = run;
            session.outstanding(run, placement.epoch());
        }
        run.add(mark, out.writerIndex(), written);
        session.routed(tokens, selfTargets(keys.size()), run, false);
    }

    /**
     * Whether a client's command is a read to bring up to the level with the connection's run of them
     * ({@link ReadRun}): at a level this node's own copy does not meet, on a connection that can hold replies.
     */
    private boolean joinsReadRun(ClientConnection client, Session session, CommandSpec spec) {
        return !spec.has(CommandFlag.WRITE) && !client.isDetached()
                && readLevelOf(session).required(config.replicationFactor()) > 1;
    }

    /**
     * Adds a read of a client's to the connection's run of them ({@link ReadRun}), opening one if none is open (or
     * the open one cannot take it: something was written since it began, another level or replica set, or full),
     * or answers it with its error if its keys lack live replicas. Its start needs no {@link ClientCommand}: the
     * run reads, runs its handler and answers it.
     *
     * @return false, having done nothing, if the read must wait for an earlier command of the connection
     *         ({@link InOrder}): it is then coordinated on its own
     */
    private boolean readIntoRun(ClientConnection client, Session session, CommandSpec spec, byte[][] args,
                                List<Key> keys, long[] tokens) {
        ConsistencyLevel level = readLevelOf(session);
        RespWriter writer = client.writer();
        ReadRun run = session.readRun;
        if (run != null && !run.takes(writer.target(), level, writer.protocol(), tokens)
                || run == null && session.run != null) {
            client.releaseReplies(); // the open run's replies go before this read's
            run = null;
        }
        try {
            coordinator.checkAvailable(keys, level, false);
        } catch (ReplicationException e) {
            stats.errorReplied();
            writer.error(e.getMessage());
            return true;
        }
        boolean opens = run == null;
        if (opens) {
            List<Long> replicas = coordinator.replicas(tokens[0]);
            for (int i = 1; i < tokens.length; i++) {
                if (!coordinator.sameReplicas(replicas, tokens[i])) {
                    return false; // keys of several replica sets: a command of its own
                }
            }
            run = new ReadRun(coordinator, execution::runDetached, this::error, client, session, writer.target(),
                    level, writer.protocol(), replicas);
        }
        if (!session.order().startReadIfClear(tokens, run.ran)) {
            return false;
        }
        if (opens) {
            client.holdReplies(run);
            session.readRun = run;
            session.outstanding(run, placement.epoch());
        }
        run.add(spec, args, keys);
        session.routed(tokens, selfTargets(keys.size()), run, false);
        return true;
    }

    /**
     * One command of a client connected to this node, from its submission to its {@link InOrder} to its
     * reply: it is the reply to come itself, its own {@link Plan}, and takes the reply of a detached run
     * ({@link #accept(ForwardCodec.Reply)}) or the acknowledgement of a write run into the connection
     * ({@link #writeDone}), so a command answered later costs one object for its state, its plan, its reply
     * and its callbacks. A command answered at once writes its reply into the connection as on a single node.
     */
    private final class ClientCommand extends ReplyToCome implements Plan, Consumer<ForwardCodec.Reply>,
            BiConsumer<Void, Throwable>, Coordinator.ReadDone, Coordinator.WriteDone {
        final ClientConnection client;
        final Session session;
        final CommandSpec spec;
        final byte[][] args;
        final List<Key> keys;
        final boolean write;
        final int protocol;
        /** The connection's event loop, which submits the command. */
        final Thread loop;
        /** True while {@link InOrder#submit} runs on the loop: the command may answer into the connection. */
        boolean submitting = true;
        /** Set when the reply was written into the connection at once. Read and written on the loop only. */
        boolean answered;
        /** The plan's part fixed when the command begins on the loop ({@link #begin}). */
        boolean readFirst;
        ConsistencyLevel readLevel;
        ConsistencyLevel writeLevel;
        /**
         * A write run into the connection ({@link #runIntoClient}): what it wrote, set before it is sent, and
         * its reply once cut out of the connection (null until then). The reply is guarded by this, as
         * {@link #writeOver} and {@link #writeFailure} are.
         */
        List<Entry> written;
        byte[] acknowledgedReply;
        /** The write was over before its reply was cut out: {@link #acknowledgedAtOnce} finishes it. */
        boolean writeOver;
        /** How it ended: null when acknowledged. */
        Throwable writeFailure;
        /**
         * Completes once the handler has run after the read phase; null until {@link #begin} has published it.
         * Guarded by this, as {@link #readOver} and {@link #readFailure} are.
         */
        CompletableFuture<Void> ran;
        /** The read phase ended before {@link #begin} published {@link #ran}: begin runs the handler. */
        boolean readOver;
        /** How it ended: null when enough replicas answered. */
        Throwable readFailure;

        ClientCommand(ClientConnection client, Session session, CommandSpec spec, byte[][] args, List<Key> keys) {
            this.client = client;
            this.session = session;
            this.spec = spec;
            this.args = args;
            this.keys = keys;
            this.write = spec.has(CommandFlag.WRITE);
            this.protocol = client.writer().protocol();
            this.loop = Thread.currentThread();
        }

        @Override
        public List<Key> keys() {
            return keys;
        }

        @Override
        public boolean write() {
            return write;
        }

        @Override
        public boolean readFirst() {
            return readFirst;
        }

        @Override
        public ConsistencyLevel readLevel() {
            return readLevel;
        }

        @Override
        public ConsistencyLevel writeLevel() {
            return writeLevel;
        }

        /** After {@link InOrder#submit}: null if answered into the connection, else this, the reply to come. */
        CompletableFuture<byte[]> submitted() {
            submitting = false;
            return answered ? null : this;
        }

        /**
         * Starts the command, when its turn in the connection's order has come: the start
         * {@link InOrder#submit} takes.
         */
        CompletableFuture<Void> begin() {
            if (Thread.currentThread() != loop || !submitting) {
                // Started after an earlier command of the connection ran: the reply goes to its place.
                CompletableFuture<Void> ran = new CompletableFuture<>();
                start(session, protocol, spec, args, keys, ran, Deadline.NONE, this);
                return ran;
            }
            readFirst = !write || !blind(spec, args);
            readLevel = readLevelOf(session);
            writeLevel = writeLevelOf(session);
            boolean reading;
            try {
                reading = prepare(session, this, this);
            } catch (ReplicationException e) {
                stats.errorReplied();
                client.writer().error(e.getMessage());
                answered = true;
                return DONE;
            }
            if (!reading && !write) {
                runKeyed(client, spec, args, keys); // a read whose local copy is new enough: as on one node
                answered = true;
                return DONE;
            }
            if (!reading) { // a blind write: runs now, straight into the connection
                answered = runIntoClient(this);
                return DONE;
            }
            CompletableFuture<Void> started = new CompletableFuture<>();
            synchronized (this) {
                if (!readOver) {
                    ran = started; // readDone runs the handler
                    return started;
                }
            }
            afterRead(readFailure, started); // over already (on this thread, or another meanwhile)
            return started;
        }

        /** The read phase is over: runs the handler, or, if {@link #begin} has not yet returned, leaves it that. */
        @Override
        public void readDone(Throwable failure) {
            CompletableFuture<Void> started;
            synchronized (this) {
                started = ran;
                if (started == null) {
                    readOver = true;
                    readFailure = failure;
                    return;
                }
            }
            afterRead(failure, started);
        }

        /**
         * After the read phase: runs the handler detached, replicates what it wrote and completes the reply
         * to come, as {@link #afterPhase} does for other commands.
         */
        private void afterRead(Throwable failure, CompletableFuture<Void> started) {
            if (failure != null) {
                started.complete(null);
                accept(ForwardCodec.Reply.of(error(failure)));
                return;
            }
            try {
                byte[] resp;
                List<Entry> wrote;
                WriteCapture.begin();
                try {
                    resp = execution.runDetached(protocol, spec, args);
                } finally {
                    wrote = WriteCapture.end();
                    started.complete(null);
                }
                replicate(resp, wrote, writeLevel, this);
            } catch (RuntimeException e) { // a bug: one error reply, logged, and the node keeps serving
                log.error("Coordinating a command failed unexpectedly", e);
                started.complete(null);
                accept(ForwardCodec.Reply.of(error(e)));
            }
        }

        /** Completes the reply to come, having remembered the versions the command wrote. */
        @Override
        public void accept(ForwardCodec.Reply r) {
            r.recordInto(session);
            complete(r.resp());
        }

        /**
         * Once the write of {@link #written} has been sent by {@link #runIntoClient}: true if it is acknowledged
         * already, its reply staying where the handler wrote it, at {@code mark} in the connection's output
         * {@code out}, as on a single node. Otherwise the reply is cut out of {@code out} to complete this
         * once the write is acknowledged, or with the error if it failed already.
         */
        boolean acknowledgedAtOnce(ByteBuf out, int mark) {
            Throwable failure;
            synchronized (this) {
                if (!writeOver) {
                    acknowledgedReply = cut(out, mark); // writeDone completes this with it
                    return false;
                }
                failure = writeFailure;
            }
            if (failure == null) {
                session.record(written); // read-your-writes
                return true;
            }
            out.writerIndex(mark);
            complete(error(failure));
            return false;
        }

        /**
         * The write run into the connection is over: completes the reply to come with the reply cut out of the
         * connection, having remembered what it wrote, or with the error; or, if the reply has not been cut out
         * yet, leaves that to {@link #acknowledgedAtOnce}.
         */
        @Override
        public void writeDone(Throwable failure) {
            byte[] reply;
            synchronized (this) {
                reply = acknowledgedReply;
                if (reply == null) {
                    writeOver = true;
                    writeFailure = failure;
                    return;
                }
            }
            if (failure == null) {
                session.record(written); // read-your-writes
                complete(reply);
            } else {
                complete(error(failure));
            }
        }

        /** {@link #writeDone}, for a write whose acknowledgement also waits for this node's log. */
        @Override
        public void accept(Void acked, Throwable failure) {
            writeDone(failure);
        }
    }

    /**
     * Runs a write that needs no read phase into the client's connection, on its event loop, capturing
     * what it writes, and replicates that. A reply acknowledged at once (nothing written, or the level
     * met by this node's own copy) stays where the handler wrote it, as on a single node; otherwise its
     * bytes are cut out of the connection's output and complete {@code command} once acknowledged (or
     * its error does).
     *
     * @return true if the reply is in the connection; false if it is to come
     */
    private boolean runIntoClient(ClientCommand command) {
        ClientConnection client = command.client;
        if (command.session.run != null || command.session.readRun != null) {
            client.releaseReplies(); // a write no run takes: the run's replies go before its own
        }
        ByteBuf out = client.writer().target();
        int mark = out.writerIndex();
        List<Entry> written;
        WriteCapture.begin();
        try {
            runKeyed(client, command.spec, command.args, command.keys);
        } finally {
            written = WriteCapture.end();
        }
        if (written.isEmpty()) {
            return true;
        }
        command.written = written;
        if (durability.acknowledgesDurably()) {
            CompletableFuture<Void> acked = coordinator.write(written, command.writeLevel)
                    .thenCombine(durability.durable(), (a, b) -> null);
            acked.whenComplete(command);
        } else {
            coordinator.write(written, command.writeLevel, command);
        }
        return command.acknowledgedAtOnce(out, mark);
    }

    /** This node's id, {@code n} times: where the commands of a run went. The one-key array is shared. */
    private long[] selfTargets(int n) {
        long[] targets = n == 1 ? selfTarget : null;
        if (targets == null) {
            targets = new long[n];
            Arrays.fill(targets, placement.localNodeId());
            if (n == 1) {
                selfTarget = targets;
            }
        }
        return targets;
    }

    /** {@link #selfTargets}'s array of one, made on first use; only ever read after. */
    private volatile long[] selfTarget;

    /** Runs a command into its client's connection, telling the handler the key it was routed by, if one. */
    private void runKeyed(ClientConnection client, CommandSpec spec, byte[][] args, List<Key> keys) {
        client.routedKey(keys.size() == 1 ? keys.get(0) : null);
        try {
            execution.run(client, spec, args);
        } finally {
            client.routedKey(null);
        }
    }

    /**
     * Takes the bytes from {@code mark} to the end out of {@code out}. Copied byte by byte: a blind write's
     * reply is a short status line, and a direct buffer's bulk {@code getBytes} into an array makes a
     * duplicate of its NIO buffer (an object) per call. {@code +OK}, most writes' reply, is not copied but
     * shared, as replies are only ever read.
     */
    private static byte[] cut(ByteBuf out, int mark) {
        int length = out.writerIndex() - mark;
        boolean ok = length == OK.length;
        for (int i = 0; ok && i < length; i++) {
            ok = out.getByte(mark + i) == OK[i];
        }
        byte[] resp = ok ? OK : new byte[length];
        for (int i = 0; !ok && i < length; i++) {
            resp[i] = out.getByte(mark + i);
        }
        out.writerIndex(mark);
        return resp;
    }

    /**
     * Runs a command for a router's local share, or for a forward that came back here: in the
     * session's order when it is a client connection's. Never fails: errors are error replies.
     */
    CompletableFuture<ForwardCodec.Reply> execute(Session session, int protocol, CommandSpec spec, byte[][] args) {
        if (!active()) {
            return durably(ForwardCodec.Reply.of(execution.runDetached(protocol, spec, args)),
                    spec.has(CommandFlag.WRITE));
        }
        List<Key> keys = keys(spec, args);
        CompletableFuture<ForwardCodec.Reply> reply = new CompletableFuture<>();
        InOrder order = session.order();
        if (order == null) {
            start(session, protocol, spec, args, keys, new CompletableFuture<>(), Deadline.NONE, reply::complete);
            return reply;
        }
        order.submit(tokens(keys), spec.has(CommandFlag.WRITE), () -> {
            CompletableFuture<Void> ran = new CompletableFuture<>();
            start(session, protocol, spec, args, keys, ran, Deadline.NONE, reply::complete);
            return ran;
        });
        return reply;
    }

    /**
     * Runs a keyed command a peer forwarded here (found and arity-checked by the {@link Dispatcher}), in
     * the order of the client connection it came from, with the levels and floors the peer sent.
     */
    CompletableFuture<ForwardCodec.Reply> executeForwarded(long fromNode, ForwardCodec.Request request,
                                                           Session session, CommandSpec spec, Deadline deadline) {
        byte[][] args = request.args();
        if (!active()) {
            return durably(ForwardCodec.Reply.of(execution.runDetached(request.protocol(), spec, args)),
                    spec.has(CommandFlag.WRITE));
        }
        CompletableFuture<ForwardCodec.Reply> reply = new CompletableFuture<>();
        List<Key> keys = keys(spec, args);
        forwardedStreams.submit(fromNode, request.stream(), tokens(keys), spec.has(CommandFlag.WRITE),
                () -> {
                    if (deadline.passed()) { // waited behind earlier commands of its stream past its deadline
                        reply.complete(notStarted(stats, deadline));
                        return CompletableFuture.completedFuture(null);
                    }
                    CompletableFuture<Void> ran = new CompletableFuture<>();
                    start(session, request.protocol(), spec, args, keys, ran, deadline, reply::complete);
                    return ran;
                });
        return reply;
    }

    /** The answer to a forwarded command not started because its deadline passed; counted. */
    static ForwardCodec.Reply notStarted(RequestStats stats, Deadline deadline) {
        stats.expiredForwardDropped();
        stats.errorReplied();
        return ForwardCodec.Reply.of(ErrorReplies.errorReply("TRYAGAIN " + deadline.reason("forwarded command")));
    }

    /** A transaction forwarded by the node its client is connected to, in that connection's order. */
    CompletableFuture<ForwardCodec.Reply> executeForwardedTransaction(long fromNode, ForwardCodec.Request request,
                                                                      Session session, Transaction.Unit unit,
                                                                      Deadline deadline) {
        if (!active()) {
            return durably(ForwardCodec.Reply.of(transactions.runHere(execution, request.protocol(), unit)),
                    transactions.writes(unit));
        }
        CompletableFuture<ForwardCodec.Reply> reply = new CompletableFuture<>();
        forwardedStreams.submit(fromNode, request.stream(), tokens(unit.keys(table)), transactions.writes(unit),
                () -> {
                    if (deadline.passed()) {
                        reply.complete(notStarted(stats, deadline));
                        return CompletableFuture.completedFuture(null);
                    }
                    CompletableFuture<Void> ran = new CompletableFuture<>();
                    startTransaction(session, request.protocol(), unit, ran, deadline, reply::complete);
                    return ran;
                });
        return reply;
    }

    /**
     * Starts a command now, whatever else is running: the caller keeps the order. Completes {@code ran}
     * once the handler has run or is known not to run, and hands the reply to {@code answer} (on any
     * thread). Never fails: errors are error replies. A forwarded command whose read phase ends past its
     * {@code deadline} writes nothing.
     */
    private void start(Session session, int protocol, CommandSpec spec, byte[][] args, List<Key> keys,
                       CompletableFuture<Void> ran, Deadline deadline, Consumer<ForwardCodec.Reply> answer) {
        try {
            Plan plan = plan(session, spec, args, keys);
            CompletableFuture<Void> phase;
            try {
                phase = prepare(session, plan);
            } catch (ReplicationException e) {
                ran.complete(null);
                answer.accept(ForwardCodec.Reply.of(error(e)));
                return;
            }
            afterPhase(phase, () -> execution.runDetached(protocol, spec, args), plan, ran, deadline, answer);
        } catch (RuntimeException e) { // a bug: one error reply, logged, and the node keeps serving
            log.error("Coordinating a command failed unexpectedly", e);
            ran.complete(null);
            answer.accept(ForwardCodec.Reply.of(error(e)));
        }
    }

    /**
     * Runs a transaction ({@link Transactions}) with this node as the coordinator of all its keys, in the
     * session's order when it is a client connection's.
     */
    CompletableFuture<ForwardCodec.Reply> transaction(Session session, int protocol, Transaction.Unit unit) {
        if (!active()) {
            return durably(ForwardCodec.Reply.of(transactions.runHere(execution, protocol, unit)),
                    transactions.writes(unit));
        }
        CompletableFuture<ForwardCodec.Reply> reply = new CompletableFuture<>();
        InOrder order = session.order();
        if (order == null) {
            startTransaction(session, protocol, unit, new CompletableFuture<>(), Deadline.NONE, reply::complete);
            return reply;
        }
        order.submit(tokens(unit.keys(table)), transactions.writes(unit), () -> {
            CompletableFuture<Void> ran = new CompletableFuture<>();
            startTransaction(session, protocol, unit, ran, Deadline.NONE, reply::complete);
            return ran;
        });
        return reply;
    }

    /**
     * Starts a transaction now: brings every key up to the read level, runs the commands atomically
     * here, and replicates what they wrote as one batch at the write level; hands the reply to
     * {@code answer}, as {@link #start} does.
     */
    private void startTransaction(Session session, int protocol, Transaction.Unit unit, CompletableFuture<Void> ran,
                                  Deadline deadline, Consumer<ForwardCodec.Reply> answer) {
        try {
            List<Key> keys = unit.keys(table);
            Plan plan = new Planned(keys, transactions.writes(unit), !keys.isEmpty(), readLevelOf(session),
                    writeLevelOf(session));
            CompletableFuture<Void> phase;
            try {
                phase = keys.isEmpty() ? null : prepare(session, plan);
            } catch (ReplicationException e) {
                ran.complete(null);
                answer.accept(ForwardCodec.Reply.of(error(e)));
                return;
            }
            afterPhase(phase, () -> transactions.runHere(execution, protocol, unit), plan, ran, deadline, answer);
        } catch (RuntimeException e) { // a bug: one error reply, logged, and the node keeps serving
            log.error("Coordinating a command failed unexpectedly", e);
            ran.complete(null);
            answer.accept(ForwardCodec.Reply.of(error(e)));
        }
    }

    /**
     * Runs the handler once the read phase (if any) is done, and hands the reply to {@code answer}. A
     * forwarded command's {@code deadline} is checked again then: a read phase can outlast it (replicas
     * slow to answer), and a write applied after the sender gave up is the zombie write deadlines exist
     * to prevent.
     */
    private void afterPhase(CompletableFuture<Void> phase, Supplier<byte[]> handler, Plan plan,
                            CompletableFuture<Void> ran, Deadline deadline, Consumer<ForwardCodec.Reply> answer) {
        if (phase == null) {
            runAndReplicate(handler, plan, ran, answer);
            return;
        }
        phase.whenComplete((v, failure) -> {
            if (failure != null) {
                ran.complete(null);
                answer.accept(ForwardCodec.Reply.of(error(failure)));
            } else if (plan.write() && deadline.passed()) {
                ran.complete(null);
                answer.accept(notStarted(stats, deadline));
            } else {
                try {
                    runAndReplicate(handler, plan, ran, answer);
                } catch (RuntimeException e) { // a bug: one error reply, logged, and the node keeps serving
                    log.error("Coordinating a command failed unexpectedly", e);
                    ran.complete(null);
                    answer.accept(ForwardCodec.Reply.of(error(e)));
                }
            }
        });
    }

    /**
     * Runs the handler here, capturing what it writes, replicates that at the write level, and hands the
     * reply to {@code answer}: at once when nothing was written, else once acknowledged.
     */
    private void runAndReplicate(Supplier<byte[]> handler, Plan plan, CompletableFuture<Void> ran,
                                 Consumer<ForwardCodec.Reply> answer) {
        byte[] resp;
        List<Entry> written;
        WriteCapture.begin();
        try {
            resp = handler.get();
        } finally {
            written = WriteCapture.end();
            ran.complete(null);
        }
        replicate(resp, written, plan.writeLevel(), answer);
    }

    /**
     * Replicates what a handler run here wrote at the write level, and hands its reply to {@code answer}: at
     * once when nothing was written, else once acknowledged.
     */
    private void replicate(byte[] resp, List<Entry> written, ConsistencyLevel writeLevel,
                           Consumer<ForwardCodec.Reply> answer) {
        if (written.isEmpty()) {
            answer.accept(ForwardCodec.Reply.of(resp));
            return;
        }
        CompletableFuture<Void> acked = coordinator.write(written, writeLevel);
        if (durability.acknowledgesDurably()) {
            acked = acked.thenCombine(durability.durable(), (a, b) -> null);
        }
        acked.whenComplete((v, failure) -> answer.accept(failure == null
                ? ForwardCodec.Reply.of(resp, written)
                : ForwardCodec.Reply.of(error(failure))));
    }

    /**
     * A reply run on a node that owns the whole ring: under {@code appendfsync always}, a write's once this
     * node's log has forced it.
     */
    private CompletableFuture<ForwardCodec.Reply> durably(ForwardCodec.Reply reply, boolean write) {
        if (!write || !durability.acknowledgesDurably()) {
            return CompletableFuture.completedFuture(reply);
        }
        return durability.durable().handle((v, failure) -> failure == null ? reply : ForwardCodec.Reply.of(error(failure)));
    }

    private byte[] error(Throwable failure) {
        Throwable t = failure;
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        stats.errorReplied();
        return ErrorReplies.errorReply(t instanceof ReplicationException || t instanceof LogWriteFailedException
                ? t.getMessage() : "ERR replication failed: " + ErrorReplies.reason(t));
    }

    /** The keys of a command whose arity has been checked, by its key positions. */
    static List<Key> keys(CommandSpec spec, byte[][] args) {
        int first = spec.firstKey();
        int last = spec.lastKey() < 0 ? args.length + spec.lastKey() : spec.lastKey();
        if (first == last && first < args.length) {
            return List.of(Key.of(args[first])); // most commands: one key, one small immutable list
        }
        List<Key> keys = new ArrayList<>(Math.max(1, (last - first) / spec.step() + 1));
        for (int i = first; i <= last && i < args.length; i += spec.step()) {
            keys.add(Key.of(args[i]));
        }
        return keys;
    }

    /** The ring tokens of keys, for {@link InOrder}. */
    static long[] tokens(List<Key> keys) {
        long[] out = new long[keys.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = keys.get(i).token();
        }
        return out;
    }

    /**
     * Whether any live replica of the command's keys may coordinate it, rather than only the first: reads
     * (but WATCH, whose versions EXEC compares on the first replica) and writes that do not read what
     * they overwrite (blind writes, DEL, UNLINK). Their effects are last-writer-wins versions, which
     * converge wherever they were stamped; a read-modify-write command (INCR, APPEND, SETNX, GETSET, SET
     * NX ...) must run where every other command of its key serializes, the first live replica, or two
     * coordinators could each apply it to the same old value.
     */
    static boolean anyReplica(CommandSpec spec, byte[][] args) {
        if (!spec.has(CommandFlag.WRITE)) {
            return spec.has(CommandFlag.READONLY) && !"watch".equals(spec.name());
        }
        return switch (spec.name()) {
            case "del", "unlink" -> true;
            default -> blind(spec, args);
        };
    }

    /** A write whose effect and reply do not depend on what is stored: it needs no read first. */
    static boolean blind(CommandSpec spec, byte[][] args) {
        switch (spec.name()) {
            case "setex", "psetex", "mset" -> {
                return true;
            }
            case "set" -> {
                for (int i = 3; i < args.length; i++) {
                    if (Args.is(args[i], "NX") || Args.is(args[i], "XX") || Args.is(args[i], "GET")
                            || Args.is(args[i], "KEEPTTL")) {
                        return false;
                    }
                }
                return true;
            }
            default -> {
                return false;
            }
        }
    }
}
