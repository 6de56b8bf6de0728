package io.trelliskv.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.util.Map;

/**
 * The standard streams trellis-cli talks through, injected so tests can drive it with byte arrays.
 *
 * @param in       commands for the interactive prompt
 * @param out      replies
 * @param err      errors and diagnostics
 * @param terminal whether {@code in} is a terminal; without one the prompt is not printed
 * @param env      the environment variables trellis-cli reads (the password, {@code REDISCLI_AUTH})
 */
record StandardStreams(InputStream in, PrintStream out, PrintStream err, boolean terminal, Map<String, String> env) {

    /** Streams without environment variables (tests). */
    StandardStreams(InputStream in, PrintStream out, PrintStream err, boolean terminal) {
        this(in, out, err, terminal, Map.of());
    }

    /** The process's own streams and environment. */
    static StandardStreams system() {
        return new StandardStreams(System.in, System.out, System.err, stdinIsTerminal(), System.getenv());
    }

    /** An environment variable's value, or null. */
    String environment(String name) {
        return env.get(name);
    }

    /**
     * True when the process has a console. Since JDK 22, {@code System.console()} returns a console
     * even when the streams are redirected and {@code Console.isTerminal()} tells the two apart; the
     * build targets 17, so that method is looked up reflectively.
     */
    private static boolean stdinIsTerminal() {
        java.io.Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }
}
