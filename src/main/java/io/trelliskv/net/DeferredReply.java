package io.trelliskv.net;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.EventExecutor;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;

/**
 * The place of one reply in a connection's reply stream, reserved by {@link ClientConnection#deferReply()}
 * for a command that completes later (one forwarded to another node). Replies of the commands after it
 * wait until it is complete, so the client reads every reply in request order however the work
 * finishes.
 *
 * <p>{@link #complete} and {@link #fail} may be called from any thread; the reply is handed to the
 * connection's event loop. Only the first call counts: later ones are ignored (their buffers released).
 * If the connection has closed meanwhile, the reply is dropped and its buffer released.
 *
 * <p>A reply given as bytes is kept as they are until it is written: the replies of a burst that are
 * ready together are then copied into one buffer from the connection's pool, rather than each wrapped
 * in a buffer of its own (which the socket would copy again).
 */
public final class DeferredReply {

    private final ClientHandler handler;
    private final EventExecutor loop;
    /**
     * The complete reply, once it has arrived and until it is written: a buffer it owns, or the bytes
     * ({@link #replyBytes}); touched on the event loop only.
     */
    ByteBuf reply;
    /** The complete reply given as bytes, once it has arrived and until it is written; event loop only. */
    byte[] replyBytes;
    /** Whether a reply arrived or the connection closed; touched on the event loop only. */
    boolean settled;

    DeferredReply(ClientHandler handler, EventExecutor loop) {
        this.handler = handler;
        this.loop = loop;
    }

    /** Completes with the raw RESP bytes of one reply, in the connection's protocol; they must not change. */
    public void complete(byte[] resp) {
        if (loop.inEventLoop()) {
            handler.deferredCompleted(this, resp);
            return;
        }
        try {
            loop.execute(() -> handler.deferredCompleted(this, resp));
        } catch (RejectedExecutionException e) {
            // the event loop has shut down, and the connection with it
        }
    }

    /** Completes with the raw RESP bytes of one reply; takes ownership of {@code resp}. */
    public void complete(ByteBuf resp) {
        if (loop.inEventLoop()) {
            handler.deferredCompleted(this, resp);
            return;
        }
        try {
            loop.execute(() -> handler.deferredCompleted(this, resp));
        } catch (RejectedExecutionException e) {
            resp.release(); // the event loop has shut down, and the connection with it
        }
    }

    /** Whether the calling thread is the connection's event loop. */
    public boolean calledOnLoop() {
        return loop.inEventLoop();
    }

    /**
     * Runs {@code task} on the connection's event loop: at once if called there, else as one task on it
     * (dropped if the loop has shut down, and the connection with it).
     */
    public void onLoop(Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            // the connection is gone; so is what its replies would have been written to
        }
    }

    /**
     * Completes {@code slots[i]} with {@code replies[i]} for every i or, if {@code errorText} is not null,
     * fails them all with it (releasing the replies). Call it on the slots' event loop ({@link #onLoop}),
     * to answer many commands with one task.
     */
    public static void completeAll(List<DeferredReply> slots, List<ByteBuf> replies, String errorText) {
        for (int i = 0; i < slots.size(); i++) {
            if (errorText == null) {
                slots.get(i).complete(replies.get(i));
            } else {
                replies.get(i).release();
                slots.get(i).fail(errorText);
            }
        }
    }

    /**
     * Completes with an error reply. {@code errorText} starts with the error code ("TRYAGAIN ...") as
     * {@link io.trelliskv.resp.RespWriter#error} takes it; CR and LF are replaced by spaces.
     */
    public void fail(String errorText) {
        String line = "-" + errorText.replace('\r', ' ').replace('\n', ' ') + "\r\n";
        complete(line.getBytes(StandardCharsets.UTF_8));
    }
}
