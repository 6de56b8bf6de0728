package io.trelliskv.cluster;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.net.peer.PeerMessageType;
import io.trelliskv.net.peer.PeerPayload;
import io.trelliskv.replication.ReadReply;
import io.trelliskv.replication.ReplicaCodec;
import io.trelliskv.replication.ReplicaTransport;
import io.trelliskv.storage.Entry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Replica reads made in one event-loop turn leave as one {@code REPLICA_READ} per replica, and each
 * caller gets the replies of its own keys, in its order, and is told once if the replica is slow to answer;
 * outside an event loop each read goes alone.
 * Writes of one turn leave as one {@code REPLICA_WRITE} per replica, whose answer each write hears.
 */
class PeerReplicaTransportTest {

    private final EventLoop loop = new DefaultEventLoop();

    /** The calls made, and a replica that answers each key with its value "v:" + key, stamped (1, node). */
    private final List<String> calls = new ArrayList<>();
    /** The version (hlc) each read call said the coordinator knows, per key, in the order sent. */
    private final List<Long> knownSent = new ArrayList<>();
    private boolean fail;
    /** Reads left unanswered (a slow replica) until the test completes them; null: answered at once. */
    private List<CompletableFuture<byte[]>> held;
    /** How the replica answers writes: applied, refused (its clock) or not at all ({@link #fail}). */
    private boolean refuse;
    private final PeerCalls peers = (nodeId, type, payload, timeout, stream) -> {
        if (type == PeerMessageType.REPLICA_WRITE) {
            calls.add("write " + nodeId + ":" + ReplicaCodec.decodeWrite(payload).stream().map(e -> e.key().toString()).toList());
            if (fail) {
                return CompletableFuture.failedFuture(new IllegalStateException("node " + nodeId + " is down"));
            }
            return CompletableFuture.completedFuture(refuse ? ReplicaCodec.writeRefused("clock " + nodeId + " behind")
                    : ReplicaCodec.writeApplied());
        }
        assertThat(type).isEqualTo(PeerMessageType.REPLICA_READ);
        ReplicaCodec.ReadRequest request = ReplicaCodec.decodeRead(payload);
        List<Key> keys = request.keys();
        for (long hlc : request.knownHlc()) {
            knownSent.add(hlc);
        }
        calls.add(nodeId + ":" + keys.stream().map(Key::toString).toList());
        if (fail) {
            return CompletableFuture.failedFuture(new IllegalStateException("node " + nodeId + " is down"));
        }
        if (held != null) {
            CompletableFuture<byte[]> later = new CompletableFuture<>();
            held.add(later);
            return later;
        }
        List<ReadReply> replies = new ArrayList<>();
        for (Key k : keys) {
            String text = new String(k.bytes(), StandardCharsets.UTF_8);
            replies.add(new ReadReply(1, nodeId, new Entry(k, ("v:" + text).getBytes(StandardCharsets.UTF_8), 1, nodeId, 0)));
        }
        return CompletableFuture.completedFuture(ReplicaCodec.encodeReadReply(replies));
    };
    private final PeerReplicaTransport transport = new PeerReplicaTransport(peers, Duration.ofSeconds(1), Clock.SYSTEM);

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }

    @Test
    void readsOfOneTurnGoAsOneCallPerReplicaAndEachCallerGetsItsOwnKeys() throws Exception {
        List<CompletableFuture<List<ReadReply>>> reads = loop.submit(() -> List.of(
                transport.read(2, keys("a", "b"), new Entry[2]),
                transport.read(3, keys("a"), new Entry[1]),
                transport.read(2, keys("c"), new Entry[1]),
                transport.read(2, keys("a"), new Entry[1]))).get(5, TimeUnit.SECONDS);

        assertThat(values(reads.get(0).get(5, TimeUnit.SECONDS))).containsExactly("v:a", "v:b");
        assertThat(values(reads.get(1).get(5, TimeUnit.SECONDS))).containsExactly("v:a");
        assertThat(values(reads.get(2).get(5, TimeUnit.SECONDS))).containsExactly("v:c");
        assertThat(values(reads.get(3).get(5, TimeUnit.SECONDS))).containsExactly("v:a");
        assertThat(calls).containsExactly("2:" + keys("a", "b", "c", "a"), "3:" + keys("a"));
    }

    @Test
    void aTurnOfManyReadsGoesAsOneCallWithWhatTheCoordinatorKnowsOfEachKey() throws Exception {
        int readers = 40; // more than a batch makes room for at first
        List<CompletableFuture<List<ReadReply>>> reads = loop.submit(() -> {
            List<CompletableFuture<List<ReadReply>>> out = new ArrayList<>();
            for (int i = 0; i < readers; i++) {
                if (i == 7) {
                    Entry[] known = {known("x", 1_000), null};
                    out.add(transport.read(2, keys("x", "y"), known));
                } else {
                    out.add(transport.read(2, keys("k" + i), new Entry[] {known("k" + i, i + 1)}));
                }
            }
            return out;
        }).get(5, TimeUnit.SECONDS);

        List<Long> expected = new ArrayList<>();
        for (int i = 0; i < readers; i++) {
            List<ReadReply> answer = reads.get(i).get(5, TimeUnit.SECONDS);
            if (i == 7) {
                assertThat(values(answer)).containsExactly("v:x", "v:y");
                expected.add(1_000L);
                expected.add(0L);
            } else {
                assertThat(values(answer)).containsExactly("v:k" + i);
                expected.add(i + 1L);
            }
        }
        assertThat(calls).hasSize(1);
        assertThat(knownSent).as("each key's known version, in the batch's order").isEqualTo(expected);
    }

    private static Entry known(String key, long hlc) {
        return new Entry(Key.of(key), new byte[0], hlc, 1, 0);
    }

    @Test
    void aFailedCallFailsEveryReadOfItsBatch() throws Exception {
        fail = true;
        List<CompletableFuture<List<ReadReply>>> reads = loop.submit(() -> List.of(
                transport.read(2, keys("a"), new Entry[1]),
                transport.read(2, keys("b"), new Entry[1]))).get(5, TimeUnit.SECONDS);

        for (CompletableFuture<List<ReadReply>> r : reads) {
            assertThatThrownBy(() -> r.get(5, TimeUnit.SECONDS)).hasMessageContaining("node 2 is down");
        }
        assertThat(calls).hasSize(1);
    }

    @Test
    void writesOfOneTurnGoAsOneCallPerReplicaAndEachWriteHearsEachOfItsReplicas() throws Exception {
        List<String> answers = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch all = new CountDownLatch(3);
        loop.submit(() -> {
            transport.write(List.of(2L, 3L), entries("a"), (i, failure) -> answer(answers, all, "first", i, failure));
            transport.write(List.of(2L), entries("b"), (i, failure) -> answer(answers, all, "second", i, failure));
        }).get(5, TimeUnit.SECONDS);
        assertThat(all.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(calls).containsExactly("write 2:[a, b]", "write 3:[a]");
        assertThat(answers).containsExactlyInAnyOrder("first 0 applied", "second 0 applied", "first 1 applied");
    }

    @Test
    void aRefusedOrFailedBatchIsTheAnswerOfEveryWriteInIt() throws Exception {
        for (boolean down : new boolean[] {false, true}) {
            refuse = !down;
            fail = down;
            calls.clear();
            List<String> answers = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch all = new CountDownLatch(2);
            loop.submit(() -> {
                transport.write(List.of(2L), entries("a"), (i, failure) -> answer(answers, all, "first", i, failure));
                transport.write(List.of(2L), entries("b"), (i, failure) -> answer(answers, all, "second", i, failure));
            }).get(5, TimeUnit.SECONDS);
            assertThat(all.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(calls).containsExactly("write 2:[a, b]");
            String outcome = down ? "IllegalStateException: node 2 is down" : "ReplicaRefusedException: clock 2 behind";
            assertThat(answers).containsExactlyInAnyOrder("first 0 " + outcome, "second 0 " + outcome);
        }
    }

    @Test
    void aTurnOfMoreEntriesThanOneBatchTakesGoesInSeveralAndEveryWriteHearsItsReplica() throws Exception {
        int writes = PeerReplicaTransport.MAX_COALESCED + 10;
        List<String> answers = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch all = new CountDownLatch(writes);
        loop.submit(() -> {
            for (int w = 0; w < writes; w++) {
                String name = "w" + w;
                transport.write(List.of(2L), entries(name), (i, failure) -> answer(answers, all, name, i, failure));
            }
        }).get(5, TimeUnit.SECONDS);
        assertThat(all.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(calls).hasSize(2);
        assertThat(calls.get(0)).startsWith("write 2:[w0, w1, ").endsWith(", w511]");
        assertThat(calls.get(1)).isEqualTo("write 2:[w512, w513, w514, w515, w516, w517, w518, w519, w520, w521]");
        assertThat(answers).hasSize(writes).allMatch(a -> a.endsWith(" 0 applied"));
    }

    @Test
    void aWriteMadeWhileATurnIsSentIsSentAndAnswered() throws Exception {
        List<String> answers = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch all = new CountDownLatch(3);
        // The replica answers at once, so the first write hears its answer while the turn is being sent,
        // and writes again then (as a command held back behind it would).
        loop.submit(() -> transport.write(List.of(2L, 3L), entries("a"), (i, failure) -> {
            answer(answers, all, "first", i, failure);
            if (i == 0) {
                transport.write(List.of(2L), entries("b"), (j, again) -> answer(answers, all, "second", j, again));
            }
        })).get(5, TimeUnit.SECONDS);
        assertThat(all.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(answers).containsExactlyInAnyOrder("first 0 applied", "first 1 applied", "second 0 applied");
        assertThat(calls).containsExactly("write 2:[a]", "write 3:[a]", "write 2:[b]");
    }

    @Test
    void replicasTakingTheSameEntriesInATurnShareOneBody() throws Exception {
        List<PeerPayload> bodies = Collections.synchronizedList(new ArrayList<>());
        PeerCalls recording = new PeerCalls() {
            @Override
            public CompletableFuture<byte[]> call(long nodeId, PeerMessageType type, byte[] payload, Duration timeout,
                                                  long stream) {
                throw new AssertionError("a replica write's body goes as a payload, not bytes");
            }

            @Override
            public CompletableFuture<byte[]> call(long nodeId, PeerMessageType type, PeerPayload payload,
                                                  Duration timeout, long stream, long deadlineMillis) {
                bodies.add(payload);
                calls.add("write " + nodeId + ":" + ReplicaCodec.decodeWrite(payload.toBytes()).stream()
                        .map(e -> e.key().toString()).toList());
                return CompletableFuture.completedFuture(ReplicaCodec.writeApplied());
            }
        };
        PeerReplicaTransport shared = new PeerReplicaTransport(recording, Duration.ofSeconds(1), Clock.SYSTEM);
        CountDownLatch all = new CountDownLatch(5);
        loop.submit(() -> {
            shared.write(List.of(2L, 3L), entries("a"), (i, failure) -> all.countDown());
            shared.write(List.of(2L, 3L), entries("b"), (i, failure) -> all.countDown());
            shared.write(List.of(4L), entries("c"), (i, failure) -> all.countDown());
        }).get(5, TimeUnit.SECONDS);
        assertThat(all.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(calls).containsExactly("write 2:[a, b]", "write 3:[a, b]", "write 4:[c]");
        assertThat(bodies.get(1)).isSameAs(bodies.get(0));
        assertThat(bodies.get(2)).isNotSameAs(bodies.get(0));
    }

    private static void answer(List<String> answers, CountDownLatch all, String write, int index, Throwable failure) {
        answers.add(write + " " + index + " " + (failure == null ? "applied"
                : failure.getClass().getSimpleName() + ": " + failure.getMessage()));
        all.countDown();
    }

    private static List<Entry> entries(String... names) {
        List<Entry> out = new ArrayList<>();
        for (String n : names) {
            out.add(new Entry(Key.of(n), n.getBytes(StandardCharsets.UTF_8), 1, 1, 0));
        }
        return out;
    }

    /** Records how a read was answered: "slow", then "answered" or "failed". */
    private static ReplicaTransport.ReadAnswers recording(List<String> events, CountDownLatch told) {
        return new ReplicaTransport.ReadAnswers() {
            @Override
            public void answered(List<ReadReply> replies, int from, Throwable failure) {
                events.add(failure == null ? "answered" : "failed");
                told.countDown();
            }

            @Override
            public void slow() {
                events.add("slow");
                told.countDown();
            }
        };
    }

    @Test
    void everyReadOfABatchNotAnsweredWithinTheDelayIsToldSlowOnce() throws Exception {
        held = Collections.synchronizedList(new ArrayList<>());
        List<String> first = Collections.synchronizedList(new ArrayList<>());
        List<String> second = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch bothSlow = new CountDownLatch(2);
        loop.submit(() -> {
            transport.read(2, keys("a"), new Entry[1], 20, recording(first, bothSlow));
            transport.read(2, keys("b"), new Entry[1], 20, recording(second, bothSlow));
        }).get(5, TimeUnit.SECONDS);

        assertThat(bothSlow.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(calls).as("one batch").containsExactly("2:[a, b]");
        loop.submit(() -> {
            first.add("then");
            second.add("then");
        }).get(5, TimeUnit.SECONDS);
        assertThat(held).hasSize(1);
        held.get(0).completeExceptionally(new IllegalStateException("gone"));
        assertThat(first).containsExactly("slow", "then", "failed");
        assertThat(second).containsExactly("slow", "then", "failed");
    }

    @Test
    void aBatchAnsweredWithinTheDelayTellsNobodySlow() throws Exception {
        held = Collections.synchronizedList(new ArrayList<>());
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch told = new CountDownLatch(1);
        loop.submit(() -> transport.read(2, keys("a"), new Entry[1], 500, recording(events, told))).get(5, TimeUnit.SECONDS);
        loop.submit(() -> { }).get(5, TimeUnit.SECONDS); // the turn's batch has been sent
        assertThat(held).hasSize(1);

        held.get(0).complete(ReplicaCodec.encodeReadReply(List.of(ReadReply.MISSING)));
        assertThat(told.await(5, TimeUnit.SECONDS)).isTrue();
        loop.schedule(() -> { }, 700, TimeUnit.MILLISECONDS).get(5, TimeUnit.SECONDS); // past the delay, on the loop
        assertThat(events).containsExactly("answered");
    }

    @Test
    void outsideAnEventLoopEachReadGoesAlone() throws Exception {
        assertThat(values(transport.read(2, keys("a"), new Entry[1]).get(5, TimeUnit.SECONDS))).containsExactly("v:a");
        assertThat(values(transport.read(2, keys("b"), new Entry[1]).get(5, TimeUnit.SECONDS))).containsExactly("v:b");
        assertThat(calls).hasSize(2);
    }

    private static List<Key> keys(String... names) {
        List<Key> keys = new ArrayList<>();
        for (String n : names) {
            keys.add(Key.of(n));
        }
        return keys;
    }

    private static List<String> values(List<ReadReply> replies) {
        return replies.stream().map(r -> new String(r.entry().value(), StandardCharsets.UTF_8)).toList();
    }
}
