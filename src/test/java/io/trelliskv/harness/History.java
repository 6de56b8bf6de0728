package io.trelliskv.harness;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Every operation of a run, in the order they ended, kept in memory for the checker and written as it
 * happens to {@code history.tsv} (one {@link Op#line()} per line), so a run that dies still leaves its
 * history behind.
 */
final class History implements AutoCloseable {

    private final long originNanos = System.nanoTime();
    private final List<Op> ops = new ArrayList<>();
    private final BufferedWriter out;

    History(Path file) {
        try {
            out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
            out.write("# client\top\tkey\tvalue\tstart_ms\tend_ms\tresult\tttl\tlevel\terror\tsession\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Now, in ms since the run began. */
    double now() {
        return (System.nanoTime() - originNanos) / 1e6;
    }

    /** Writes a {@code #} line to the file (not an operation: the checker reads it when re-run on the file). */
    synchronized void comment(String line) {
        try {
            out.write(line.startsWith("#") ? line : "# " + line);
            out.write('\n');
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized void add(Op op) {
        ops.add(op);
        try {
            out.write(op.line());
            out.write('\n');
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized List<Op> ops() {
        return List.copyOf(ops);
    }

    @Override
    public synchronized void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
