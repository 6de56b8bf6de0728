package io.trelliskv.harness;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The counter checker on hand-made histories: a final value must be the acknowledged increments plus a
 * subset of the indeterminate ones, through every node; refused increments count for nothing.
 */
class CounterCheckerTest {

    private static Op incr(String key, long amount, Op.Result result) {
        return new Op("1", "1@1.1", CounterWorkload.INCR, key, Long.toString(amount), 0, "QUORUM", 0, 10, result,
                result == Op.Result.OK ? "reply 0" : result == Op.Result.FAIL ? "UNAVAILABLE" : "TIMEOUT");
    }

    /** A final read of {@code key} at ALL through node 1, then at ONE through nodes 1..3, each giving {@code values}. */
    private static List<Op> finals(String key, String... values) {
        List<Op> reads = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            String session = i == 0 ? "all@n1" : "n" + i;
            reads.add(new Op("final", session, "read", key, values[i], 0, i == 0 ? "ALL" : "ONE", 100, 101,
                    Op.Result.OK, null));
        }
        return reads;
    }

    private static CounterChecker.Result check(List<Op> increments, List<Op> finals) {
        List<Op> ops = new ArrayList<>(increments);
        ops.addAll(finals);
        return CounterChecker.check(ops, true, "");
    }

    private static boolean passed(CounterChecker.Result r, String name) {
        return r.checks().stream().filter(c -> c.name().startsWith(name)).findFirst().orElseThrow().passed();
    }

    private final List<Op> history = List.of(incr("c:0", 3, Op.Result.OK), incr("c:0", 4, Op.Result.OK),
            incr("c:0", 5, Op.Result.INFO), incr("c:0", 2, Op.Result.INFO), incr("c:0", 100, Op.Result.FAIL));

    @Test
    void aValueBetweenTheAcknowledgedAndAllIndeterminateIncrementsPasses() {
        for (String v : List.of("7", "9", "12", "14")) {
            CounterChecker.Result r = check(history, finals("c:0", v, v, v, v));
            assertThat(r.checks()).as(v).allMatch(Checker.Check::passed);
        }
        CounterChecker.KeyTally t = check(history, finals("c:0", "7")).keys().get(0);
        assertThat(t.acknowledged()).isEqualTo(7);
        assertThat(t.indeterminateCount()).isEqualTo(2);
        assertThat(t.upper()).isEqualTo(14);
        assertThat(t.failedCount()).isEqualTo(1);
    }

    @Test
    void aLostAcknowledgedIncrementOrARefusedOneThatCountedFails() {
        assertThat(passed(check(history, finals("c:0", "6", "6")), "counter: every final value")).as("lost 1").isFalse();
        assertThat(passed(check(history, finals("c:0", "15", "15")), "counter: every final value"))
                .as("more than every increment that may have applied").isFalse();
        assertThat(passed(check(history, finals("c:0", "107", "107")), "counter: every final value"))
                .as("the UNAVAILABLE increment counted").isFalse();
        assertThat(passed(check(List.of(incr("c:1", 2, Op.Result.OK)), finals("c:1", (String) null)),
                "counter: every final value")).as("a missing counter is 0").isFalse();
        assertThat(passed(check(List.of(incr("c:1", 2, Op.Result.INFO)), finals("c:1", (String) null)),
                "counter: every final value")).isTrue();
    }

    @Test
    void everyNodeMustReadTheSameValueAndEveryReadMustComplete() {
        CounterChecker.Result r = check(history, finals("c:0", "9", "9", "12"));
        assertThat(passed(r, "counter: every final value")).isTrue();
        assertThat(passed(r, "counter: every node reads the same value")).isFalse();
        assertThat(r.checks().stream().filter(c -> !c.passed()).findFirst().orElseThrow().detail())
                .contains("all@n1=9 n1=9 n2=12");

        Op failed = new Op("final", "n2", "read", "c:0", null, 0, "ONE", 100, 101, Op.Result.FAIL, "TIMEOUT");
        List<Op> reads = new ArrayList<>(finals("c:0", "9", "9"));
        reads.add(failed);
        assertThat(passed(check(history, reads), "counter: final reads")).isFalse();
        assertThat(passed(check(history, List.of()), "counter: final reads")).as("no final read").isFalse();
    }

    @Test
    void negativeIndeterminateAmountsWidenTheBoundDownwards() {
        List<Op> mixed = List.of(incr("c:0", 10, Op.Result.OK), incr("c:0", -4, Op.Result.INFO), incr("c:0", 3, Op.Result.INFO));
        assertThat(passed(check(mixed, finals("c:0", "6")), "counter: every final value")).isTrue();
        assertThat(passed(check(mixed, finals("c:0", "13")), "counter: every final value")).isTrue();
        assertThat(passed(check(mixed, finals("c:0", "5")), "counter: every final value")).isFalse();
    }

    private static Op timedIncr(long amount, double start, double end, Op.Result result) {
        return new Op("1", "1@1.1", CounterWorkload.INCR, "c:0", Long.toString(amount), 0, "QUORUM", start, end, result, null);
    }

    private static Op runRead(String value, double start, double end) {
        return new Op("2", "2@3.1", "read", "c:0", value, 0, "QUORUM", start, end, Op.Result.OK, null);
    }

    @Test
    void aReadDuringTheRunSeesEveryIncrementAcknowledgedBeforeItAndNoneBegunAfterIt() {
        List<Op> increments = List.of(timedIncr(3, 0, 10, Op.Result.OK), timedIncr(4, 20, 30, Op.Result.INFO),
                timedIncr(5, 40, 50, Op.Result.OK), timedIncr(100, 41, 42, Op.Result.FAIL), timedIncr(6, 90, 95, Op.Result.OK));
        String name = "counter: reads during the run";
        List<Op> finals = finals("c:0", "18");
        assertThat(passed(check(withRead(increments, runRead("8", 60, 70)), finals), name)).as("3 + 5").isTrue();
        assertThat(passed(check(withRead(increments, runRead("12", 60, 70)), finals), name)).as("3 + 4 + 5").isTrue();
        assertThat(passed(check(withRead(increments, runRead(null, 5, 15)), finals), name)).as("3 not yet acked").isTrue();
        assertThat(passed(check(withRead(increments, runRead("7", 60, 70)), finals), name)).as("5 missing").isFalse();
        assertThat(passed(check(withRead(increments, runRead("18", 60, 70)), finals), name))
                .as("6 begun after the read").isFalse();
        CounterChecker.Result r = check(withRead(increments, runRead("3", 60, 70)), finals);
        assertThat(r.reads()).isEqualTo(1);
        assertThat(r.readsOutOfBound()).isEqualTo(1);
    }

    private static List<Op> withRead(List<Op> increments, Op read) {
        List<Op> ops = new ArrayList<>(increments);
        ops.add(read);
        return ops;
    }

    @Test
    void theReportNamesEveryNodesValue() {
        String report = CounterChecker.report(check(history, finals("c:0", "9", "9", "9")));
        assertThat(report).contains("acknowledged 7 (2 increments), indeterminate 2 (+7), failed 1: allowed 7..14")
                .contains("final all@n1=9 n1=9 n2=9");
    }
}
