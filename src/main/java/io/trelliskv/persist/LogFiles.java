package io.trelliskv.persist;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The names of a data directory's persistence files: log segments {@code log-<sequence>.tkl} and snapshots
 * {@code snapshot-<first segment>.tks}, with zero-padded decimal numbers so a listing sorts in order.
 */
final class LogFiles {

    private static final Pattern SEGMENT = Pattern.compile("log-(\\d{16})\\.tkl");
    private static final Pattern SNAPSHOT = Pattern.compile("snapshot-(\\d{16})\\.tks");
    /** Suffix of a snapshot being written; one left by a crash is deleted. */
    static final String TEMP_SUFFIX = ".tmp";

    private LogFiles() {
    }

    static Path segment(Path dir, long sequence) {
        return dir.resolve(String.format("log-%016d.tkl", sequence));
    }

    static Path snapshot(Path dir, long firstSegment) {
        return dir.resolve(String.format("snapshot-%016d.tks", firstSegment));
    }

    /** The segments in {@code dir}, by sequence. */
    static NavigableMap<Long, Path> segments(Path dir) {
        return list(dir, SEGMENT);
    }

    /** The snapshots in {@code dir}, by the first segment they need replayed. */
    static NavigableMap<Long, Path> snapshots(Path dir) {
        return list(dir, SNAPSHOT);
    }

    private static NavigableMap<Long, Path> list(Path dir, Pattern pattern) {
        NavigableMap<Long, Path> out = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path p : files) {
                Matcher m = pattern.matcher(p.getFileName().toString());
                if (m.matches()) {
                    out.put(Long.parseLong(m.group(1)), p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }
}
