package io.trelliskv.node;

import io.trelliskv.common.Clock;
import io.trelliskv.resp.RespReplyReader;
import io.trelliskv.resp.RespRequestEncoder;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A training run for the JVM's class-data archive, which {@code bin/trellis} makes once per jar, JDK and
 * JVM options (under {@code -XX:ArchiveClassesAtExit}) and hands to every later start: a node is started
 * the way a user starts one, on a fresh data directory, answers a pipeline of the common commands over a
 * real connection, is stopped, started again on the same directory (so recovery runs) and stopped. The
 * archive then holds the classes a start, a restart and the first requests load, already parsed and
 * verified, which takes about a quarter of a second off every start (docs/BENCHMARKS.md, "Class-data
 * sharing"). Exits 0 on success; whatever fails, the launcher just starts without an archive.
 */
public final class ClassDataTraining {

    /** The requests sent to the node: each a RESP array, all written at once. */
    private static final String[][] REQUESTS = {
            {"PING"},
            {"SET", "training:a", "1"},
            {"SET", "training:b", "two", "EX", "100"},
            {"GET", "training:a"},
            {"MSET", "training:c", "3", "training:d", "4"},
            {"MGET", "training:a", "training:c", "training:missing"},
            {"INCR", "training:a"},
            {"EXPIRE", "training:c", "100"},
            {"TTL", "training:c"},
            {"EXISTS", "training:a", "training:b"},
            {"DEL", "training:d"},
            {"INFO"},
    };

    private ClassDataTraining() {
    }

    public static void main(String[] args) {
        int status = 0;
        try {
            train();
        } catch (Exception e) {
            System.err.println("trellis: class-data training failed: " + e);
            status = 1;
        }
        System.exit(status); // whatever threads a stopped node left behind
    }

    /** The training itself: a node started, used, restarted and stopped on a temporary directory. */
    static void train() throws Exception {
        Path dir = Files.createTempDirectory("trellis-training");
        try {
            runNode(dir, true);
            runNode(dir, false); // a restart: recovery replays the log
        } finally {
            deleteTree(dir);
        }
    }

    /** Starts a node on {@code dir} and a free port, sends it the requests (or just a PING), stops it. */
    private static void runNode(Path dir, boolean requests) throws Exception {
        Main main = new Main();
        Main.commandLine(main).parseArgs("0", "--data-dir", dir.toString(), "--protected-mode", "no");
        Node node = new Node(main.config(), Clock.SYSTEM);
        try {
            node.start();
            exchange(node.address(), requests ? REQUESTS : new String[][] {{"PING"}});
        } finally {
            node.close();
        }
    }

    /** Writes the requests as one pipeline and reads every reply. */
    private static void exchange(InetSocketAddress address, String[][] requests) throws IOException {
        try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            for (String[] request : requests) {
                List<byte[]> args = new ArrayList<>(request.length);
                for (String arg : request) {
                    args.add(arg.getBytes(StandardCharsets.UTF_8));
                }
                out.write(RespRequestEncoder.encode(args));
            }
            out.flush();
            RespReplyReader replies = new RespReplyReader(new BufferedInputStream(socket.getInputStream()));
            for (int i = 0; i < requests.length; i++) {
                replies.read();
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
