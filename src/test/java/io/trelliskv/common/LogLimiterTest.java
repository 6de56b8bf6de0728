package io.trelliskv.common;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LogLimiterTest {

    private final AtomicLong nanos = new AtomicLong(123_456_789L);
    private final LogLimiter limiter = new LogLimiter(1_000, nanos::get);

    private void advanceMillis(long millis) {
        nanos.addAndGet(millis * 1_000_000);
    }

    @Test
    void theFirstPassesThenOnePerIntervalWithTheCountHeldBack() {
        List<Long> admitted = new ArrayList<>();
        for (int ms = 0; ms < 2_500; ms += 10) { // 250 occurrences over 2.5 s, one every 10 ms
            long held = limiter.admit();
            if (held >= 0) {
                admitted.add(held);
            }
            advanceMillis(10);
        }
        // at 0, 1,000 and 2,000 ms: the first with none held back, then the 99 of each second between
        assertThat(admitted).containsExactly(0L, 99L, 99L);
    }

    @Test
    void aQuietSpellLetsTheNextOneThroughAtOnce() {
        assertThat(limiter.admit()).isZero();
        assertThat(limiter.admit()).isEqualTo(-1);
        advanceMillis(60_000);
        assertThat(limiter.admit()).isEqualTo(1);
        assertThat(limiter.admit()).isEqualTo(-1);
    }

    @Test
    void theSuffixSaysHowManyWereHeldBack() {
        assertThat(LogLimiter.more(0)).isEmpty();
        assertThat(LogLimiter.more(41)).isEqualTo(" (and 41 more like it since the last such line)");
    }

    @Test
    void anIntervalMustBePositive() {
        assertThatThrownBy(() -> new LogLimiter(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("intervalMillis: 0");
    }

    /** Many threads at once: exactly one line per interval passes, and every occurrence is accounted for. */
    @Test
    void concurrentOccurrencesAreAllCounted() throws InterruptedException {
        int threads = 4;
        int each = 10_000;
        AtomicLong passed = new AtomicLong();
        AtomicLong reported = new AtomicLong();
        List<Thread> started = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread thread = new Thread(() -> {
                for (int i = 0; i < each; i++) {
                    long held = limiter.admit();
                    if (held >= 0) {
                        passed.incrementAndGet();
                        reported.addAndGet(held);
                    }
                }
            });
            thread.setDaemon(true);
            started.add(thread);
            thread.start();
        }
        for (Thread thread : started) {
            thread.join(10_000);
            assertThat(thread.isAlive()).isFalse();
        }
        assertThat(passed.get()).as("the clock did not move: one line").isEqualTo(1);
        advanceMillis(1_000);
        long held = limiter.admit();
        assertThat(held).isEqualTo(threads * each - 1L);
        assertThat(reported.get()).isZero();
    }
}
