package io.trelliskv.node;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The launchers' choice of JDK and JVM options (bin/_jdk.sh, bin/trellis), run by {@code /bin/sh} against
 * fake JDKs: a folder with a {@code release} file and a {@code bin/java} script that prints its arguments.
 */
class LauncherJvmTest {

    private static final Path BIN = Path.of("bin").toAbsolutePath();

    @TempDir
    Path root;
    private Path home;

    @BeforeEach
    void stageHome() throws IOException {
        home = stage(root.resolve("trellis"));
        Files.createDirectories(root.resolve("home"));
        Files.createDirectories(root.resolve("path"));
        // The tools the launchers use, without the machine's own java.
        Path tools = Files.createDirectories(root.resolve("tools"));
        for (String tool : List.of("sh", "sed", "awk", "head", "dirname", "basename", "readlink", "tr", "find", "mkdir",
                "cksum", "cut", "mv", "rm", "flock")) {
            Path found = Path.of("/usr/bin", tool);
            Files.createSymbolicLink(tools.resolve(tool), Files.exists(found) ? found : Path.of("/bin", tool));
        }
    }

    /** A TrellisKV home at {@code dir} without sources, so the launcher never builds: bin/, a jar and its lib/. */
    private static Path stage(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("bin"));
        for (String script : List.of("trellis", "trellis-cli", "_launcher.sh", "_jdk.sh")) {
            Files.copy(BIN.resolve(script), dir.resolve("bin").resolve(script), StandardCopyOption.COPY_ATTRIBUTES);
        }
        Files.createDirectories(dir.resolve("target"));
        Files.writeString(dir.resolve("target/trelliskv.jar"), "not a jar");
        Files.createDirectories(dir.resolve("target/lib"));
        return dir;
    }

    /** A fake JDK at root/dir: java prints "java ARGS..."; version in its release file, or only from java -version. */
    private Path jdk(String dir, String version, boolean releaseFile) throws IOException {
        Path jdk = Files.createDirectories(root.resolve(dir));
        Path java = Files.createDirectories(jdk.resolve("bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\n"
                + "if [ \"$1\" = -version ]; then echo 'openjdk version \"" + version + "\" 2026-01-01' >&2; exit 0; fi\n"
                + "echo \"java $*\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        if (releaseFile) {
            Files.writeString(jdk.resolve("release"), "IMPLEMENTOR=\"Test\"\nJAVA_VERSION=\"" + version + "\"\n");
        }
        return jdk;
    }

    /** Runs {@code sh -c script} in the staged home with a fake root for the JVM folders. */
    private String sh(Map<String, String> env, String script) throws IOException, InterruptedException {
        Result r = run(env, script);
        assertThat(r.err).as("stderr of %s", script).isEmpty();
        assertThat(r.status).as("exit status of %s: %s", script, r.out).isZero();
        return r.out;
    }

    private record Result(int status, String out, String err) {
    }

    private Result run(Map<String, String> env, String script) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", script).directory(home.toFile());
        pb.environment().remove("JAVA_HOME");
        pb.environment().remove("TRELLIS_JAVA_OPTS");
        pb.environment().put("TRELLIS_JDK_ROOT", root.toString());
        pb.environment().put("TRELLIS_CDS", "no"); // no background training unless a test asks for it
        pb.environment().put("HOME", root.resolve("home").toString());
        pb.environment().put("PATH", root.resolve("path") + ":" + root.resolve("tools"));
        pb.environment().putAll(env);
        Path err = root.resolve("stderr");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out, Files.readString(err));
    }

    private String findJdk(Map<String, String> env) throws IOException, InterruptedException {
        return sh(env, ". bin/_jdk.sh; trellis_find_jdk || echo none");
    }

    @Test
    void theNewestJdk21OrLaterWinsWhereverItIs() throws Exception {
        Path path17 = jdk("usr/lib/jvm/java-17", "17.0.15", true);
        Files.createSymbolicLink(root.resolve("path/java"), path17.resolve("bin/java"));
        jdk("usr/lib/jvm/jdk-21.0.9", "21.0.9", true);
        jdk("usr/lib/jvm/jdk-21.0.10", "21.0.10", true);
        jdk("opt/old-jdk", "1.8.0_292", true);
        Files.setPosixFilePermissions(jdk("usr/lib/jvm/not-a-jdk", "99", true).resolve("bin/java"),
                PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(findJdk(Map.of())).isEqualTo(root.resolve("usr/lib/jvm/jdk-21.0.10").toString());

        // A newer one in sdkman, without a release file: asked for its version.
        Path sdk = jdk("home/.sdkman/candidates/java/22.0.2-tem", "22.0.2", false);
        assertThat(findJdk(Map.of())).isEqualTo(sdk.toString());
        // And the java on the PATH, resolved through its link to its home.
        Path onPath = jdk("elsewhere/jdk-25", "25.0.3", true);
        Files.delete(root.resolve("path/java"));
        Files.createSymbolicLink(root.resolve("path/java"), onPath.resolve("bin/java"));
        assertThat(findJdk(Map.of())).isEqualTo(onPath.toString());
    }

    @Test
    void withoutJdk21TheNewest17OrLaterIsTaken() throws Exception {
        jdk("usr/lib/jvm/java-17", "17.0.15", true);
        Path jdk19 = jdk("usr/local/zulu19-jdk", "19.0.2", true);
        jdk("opt/jdk8", "1.8.0_292", true);
        assertThat(findJdk(Map.of())).isEqualTo(jdk19.toString());
    }

    @Test
    void anExplicitJavaHomeWinsAndNothingOldIsTaken() throws Exception {
        Path old = jdk("usr/lib/jvm/java-11", "11.0.2", true);
        assertThat(findJdk(Map.of())).isEqualTo("none");
        jdk("usr/lib/jvm/jdk-25", "25.0.3", true);
        assertThat(findJdk(Map.of("JAVA_HOME", old + "/"))).isEqualTo(old.toString());
    }

    @Test
    void theNodeGetsZgcWithoutProactiveCollectionsAndAHeapFromMaxmemory() throws Exception {
        Path jdk25 = jdk("usr/lib/jvm/jdk-25", "25.0.3", true);
        String out = sh(Map.of(), "bin/trellis 5000 --maxmemory 100mb");
        assertThat(out).startsWith("java -XX:+UseZGC -XX:-ZProactive -Xmx812m --enable-native-access=ALL-UNNAMED"
                + " --sun-misc-unsafe-memory-access=allow -cp "
                + home.resolve("target/trelliskv.jar")).endsWith(" io.trelliskv.node.Main 5000 --maxmemory 100mb");
        assertThat(sh(Map.of(), "bin/trellis 5000 --maxmemory=2GB")).contains(" -Xmx6656m ");
        // Read as the node reads it: trimmed, a leading + allowed.
        assertThat(sh(Map.of(), "bin/trellis 5000 --maxmemory ' +100MB'")).contains(" -Xmx812m ");
        // No --maxmemory, or one the node will refuse: the JVM's default heap.
        assertThat(sh(Map.of(), "bin/trellis 5000")).doesNotContain("-Xmx");
        assertThat(sh(Map.of(), "bin/trellis 5000 --maxmemory lots")).doesNotContain("-Xmx");

        // TRELLIS_JAVA_OPTS replaces every default.
        assertThat(sh(Map.of("TRELLIS_JAVA_OPTS", "-Xmx1g -XX:+UseSerialGC"), "bin/trellis 5000 --maxmemory 1gb"))
                .startsWith("java -Xmx1g -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED"
                        + " --sun-misc-unsafe-memory-access=allow -cp ");
        // The client runs on the same JDK.
        assertThat(sh(Map.of(), "bin/trellis-cli localhost:5000 ping")).startsWith("java ")
                .endsWith("io.trelliskv.cli.TrellisCli localhost:5000 ping");
        assertThat(jdk25).exists();
    }

    @Test
    void aClassDataArchiveIsTrainedInTheBackgroundOncePerJarAndUsedByLaterStarts() throws Exception {
        Path jdk25 = jdk("usr/lib/jvm/jdk-25", "25.0.3", true);
        // This java writes the archive a training run asks for, and counts the training runs.
        Files.writeString(jdk25.resolve("bin/java"), "#!/bin/sh\n"
                + "for a in \"$@\"; do case \"$a\" in -XX:ArchiveClassesAtExit=*)"
                + " echo archive >\"${a#-XX:ArchiveClassesAtExit=}\"; echo run >>\"" + root.resolve("trainings") + "\";;"
                + " esac; done\necho \"java $*\"\n");
        Path cds = home.resolve("target/cds");
        Map<String, String> cdsOn = Map.of("TRELLIS_CDS", "yes");

        // --help never trains.
        assertThat(sh(cdsOn, "bin/trellis --help")).doesNotContain("SharedArchiveFile");
        assertThat(cds).doesNotExist();

        // The first start goes on without an archive while one is trained in the background.
        assertThat(sh(cdsOn, "bin/trellis 5000")).doesNotContain("SharedArchiveFile");
        await(() -> hasArchive(cds), "an archive");
        String out = sh(cdsOn, "bin/trellis 5000");
        assertThat(out).contains(" -Xlog:cds*=off -Xlog:aot*=off -XX:SharedArchiveFile=" + cds + "/trelliskv-jdk25-")
                .contains(".jsa -cp ").endsWith("io.trelliskv.node.Main 5000");
        assertThat(Files.readAllLines(root.resolve("trainings"))).hasSize(1);

        // A newer jar makes the archive stale: not used, trained again.
        Files.setLastModifiedTime(home.resolve("target/trelliskv.jar"),
                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 60_000));
        assertThat(sh(cdsOn, "bin/trellis 5000")).doesNotContain("SharedArchiveFile");
        await(() -> Files.readAllLines(root.resolve("trainings")).size() == 2, "a second training");
        sh(Map.of(), "flock target/cds/.lock sh -c :"); // the trainer holds the lock until it has finished
        assertThat(Files.readAllLines(root.resolve("trainings"))).hasSize(2);

        // TRELLIS_CDS=no turns it all off.
        assertThat(sh(Map.of("TRELLIS_CDS", "no"), "bin/trellis 5000")).doesNotContain("SharedArchiveFile")
                .doesNotContain("-Xlog");
    }

    private static boolean hasArchive(Path cds) throws IOException {
        if (!Files.isDirectory(cds)) {
            return false;
        }
        try (var files = Files.list(cds)) {
            return files.anyMatch(f -> f.getFileName().toString().endsWith(".jsa"));
        }
    }

    private interface Condition {
        boolean holds() throws IOException;
    }

    /** Waits (bounded) for a file another process writes: polls, the condition ends the wait. */
    private static void await(Condition condition, String what) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited 20 s for " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void jdk17HasNoClassDataArchive() throws Exception {
        Path jdk17 = jdk("usr/lib/jvm/jdk-17", "17.0.15", true);
        assertThat(sh(Map.of("JAVA_HOME", jdk17.toString(), "TRELLIS_CDS", "yes"), "bin/trellis 5000")).doesNotContain("-Xlog")
                .doesNotContain("SharedArchiveFile");
        assertThat(home.resolve("target/cds")).doesNotExist();
    }

    @Test
    void jdk21NeedsTheFlagForGenerationalZgcAnd17HasNone() throws Exception {
        Path jdk21 = jdk("usr/lib/jvm/jdk-21", "21.0.9", true);
        assertThat(sh(Map.of(), "bin/trellis 5000")).startsWith("java -XX:+UseZGC -XX:+ZGenerational -XX:-ZProactive --enable-native-access");
        Path jdk17 = jdk("usr/lib/jvm/jdk-17", "17.0.15", true);
        assertThat(sh(Map.of("JAVA_HOME", jdk17.toString()), "bin/trellis 5000"))
                .startsWith("java -XX:+UseZGC -XX:-ZProactive --enable-native-access=ALL-UNNAMED -cp"); // no Unsafe flag before 23
        assertThat(jdk21).exists();
    }

    @Test
    void aJavaHomeOlderThan17IsRefusedWithOneLine() throws Exception {
        Path jdk11 = jdk("usr/lib/jvm/java-11", "11.0.2", true);
        jdk("usr/lib/jvm/jdk-25", "25.0.3", true); // not taken: JAVA_HOME wins
        for (String launcher : List.of("bin/trellis 5000", "bin/trellis-cli localhost:5000 ping")) {
            Result r = run(Map.of("JAVA_HOME", jdk11.toString()), launcher);
            assertThat(r.status).as(launcher).isEqualTo(1);
            assertThat(r.out).as("nothing started").isEmpty();
            assertThat(r.err.strip()).as(launcher).doesNotContain("\n")
                    .endsWith(": JAVA_HOME is " + jdk11 + ", a JDK 11; TrellisKV needs JDK 17 or newer (21 or newer for"
                            + " its default collector): point JAVA_HOME at one, or unset it to let the launcher find one");
        }
    }

    @Test
    void aHomeWhosePathHoldsSpacesStartsWithItsClassDataArchive() throws Exception {
        home = stage(root.resolve("my apps/trellis *"));
        Path jdk25 = jdk("usr/lib/jvm/jdk-25", "25.0.3", true);
        // This java writes the archive a training run asks for, and prints each argument in brackets.
        Files.writeString(jdk25.resolve("bin/java"), "#!/bin/sh\n"
                + "for a in \"$@\"; do case \"$a\" in -XX:ArchiveClassesAtExit=*)"
                + " echo archive >\"${a#-XX:ArchiveClassesAtExit=}\";; esac; done\n"
                + "for a in \"$@\"; do printf '[%s]' \"$a\"; done\n");
        Path cds = home.resolve("target/cds");
        Map<String, String> cdsOn = Map.of("TRELLIS_CDS", "yes");

        assertThat(sh(cdsOn, "bin/trellis 5000")).doesNotContain("SharedArchiveFile");
        await(() -> hasArchive(cds), "an archive");
        sh(Map.of(), "flock target/cds/.lock sh -c :"); // the trainer holds the lock until it has finished
        String out = sh(cdsOn, "bin/trellis 5000");
        assertThat(out).contains("[-Xlog:cds*=off][-Xlog:aot*=off][-XX:SharedArchiveFile=" + cds + "/trelliskv-jdk25-")
                .contains(".jsa][-cp][" + home.resolve("target/trelliskv.jar") + "][io.trelliskv.node.Main][5000]");
    }
}
