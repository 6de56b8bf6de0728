package io.trelliskv.harness;

import org.junit.jupiter.api.Test;

import static io.trelliskv.harness.KeyModel.Kind.APPEND;
import static io.trelliskv.harness.KeyModel.Kind.DEL;
import static io.trelliskv.harness.KeyModel.Kind.EXISTS;
import static io.trelliskv.harness.KeyModel.Kind.GET;
import static io.trelliskv.harness.KeyModel.Kind.INCR;
import static io.trelliskv.harness.KeyModel.Kind.SET;
import static io.trelliskv.harness.KeyModel.Outcome.LOST_BLIND_SET;
import static io.trelliskv.harness.KeyModel.Outcome.MATCH;
import static io.trelliskv.harness.KeyModel.Outcome.VIOLATION;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pipelined client's model of its own key, on the three anomalies the user reported (forwards of
 * one connection overtaking each other) and on the one reordering the store allows: a blind SET that
 * loses by last-writer-wins while a clock fault is in effect.
 */
class KeyModelTest {

    private static KeyModel.Command cmd(KeyModel.Kind kind, String arg) {
        return new KeyModel.Command(kind, "p:6:0.0", arg);
    }

    @Test
    void aSecondSetOvertakenByTheFirstIsAViolation() {
        KeyModel m = new KeyModel();
        assertThat(m.step(cmd(SET, "first"), RespReply.OK, false)).isEqualTo(MATCH);
        assertThat(m.step(cmd(SET, "second"), RespReply.OK, false)).isEqualTo(MATCH);
        assertThat(m.step(cmd(GET, null), RespReply.bulk("first"), false)).isEqualTo(VIOLATION);
    }

    @Test
    void anIncrAfterSetThatRepliesOneIsAViolation() {
        KeyModel m = new KeyModel();
        m.step(cmd(SET, "10"), RespReply.OK, false);
        assertThat(m.step(cmd(INCR, null), RespReply.integer(1), false)).isEqualTo(VIOLATION);
        KeyModel n = new KeyModel();
        n.step(cmd(SET, "10"), RespReply.OK, false);
        assertThat(n.step(cmd(INCR, null), RespReply.integer(11), false)).isEqualTo(MATCH);
        assertThat(n.expected()).isEqualTo("11");
    }

    @Test
    void existsAfterAnAcknowledgedDelIsAViolation() {
        KeyModel m = new KeyModel();
        m.step(cmd(SET, "v"), RespReply.OK, false);
        assertThat(m.step(cmd(DEL, null), RespReply.integer(1), false)).isEqualTo(MATCH);
        assertThat(m.step(cmd(EXISTS, null), RespReply.integer(1), false)).isEqualTo(VIOLATION);
    }

    @Test
    void incrAndAppendFollowRedis() {
        KeyModel m = new KeyModel();
        assertThat(m.step(cmd(INCR, null), RespReply.integer(1), false)).isEqualTo(MATCH);
        assertThat(m.step(cmd(APPEND, "7"), RespReply.integer(2), false)).isEqualTo(MATCH);
        assertThat(m.step(cmd(INCR, null), RespReply.integer(18), false)).isEqualTo(MATCH);
        assertThat(m.step(cmd(APPEND, "x1"), RespReply.integer(4), false)).isEqualTo(MATCH);
        assertThat(m.step(cmd(INCR, null), RespReply.error(KeyModel.NOT_AN_INTEGER), false)).isEqualTo(MATCH);
        assertThat(m.expected()).as("a failed INCR writes nothing").isEqualTo("18x1");
        m.step(cmd(SET, "0"), RespReply.OK, false);
        m.step(cmd(APPEND, "5"), RespReply.integer(2), false);
        assertThat(KeyModel.reply(cmd(INCR, null), "05")).as("no leading zeros, as string2ll")
                .isEqualTo(RespReply.error(KeyModel.NOT_AN_INTEGER));
        assertThat(KeyModel.reply(cmd(INCR, null), Long.toString(Long.MAX_VALUE))).isEqualTo(RespReply.error(KeyModel.OVERFLOW));
        assertThat(m.step(cmd(INCR, null), RespReply.integer(6), false)).isEqualTo(VIOLATION);
    }

    @Test
    void duringAClockFaultABlindSetMayLoseToTheOlderValueUntilAReadSettlesIt() {
        KeyModel m = new KeyModel();
        m.step(cmd(SET, "first"), RespReply.OK, false);
        m.step(cmd(SET, "second"), RespReply.OK, true);
        assertThat(m.certain()).isFalse();
        assertThat(m.step(cmd(EXISTS, null), RespReply.integer(1), false)).as("both present").isEqualTo(MATCH);
        assertThat(m.certain()).isFalse();
        assertThat(m.step(cmd(GET, null), RespReply.bulk("first"), false)).isEqualTo(LOST_BLIND_SET);
        assertThat(m.certain()).isTrue();
        assertThat(m.step(cmd(INCR, null), RespReply.integer(1), false)).as("INCR reads first: never loses")
                .isEqualTo(VIOLATION);
    }

    @Test
    void faultRepliesSayNothingAboutTheKey() {
        assertThat(KeyModel.aboutTheKey(RespReply.error("TRYAGAIN owner 3f2a@10.77.1.12:7000 of key 'k' did not answer"))).isFalse();
        assertThat(KeyModel.aboutTheKey(RespReply.error("ERR replication failed: timed out"))).isFalse();
        assertThat(KeyModel.aboutTheKey(RespReply.error(KeyModel.NOT_AN_INTEGER))).isTrue();
        assertThat(KeyModel.aboutTheKey(RespReply.integer(3))).isTrue();
    }
}
