package io.trelliskv.membership;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class SuspicionTest {

    /** memberlist's TestSuspicion_remainingSuspicionTime, in ms. */
    @ParameterizedTest(name = "n={0} k={1} elapsed={2} min={3} max={4} -> {5}")
    @CsvSource({
            // n, k, elapsed, min,  max,   remaining
            "0, 3,     0, 2000, 30000, 30000",
            "1, 3,  2000, 2000, 30000, 14000",
            "2, 3,  3000, 2000, 30000,  4810",
            "3, 3,  4000, 2000, 30000, -2000",
            "4, 3,  5000, 2000, 30000, -3000",
            "5, 3, 10000, 2000, 30000, -8000",
            // defaults for 50 members: min 6.792 s, max 40.752 s, k = 2
            "0, 2,     0, 6792, 40752, 40752",
            "1, 2,  1000, 6792, 40752, 18325",
            "2, 2,  1000, 6792, 40752,  5792",
    })
    void remainingSuspicionTime(int n, int k, long elapsed, long min, long max, long expected) {
        assertThat(Suspicion.remainingSuspicionTime(n, k, elapsed, min, max)).isEqualTo(expected);
    }

    /** memberlist's TestSuspicionTimeout (there with suspicionMult 3, divided back by it), and our defaults. */
    @ParameterizedTest(name = "mult={0} n={1} interval={2} -> {3}")
    @CsvSource({
            // mult, n, interval, min timeout
            "3,    5, 1000,  3000",
            "3,   10, 1000,  3000",
            "3,   50, 1000,  5094",
            "3,  100, 1000,  6000",
            "3,  500, 1000,  8094",
            "3, 1000, 1000,  9000",
            "4,    0, 1000,  4000",
            "4,    1, 1000,  4000",
            "4,   50, 1000,  6792",
            "4, 1000, 1000, 12000",
            "4,  100,  200,  1600",
    })
    void minTimeout(int mult, int n, long interval, long expected) {
        assertThat(Suspicion.minTimeoutMillis(mult, n, interval)).isEqualTo(expected);
    }

    @Test
    void confirmationsShrinkTheTimerTowardTheMinimum() {
        SimNetwork sim = new SimNetwork(1);
        int[] fired = {0};
        Suspicion s = new Suspicion(1, 3, 2000, 30000, sim.now(), sim.scheduler, () -> fired[0]++);
        sim.runFor(2000);
        assertThat(s.confirm(2, sim.now())).isTrue(); // 16 s in all: 14 s from now
        assertThat(s.confirm(2, sim.now())).as("the same accuser counts once").isFalse();
        assertThat(s.confirm(1, sim.now())).as("the first accuser is no confirmation").isFalse();
        sim.runFor(13_999);
        assertThat(fired[0]).isZero();
        sim.runFor(1);
        assertThat(fired[0]).isEqualTo(1);
    }

    @Test
    void enoughConfirmationsFireAtTheMinimumOrAtOnceIfOverdue() {
        SimNetwork sim = new SimNetwork(1);
        int[] fired = {0};
        Suspicion s = new Suspicion(1, 2, 2000, 30000, sim.now(), sim.scheduler, () -> fired[0]++);
        sim.runFor(3000);
        s.confirm(2, sim.now());
        s.confirm(3, sim.now()); // 2 of 2: the minimum, already passed
        assertThat(s.confirm(4, sim.now())).as("no more than k").isFalse();
        sim.runFor(0);
        assertThat(fired[0]).isEqualTo(1);
        assertThat(s.confirmations()).isEqualTo(2);
    }

    @Test
    void withoutExpectedConfirmationsTheTimeoutIsTheMinimum() {
        SimNetwork sim = new SimNetwork(1);
        int[] fired = {0};
        Suspicion s = new Suspicion(1, 0, 2000, 30000, sim.now(), sim.scheduler, () -> fired[0]++);
        assertThat(s.confirm(2, sim.now())).isFalse();
        sim.runFor(1999);
        assertThat(fired[0]).isZero();
        sim.runFor(1);
        assertThat(fired[0]).isEqualTo(1);
    }

    @Test
    void cancelledSuspicionNeverFires() {
        SimNetwork sim = new SimNetwork(1);
        int[] fired = {0};
        Suspicion s = new Suspicion(1, 0, 2000, 30000, sim.now(), sim.scheduler, () -> fired[0]++);
        s.cancel();
        sim.runFor(60_000);
        assertThat(fired[0]).isZero();
    }
}
