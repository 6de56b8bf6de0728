package io.trelliskv.command;

import io.trelliskv.net.ClientConnection;
import io.trelliskv.resp.RespWriter;

/**
 * Executes one command: reads {@code args} (the command name is {@code args[0]}), writes exactly one
 * reply to {@code out}, or throws {@link CommandException} for an error reply. Arity has already been
 * checked by the dispatcher.
 */
@FunctionalInterface
public interface CommandHandler {
    void handle(ClientConnection client, byte[][] args, RespWriter out);
}
