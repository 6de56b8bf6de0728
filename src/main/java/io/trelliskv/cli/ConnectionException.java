package io.trelliskv.cli;

import java.io.IOException;

/**
 * The connection to the server could not be opened or was lost: refused, unknown host, timed out,
 * closed by the server. The message is one line meant for the user and names the address, e.g.
 * {@code cannot connect to 127.0.0.1:5999: Connection refused}.
 */
final class ConnectionException extends IOException {

    private static final long serialVersionUID = 1L;

    ConnectionException(String message, Throwable cause) {
        super(message, cause);
    }

    ConnectionException(String message) {
        super(message);
    }
}
