package io.trelliskv.command;

/**
 * A command failed in a way the client should hear about: the message is the full RESP error text,
 * starting with its code ({@code ERR syntax error}, {@code WRONGTYPE ...}, {@code OOM ...}). The
 * dispatcher turns it into the error reply, in one place. No stack trace is captured: these are
 * expected outcomes, not bugs.
 */
public class CommandException extends RuntimeException {

    public static final String SYNTAX = "ERR syntax error";
    public static final String NOT_INTEGER = "ERR value is not an integer or out of range";
    public static final String NOT_FLOAT = "ERR value is not a valid float";
    public static final String OOM = "OOM command not allowed when used memory > 'maxmemory'.";

    public CommandException(String message) {
        super(message, null, false, false);
    }

    public static CommandException syntax() {
        return new CommandException(SYNTAX);
    }

    public static CommandException notInteger() {
        return new CommandException(NOT_INTEGER);
    }

    public static CommandException notFloat() {
        return new CommandException(NOT_FLOAT);
    }

    /** Redis's text: {@code ERR unknown command 'x', with args beginning with: 'a' 'b' }. */
    public static CommandException unknownCommand(byte[][] args) {
        StringBuilder sb = new StringBuilder("ERR unknown command '")
                .append(truncate(args[0], 128)).append("', with args beginning with: ");
        int budget = 128;
        for (int i = 1; i < args.length && budget > 0; i++) {
            String arg = truncate(args[i], budget);
            sb.append('\'').append(arg).append("' ");
            budget -= arg.length() + 3;
        }
        return new CommandException(sb.toString());
    }

    private static String truncate(byte[] b, int max) {
        return new String(b, 0, Math.min(b.length, max), java.nio.charset.StandardCharsets.UTF_8);
    }

    public static CommandException wrongArity(String command) {
        return new CommandException("ERR wrong number of arguments for '" + command + "' command");
    }
}
