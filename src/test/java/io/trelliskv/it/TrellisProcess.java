package io.trelliskv.it;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * One process started from the launchers ({@code bin/trellis}, {@code bin/trellis-cli}) or any other
 * program, for end-to-end tests: its stdout and stderr go to files so they can be read at any time
 * without pump threads, and it is always stopped through its own {@link Process} handle — SIGTERM,
 * then SIGKILL after a deadline — never by name.
 *
 * <h2>Where the launchers run from</h2>
 * The launchers rebuild {@code target/trelliskv.jar} whenever a source file is newer than it. In a
 * work tree that is being edited, that would make a test start a Maven build (slow, and a different
 * jar from the one under test). So {@link #stageHome} copies {@code bin/} from {@code trellis.home}
 * and the jar failsafe built ({@code trellis.jar}) into a directory without sources: the launchers are
 * the real scripts, and the jar they run is exactly the one under test.
 *
 * <h2>Environment</h2>
 * Children run on the test's own JDK ({@code JAVA_HOME}), with {@code JAVA_TOOL_OPTIONS} and friends
 * removed (the JVM would announce them on stderr, which the tests read line by line) and a small heap,
 * since several JVMs share the machine.
 */
final class TrellisProcess implements AutoCloseable {

    /** How long a node may take from exec to answering PING (a cold JVM on a loaded machine). */
    static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    /** How long a short-lived command (trellis-cli, a node refusing its flags) may run. */
    static final Duration RUN_TIMEOUT = Duration.ofSeconds(30);
    /** How long a process has to exit after SIGTERM before it is killed. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

    private static final String LOOPBACK = InetAddress.getLoopbackAddress().getHostAddress();
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private final String name;
    private final Process process;
    private final Path stdout;
    private final Path stderr;

    private TrellisProcess(String name, Process process, Path stdout, Path stderr) {
        this.name = name;
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /** What a finished process left: its exit status and everything it printed. */
    record Result(int exitCode, String stdout, String stderr) {

        List<String> stderrLines() {
            return stderr.lines().toList();
        }
    }

    /**
     * Copies the launchers from {@code trellis.home}, and the jar from {@code trellis.jar} with the libraries
     * in the {@code lib/} beside it that its manifest's Class-Path names (system properties set by failsafe),
     * into {@code dir}, laid out as a TrellisKV home, and returns it.
     */
    static Path stageHome(Path dir) throws IOException {
        Path home = Path.of(requiredProperty("trellis.home"));
        Path jar = Path.of(requiredProperty("trellis.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("no jar at " + jar + ": run the end-to-end tests after 'package'");
        }
        Files.createDirectories(dir.resolve("bin"));
        Files.createDirectories(dir.resolve("target"));
        for (String script : List.of("trellis", "trellis-cli", "_launcher.sh", "_jdk.sh")) {
            Files.copy(home.resolve("bin").resolve(script), dir.resolve("bin").resolve(script),
                    StandardCopyOption.COPY_ATTRIBUTES, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.copy(jar, dir.resolve("target/trelliskv.jar"), StandardCopyOption.REPLACE_EXISTING);
        Path lib = jar.resolveSibling("lib");
        Files.createDirectories(dir.resolve("target/lib"));
        try (Stream<Path> libraries = Files.list(lib)) {
            for (Path library : (Iterable<Path>) libraries::iterator) {
                Files.copy(library, dir.resolve("target/lib").resolve(library.getFileName()),
                        StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return dir;
    }

    private static String requiredProperty(String key) {
        String value = System.getProperty(key);
        if (value == null) {
            throw new IllegalStateException("system property " + key + " is not set: run through failsafe ("
                    + "./mvnw verify)");
        }
        return value;
    }

    /** A loopback TCP port that was free a moment ago (bound to port 0, then released). */
    static int freePort() throws IOException {
        return freePort(LOOPBACK);
    }

    /** A TCP port free on {@code host} a moment ago; a node there also binds UDP on it. */
    static int freePort(String host) throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code home/bin/<launcher> args...} with stdin closed. */
    static TrellisProcess launch(Path home, Path logDir, String launcher, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(home.toAbsolutePath().resolve("bin").resolve(launcher).toString());
        command.addAll(List.of(args));
        return start(logDir, command, null);
    }

    /**
     * As {@link #launch}, on the JDK the launcher picks itself (not this JVM's) and with its class-data
     * archive on: every other start here runs with {@code TRELLIS_CDS=no}, since the archive's background
     * training would outlive a test and write into a staged home while it is deleted.
     */
    static TrellisProcess launchWithClassData(Path home, Path logDir, String launcher, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(home.toAbsolutePath().resolve("bin").resolve(launcher).toString());
        command.addAll(List.of(args));
        return start(logDir, command, null, "yes");
    }

    /** Starts any other program (a reference redis-server, say) with stdin closed. */
    static TrellisProcess launchCommand(Path logDir, List<String> command) throws IOException {
        return start(logDir, command, null);
    }

    /** True if {@code program} is an executable file in one of the directories of {@code PATH}. */
    static boolean onPath(String program) {
        return which(program).isPresent();
    }

    /** The first executable file named {@code program} in the directories of {@code PATH}. */
    static Optional<Path> which(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        return Arrays.stream(path.split(File.pathSeparator)).filter(d -> !d.isEmpty()).map(d -> Path.of(d, program))
                .filter(Files::isExecutable).findFirst();
    }

    /** Runs {@code home/bin/<launcher> args...} to completion, feeding it {@code stdin} (may be null). */
    static Result run(Path home, Path logDir, String stdin, String launcher, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(home.toAbsolutePath().resolve("bin").resolve(launcher).toString());
        command.addAll(List.of(args));
        return runCommand(logDir, stdin, command);
    }

    /** Runs any program to completion within {@link #RUN_TIMEOUT}; killed and reported if it does not end. */
    static Result runCommand(Path logDir, String stdin, List<String> command) throws IOException {
        try (TrellisProcess p = start(logDir, command, stdin)) {
            if (!p.process.waitFor(RUN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.stop();
                throw new AssertionError(p.name + " did not finish within " + RUN_TIMEOUT + "; stderr:\n"
                        + p.stderr());
            }
            return new Result(p.process.exitValue(), p.stdout(), p.stderr());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for " + command, e);
        }
    }

    private static TrellisProcess start(Path logDir, List<String> command, String stdin) throws IOException {
        return start(logDir, command, stdin, "no");
    }

    private static TrellisProcess start(Path logDir, List<String> command, String stdin, String classData)
            throws IOException {
        String name = Path.of(command.get(0)).getFileName() + "#" + SEQUENCE.incrementAndGet();
        Path out = logDir.resolve(name + ".out");
        Path err = logDir.resolve(name + ".err");
        // The log directory is the working directory, so a node's default data directory (data/PORT) is the test's.
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(logDir.toAbsolutePath().toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        Map<String, String> env = pb.environment();
        env.remove("JAVA_TOOL_OPTIONS");
        env.remove("_JAVA_OPTIONS");
        env.remove("JDK_JAVA_OPTIONS");
        if (classData.equals("yes")) {
            env.remove("JAVA_HOME");
        } else {
            env.put("JAVA_HOME", System.getProperty("java.home"));
        }
        env.put("TRELLIS_JAVA_OPTS", "-Xmx256m -XX:+UseSerialGC");
        env.put("TRELLIS_CDS", classData);
        if (stdin == null) {
            pb.redirectInput(new File("/dev/null"));
        }
        Process process = pb.start();
        if (stdin != null) {
            try (OutputStream in = process.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                // The process exited without reading its input; its exit status tells the test why.
            }
        }
        return new TrellisProcess(name, process, out, err);
    }

    /**
     * Waits until the node answers PING on loopback {@code port}; fails at once, with the node's stderr,
     * if it exits first.
     */
    TrellisProcess awaitServing(int port) {
        return awaitServing(LOOPBACK, port);
    }

    /**
     * Waits until the process answers PING on {@code host:port}; fails at once, with what it printed, if
     * it exits first.
     */
    TrellisProcess awaitServing(String host, int port) {
        await().atMost(START_TIMEOUT).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (!process.isAlive()) {
                String out = stdout();
                throw new AssertionError(name + " (" + host + ":" + port + ") exited with status "
                        + process.exitValue() + " before serving; stderr:\n" + stderr()
                        + (out.isBlank() ? "" : "\nstdout:\n" + out));
            }
            return answersPing(host, port);
        });
        return this;
    }

    /** True if something on loopback {@code port} answers an inline PING with {@code +PONG}. */
    static boolean answersPing(int port) {
        return answersPing(LOOPBACK, port);
    }

    /** True if something on {@code host:port} answers an inline PING with {@code +PONG}. */
    static boolean answersPing(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getByName(host), port), 500);
            s.setSoTimeout(1000);
            s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] expected = "+PONG\r\n".getBytes(StandardCharsets.US_ASCII);
            InputStream in = s.getInputStream();
            byte[] got = in.readNBytes(expected.length);
            return Arrays.equals(expected, got);
        } catch (IOException e) {
            return false;
        }
    }

    Process process() {
        return process;
    }

    String stdout() {
        return read(stdout);
    }

    String stderr() {
        return read(stderr);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Sends {@code SIG<name>} to the process (the launchers exec the JVM, so for a node that is the JVM);
     * nothing if it has exited.
     */
    void signal(String signalName) {
        if (!process.isAlive()) {
            return;
        }
        try {
            Result r = runCommand(stdout.getParent(), null, List.of("kill", "-" + signalName,
                    Long.toString(process.pid())));
            assertThat(r.exitCode()).as("kill -%s %s: %s", signalName, name, r.stderr()).isZero();
        } catch (IOException e) {
            throw new AssertionError("could not run kill -" + signalName + " for " + name, e);
        }
    }

    /**
     * Stops the process: SIGTERM, then SIGKILL if it has not exited within {@link #STOP_TIMEOUT}.
     * Returns its exit status.
     */
    int stop() {
        process.destroy();
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        return process.isAlive() ? -1 : process.exitValue();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            stop();
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
