package io.trelliskv.net;

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

    /** A connection was accepted. */
    default void connected(ClientConnection connection) {
    }

    /** A connection was closed. */
    default void disconnected(ClientConnection connection) {
    }
}
