package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.common.Address;
import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.membership.MemberState;
import io.trelliskv.membership.SwimConfig;
import io.trelliskv.net.NetConfig;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.HintConfig;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.version.Hlc;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Repair figures for docs/BENCHMARKS.md (run by {@code bench/repair.sh}, not a test): two real nodes in
 * one JVM on loopback, replication factor 2 (both replicate every range), 16 tokens each; KEYS entries
 * (16-byte keys, 100-byte values) loaded straight into both engines with the same versions, then 1 % of
 * the keys made to differ, a quarter each way: missing on B, missing on A, newer on B, deleted later on
 * A (a newer tombstone). Then, over the real peer protocol (frames on TCP, the node's own threads and
 * pacing):
 * <ol>
 *   <li>REPAIR on A: time (REPAIR STATUS elapsed_ms), payload bytes both ways, keys compared/streamed;</li>
 *   <li>REPAIR on A again, nothing left to do: the cost of a round between replicas in sync;</li>
 *   <li>references in the same run: a scan of all entries of one engine (forEachInRange over the whole
 *       ring), and a full copy: B's engine cleared, REPAIR on B pulls every key.</li>
 * </ol>
 * Arguments: KEYS (default 1000000) and the --anti-entropy-cpu fraction (default 1: unpaced).
 */
public final class RepairBenchmark {

    private static final ProtocolCommand REPAIR = () -> SafeEncoder.encode("REPAIR");

    public static void main(String[] args) throws Exception {
        int keys = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        double cpu = args.length > 1 ? Double.parseDouble(args[1]) : 1.0;
        Node a = start(List.of(), cpu);
        Node b = start(List.of(new Address("127.0.0.1", a.address().getPort())), cpu);
        try {
            long deadline = System.currentTimeMillis() + 30_000;
            while (!(ready(a) && ready(b))) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("the two nodes did not see each other in 30 s");
                }
                Thread.sleep(50);
            }
            int diverged = load(a, b, keys);
            System.out.printf("repair-bench: %d keys, %d differing (%.2f %%), --anti-entropy-cpu %s, %d cores%n",
                    keys, diverged, 100.0 * diverged / keys, cpu, Runtime.getRuntime().availableProcessors());
            for (int i = 0; i < 3; i++) {
                long t = System.nanoTime();
                LongAdder n = new LongAdder();
                a.engine().forEachInRange(0, 0, e -> n.increment());
                System.out.printf("reference: scan of %d entries of one engine: %d ms%n", n.sum(),
                        (System.nanoTime() - t) / 1_000_000);
            }
            report("repair, 1 % divergent", repair(a));
            check(a, b, keys);
            report("repair, in sync", repair(a));
            b.engine().clear();
            report("reference: full copy (B wiped, REPAIR on B)", repair(b));
            check(a, b, keys);
        } finally {
            b.close();
            a.close();
        }
    }

    private static Node start(List<Address> seeds, double cpu) throws IOException {
        NetConfig net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
        ReplicationConfig replication = new ReplicationConfig(2, ConsistencyLevel.QUORUM, ConsistencyLevel.QUORUM,
                false, ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS, 0, ReplicationConfig.DEFAULT_REPLICA_TIMEOUT_MILLIS);
        ClusterConfig cluster = new ClusterConfig("repair-bench", seeds, null, 16, null, SwimConfig.lan("repair-bench"),
                replication, HintConfig.defaults(), AntiEntropyConfig.defaults().withInterval(0).withCpuFraction(cpu));
        EngineConfig engine = new EngineConfig(0, EvictionPolicy.NOEVICTION, 4 * 3600_000L,
                EngineConfig.DEFAULT_EVICTION_SAMPLES);
        Node node = new Node(new NodeConfig(net, engine, cluster), Clock.SYSTEM);
        node.start();
        return node;
    }

    private static boolean ready(Node n) {
        return n.clusterState().ring().nodes().size() == 2 && n.clusterState().count(MemberState.ALIVE) == 2;
    }

    /** Loads both engines; returns the number of keys made to differ. */
    private static int load(Node a, Node b, int keys) {
        long base = Hlc.pack(System.currentTimeMillis() - 60_000, 0);
        long later = Hlc.pack(System.currentTimeMillis() - 30_000, 0);
        long purgeAt = System.currentTimeMillis() + 3600_000L;
        byte[] value = new byte[100];
        Arrays.fill(value, (byte) 'v');
        int diverged = 0;
        for (int i = 0; i < keys; i++) {
            Key key = Key.of(String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII));
            Entry e = new Entry(key, value, base + i, a.nodeId(), 0);
            if (i % 100 != 0) {
                a.engine().merge(e);
                b.engine().merge(e);
                continue;
            }
            diverged++;
            switch ((i / 100) % 4) {
                case 0 -> a.engine().merge(e);
                case 1 -> b.engine().merge(e);
                case 2 -> {
                    a.engine().merge(e);
                    b.engine().merge(new Entry(key, value, later + i, b.nodeId(), 0));
                }
                default -> {
                    b.engine().merge(e);
                    a.engine().merge(new Entry(key, null, later + i, a.nodeId(), purgeAt));
                }
            }
        }
        return diverged;
    }

    private static Map<String, String> repair(Node n) throws InterruptedException {
        try (Jedis j = new Jedis("127.0.0.1", n.address().getPort(), 600_000)) {
            long round = (Long) j.sendCommand(REPAIR);
            while (true) {
                Map<String, String> s = status(j);
                if (Long.parseLong(s.get("round")) >= round && s.get("state").equals("done")) {
                    return s;
                }
                Thread.sleep(20);
            }
        }
    }

    private static Map<String, String> status(Jedis j) {
        List<?> flat = (List<?>) j.sendCommand(REPAIR, "STATUS");
        Map<String, String> out = new HashMap<>();
        for (int i = 0; i < flat.size(); i += 2) {
            out.put(text(flat.get(i)), text(flat.get(i + 1)));
        }
        return out;
    }

    private static String text(Object o) {
        return o instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(o);
    }

    private static void report(String what, Map<String, String> s) {
        System.out.printf("%s: %s ms, keys compared %s, streamed in %s out %s, bytes sent %s received %s "
                        + "(%.2f MB total), failures %s%n", what, s.get("elapsed_ms"), s.get("keys_compared"),
                s.get("keys_streamed_in"), s.get("keys_streamed_out"), s.get("bytes_sent"), s.get("bytes_received"),
                (Long.parseLong(s.get("bytes_sent")) + Long.parseLong(s.get("bytes_received"))) / 1e6, s.get("failures"));
    }

    /** Both engines hold the same entries (versions and tombstone flags). */
    private static void check(Node a, Node b, int keys) {
        Map<Key, Entry> inA = new HashMap<>();
        a.engine().forEachInRange(0, 0, e -> inA.put(e.key(), e));
        LongAdder same = new LongAdder();
        Engine eb = b.engine();
        eb.forEachInRange(0, 0, e -> {
            Entry x = inA.get(e.key());
            if (x != null && x.version().equals(e.version()) && x.isTombstone() == e.isTombstone()) {
                same.increment();
            }
        });
        if (same.sum() != inA.size() || inA.size() != keys) {
            throw new IllegalStateException("replicas differ after repair: " + same.sum() + " equal of " + inA.size()
                    + " on A, " + keys + " keys loaded");
        }
        System.out.printf("check: both replicas hold the same %d entries%n", keys);
    }
}
