package io.trelliskv.request;

import io.netty.buffer.ByteBuf;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.ReplicationException;
import io.trelliskv.storage.Entry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Blind writes (SET, SETEX, MSET ...) that one client connection's pipeline ran here one after another,
 * replicated as one write: one write op, one batch per replica and one reply slot for all of them, where
 * each command alone cost one of each. Their replies stay where the handlers wrote them, in the connection's
 * output from {@link #mark} on, held there ({@link ClientConnection#holdReplies}) until the connection
 * releases the run ({@link #run}): at the end of the read that brought them, before a later command reserves
 * a reply slot (a command forwarded elsewhere, or waiting for this run), before the output is flushed at its
 * soft limit, or when the connection closes. The release cuts the held bytes out of the output, reserves their
 * place in the reply stream and sends the write; once the replicas have acknowledged it, the bytes go out as
 * they were written. Replies of other commands the client pipelined in between (a GET) are among the held
 * bytes too, in their place, and so keep their order.
 *
 * <p>A key whose write fails (too few acks, a replica's refusal) fails its own command, whose reply is then
 * that error naming its key; the others answer as written. Until then the run is outstanding on its keys
 * ({@link Session#routed}): a later command of the connection on one of them that goes to another node (an
 * INCR at the key's first replica) waits for the acks, and, as waiting takes a reply slot, releases the run.
 *
 * <p>Thread-safety: built and released on the connection's event loop; {@link #writeDone} runs on any thread,
 * after the release, and reads what the release left.
 */
final class WriteRun extends ReplyToCome implements Runnable, Coordinator.WriteDone {

    private static final Logger log = LoggerFactory.getLogger(WriteRun.class);

    /** Commands one run takes at most; a longer pipeline makes several runs. */
    static final int MAX_COMMANDS = 64;

    private final Coordinator coordinator;
    private final RequestStats stats;
    private final ClientConnection client;
    private final Session session;
    /** The connection's output the replies are written to, and where the first of them starts. */
    private final ByteBuf out;
    private final int mark;
    private final ConsistencyLevel level;
    /** What the run's commands wrote, in order. */
    private final List<Entry> entries = new ArrayList<>(32);
    /**
     * Per command, three ints: where its reply starts and ends (from {@link #mark}), and the index in
     * {@link #entries} after its last entry.
     */
    private int[] commands = new int[3 * 16];
    private int size;
    /** The held replies, cut out of the output at the release; null before it. */
    private byte[] held;

    WriteRun(Coordinator coordinator, RequestStats stats, ClientConnection client, Session session, ByteBuf out,
             int mark, ConsistencyLevel level) {
        this.coordinator = coordinator;
        this.stats = stats;
        this.client = client;
        this.session = session;
        this.out = out;
        this.mark = mark;
        this.level = level;
    }

    /** Whether a command writing to {@code out} at {@code level} may join this run. */
    boolean takes(ByteBuf out, ConsistencyLevel level) {
        return this.out == out && this.level == level && size < MAX_COMMANDS;
    }

    /** Adds a command whose reply is at {@code [start, end)} of the output and which wrote {@code written}. */
    void add(int start, int end, List<Entry> written) {
        if (3 * size == commands.length) {
            commands = Arrays.copyOf(commands, 2 * commands.length);
        }
        for (int i = 0; i < written.size(); i++) {
            entries.add(written.get(i)); // not addAll, which copies the list into an array first
        }
        commands[3 * size] = start - mark;
        commands[3 * size + 1] = end - mark;
        commands[3 * size + 2] = entries.size();
        size++;
    }

    /**
     * The release, on the event loop: cuts the held replies out of the output, reserves their place in the reply
     * stream, and sends the write.
     */
    @Override
    public void run() {
        if (session.run == this) {
            session.run = null;
        }
        int end = out.writerIndex();
        held = new byte[end - mark];
        out.getBytes(mark, held);
        out.writerIndex(mark);
        deliverTo(client.deferReply());
        try {
            coordinator.write(entries, level, this);
        } catch (RuntimeException e) { // a bug: each command an error, logged, and the node keeps serving
            log.error("Replicating a run of {} writes failed unexpectedly", size, e);
            complete(answers(null, "ERR replication failed: " + ErrorReplies.reason(e)));
        }
    }

    @Override
    public void writeDone(Throwable failure) {
        writeDone(failure, null);
    }

    /** The write is over: every command's reply as written, or its key's error. Any thread. */
    @Override
    public void writeDone(Throwable failure, Coordinator.Outcome outcome) {
        if (failure == null) {
            session.record(entries); // read-your-writes
            complete(held);
            return;
        }
        Throwable cause = ErrorReplies.unwrap(failure);
        complete(answers(outcome, cause instanceof ReplicationException ? cause.getMessage()
                : "ERR replication failed: " + ErrorReplies.reason(cause)));
    }

    /**
     * The held replies with each failed command's reply replaced by its error: the first of its keys that
     * {@code outcome} says failed, or {@code error} for every command if there is no outcome. The versions of the
     * commands that succeeded are recorded for read-your-writes.
     */
    private byte[] answers(Coordinator.Outcome outcome, String error) {
        ByteArrayOutputStream answer = new ByteArrayOutputStream(held.length + 64 * size);
        int at = 0;
        int entry = 0;
        for (int c = 0; c < size; c++) {
            int start = commands[3 * c];
            int end = commands[3 * c + 1];
            int entriesEnd = commands[3 * c + 2];
            answer.write(held, at, start - at); // replies of other commands, in their place
            String failed = outcome == null ? error : null;
            for (int e = entry; failed == null && e < entriesEnd; e++) {
                ReplicationException f = outcome.failureOf(entries.get(e).key());
                failed = f == null ? null : f.getMessage();
            }
            if (failed == null) {
                answer.write(held, start, end - start);
                session.record(entries.subList(entry, entriesEnd));
            } else {
                answer.writeBytes(ErrorReplies.errorReply(failed));
                stats.errorReplied();
            }
            at = end;
            entry = entriesEnd;
        }
        answer.write(held, at, held.length - at);
        return answer.toByteArray();
    }
}
