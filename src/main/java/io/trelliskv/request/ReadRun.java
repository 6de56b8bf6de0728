package io.trelliskv.request;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.common.Key;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.ReplicationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Reads (GET, STRLEN, MGET ...) that one client connection's pipeline sent one after another, coordinated here at a
 * level this node's own copy does not meet (QUORUM, ALL), brought up to that level as one read: one read op, one
 * request per replica and one reply slot for all of them, where each command alone cost one of each, and a command
 * object, a future and a reply buffer of its own besides. It is the reads' counterpart of a {@link WriteRun}.
 *
 * <p>A command joins the run only if nothing was written to the connection's output since the run began (its
 * reply goes right after the replies of the run's earlier commands), it need not wait for an earlier command of the
 * connection ({@link InOrder}), and its keys have the same replicas as the run's first key (the run answers once its
 * slowest key has its answers: keys of other replicas do not wait for these). A command one of whose keys failed
 * (short of answers in the end, or held by a replica too far ahead) fails alone, with that key's error; the others
 * answer as read. The run holds the connection's output from {@link #mark} on ({@link ClientConnection#holdReplies})
 * until the connection releases it ({@link #run}): at the end of the read that brought the commands, before a later
 * command reserves a reply slot, before the output is flushed at its soft limit, or when the connection closes. The
 * release reserves the run's place in the reply stream, puts back after it the replies other commands wrote
 * meanwhile (a PING's), and starts the read. Once it is over, the handlers run, in order, on the thread that ended
 * it, and their replies fill the run's place.
 *
 * <p>Until then the run waits on each command's keys in the connection's order ({@link #ran}, {@link InOrder}), so
 * a later write of one of them (a SET in the same pipeline) does not change what the read returns, and it is
 * outstanding on them ({@link Session#routed}), so a later command on one of them that goes to another node waits
 * for it.
 *
 * <p>Thread-safety: built and released on the connection's event loop; {@link #readDone} runs on any thread, after
 * the release, and reads only what the release left.
 */
final class ReadRun extends ReplyToCome implements Runnable, Coordinator.ReadDone {

    private static final Logger log = LoggerFactory.getLogger(ReadRun.class);

    /** Commands one run takes at most; a longer pipeline makes several runs. */
    static final int MAX_COMMANDS = 64;

    /**
     * Runs the commands' handlers once the read is over: their replies, one after the other; a command whose entry
     * in {@code errors} (when not null) is not null answers that error instead.
     */
    interface Handlers {
        byte[] run(int protocol, CommandSpec[] specs, byte[][][] args, Key[] routedKeys, byte[][] errors, int count);
    }

    private final Coordinator coordinator;
    private final Handlers handlers;
    /** The error reply of a failed read (and counts it). */
    private final Function<Throwable, byte[]> errorReply;
    private final ClientConnection client;
    private final Session session;
    /** The connection's output, and where the run's replies go in it. */
    private final ByteBuf out;
    private final int mark;
    private final ConsistencyLevel level;
    private final int protocol;
    /** The replicas of the run's first key, which every key of the run has. */
    private final List<Long> replicas;
    /** Completes once the handlers have run: what later commands on the run's keys wait for ({@link InOrder}). */
    final CompletableFuture<Void> ran = new CompletableFuture<>();
    /** Every command's keys, in order: what the read brings up to the level. */
    private final List<Key> keys = new ArrayList<>(8);
    private CommandSpec[] specs = new CommandSpec[8];
    private byte[][][] args = new byte[8][][];
    /** Per command, its key if it has one (the handler's {@link ClientConnection#key}), else null. */
    private Key[] routedKeys = new Key[8];
    /** Per command, the index in {@link #keys} after its last key. */
    private int[] keyEnds = new int[8];
    private int size;

    ReadRun(Coordinator coordinator, Handlers handlers, Function<Throwable, byte[]> errorReply, ClientConnection client,
            Session session, ByteBuf out, ConsistencyLevel level, int protocol, List<Long> replicas) {
        this.coordinator = coordinator;
        this.handlers = handlers;
        this.errorReply = errorReply;
        this.client = client;
        this.session = session;
        this.out = out;
        this.mark = out.writerIndex();
        this.level = level;
        this.protocol = protocol;
        this.replicas = replicas;
    }

    /**
     * Whether a command at {@code level} in {@code protocol}, whose keys have {@code tokens}, may join: its reply
     * would go right after the run's (nothing was written to {@code out} since the run began), the run is not full,
     * and its keys have the run's replicas.
     */
    boolean takes(ByteBuf out, ConsistencyLevel level, int protocol, long[] tokens) {
        if (this.out != out || out.writerIndex() != mark || this.level != level || this.protocol != protocol
                || size >= MAX_COMMANDS) {
            return false;
        }
        for (long token : tokens) {
            if (!coordinator.sameReplicas(replicas, token)) {
                return false;
            }
        }
        return true;
    }

    /** Adds a command; its handler runs once the read is over. */
    void add(CommandSpec spec, byte[][] commandArgs, List<Key> commandKeys) {
        if (size == specs.length) {
            specs = Arrays.copyOf(specs, 2 * size);
            args = Arrays.copyOf(args, 2 * size);
            routedKeys = Arrays.copyOf(routedKeys, 2 * size);
            keyEnds = Arrays.copyOf(keyEnds, 2 * size);
        }
        specs[size] = spec;
        args[size] = commandArgs;
        routedKeys[size] = commandKeys.size() == 1 ? commandKeys.get(0) : null;
        for (int i = 0; i < commandKeys.size(); i++) {
            keys.add(commandKeys.get(i));
        }
        keyEnds[size] = keys.size();
        size++;
    }

    /**
     * The release, on the event loop: reserves the run's place in the reply stream, puts the replies written after
     * {@link #mark} back after it, and starts the read.
     */
    @Override
    public void run() {
        if (session.readRun == this) {
            session.readRun = null;
        }
        byte[] after = null;
        int end = out.writerIndex();
        if (end > mark) {
            after = new byte[end - mark];
            out.getBytes(mark, after);
            out.writerIndex(mark);
        }
        deliverTo(client.deferReply());
        if (after != null) {
            client.releaseReplies(); // an output after the slot
            client.writer().target().writeBytes(after);
        }
        try {
            if (!coordinator.read(keys, level, session.floors(keys), this)) {
                readDone(null); // this node's copies meet the level already
            }
        } catch (RuntimeException e) { // unavailable since the commands joined, or a bug: every command an error
            if (!(e instanceof ReplicationException)) {
                log.error("Reading a run of {} commands failed unexpectedly", size, e);
            }
            readDone(e);
        }
    }

    @Override
    public void readDone(Throwable failure) {
        readDone(failure, null);
    }

    /**
     * The read is over: runs the handlers and answers with their replies; a command one of whose keys failed answers
     * that key's error instead; a failure without key failures (the read could not start) fails every command.
     */
    @Override
    public void readDone(Throwable failure, ReplicationException[] keyFailures) {
        byte[] replies;
        try {
            replies = handlers.run(protocol, specs, args, routedKeys, failure == null ? null : errors(failure, keyFailures),
                    size);
        } catch (RuntimeException e) { // a bug: every command an error, logged, and the node keeps serving
            log.error("Running a run of {} reads failed unexpectedly", size, e);
            replies = concat(errors(e, null));
        } finally {
            ran.complete(null);
        }
        complete(replies);
    }

    /** Each command's error reply: its first key's failure, null if it has none; {@code failure} for all if no keys'. */
    private byte[][] errors(Throwable failure, ReplicationException[] keyFailures) {
        byte[][] errors = new byte[size][];
        int key = 0;
        for (int c = 0; c < size; c++) {
            Throwable f = keyFailures == null ? failure : null;
            for (; key < keyEnds[c]; key++) {
                if (f == null && keyFailures[key] != null) {
                    f = keyFailures[key];
                }
            }
            errors[c] = f == null ? null : errorReply.apply(f);
        }
        return errors;
    }

    private static byte[] concat(byte[][] replies) {
        ByteBuf all = Unpooled.buffer();
        for (byte[] reply : replies) {
            all.writeBytes(reply);
        }
        return ByteBufUtil.getBytes(all);
    }
}
