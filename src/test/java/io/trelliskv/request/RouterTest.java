package io.trelliskv.request;

import io.trelliskv.common.Key;
import io.trelliskv.net.peer.PeerUnavailableException;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.ReadReply;
import io.trelliskv.replication.ReplicaPlacement;
import io.trelliskv.replication.ReplicaTransport;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.testing.CommandHarness;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Routing between two in-process nodes: the client talks to node A (a {@link CommandHarness} with
 * routing enabled); keys are placed by a fixed owner map; the fake forwarder runs what A forwards on
 * node B's dispatcher, on a thread of its own, when the test releases it — so each test decides when
 * and in which order forwarded replies arrive. Keys named {@code a...} belong to A, {@code b...} to B,
 * {@code c...} to C, which is down.
 */
class RouterTest {

    static final long A = 0xa1;
    static final long B = 0xb2;
    static final long C = 0xc3;

    private CommandHarness a;
    private CommandHarness b;
    private FakePlacement placement;
    private FakeForwarder forwarder;
    private Router router;
    /** What a FLUSHALL through node A does. */
    private Supplier<CompletableFuture<Void>> clusterFlush = () -> CompletableFuture.completedFuture(null);

    @BeforeEach
    void setUp() {
        a = new CommandHarness();
        b = new CommandHarness();
        placement = new FakePlacement(A);
        forwarder = new FakeForwarder(Map.of(B, b.node.dispatcher()));
        router = serveCluster(a, placement, forwarder);
    }

    @AfterEach
    void tearDown() {
        forwarder.thread.shutdownNow();
        a.close();
        b.close();
    }

    @Test
    void aKeyOfThisNodeRunsHere() {
        assertThat(a.call("SET", "a1", "x")).isEqualTo("+OK\r\n");
        assertThat(a.call("GET", "a1")).isEqualTo("$1\r\nx\r\n");
        assertThat(forwarder.calls).isEmpty();
        assertThat(b.call("GET", "a1")).isEqualTo("$-1\r\n");
    }

    @Test
    void aKeyOfAnotherNodeIsForwardedAndItsReplyDeferred() {
        assertThat(a.call("SET", "b1", "x")).as("deferred").isEmpty();
        forwarder.releaseAll();
        assertThat(output()).isEqualTo("+OK\r\n");
        assertThat(b.call("GET", "b1")).isEqualTo("$1\r\nx\r\n");
        assertThat(a.node.engine().size()).isZero();
        assertThat(router.forwarded()).isEqualTo(1);
        assertThat(router.forwardFailures()).isZero();
    }

    @Test
    void pipelinedRepliesKeepRequestOrderWhateverOrderForwardsComplete() {
        b.call("SET", "b1", "one");
        b.call("SET", "b2", "two");
        a.call("SET", "a1", "here");
        assertThat(a.send(command("GET", "b1") + command("GET", "a1") + command("GET", "b2") + command("PING")))
                .as("everything waits behind the first forward").isEmpty();
        forwarder.release(1); // GET b2 first
        assertThat(output()).isEmpty();
        forwarder.release(0);
        assertThat(output()).isEqualTo("$3\r\none\r\n$4\r\nhere\r\n$3\r\ntwo\r\n+PONG\r\n");
        assertThat(a.call("GET", "a1")).as("back on the direct path").isEqualTo("$4\r\nhere\r\n");
    }

    @Test
    void flushAllWaitsForTheAnswersOfCommandsHeldBackAheadOfIt() {
        List<Long> keysOnBWhenFlushed = new ArrayList<>();
        clusterFlush = () -> {
            keysOnBWhenFlushed.add(b.node.engine().size());
            return CompletableFuture.completedFuture(null);
        };
        assertThat(a.send(command("SET", "b1", "x"))).isEmpty();
        placement.epoch++; // coordinators changed while SET b1 is on its way
        assertThat(a.send(command("SET", "b2", "y") + command("FLUSHALL"))).as("SET b2 held back, FLUSHALL behind it")
                .isEmpty();
        forwarder.release(0); // SET b1 answers: SET b2 goes out, and FLUSHALL must wait for its answer too
        assertThat(forwarder.calls).hasSize(2);
        assertThat(keysOnBWhenFlushed).as("no flush before SET b2 has answered").isEmpty();
        forwarder.release(1);
        assertThat(keysOnBWhenFlushed).as("the flush saw both writes done").containsExactly(2L);
        assertThat(output()).isEqualTo("+OK\r\n+OK\r\n+OK\r\n");
    }

    @Test
    void mgetIsSplitByOwnerAndMergedInKeyOrder() {
        a.call("SET", "a1", "A1");
        b.call("SET", "b1", "B1");
        b.call("SET", "b3", "B3");
        assertThat(a.call("MGET", "b1", "a1", "b2", "a2", "b3")).isEmpty();
        assertThat(forwarder.calls).singleElement()
                .satisfies(c -> assertThat(strings(c.args)).containsExactly("MGET", "b1", "b2", "b3"));
        forwarder.releaseAll();
        assertThat(output()).isEqualTo("*5\r\n$2\r\nB1\r\n$2\r\nA1\r\n$-1\r\n$-1\r\n$2\r\nB3\r\n");
    }

    @Test
    void delExistsAndUnlinkSumTheirShares() {
        a.call("SET", "a1", "x");
        b.call("SET", "b1", "x");
        b.call("SET", "b2", "x");
        a.call("EXISTS", "a1", "b1", "b2", "b9", "a1");
        forwarder.releaseAll();
        assertThat(output()).isEqualTo(":4\r\n");
        a.call("DEL", "b1", "a1", "a9");
        forwarder.releaseAll();
        assertThat(output()).isEqualTo(":2\r\n");
        a.call("UNLINK", "b2", "a1");
        forwarder.releaseAll();
        assertThat(output()).isEqualTo(":1\r\n");
        assertThat(b.node.engine().size()).isZero();
    }

    @Test
    void msetIsSplitWithEachKeysValue() {
        a.call("MSET", "a1", "1", "b1", "2", "a2", "3");
        assertThat(strings(forwarder.calls.get(0).args)).containsExactly("MSET", "b1", "2");
        forwarder.releaseAll();
        assertThat(output()).isEqualTo("+OK\r\n");
        assertThat(a.call("MGET", "a1", "a2")).isEqualTo("*2\r\n$1\r\n1\r\n$1\r\n3\r\n");
        assertThat(b.call("GET", "b1")).isEqualTo("$1\r\n2\r\n");
    }

    @Test
    void aKeyWithoutItsValueGetsTheArityErrorHere() {
        assertThat(a.call("MSET", "a1", "1", "b1")).isEqualTo("-ERR wrong number of arguments for 'mset' command\r\n");
        assertThat(forwarder.calls).isEmpty();
    }

    @Test
    void commandsThatCannotBeSplitAreRefusedAcrossOwners() {
        String crossslot = "-CROSSSLOT Keys in request don't hash to the same node\r\n";
        assertThat(a.call("MSETNX", "a1", "1", "b1", "2")).isEqualTo(crossslot);
        assertThat(a.call("RENAME", "a1", "b1")).isEqualTo(crossslot);
        assertThat(a.call("RENAMENX", "b1", "a1")).isEqualTo(crossslot);
        assertThat(forwarder.calls).isEmpty();
        a.call("SET", "a1", "v");
        assertThat(a.call("RENAME", "a1", "a2")).as("keys of one owner run as usual").isEqualTo("+OK\r\n");
        assertThat(a.call("MSETNX", "b1", "1", "b2", "2")).isEmpty();
        assertThat(strings(forwarder.calls.get(0).args)).containsExactly("MSETNX", "b1", "1", "b2", "2");
        forwarder.releaseAll();
        assertThat(output()).isEqualTo(":1\r\n");
    }

    @Test
    void noLiveOwnerIsRefusedAtOnce() {
        assertThat(a.call("GET", "c1"))
                .isEqualTo("-CLUSTERDOWN no reachable owner for key 'c1' (owners: c3@10.0.0.3:7000)\r\n");
        assertThat(a.call("MGET", "a1", "c1")).startsWith("-CLUSTERDOWN no reachable owner for key 'c1'");
        assertThat(forwarder.calls).isEmpty();
        assertThat(a.node.dispatcher().stats().errorReplies()).isEqualTo(2);
    }

    @Test
    void aForwardThatTimesOutAnswersTryAgainNamingTheOwner() {
        forwarder.timingOut.add(B);
        a.call("GET", "b1");
        forwarder.releaseAll();
        assertThat(output()).isEqualTo(
                "-TRYAGAIN owner b2@10.0.0.2:7000 of key 'b1' did not answer: timed out (no reply in 500 ms)\r\n");
        a.call("MGET", "a1", "b1");
        forwarder.releaseAll();
        assertThat(output()).startsWith("-TRYAGAIN owner b2@10.0.0.2:7000 of key 'b1'");
        assertThat(router.forwarded()).isEqualTo(2);
        assertThat(router.forwardFailures()).isEqualTo(2);
    }

    @Test
    void aFirstOwnerThatCannotBeReachedGivesWayToTheNextLiveOwner() {
        placement.replicas.put("b1", List.of(B, A)); // A is the key's second replica
        forwarder.unreachable.put(B, false);
        a.call("APPEND", "b1", "x"); // read-modify-write: goes to the first live replica
        forwarder.releaseAll();
        assertThat(output()).isEqualTo(":1\r\n");
        assertThat(a.node.engine().get(io.trelliskv.common.Key.of("b1"))).as("ran on the next owner, here").isNotNull();
        assertThat(router.retriedElsewhere()).isEqualTo(1);
        assertThat(router.forwardFailures()).isZero();
    }

    @Test
    void aReadOfKeysThisNodeReplicatesRunsHereAndAShareWithNoReachableOwnerFailsAsAWhole() {
        placement.replicas.put("b1", List.of(B, A));
        placement.replicas.put("b2", List.of(B, C, A)); // C is down: its next live owner is A
        a.node.engine().put(io.trelliskv.common.Key.of("b1"), "one".getBytes(StandardCharsets.UTF_8), 0); // A's copy
        forwarder.unreachable.put(B, false); // B died a moment ago; not yet known to be dead
        // A read, which any live replica coordinates: A is one of every key's, so nothing is forwarded
        // (the split-again fallback is left to keys of which this node is no replica).
        assertThat(a.call("MGET", "a1", "b1", "b2")).as("every key answered here, at once")
                .isEqualTo("*3\r\n$-1\r\n$3\r\none\r\n$-1\r\n");
        assertThat(forwarder.calls).as("every key has a replica here").isEmpty();
        assertThat(router.retriedElsewhere()).isZero();

        placement.replicas.put("b3", List.of(B)); // no other owner
        a.call("MGET", "a1", "b3");
        forwarder.releaseAll();
        assertThat(output()).as("fails as a whole, naming the owner and why")
                .startsWith("-TRYAGAIN owner b2@10.0.0.2:7000 of key 'b3' did not answer: peer 10.0.0.2:7000 unavailable: connection refused");
    }

    @Test
    void aForwardThatMayHaveArrivedIsNotRetriedElsewhere() {
        placement.replicas.put("b1", List.of(B, A));
        forwarder.unreachable.put(B, true); // the connection broke after the request was sent
        a.call("INCR", "b1");
        forwarder.releaseAll();
        assertThat(output()).startsWith("-TRYAGAIN owner b2@10.0.0.2:7000 of key 'b1' did not answer: ");
        assertThat(a.node.engine().get(io.trelliskv.common.Key.of("b1"))).as("not run twice").isNull();
        assertThat(router.retriedElsewhere()).isZero();
    }

    @Test
    void aForwardedCommandIsNeverForwardedAgain() {
        FakeForwarder fromB = new FakeForwarder(Map.of(A, a.node.dispatcher()));
        FakePlacement bView = new FakePlacement(B);
        bView.owner.put("b1", A); // B's ring says A owns b1, A's says B does: one hop stops here
        serveCluster(b, bView, fromB);
        a.call("SET", "b1", "x");
        forwarder.releaseAll();
        assertThat(output()).isEqualTo("+OK\r\n");
        assertThat(fromB.calls).isEmpty();
        assertThat(b.node.engine().size()).isEqualTo(1);
        fromB.thread.shutdownNow();
    }

    @Test
    void theClientsProtocolIsPassedThrough() {
        a.call("HELLO", "3");
        a.call("GET", "b1");
        assertThat(forwarder.calls.get(0).protocol).isEqualTo(3);
        forwarder.releaseAll();
        assertThat(output()).isEqualTo("_\r\n");
        a.call("MGET", "b1", "a1");
        forwarder.releaseAll();
        assertThat(output()).isEqualTo("*2\r\n_\r\n_\r\n");
    }

    @Test
    void executeForwardedRunsTheCommandWithTheUsualChecks() {
        Dispatcher d = b.node.dispatcher();
        assertThat(str(forwarded(d, 2, args("SET", "k", "v")))).isEqualTo("+OK\r\n");
        assertThat(str(forwarded(d, 3, args("GET", "nope")))).isEqualTo("_\r\n");
        assertThat(str(forwarded(d, 2, args("GET")))).isEqualTo("-ERR wrong number of arguments for 'get' command\r\n");
        assertThat(str(forwarded(d, 2, args("NOPE")))).startsWith("-ERR unknown command 'NOPE'");
    }

    // ---- helpers ----

    /**
     * Makes the harness's node route by {@code placement}, each node being the only replica of the keys
     * it owns (a command coordinated here runs here, as on a single node).
     */
    private Router serveCluster(CommandHarness h, FakePlacement placement, FakeForwarder forwarder) {
        ReplicaPlacement onlySelf = new ReplicaPlacement() {
            @Override
            public long localNodeId() {
                return placement.local;
            }

            @Override
            public List<Long> replicas(long token) {
                return List.of(placement.local);
            }
        };
        ReplicaTransport none = new ReplicaTransport() {
            @Override
            public CompletableFuture<Void> write(long nodeId, List<Entry> entries) {
                throw new AssertionError("no replica but this node");
            }

            @Override
            public CompletableFuture<List<ReadReply>> read(long nodeId, List<Key> keys, Entry[] known) {
                throw new AssertionError("no replica but this node");
            }
        };
        Hlc hlc = new Hlc(h.clock);
        Coordinator coordinator = new Coordinator(h.node.engine(), hlc, onlySelf, id -> true, none,
                (node, entry) -> false, new ReplicationConfig(1, ConsistencyLevel.ONE, ConsistencyLevel.ONE, false,
                        ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS, 0, 1_000), new SplittableRandom(1));
        return h.node.dispatcher().serveCluster(placement, forwarder, coordinator, hlc,
                () -> clusterFlush.get());
    }

    private String output() {
        return a.send("");
    }

    private static String command(String... args) {
        StringBuilder sb = new StringBuilder().append('*').append(args.length).append("\r\n");
        for (String s : args) {
            sb.append('$').append(s.length()).append("\r\n").append(s).append("\r\n");
        }
        return sb.toString();
    }

    private static byte[][] args(String... words) {
        byte[][] out = new byte[words.length][];
        for (int i = 0; i < words.length; i++) {
            out[i] = words[i].getBytes(StandardCharsets.UTF_8);
        }
        return out;
    }

    private static List<String> strings(byte[][] args) {
        List<String> out = new ArrayList<>();
        for (byte[] b : args) {
            out.add(str(b));
        }
        return out;
    }

    private static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Owners by the first letter of the key, unless {@link #owner} says otherwise; C is down. */
    static final class FakePlacement implements Placement {
        final long local;
        /** See {@link Placement#epoch}: the test moves it to say coordinators changed. */
        long epoch;
        final Map<String, Long> owner = new HashMap<>();
        /** Whole replica lists for keys that have more than one owner. */
        final Map<String, List<Long>> replicas = new HashMap<>();

        FakePlacement(long local) {
            this.local = local;
        }

        @Override
        public long localNodeId() {
            return local;
        }

        @Override
        public List<Long> owners(long token) {
            // The test keys are few: find the key by its token.
            for (String prefix : new String[] {"a", "b", "c"}) {
                for (int i = 0; i < 10; i++) {
                    String key = prefix + i;
                    if (Router.token(key.getBytes(StandardCharsets.UTF_8)) == token) {
                        if (replicas.containsKey(key)) {
                            return replicas.get(key);
                        }
                        long id = owner.getOrDefault(key, prefix.equals("a") ? A : prefix.equals("b") ? B : C);
                        return List.of(id);
                    }
                }
            }
            return List.of(local);
        }

        @Override
        public boolean isAlive(long nodeId) {
            return nodeId != C;
        }

        @Override
        public long epoch() {
            return epoch;
        }

        @Override
        public String describe(long nodeId) {
            return Long.toHexString(nodeId) + "@10.0.0." + (nodeId & 0xf) + ":7000";
        }
    }

    private static byte[] forwarded(Dispatcher d, int protocol, byte[][] args) {
        return d.executeForwarded(1, new ForwardCodec.Request(protocol, null, null, 0, null, args)).join().resp();
    }

    /** Runs forwarded commands on the target's dispatcher, on its own thread, when the test says so. */
    static final class FakeForwarder implements Forwarder {
        final Map<Long, Dispatcher> nodes;
        final ExecutorService thread = Executors.newSingleThreadExecutor();
        final List<Call> calls = new ArrayList<>();
        final Set<Long> timingOut = new HashSet<>();
        /** Nodes that cannot be reached; the value says whether the request may have arrived. */
        final Map<Long, Boolean> unreachable = new HashMap<>();

        record Call(long node, int protocol, byte[][] args, ForwardCodec.Request request,
                    CompletableFuture<ForwardCodec.Reply> reply) {
        }

        FakeForwarder(Map<Long, Dispatcher> nodes) {
            this.nodes = nodes;
        }

        @Override
        public CompletableFuture<ForwardCodec.Reply> forward(long nodeId, ForwardCodec.Request request,
                                                             List<Entry> ahead) {
            Call c = new Call(nodeId, request.protocol(), request.args(), request, new CompletableFuture<>());
            calls.add(c);
            return c.reply;
        }

        /** Completes call {@code i} on the forwarder's thread and waits until its reply was handed on. */
        void release(int i) {
            Call c = calls.get(i);
            try {
                thread.submit(() -> {
                    if (unreachable.containsKey(c.node)) {
                        c.reply.completeExceptionally(new PeerUnavailableException(
                                new InetSocketAddress("10.0.0.2", 7000), "connection refused", null,
                                unreachable.get(c.node)));
                    } else if (timingOut.contains(c.node)) {
                        c.reply.completeExceptionally(new TimeoutException("no reply in 500 ms"));
                    } else {
                        c.reply.complete(nodes.get(c.node).executeForwarded(1, c.request).join());
                    }
                }).get();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }

        void releaseAll() {
            for (int i = 0; i < calls.size(); i++) {
                if (!calls.get(i).reply.isDone()) {
                    release(i);
                }
            }
        }
    }
}
