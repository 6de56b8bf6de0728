package io.trelliskv.persist;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ApplierTest {

    @Test
    void everyRecordIsAppliedInOrderOnItsOwnThreadBeforeFinishReturns() {
        List<LogRecord> records = new ArrayList<>();
        for (int i = 0; i < 3 * Applier.BATCH + 17; i++) {
            records.add(Logs.write(i));
        }
        List<LogRecord> applied = new ArrayList<>(); // touched by the applier's thread only, read after finish
        List<String> threads = new ArrayList<>();
        try (Applier applier = new Applier(r -> {
            applied.add(r);
            if (threads.isEmpty()) {
                threads.add(Thread.currentThread().getName());
            }
        })) {
            records.forEach(applier);
            applier.finish();
        }
        assertThat(applied).containsExactlyElementsOf(records);
        assertThat(threads).containsExactly("trellis-recovery-apply");
    }

    @Test
    void aFailureStopsApplyingAndIsThrownToRecovery() {
        List<LogRecord> applied = new ArrayList<>();
        RuntimeException boom = new IllegalStateException("maxmemory reached");
        Applier applier = new Applier(r -> {
            if (applied.size() == 10) {
                throw boom;
            }
            applied.add(r);
        });
        try (applier) {
            assertThatThrownBy(() -> {
                for (int i = 0; i < 100 * Applier.BATCH; i++) {
                    applier.accept(Logs.write(i));
                }
                applier.finish();
            }).isSameAs(boom);
        }
        assertThat(applied).hasSize(10);
    }

    @Test
    void closingWithoutFinishingStopsTheThread() {
        List<LogRecord> applied = new ArrayList<>();
        Applier applier = new Applier(applied::add);
        for (int i = 0; i < Applier.BATCH + 1; i++) {
            applier.accept(Logs.write(i));
        }
        applier.close(); // recovery failed: what was handed over is applied, the rest dropped
        applier.close();
        assertThat(applied).hasSize(Applier.BATCH);
    }
}
