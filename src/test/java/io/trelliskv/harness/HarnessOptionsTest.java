package io.trelliskv.harness;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code --workload}: the mixed workload by default, the others by name, anything else refused with its reason. */
class HarnessOptionsTest {

    @Test
    void workloadIsMixedUnlessNamed() {
        assertThat(Harness.Options.parse().workload()).isEqualTo(Harness.WorkloadKind.MIXED);
        assertThat(Harness.Options.parse("--workload", "counter").workload()).isEqualTo(Harness.WorkloadKind.COUNTER);
        assertThat(Harness.Options.parse("--workload", "versioned").workload()).isEqualTo(Harness.WorkloadKind.VERSIONED);
        assertThatThrownBy(() -> Harness.Options.parse("--workload", "sets"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--workload: sets (expected: mixed, counter or versioned)");
    }
}
