package io.trelliskv.request;

import io.trelliskv.command.CommandTable;
import io.trelliskv.command.KeyCommands;
import io.trelliskv.command.StringCommands;
import io.trelliskv.common.Key;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

class SessionTest {

    @Test
    void aConnectionThatNeverWroteHasNoFloors() {
        assertThat(new Session(1).floors(List.of(Key.of("k")))).isNull();
    }

    @Test
    void aWriteSetsTheFloorOfItsKeyAndOnlyNewerVersionsRaiseIt() {
        Session s = new Session(1);
        Key k = Key.of("k");
        s.record(k.token(), 100, 7);
        s.record(k.token(), 90, 9); // older: ignored
        assertThat(s.floors(List.of(k))).containsExactly(new Version(100, 7));
        s.record(k.token(), 100, 8); // same hlc, greater node: newer
        assertThat(s.floors(List.of(k))).containsExactly(new Version(100, 8));
    }

    @Test
    void onlyKeysThisConnectionWroteHaveFloors() {
        Session s = new Session(1);
        s.record(Key.of("written").token(), 500, 1);
        for (int i = 0; i < 2_000; i++) {
            assertThat(s.floors(List.of(Key.of("other" + i)))[0]).as("other%d", i).isNull();
        }
    }

    /**
     * Read-your-writes against a model of the newest version written per key: many more keys than the
     * exact table has slots, so most are pushed out to their buckets, and versions in random order, so
     * a key pushed out with a newer version can come back to the table with an older one. Every key's
     * floor is at least its newest write, and the key written last, with the newest version of all, is exact.
     */
    @Test
    void everyKeysFloorIsAtLeastItsNewestWriteWhetherExactOrPushedOut() {
        Random random = new Random(42);
        Session s = new Session(1);
        Map<Key, Version> newest = new HashMap<>();
        for (int i = 0; i < 4 * Session.EXACT_SLOTS; i++) {
            Key k = Key.of("k" + random.nextInt(3 * Session.EXACT_SLOTS));
            Version v = new Version(1 + random.nextInt(1_000_000), 1 + random.nextInt(3));
            s.record(k.token(), v.hlc(), v.nodeId());
            newest.merge(k, v, (a, b) -> a.compareTo(b) >= 0 ? a : b);
        }
        int raised = 0;
        for (Map.Entry<Key, Version> e : newest.entrySet()) {
            Version floor = s.floors(List.of(e.getKey()))[0];
            assertThat(floor).as(e.getKey().toString()).isNotNull();
            assertThat(floor.compareTo(e.getValue())).as(e.getKey().toString()).isGreaterThanOrEqualTo(0);
            raised += floor.equals(e.getValue()) ? 0 : 1;
        }
        assertThat(raised).as("floors raised by a bucket shared with keys pushed out").isPositive();
        Key last = Key.of("last");
        s.record(last.token(), 2_000_000, 1);
        assertThat(s.floors(List.of(last))).containsExactly(new Version(2_000_000, 1));
    }

    /**
     * A run's acknowledged writes are recorded as one batch: after each batch, the floors and the newest clock
     * are those of recording each write alone, in order, through pushes out of the exact table and its growth,
     * and with a key written twice in one batch (its newer version kept, whichever comes last). Versions mostly
     * grow, as a node's clock does, so a bucket's floor shows which key was pushed out into it last.
     */
    @Test
    void aBatchOfWritesLeavesTheFloorsOfRecordingThemOneByOne() {
        Random random = new Random(7);
        Session batched = new Session(1);
        Session oneByOne = new Session(2);
        List<Key> keys = new ArrayList<>();
        for (int i = 0; i < 3 * Session.EXACT_SLOTS; i++) {
            keys.add(Key.of("k" + i));
        }
        long clock = 1;
        for (int b = 0; b < 400; b++) {
            List<Entry> batch = new ArrayList<>();
            List<Key> batchKeys = new ArrayList<>();
            for (int i = 1 + random.nextInt(64); i > 0; i--) {
                Key k = keys.get(random.nextInt(keys.size()));
                clock += 1 + random.nextInt(3);
                batch.add(new Entry(k, new byte[0], clock, 1 + random.nextInt(3), 0));
                batchKeys.add(k);
                if (random.nextInt(8) == 0) { // the same key again, with an older or a newer version
                    batch.add(new Entry(k, new byte[0], clock + random.nextInt(5) - 2, 1, 0));
                }
            }
            batched.record(batch);
            for (Entry e : batch) {
                oneByOne.record(e.key().token(), e.hlc(), e.nodeId());
            }
            assertThat(batched.floors(batchKeys)).as("batch %d", b).containsExactly(oneByOne.floors(batchKeys));
            assertThat(batched.newestFloorHlc(batchKeys)).as("batch %d", b)
                    .isEqualTo(oneByOne.newestFloorHlc(batchKeys));
        }
        assertThat(batched.floors(keys)).containsExactly(oneByOne.floors(keys));
    }

    @Test
    void aBlindWriteObservesAClockAtLeastAsNewAsItsKeysFloorsExactOrPushedOutOrGiven() {
        Session s = new Session(1);
        Key a = Key.of("a");
        Key b = Key.of("b");
        Key never = Key.of("never-written");
        assertThat(s.newestFloorHlc(List.of(a, b))).isZero();
        s.record(a.token(), 10, 1);
        s.record(b.token(), 30, 2);
        s.record(a.token(), 20, 1);
        // The newest clock the connection wrote, whichever key: no older than any key's floor.
        assertThat(s.newestFloorHlc(List.of(a))).isEqualTo(30);
        assertThat(s.newestFloorHlc(List.of(never))).isEqualTo(30);
        int later = 8 * Session.EXACT_SLOTS;
        for (int i = 0; i < later; i++) { // takes a's and b's slots, and raises their buckets
            s.record(Key.of("later" + i).token(), 5 + i, 1);
        }
        long newest = 5 + later - 1;
        assertThat(s.floors(List.of(a))[0].hlc()).as("a's bucket").isGreaterThan(20);
        assertThat(s.floors(List.of(b))[0].hlc()).as("b's bucket").isGreaterThan(30);
        Key lastWritten = Key.of("later" + (later - 1));
        assertThat(s.floors(List.of(lastWritten))).as("exact").containsExactly(new Version(newest, 1));
        for (Key k : List.of(a, b, lastWritten)) {
            assertThat(s.newestFloorHlc(List.of(k))).isEqualTo(newest)
                    .isGreaterThanOrEqualTo(s.floors(List.of(k))[0].hlc());
        }
        Session forwarded = Session.forwarded(null, null, new Version[] {null, new Version(7, 3)});
        assertThat(forwarded.newestFloorHlc(List.of(a, b))).isEqualTo(7);
    }

    @Test
    void aForwardedSessionUsesTheFloorsItWasGivenInKeyOrder() {
        Version[] given = {null, new Version(3, 4)};
        Session s = Session.forwarded(ConsistencyLevel.ONE, null, given);
        assertThat(s.readLevel()).isEqualTo(ConsistencyLevel.ONE);
        assertThat(s.writeLevel()).isNull();
        assertThat(s.floors(List.of(Key.of("a"), Key.of("b")))).containsExactly(given);
    }

    @Test
    void blindWritesAreTheOnesWhoseOutcomeIgnoresTheStoredValue() {
        CommandTable t = new CommandTable();
        new StringCommands(null, null, 1 << 20).registerInto(t);
        new KeyCommands(null, null).registerInto(t);
        assertThat(Coordination.blind(t.find(b("set")), args("SET", "k", "v", "EX", "10"))).isTrue();
        assertThat(Coordination.blind(t.find(b("set")), args("SET", "k", "v", "nx"))).isFalse();
        assertThat(Coordination.blind(t.find(b("set")), args("SET", "k", "v", "GET"))).isFalse();
        assertThat(Coordination.blind(t.find(b("set")), args("SET", "k", "v", "KEEPTTL"))).isFalse();
        assertThat(Coordination.blind(t.find(b("mset")), args("MSET", "a", "1"))).isTrue();
        assertThat(Coordination.blind(t.find(b("incr")), args("INCR", "k"))).isFalse();
        assertThat(Coordination.blind(t.find(b("del")), args("DEL", "k"))).as("its count reads").isFalse();
        assertThat(Coordination.keys(t.find(b("mset")), args("MSET", "a", "1", "b", "2")))
                .containsExactly(Key.of("a"), Key.of("b"));
        assertThat(Coordination.keys(t.find(b("mget")), args("MGET", "a", "b", "c")))
                .containsExactly(Key.of("a"), Key.of("b"), Key.of("c"));
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[][] args(String... words) {
        byte[][] out = new byte[words.length][];
        for (int i = 0; i < words.length; i++) {
            out[i] = b(words[i]);
        }
        return out;
    }

    @Test
    void aChangeOfCoordinatorsHoldsLaterCommandsUntilTheOutstandingOnesAnsweredThenRoutesThemInOrder() {
        Session s = new Session(1);
        assertThat(s.mustWait(5)).isNull();
        CompletableFuture<byte[]> forwarded = new CompletableFuture<>();
        s.outstanding(forwarded, 5);
        assertThat(s.mustWait(5)).as("same epoch: no coordinator moved").isNull();

        CompletableFuture<Void> held = s.mustWait(6);
        assertThat(held).isNotNull().isNotDone();
        java.util.List<String> routed = new java.util.ArrayList<>();
        s.holdBack(() -> routed.add("first"));
        assertThat(s.mustWait(6)).as("later commands queue behind the held one").isNotNull().isNotDone();
        s.holdBack(() -> routed.add("second"));
        assertThat(routed).isEmpty();

        forwarded.complete(new byte[0]);
        assertThat(routed).containsExactly("first", "second");
        assertThat(s.mustWait(6)).isNull();
    }

    @Test
    void answeredCommandsDoNotHoldAnythingBack() {
        Session s = new Session(1);
        s.outstanding(CompletableFuture.completedFuture(new byte[0]), 1);
        CompletableFuture<byte[]> answered = new CompletableFuture<>();
        s.outstanding(answered, 1);
        answered.complete(new byte[0]);
        assertThat(s.mustWait(2)).isNull();
    }

    /**
     * INCR j went to node 2, SET k is outstanding here (node 1), and MGET j k here waits for the INCR.
     * A later command on k at node 2 must still wait for the SET, not only for the MGET: the MGET may
     * answer before the SET's replicas have acknowledged it, and the SET's read-your-writes floor is
     * recorded only then.
     */
    @Test
    void aHeldCommandDoesNotReplaceTheOutstandingCommandsOfItsOtherKeys() {
        Session s = new Session(1);
        long j = Key.of("j").token();
        long k = Key.of("k").token();
        CompletableFuture<byte[]> incrJ = new CompletableFuture<>();
        s.routed(new long[] {j}, new long[] {2}, incrJ, false);
        CompletableFuture<byte[]> setK = new CompletableFuture<>();
        assertThat(s.conflicting(new long[] {k}, new long[] {1})).as("SET k: nothing outstanding on k").isNull();
        s.routed(new long[] {k}, new long[] {1}, setK, false);

        CompletableFuture<Void> mgetWaits = s.conflicting(new long[] {j, k}, new long[] {1, 1});
        assertThat(mgetWaits).as("MGET j k waits for INCR j at node 2").isNotNull().isNotDone();
        CompletableFuture<byte[]> mget = new CompletableFuture<>();
        s.routed(new long[] {j, k}, new long[] {1, 1}, mget, true);

        incrJ.complete(new byte[0]);
        assertThat(mgetWaits).isDone();
        mget.complete(new byte[0]);
        CompletableFuture<Void> incrKWaits = s.conflicting(new long[] {k}, new long[] {2});
        assertThat(incrKWaits).as("INCR k at node 2 waits for SET k").isNotNull().isNotDone();
        setK.complete(new byte[0]);
        assertThat(incrKWaits).isDone();
        assertThat(s.conflicting(new long[] {k}, new long[] {2})).isNull();
    }
}
