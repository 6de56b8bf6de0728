package io.trelliskv.persist;

/**
 * The log could not make a write durable: the disk is full, or failed. Its message is what a client is
 * told, in the form of Redis's own error for the case ({@code -MISCONF Errors writing to the AOF file: No
 * space left on device}), so the node can reply with it as it is. While the log is in this state, writes
 * are refused and reads go on; the log retries by itself and accepts writes again once the disk does.
 */
public final class LogWriteFailedException extends RuntimeException {

    public LogWriteFailedException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The error reply's text for {@code reason}, as Redis words it for its AOF. */
    static String misconf(String reason) {
        return "MISCONF Errors writing to the append-only log: " + reason;
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
