package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Deadlines of client requests, and a replica that does not apply a write batch past its coordinator's. */
class DeadlineTest {

    private static final long NOW = 1_700_000_000_000L;
    private static final long ALLOWANCE = ReplicationConfig.DEFAULT_MAX_CLOCK_DRIFT_MILLIS;

    private final ManualClock clock = new ManualClock(NOW);
    private final Hlc hlc = new Hlc(clock);
    private final MemoryEngine engine = new MemoryEngine(EngineConfig.defaults(), clock, hlc, 1);
    private final ReplicaService replica = new ReplicaService(engine, hlc, ALLOWANCE);

    @Test
    void lateness() {
        long[][] rows = {
                // deadline, allowance, now, late (ms)
                {1_000, 500, 1_000, -500},
                {1_000, 500, 1_500, 0},     // exactly at the allowance: the sender may still wait
                {1_000, 500, 1_501, 1},
                {1_000, 0, 1_001, 1},
                {1_000, 500, 0, -1_500},
        };
        for (long[] row : rows) {
            assertThat(Deadline.lateMillis(row[0], row[1], row[2])).as("deadline %d, allowance %d, now %d",
                    row[0], row[1], row[2]).isEqualTo(row[3]);
        }
        assertThat(Deadline.lateMillis(Deadline.NO_DEADLINE, 0, Long.MAX_VALUE)).isNegative();
    }

    @Test
    void passedOnlyBeyondTheAllowanceAndNeverWithoutADeadline() {
        Deadline d = Deadline.of(NOW + 100, ALLOWANCE, clock);
        clock.advanceMillis(100 + ALLOWANCE);
        assertThat(d.passed()).isFalse();
        clock.advanceMillis(1);
        assertThat(d.passed()).isTrue();
        assertThat(Deadline.of(Deadline.NO_DEADLINE, ALLOWANCE, clock)).isSameAs(Deadline.NONE);
        assertThat(Deadline.NONE.passed()).isFalse();
        assertThatThrownBy(() -> Deadline.of(NOW, -1, clock)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1 ms");
    }

    private byte[] batch(String key, String value) {
        return ReplicaCodec.encodeWrite(List.of(new Entry(Key.of(key), value.getBytes(), hlc.now(), 2, 0)));
    }

    @Test
    void aWriteBatchPastItsDeadlineIsNotAppliedAndIsCounted() {
        Deadline deadline = Deadline.of(NOW + 2_000, ALLOWANCE, clock);
        byte[] batch = batch("k", "late");
        clock.advanceMillis(2_000 + ALLOWANCE + 1);

        assertThatThrownBy(() -> replica.applyWrite("2@10.0.0.2:7000", batch, deadline))
                .isInstanceOf(DeadlinePassedException.class)
                .hasMessage("write of 1 entries from 2@10.0.0.2:7000 not started: 501 ms past its sender's deadline,"
                        + " more than the 500 ms clock skew allowance; the sender has given up on it");
        assertThat(engine.stored(Key.of("k"))).as("nothing of the batch is applied").isNull();
        assertThat(replica.stats().expiredWritesDropped()).isEqualTo(1);
        assertThat(replica.stats().applied()).isZero();
    }

    @Test
    void aWriteBatchInTimeIsApplied() {
        Deadline deadline = Deadline.of(NOW + 2_000, ALLOWANCE, clock);
        byte[] batch = batch("k", "in time");
        clock.advanceMillis(2_000 + ALLOWANCE); // late for the sender's clock, within the skew allowance

        ReplicaCodec.checkWriteReply(replica.applyWrite("peer", batch, deadline));

        assertThat(engine.get(Key.of("k")).value()).isEqualTo("in time".getBytes());
        assertThat(replica.stats().expiredWritesDropped()).isZero();
    }

    @Test
    void aWriteBatchWithoutADeadlineIsAppliedHoweverLate() {
        byte[] batch = batch("k", "hint");
        clock.advanceMillis(3_600_000); // a hint replayed an hour later

        ReplicaCodec.checkWriteReply(replica.applyWrite("peer", batch, Deadline.NONE));
        ReplicaCodec.checkWriteReply(replica.applyWrite("peer", batch("j", "old peer")));

        assertThat(engine.get(Key.of("k")).value()).isEqualTo("hint".getBytes());
        assertThat(engine.get(Key.of("j")).value()).isEqualTo("old peer".getBytes());
        assertThat(replica.stats().expiredWritesDropped()).isZero();
    }
}
