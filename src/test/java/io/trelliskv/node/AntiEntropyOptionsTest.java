package io.trelliskv.node;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The anti-entropy options of {@code trellis} and their checks against the tombstone grace. */
class AntiEntropyOptionsTest {

    private static NodeConfig config(String... args) {
        Main main = new Main();
        Main.commandLine(main).parseArgs(args);
        return main.config();
    }

    @Test
    void defaultsAreTenMinutesAtHalfACore() {
        NodeConfig c = config("0");
        assertThat(c.cluster().antiEntropy().intervalMillis()).isEqualTo(600_000);
        assertThat(c.cluster().antiEntropy().cpuFraction()).isEqualTo(0.5);
    }

    @Test
    void zeroTurnsPeriodicRoundsOff() {
        assertThat(config("0", "--anti-entropy-interval", "0").cluster().antiEntropy().intervalMillis()).isZero();
        assertThat(config("0", "--anti-entropy-interval", "90s", "--anti-entropy-cpu", "1").cluster().antiEntropy())
                .satisfies(ae -> {
                    assertThat(ae.intervalMillis()).isEqualTo(90_000);
                    assertThat(ae.cpuFraction()).isEqualTo(1.0);
                });
    }

    @Test
    void graceMustBeLongerThanTheInterval() {
        assertThatThrownBy(() -> config("0", "--anti-entropy-interval", "5h"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--tombstone-grace 4h must be longer than --anti-entropy-interval 5h, or a replica that"
                        + " missed a delete could bring the key back after the other replicas purged its tombstone");
        assertThat(config("0", "--anti-entropy-interval", "5h", "--tombstone-grace", "6h").cluster().antiEntropy()
                .intervalMillis()).isEqualTo(5 * 3_600_000L);
    }

    @Test
    void badValuesNameTheOption() {
        assertThatThrownBy(() -> config("0", "--anti-entropy-interval", "soon"))
                .hasMessageStartingWith("--anti-entropy-interval: ");
        assertThatThrownBy(() -> config("0", "--anti-entropy-cpu", "0"))
                .hasMessage("--anti-entropy-cpu: 0.0 (expected: above 0, up to 1)");
        assertThatThrownBy(() -> config("0", "--anti-entropy-cpu", "1.5"))
                .hasMessage("--anti-entropy-cpu: 1.5 (expected: above 0, up to 1)");
    }
}
