package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.cluster.ClusterState;
import io.trelliskv.cluster.RebalanceConfig;
import io.trelliskv.common.Address;
import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.membership.MemberState;
import io.trelliskv.membership.SwimConfig;
import io.trelliskv.net.NetConfig;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.repair.RangeStream;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.HintConfig;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.ring.TokenRing;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.version.Hlc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Join figures for docs/BENCHMARKS.md (run by {@code bench/rebalance.sh}, not a test): three real nodes
 * in one JVM on loopback, replication factor 3, 16 tokens each, KEYS entries (16-byte keys, 100-byte
 * values) loaded straight into all three engines with the same versions. Then a fourth node is started
 * with the first as its seed and joins as it would anywhere (JOINING, 2 s settle, STREAM_RANGE pulls
 * over the peer protocol, NORMAL); reported: the time from its start to NORMAL, the bootstrap stream's
 * keys, bytes and time (the streaming rate), and the share of the data it received beside the ideal.
 * Arguments: KEYS (default 1000000) and --stream-throughput in MiB/s (default 0: no limit).
 */
public final class RebalanceBenchmark {

    public static void main(String[] args) throws Exception {
        int keys = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        double mibPerSecond = args.length > 1 ? Double.parseDouble(args[1]) : 0;
        long rate = (long) (mibPerSecond * (1 << 20));
        List<Node> nodes = new ArrayList<>();
        nodes.add(start(List.of(), rate));
        Address seed = new Address("127.0.0.1", nodes.get(0).address().getPort());
        nodes.add(start(List.of(seed), rate));
        nodes.add(start(List.of(seed), rate));
        try {
            awaitNormal(nodes, 3);
            load(nodes, keys);
            System.out.printf("rebalance-bench: %d keys on 3 nodes (N = 3), --stream-throughput %s MiB/s, %d cores%n",
                    keys, mibPerSecond == 0 ? "unlimited" : Double.toString(mibPerSecond),
                    Runtime.getRuntime().availableProcessors());
            long started = System.nanoTime();
            Node d = start(List.of(seed), rate);
            nodes.add(d);
            awaitNormal(nodes, 4);
            long joinMillis = (System.nanoTime() - started) / 1_000_000;
            RangeStream.Progress p = d.cluster().member().rebalancer().streams().get(0);
            double seconds = p.elapsedMillis() / 1000.0;
            System.out.printf("join: %d ms from start to NORMAL (2000 ms of it the settle time, 1000-2000 ms the"
                    + " token settle)%n", joinMillis);
            System.out.printf("stream: %d ranges, %d keys, %.1f MB in %d ms: %.0f keys/s, %.1f MB/s, %d failures%n",
                    p.rangesTotal(), p.keys(), p.bytes() / 1e6, p.elapsedMillis(), p.keys() / seconds,
                    p.bytes() / 1e6 / seconds, p.failures());
            TokenRing ring = d.clusterState().ring();
            double ideal = ring.replicaOwnership(3).get(d.nodeId());
            long onD = d.engine().size();
            System.out.printf("moved: %d of %d copies = %.4f of the data (its replica share on the new ring %.4f,"
                    + " 1/4 = 0.25 for even tokens); the new node holds %.4f of the keys%n", p.keys(), 3L * keys,
                    p.keys() / (3.0 * keys), ideal, onD / (double) keys);
            check(nodes, keys);
        } finally {
            for (int i = nodes.size() - 1; i >= 0; i--) {
                nodes.get(i).close();
            }
        }
    }

    private static Node start(List<Address> seeds, long rate) throws IOException {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        ReplicationConfig replication = new ReplicationConfig(3, ConsistencyLevel.QUORUM, ConsistencyLevel.QUORUM,
                false, ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS, 0, ReplicationConfig.DEFAULT_REPLICA_TIMEOUT_MILLIS);
        ClusterConfig cluster = new ClusterConfig("rebalance-bench", seeds, null, 16, null,
                SwimConfig.lan("rebalance-bench"), replication, HintConfig.defaults(),
                AntiEntropyConfig.defaults().withInterval(0),
                new RebalanceConfig(rate, 0, RebalanceConfig.DEFAULT_SETTLE_MILLIS));
        EngineConfig engine = new EngineConfig(0, EvictionPolicy.NOEVICTION, 4 * 3600_000L,
                EngineConfig.DEFAULT_EVICTION_SAMPLES);
        Node node = new Node(new NodeConfig(net, engine, cluster), Clock.SYSTEM);
        node.start();
        return node;
    }

    private static void awaitNormal(List<Node> nodes, int count) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 600_000;
        while (true) {
            boolean ready = true;
            for (Node n : nodes) {
                ClusterState s = n.clusterState();
                ready &= s.ring().nodes().size() == count && !s.moving() && s.count(MemberState.ALIVE) == count;
            }
            if (ready) {
                return;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException(count + " nodes did not settle in 600 s");
            }
            Thread.sleep(10);
        }
    }

    private static void load(List<Node> nodes, int keys) {
        long base = Hlc.pack(System.currentTimeMillis() - 60_000, 0);
        byte[] value = new byte[100];
        Arrays.fill(value, (byte) 'v');
        for (int i = 0; i < keys; i++) {
            Key key = Key.of(String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII));
            Entry e = new Entry(key, value, base + i, nodes.get(0).nodeId(), 0);
            for (Node n : nodes) {
                n.engine().merge(e);
            }
        }
    }

    /** Every key is on each of its replicas on the new ring. */
    private static void check(List<Node> nodes, int keys) {
        TokenRing ring = nodes.get(0).clusterState().ring();
        LongAdder missing = new LongAdder();
        for (int i = 0; i < keys; i++) {
            Key key = Key.of(String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII));
            for (long id : ring.replicas(key.token(), 3)) {
                Node n = nodes.stream().filter(x -> x.nodeId() == id).findFirst().orElseThrow();
                if (n.engine().stored(key) == null) {
                    missing.increment();
                }
            }
        }
        if (missing.sum() != 0) {
            throw new IllegalStateException(missing.sum() + " copies missing after the join");
        }
        System.out.printf("check: every one of %d keys is on its 3 replicas%n", keys);
    }
}
