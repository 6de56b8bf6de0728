package io.trelliskv.cli;

/** trellis-cli's exit statuses; scripts depend on them, so their meanings never change. */
final class ExitCode {

    /** The command succeeded. */
    static final int OK = 0;
    /** The key was not there: {@code get}, {@code delete} or {@code ttl} of a missing key. */
    static final int NOT_FOUND = 1;
    /** Usage error, connection failure or timeout, or an error reply from the server. */
    static final int ERROR = 2;

    private ExitCode() {
    }
}
