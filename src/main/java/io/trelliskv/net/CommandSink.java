package io.trelliskv.net;

import java.util.List;

/**
 * Where the network layer hands decoded client commands. Implemented by {@code request.Dispatcher}, so
 * that {@code net} does not depend on the command layer.
 */
public interface CommandSink {

    /**
     * Executes one command and writes its reply to {@code connection.writer()}. Called on the
     * connection's event loop, in the order the commands arrived.
     *
     * @param args the command name followed by its arguments, never empty
     */
    void execute(ClientConnection connection, byte[][] args);

    /**
     * The commands one read of a connection held, {@code commands[from ..]} (each a {@code byte[][]}, as
     * {@link #execute} takes them), before the first of them is executed. Only a hint, of which nothing
     * may depend: it lets a pipeline's commands be prepared together, as the dispatcher does by asking the
     * engine to bring their keys' records into the processor's cache at once. Called on the connection's
     * event loop, for each read that held at least one whole command.
     */
    default void arriving(List<Object> commands, int from) {
    }

    /** A connection was accepted. */
    default void connected(ClientConnection connection) {
    }

    /** A connection was closed. */
    default void disconnected(ClientConnection connection) {
    }
}
