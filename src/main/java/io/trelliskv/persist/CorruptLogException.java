package io.trelliskv.persist;

import java.nio.file.Path;

/**
 * A log or snapshot file is damaged where it cannot be a crash's torn tail: a bad record followed by good
 * ones, a bad header, a missing segment. Recovery refuses to go on, naming the file and the offset, so the
 * operator decides (the option to truncate there is {@link Recovery.Options#truncateCorrupt}, like
 * {@code redis-check-aof --fix}).
 */
public final class CorruptLogException extends RuntimeException {

    private final Path file;
    private final long offset;

    public CorruptLogException(Path file, long offset, String problem) {
        super(file + " is corrupt at offset " + offset + ": " + problem);
        this.file = file;
        this.offset = offset;
    }

    public Path file() {
        return file;
    }

    public long offset() {
        return offset;
    }
}
