package io.trelliskv.cli;

/**
 * The command line asks for something trellis-cli cannot do: a missing or extra argument, a bad
 * duration, an unknown option. Reported as one line plus a pointer to {@code --help}, exit code 2.
 */
final class UsageException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
