package io.trelliskv.it;

import io.trelliskv.harness.RespSocket;
import io.trelliskv.it.AckedWrites.Load;
import io.trelliskv.it.AckedWrites.Model;
import io.trelliskv.it.AckedWrites.Verdict;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every node of a cluster killed at once: three real nodes on 127.0.0.51 … 127.0.0.53, three replicas,
 * QUORUM reads and writes (the node defaults, spelled out), {@code --appendfsync always}, each with its own
 * {@code --data-dir}. One pipelined {@link Load} per node writes for {@value #LOAD_MILLIS} ms ({@value
 * #WINDOW} commands in flight each: SETs of new keys, some DELs of acknowledged ones), then all three
 * are SIGKILLed together and restarted on the same directories (the second and third with the first as
 * seed, as before). Once every node sees the others ALIVE, every key is read back at QUORUM through all
 * three nodes: an OK at QUORUM means two replicas had forced the write to their logs, so every
 * acknowledged SET must be there with its value and every acknowledged DEL must stay deleted.
 *
 * <p>A SIGKILL keeps what the processes had written into the OS's page cache: this catches an
 * acknowledgement that runs ahead of the log's write, not one that runs ahead of its fsync.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PowerCutIT {

    private static final int NODES = 3;
    private static final String CLUSTER_NAME = "power-cut-it";
    private static final long SEED = Long.getLong("persistence.seed", System.nanoTime());
    private static final int WINDOW = 64;
    private static final int DELETE_ONE_IN = 8;
    private static final long LOAD_MILLIS = 2_000;
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(30);
    private static final int CLIENT_TIMEOUT_MILLIS = 10_000;

    @TempDir
    Path tempDir;
    private final List<TrellisProcess> processes = new ArrayList<>();

    @AfterEach
    void stopNodes() {
        processes.forEach(TrellisProcess::close);
    }

    @Test
    void acknowledgedQuorumWritesSurviveKillingEveryNode() throws Exception {
        Path home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        Path logs = ClusterIT.logDir("power-cut-it-logs");
        System.out.printf("PowerCutIT: seed %d (-Dpersistence.seed=%d to replay); logs in %s%n", SEED, SEED,
                logs.toAbsolutePath());
        List<Endpoint> nodes = new ArrayList<>();
        List<Path> dataDirs = new ArrayList<>();
        for (int i = 0; i < NODES; i++) {
            nodes.add(Endpoint.free("127.0.0." + (51 + i), CLIENT_TIMEOUT_MILLIS));
            dataDirs.add(Files.createDirectories(tempDir.resolve("data-" + (i + 1))));
        }
        for (int i = 0; i < NODES; i++) {
            processes.add(TrellisProcess.launch(home, logs, ClusterIT.LAUNCHER, args(nodes, dataDirs, i)));
            processes.get(i).awaitServing(nodes.get(i).host(), nodes.get(i).port());
            Endpoint.awaitInfo(List.of(nodes.get(0)), CONVERGE_TIMEOUT, "cluster",
                    Map.of("ring_nodes", Integer.toString(i + 1)));
        }
        awaitAllAlive(nodes);

        Random random = new Random(SEED);
        List<Model> models = new ArrayList<>();
        List<Load> loads = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        List<RespSocket> conns = new ArrayList<>();
        long killedAt;
        try {
            for (int i = 0; i < NODES; i++) {
                Model model = new Model();
                RespSocket conn = AckedWrites.connect(nodes.get(i).host(), nodes.get(i).port());
                conns.add(conn);
                Load load = new Load(conn, model, new Random(random.nextLong()), "pc" + i + ":", WINDOW, DELETE_ONE_IN);
                models.add(model);
                loads.add(load);
                Thread t = new Thread(load, "power-cut-load-" + i);
                threads.add(t);
                t.start();
            }
            for (Load load : loads) {
                assertThat(load.firstReply.await(CLIENT_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)).as("first reply")
                        .isTrue();
            }
            Thread.sleep(LOAD_MILLIS); // the fault comes after this much load: not a wait for anything
            killedAt = System.nanoTime();
            for (TrellisProcess p : processes) {
                p.process().destroyForcibly(); // SIGKILL, all three before waiting for any
            }
            for (TrellisProcess p : processes) {
                assertThat(p.process().waitFor(30, TimeUnit.SECONDS)).as("%s killed", p).isTrue();
            }
        } finally {
            loads.forEach(Load::stop);
            for (Thread t : threads) {
                Load.join(t);
            }
            conns.forEach(RespSocket::close);
        }
        for (Load load : loads) {
            assertThat(load.ended).as("the load ended by the kill: %s", load.counts()).isNotNull();
            assertThat(load.setsAcked).as("the load ran: %s", load.counts()).isPositive();
        }

        processes.clear();
        for (int i = 0; i < NODES; i++) {
            processes.add(TrellisProcess.launch(home, logs, ClusterIT.LAUNCHER, args(nodes, dataDirs, i)));
        }
        for (int i = 0; i < NODES; i++) {
            processes.get(i).awaitServing(nodes.get(i).host(), nodes.get(i).port());
            assertThat(processes.get(i).stderr()).as("start log of node %d", i + 1)
                    .contains("(appendonly yes, appendfsync always): loaded");
        }
        long restartedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        awaitAllAlive(nodes);

        List<RespSocket> readers = new ArrayList<>();
        try {
            for (Endpoint n : nodes) {
                readers.add(AckedWrites.connect(n.host(), n.port()));
            }
            int violations = 0;
            StringBuilder report = new StringBuilder();
            for (int i = 0; i < NODES; i++) {
                Verdict v = models.get(i).verify(readers, Long.MAX_VALUE);
                violations += v.violations();
                String line = String.format("load through node %d: %s; %s", i + 1, loads.get(i).counts(), v.summary());
                System.out.println("PowerCutIT: " + line);
                report.append("\n  ").append(line);
            }
            System.out.printf("PowerCutIT: all serving again %d ms after the kill%n", restartedMillis);
            assertThat(violations).as("acknowledged writes lost or undone (seed %d):%s", SEED, report).isZero();
        } finally {
            readers.forEach(RespSocket::close);
        }
    }

    private static String[] args(List<Endpoint> nodes, List<Path> dataDirs, int i) {
        List<String> args = new ArrayList<>(List.of(Integer.toString(nodes.get(i).port())));
        if (i > 0) {
            args.add(nodes.get(0).address());
        }
        args.addAll(List.of("--host", nodes.get(i).host(), "--cluster-name", CLUSTER_NAME,
                "--replication-factor", "3", "--write-consistency", "QUORUM", "--read-consistency", "QUORUM",
                "--appendfsync", "always", "--data-dir", dataDirs.get(i).toString()));
        return args.toArray(String[]::new);
    }

    private static void awaitAllAlive(List<Endpoint> nodes) {
        String size = Integer.toString(nodes.size());
        Endpoint.awaitInfo(nodes, CONVERGE_TIMEOUT, "cluster", Map.of("members_alive", size, "ring_nodes", size,
                "cluster_joined", "1"));
    }
}
