package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.common.ManualClock;
import io.trelliskv.persist.Durability;
import io.trelliskv.persist.LogWriteFailedException;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A replica refuses write batches, applying none of their entries, while its log cannot write. */
class ReplicaDurabilityTest {

    private static final String MISCONF = "MISCONF Errors writing to the append-only log: No space left on device";

    private final ManualClock clock = new ManualClock(1_700_000_000_000L);
    private final Hlc hlc = new Hlc(clock);
    private final MemoryEngine engine = new MemoryEngine(EngineConfig.defaults(), clock, hlc, 1);

    /** A log that fails on command, as Persistence's checkWritable does. */
    private static final class SwitchableLog implements Durability {
        volatile boolean failing;

        @Override
        public void checkWritable() {
            if (failing) {
                throw new LogWriteFailedException(MISCONF, null);
            }
        }

        @Override
        public boolean acknowledgesDurably() {
            return true;
        }

        @Override
        public CompletableFuture<Void> durable() {
            return CompletableFuture.completedFuture(null);
        }
    }

    private byte[] batch(String key, String value) {
        return ReplicaCodec.encodeWrite(List.of(new Entry(Key.of(key), value.getBytes(), hlc.now(), 2, 0)));
    }

    @Test
    void aBatchIsRefusedWithTheLogsErrorWhileTheLogFailsAndAppliedOnceItWritesAgain() {
        SwitchableLog log = new SwitchableLog();
        ReplicaService replica = new ReplicaService(engine, hlc, 60_000, log);

        ReplicaCodec.checkWriteReply(replica.applyWrite("peer", batch("a", "1")));
        assertThat(engine.get(Key.of("a")).value()).isEqualTo("1".getBytes());

        log.failing = true;
        byte[] reply = replica.applyWrite("peer", batch("b", "2"));
        assertThatThrownBy(() -> ReplicaCodec.checkWriteReply(reply)).isInstanceOf(ReplicaRefusedException.class)
                .hasMessage(MISCONF);
        assertThat(engine.stored(Key.of("b"))).as("nothing of a refused batch is applied").isNull();
        assertThat(replica.stats().refusedBatches()).isEqualTo(1);
        assertThat(replica.stats().applied()).isEqualTo(1);

        log.failing = false;
        ReplicaCodec.checkWriteReply(replica.applyWrite("peer", batch("b", "2")));
        assertThat(engine.get(Key.of("b")).value()).isEqualTo("2".getBytes());
    }
}
