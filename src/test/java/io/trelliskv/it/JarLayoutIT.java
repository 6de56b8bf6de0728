package io.trelliskv.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarFile;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The layout the launchers run: {@code target/trelliskv.jar} names its main class and, as its Class-Path,
 * libraries that are all in {@code target/lib/}; and no jar a node runs from has a central directory of
 * ZGC's small-object limit or more. The JVM keeps each open jar's central directory in one byte array for
 * the life of the process; one of 256 KB or more takes a 32 MB medium page of its own that counts against
 * the node's soft heap bound and is never reclaimed (docs/ARCHITECTURE.md, "How it ships").
 */
class JarLayoutIT {

    /** ZGC's largest small object: an eighth of its 2 MB small page. */
    private static final long SMALL_OBJECT_LIMIT = 256 * 1024;

    @Test
    void theJarNamesItsLibrariesAndEachHasASmallCentralDirectory() throws IOException {
        Path jar = Path.of(System.getProperty("trellis.jar"));
        List<Path> classPath = new ArrayList<>(List.of(jar));
        try (JarFile file = new JarFile(jar.toFile())) {
            Attributes main = file.getManifest().getMainAttributes();
            assertThat(main.getValue(Attributes.Name.MAIN_CLASS)).isEqualTo("io.trelliskv.node.Main");
            String named = main.getValue(Attributes.Name.CLASS_PATH);
            assertThat(named).as("the jar's Class-Path").isNotBlank();
            for (String entry : named.trim().split("\\s+")) {
                classPath.add(jar.resolveSibling(entry));
            }
        }
        assertThat(classPath).as("Netty, picocli and Logback among the libraries")
                .anyMatch(p -> p.getFileName().toString().startsWith("netty-transport-"))
                .anyMatch(p -> p.getFileName().toString().startsWith("picocli-"))
                .anyMatch(p -> p.getFileName().toString().startsWith("logback-classic-"));
        for (Path p : classPath) {
            assertThat(p).as("a jar the Class-Path names").isRegularFile();
            assertThat(centralDirectorySize(p)).as("central directory of " + p.getFileName())
                    .isPositive().isLessThan(SMALL_OBJECT_LIMIT);
        }
    }

    /** The size of a zip file's central directory, from its end-of-central-directory record. */
    static long centralDirectorySize(Path zip) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(zip.toFile(), "r")) {
            int tail = (int) Math.min(f.length(), 22 + 65_535); // the record, then a comment of at most 64 KiB
            byte[] b = new byte[tail];
            f.seek(f.length() - tail);
            f.readFully(b);
            for (int i = tail - 22; i >= 0; i--) {
                if (b[i] == 0x50 && b[i + 1] == 0x4b && b[i + 2] == 0x05 && b[i + 3] == 0x06) {
                    return (b[i + 12] & 0xffL) | (b[i + 13] & 0xffL) << 8 | (b[i + 14] & 0xffL) << 16
                            | (b[i + 15] & 0xffL) << 24;
                }
            }
        }
        throw new IOException("no end-of-central-directory record in " + zip);
    }
}
