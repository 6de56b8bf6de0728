package io.trelliskv.datadir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A file in the data directory, {@code streaming}, present while the node is filling its ranges from
 * other replicas (a bootstrap, or a rejoin with no data of its own). A node that crashes then has only
 * part of its ranges in its log; on its next start the marker says so, and the node streams again
 * instead of serving the part it has as if it were whole.
 */
public final class StreamingMarker {

    public static final String FILE = "streaming";

    private StreamingMarker() {
    }

    /** Whether the node was streaming its ranges when it stopped. */
    public static boolean present(Path dataDir) {
        return Files.exists(dataDir.resolve(FILE));
    }

    /** Sets the marker, durably, before the node takes data it must stream. */
    public static void set(Path dataDir) throws IOException {
        DataDirectory.writeAtomically(dataDir.resolve(FILE), ("This node was streaming its ranges from other replicas;"
                + " on restart it streams them again.\n").getBytes(StandardCharsets.UTF_8));
    }

    /** Clears the marker once the node holds its ranges whole (NORMAL). */
    public static void clear(Path dataDir) throws IOException {
        Files.deleteIfExists(dataDir.resolve(FILE));
    }
}
