package io.trelliskv.version;

import io.trelliskv.common.ManualClock;
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

    @Test
    void aReadingTakenEarlierStillStampsAfterEverythingIssued() {
        long before = clock.millis();
        clock.advanceMillis(10);
        long issued = hlc.now(); // at 1_000_010
        long late = hlc.now(before); // a reading from 10 ms earlier, as a write that read the clock before a wait
        assertThat(late).isGreaterThan(issued);
        assertThat(Hlc.physical(late)).isEqualTo(1_000_010);
        assertThat(hlc.now(clock.millis() + 1)).isEqualTo(Hlc.pack(1_000_011, 0));
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
        assertThat(hlc.now(clock.millis())).isEqualTo(remote + 2);
    }
}
