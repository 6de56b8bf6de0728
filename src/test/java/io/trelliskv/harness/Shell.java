package io.trelliskv.harness;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the system tools the harness drives ({@code ip}, {@code iptables}, {@code kill}) with a deadline:
 * a tool that hangs is killed, so no step of a run waits forever.
 */
final class Shell {

    /** How long one tool invocation may take. */
    static final long TIMEOUT_SECONDS = 10;

    private Shell() {
    }

    /** What a command printed (stdout and stderr together) and its exit status. */
    record Result(int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }
    }

    /** Runs {@code command}; never throws for a non-zero exit, only for a tool that cannot be started. */
    static Result run(List<String> command) {
        try {
            File out = File.createTempFile("tkh-shell", ".out");
            try {
                Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out)
                        .redirectInput(new File("/dev/null")).start();
                if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    return new Result(-1, "timed out after " + TIMEOUT_SECONDS + " s: " + command);
                }
                return new Result(p.exitValue(), java.nio.file.Files.readString(out.toPath(), StandardCharsets.UTF_8));
            } finally {
                out.delete();
            }
        } catch (IOException e) {
            return new Result(-1, "cannot run " + command + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted: " + command);
        }
    }

    static Result run(String... command) {
        return run(List.of(command));
    }

    /** Runs {@code command} and fails with its output if it exits non-zero. */
    static String check(String... command) {
        Result r = run(command);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", command) + " failed (" + r.exitCode() + "): "
                    + r.output().strip());
        }
        return r.output();
    }
}
