package io.trelliskv.replication;

import io.trelliskv.common.ManualClock;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RateLimiterTest {

    private final ManualClock clock = new ManualClock(1_000_000);

    @Test
    void startsEmptyAndAccruesAtTheRate() {
        RateLimiter limiter = new RateLimiter(5_000, 500, clock);
        assertThat(limiter.tryAcquireUpTo(10)).isZero();
        clock.advanceMillis(1);
        assertThat(limiter.tryAcquireUpTo(10)).isEqualTo(5);
        assertThat(limiter.tryAcquireUpTo(10)).isZero();
        clock.advanceMillis(100);
        assertThat(limiter.tryAcquireUpTo(1_000)).isEqualTo(500);
    }

    @Test
    void grantsAtMostWhatIsAskedAndKeepsTheRest() {
        RateLimiter limiter = new RateLimiter(1_000, 1_000, clock);
        clock.advanceMillis(300);
        assertThat(limiter.tryAcquireUpTo(256)).isEqualTo(256);
        assertThat(limiter.tryAcquireUpTo(256)).isEqualTo(44);
        assertThat(limiter.tryAcquireUpTo(0)).isZero();
    }

    @Test
    void savesAtMostTheBurst() {
        RateLimiter limiter = new RateLimiter(5_000, 500, clock);
        clock.advance(10, TimeUnit.DAYS);
        assertThat(limiter.tryAcquireUpTo(Integer.MAX_VALUE)).isEqualTo(500);
        assertThat(limiter.tryAcquireUpTo(Integer.MAX_VALUE)).isZero();
    }

    @Test
    void frequentCallsLoseNoFractionOfAPermit() {
        RateLimiter limiter = new RateLimiter(1_000, 10, clock);
        int granted = 0;
        for (int i = 0; i < 10_000; i++) {
            clock.advance(100, TimeUnit.MICROSECONDS); // a tenth of a permit per call
            granted += limiter.tryAcquireUpTo(1);
        }
        assertThat(granted).isEqualTo(1_000);
    }

    @Test
    void fractionalRates() {
        RateLimiter third = new RateLimiter(3, 10, clock);
        int granted = 0;
        for (int i = 0; i < 1_000; i++) {
            clock.advanceMillis(1);
            granted += third.tryAcquireUpTo(10);
        }
        assertThat(granted).isEqualTo(3);

        RateLimiter half = new RateLimiter(0.5, 1, clock);
        clock.advanceMillis(1_999);
        assertThat(half.tryAcquireUpTo(1)).isZero();
        clock.advanceMillis(1);
        assertThat(half.tryAcquireUpTo(1)).isEqualTo(1);
    }

    @Test
    void neverGrantsMoreThanBurstPlusRateTimesElapsed() {
        Random random = new Random(42);
        RateLimiter limiter = new RateLimiter(5_000, 500, clock);
        long start = clock.nanos();
        long granted = 0;
        for (int i = 0; i < 100_000; i++) {
            clock.advance(random.nextInt(2_000), TimeUnit.MICROSECONDS);
            granted += limiter.tryAcquireUpTo(random.nextInt(300));
            long elapsed = clock.nanos() - start;
            assertThat(granted).isLessThanOrEqualTo(500 + elapsed * 5_000 / 1_000_000_000L);
        }
        // asking for 150 on average every millisecond is 30 times the rate: everything accrued was taken
        long elapsed = clock.nanos() - start;
        assertThat(granted).isGreaterThan(elapsed * 5_000 / 1_000_000_000L - 500);
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> new RateLimiter(0, 1, clock))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("perSecond: 0.0 (expected: > 0 and finite)");
        assertThatThrownBy(() -> new RateLimiter(Double.NaN, 1, clock))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RateLimiter(Double.POSITIVE_INFINITY, 1, clock))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RateLimiter(1, 0, clock))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("burst: 0 (expected: >= 1)");
        assertThatThrownBy(() -> new RateLimiter(1, 1, clock).tryAcquireUpTo(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("n: -1 (expected: >= 0)");
    }
}
