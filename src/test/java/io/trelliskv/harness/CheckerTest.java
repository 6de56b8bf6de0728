package io.trelliskv.harness;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The checker's rules on hand-made histories, including the regression the first CI run of the harness
 * showed: a SET whose client got TRYAGAIN after 5 s was applied 14 s later (its forward held back by
 * TCP retransmission under packet loss), with a version from that moment, and legitimately won over a
 * write acknowledged in between. The checker had ordered it by the time its client gave up and
 * reported a stale read; an indeterminate write is now never "certainly older".
 */
class CheckerTest {

    /** drift 500 ms, no clock offsets: margin 750 ms. */
    private final Checker checker = new Checker(500, 0);

    private static Op write(String client, String key, String value, double start, double end, Op.Result result) {
        return new Op(client, client + "@1.1", "write", key, value, 0, "QUORUM", start, end, result,
                result == Op.Result.OK ? null : "TRYAGAIN owner did not answer");
    }

    private static Op read(String client, String key, String value, double start, double end) {
        return new Op(client, client + "@1.1", "read", key, value, 0, "QUORUM", start, end, Op.Result.OK, null);
    }

    private static Op finalRead(String key, String value, double at) {
        return new Op("final", null, "read", key, value, 0, "ALL", at, at + 1, Op.Result.OK, null);
    }

    private Checker.Check check(List<Op> ops, String name) {
        List<Op> all = new ArrayList<>(ops);
        return checker.check(all, true, "").checks().stream().filter(c -> c.name().startsWith(name)).findFirst()
                .orElseThrow();
    }

    @Test
    void anAcknowledgedWriteCertainlyBeforeAnotherIsAStaleRead() {
        List<Op> ops = List.of(
                write("1", "r:0", "old", 0, 10, Op.Result.OK),
                write("2", "r:0", "new", 5_000, 5_010, Op.Result.OK),
                read("3", "r:0", "old", 6_000, 6_010),
                finalRead("r:0", "new", 9_000));
        assertThat(check(ops, "register: no stale").passed()).isFalse();
    }

    @Test
    void anIndeterminateWriteMayTakeEffectLaterAndWin() {
        List<Op> ops = List.of(
                write("1", "r:0", "late", 0, 5_000, Op.Result.INFO),
                write("2", "r:0", "acked", 12_000, 12_010, Op.Result.OK),
                read("3", "r:0", "late", 13_000, 13_010),
                finalRead("r:0", "late", 20_000));
        assertThat(check(ops, "register: no stale").passed()).isTrue();
        assertThat(checker.check(ops, true, "").lateIndeterminate()).as("counted, not failed").isEqualTo(2);
    }

    @Test
    void writesWithinTheMarginAreNotOrdered() {
        List<Op> ops = List.of(
                write("1", "r:0", "a", 0, 10, Op.Result.OK),
                write("2", "r:0", "b", 500, 510, Op.Result.OK),
                read("3", "r:0", "a", 600, 610),
                finalRead("r:0", "a", 9_000));
        assertThat(check(ops, "register: no stale").passed()).isTrue();
    }

    @Test
    void aMissingValueAfterAnAcknowledgedWriteIsStale() {
        List<Op> ops = List.of(write("1", "r:0", "a", 0, 10, Op.Result.OK), read("3", "r:0", null, 20, 30),
                finalRead("r:0", "a", 9_000));
        assertThat(check(ops, "register: no stale").passed()).isFalse();
    }

    @Test
    void readYourWritesIsPerConnection() {
        Op own = write("1", "r:0", "mine", 0, 10, Op.Result.OK);
        Op sameSession = new Op("1", "1@1.1", "read", "r:0", null, 0, "ONE", 20, 30, Op.Result.OK, null);
        Op otherSession = new Op("1", "1@2.1", "read", "r:0", null, 0, "ONE", 20, 30, Op.Result.OK, null);
        assertThat(check(List.of(own, sameSession, finalRead("r:0", "mine", 100)), "register: read-your-writes")
                .passed()).isFalse();
        assertThat(check(List.of(own, otherSession, finalRead("r:0", "mine", 100)), "register: read-your-writes")
                .passed()).isTrue();
    }

    @Test
    void aValueNobodyWroteOrWhoseWriteFailedIsAPhantom() {
        Op failed = write("1", "r:0", "refused", 0, 10, Op.Result.FAIL);
        assertThat(check(List.of(failed, read("2", "r:0", "refused", 20, 30), finalRead("r:0", null, 100)),
                "no phantom").passed()).isFalse();
        assertThat(check(List.of(read("2", "r:0", "ghost", 20, 30), finalRead("r:0", null, 100)), "no phantom")
                .passed()).isFalse();
    }

    @Test
    void lostSetWritesAndReappearingDeletesAndExpiredKeys() {
        Op set = new Op("1", "1@1.1", "write", "s:1", "1", 0, "QUORUM", 0, 10, Op.Result.OK, null);
        assertThat(check(List.of(set, finalRead("s:1", null, 100)), "set: acknowledged").passed()).isFalse();
        assertThat(check(List.of(set, finalRead("s:1", "1", 100)), "set: acknowledged").passed()).isTrue();

        Op d = new Op("1", "1@1.1", "write", "d:1", "x", 0, "QUORUM", 0, 10, Op.Result.OK, null);
        Op del = new Op("1", "1@1.1", "delete", "d:1", null, 0, "QUORUM", 20, 30, Op.Result.OK, null);
        assertThat(check(List.of(d, del, read("2", "d:1", "x", 40, 50), finalRead("d:1", null, 100)),
                "delete").passed()).isFalse();

        Op t = new Op("1", "1@1.1", "write-ttl", "t:1", "x", 1_000, "QUORUM", 0, 10, Op.Result.OK, null);
        assertThat(check(List.of(t, read("2", "t:1", "x", 1_500, 1_510), finalRead("t:1", null, 9_000)), "ttl")
                .passed()).as("within ttl + margin").isTrue();
        assertThat(check(List.of(t, read("2", "t:1", "x", 2_000, 2_010), finalRead("t:1", null, 9_000)), "ttl")
                .passed()).isFalse();
    }
}
