package io.trelliskv.version;

import io.trelliskv.common.ManualClock;
import io.trelliskv.common.MicroClock;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HlcTest {

    private final ManualClock clock = new ManualClock(1_000_000);
    private final Hlc hlc = new Hlc(clock);

    @Test
    void stampsTheWallClockAndCountsWithinAMillisecond() {
        long first = hlc.now();
        long second = hlc.now();
        assertThat(Hlc.physical(first)).isEqualTo(1_000_000);
        assertThat(Hlc.logical(first)).isZero();
        assertThat(second).isEqualTo(first + 1);
        clock.advanceMillis(5);
        assertThat(hlc.now()).isEqualTo(Hlc.pack(1_000_005, 0));
    }

    /**
     * Regression (harness run 62): a client read the reply of an INCR made through one node and sent a SET of the key
     * through another 28 µs later; both were stamped in the same millisecond, {@code (ms, 0)}, the tie went to the
     * INCR's node id, and the acknowledged SET lost to the older INCR. Within a millisecond the stamps now follow the
     * microseconds.
     */
    @Test
    void stampsWithinAMillisecondFollowTheMicroseconds() {
        MicroClock micros = new MicroClock(1_000_000_000L + 336_100);
        Hlc first = new Hlc(micros);
        Hlc second = new Hlc(micros);
        long incr = first.now(); // 100 µs into the millisecond, on one node
        micros.advanceMicros(28); // the reply, the client, the next command: 28 µs
        long set = second.now(); // on another node, whose clock agrees
        assertThat(Hlc.physical(set)).isEqualTo(Hlc.physical(incr));
        assertThat(set).isGreaterThan(incr);
        assertThat(Hlc.logical(incr)).isEqualTo(100 << Hlc.SUB_MILLI_SHIFT);
        assertThat(second.now()).as("within one microsecond, counting on").isEqualTo(set + 1);
        micros.advanceMicros(1);
        assertThat(second.now()).isEqualTo(Hlc.pack(1_000_336, 129 << Hlc.SUB_MILLI_SHIFT));
    }

    @Test
    void stampsCountOnPastTheLastMicrosecondOfAMillisecond() {
        MicroClock micros = new MicroClock(1_000_000_999L);
        Hlc hlc = new Hlc(micros);
        long last = Hlc.pack(1_000_000, 999 << Hlc.SUB_MILLI_SHIFT);
        for (int i = 0; i < 2_000; i++) { // more than the logical part holds after the last microsecond
            assertThat(hlc.now()).isEqualTo(last + i);
        }
        micros.advanceMicros(1); // the next millisecond, which the stamps have already reached
        assertThat(hlc.now()).isEqualTo(last + 2_000).isGreaterThan(Hlc.pack(1_000_001, 0));
    }

    @Test
    void nowMillisTellsTheTimeANewStampWouldCarryAndIssuesNone() {
        long issued = hlc.now();
        assertThat(hlc.nowMillis()).isEqualTo(1_000_000);
        clock.advanceMillis(3);
        assertThat(hlc.nowMillis()).isEqualTo(1_000_003); // the wall clock, when ahead of every stamp
        hlc.observe(Hlc.pack(1_000_200, 4)); // a node whose clock runs ahead
        assertThat(hlc.nowMillis()).isEqualTo(1_000_200); // the clock's time, as now() would stamp it
        assertThat(hlc.peek()).isEqualTo(Hlc.pack(1_000_200, 4)); // nothing issued by asking
        assertThat(hlc.now()).isEqualTo(Hlc.pack(1_000_200, 5)).isGreaterThan(issued);
    }

    @Test
    void observingANewerTimestampMovesLaterStampsPastIt() {
        long remote = Hlc.pack(1_000_500, 7);
        assertThat(hlc.driftMillis(remote)).isEqualTo(500);
        hlc.observe(remote);
        assertThat(hlc.peek()).isEqualTo(remote);
        assertThat(hlc.now()).isEqualTo(remote + 1);
        hlc.observe(Hlc.pack(1_000_100, 0)); // older: ignored
        assertThat(hlc.now()).isEqualTo(remote + 2);
    }
}
