package io.trelliskv.security;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class AuthThrottleTest {

    @Test
    void anAddressGetsABurstOfFailuresThenAFewASecondAndOthersAreUnaffected() {
        AuthThrottle t = new AuthThrottle();
        long now = 1_000;
        for (int i = 0; i < AuthThrottle.BURST; i++) {
            assertThat(t.mayTry("10.0.0.1", now)).as("attempt %d", i).isTrue();
            t.failed("10.0.0.1", now);
        }
        assertThat(t.mayTry("10.0.0.1", now)).isFalse();
        assertThat(t.mayTry("10.0.0.2", now)).as("another address").isTrue();
        assertThat(t.mayTry("10.0.0.1", now + 1000 / AuthThrottle.REFILL_PER_SECOND - 1)).isFalse();
        assertThat(t.mayTry("10.0.0.1", now + 1000 / AuthThrottle.REFILL_PER_SECOND)).as("one regained").isTrue();
        t.failed("10.0.0.1", now + 1000 / AuthThrottle.REFILL_PER_SECOND);
        assertThat(t.mayTry("10.0.0.1", now + 1000 / AuthThrottle.REFILL_PER_SECOND)).isFalse();
        assertThat(t.mayTry("10.0.0.1", now + 10_000)).as("refilled").isTrue();
        assertThat(t.throttled()).isEqualTo(3);
    }
}
