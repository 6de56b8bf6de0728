package io.trelliskv.node;

import io.trelliskv.cluster.RebalanceConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code --stream-throughput} and {@code --auto-remove-after}. */
class RebalanceOptionsTest {

    private static RebalanceConfig config(String... args) {
        Main main = new Main();
        Main.commandLine(main).parseArgs(args);
        return main.config().cluster().rebalance();
    }

    @Test
    void defaultsAre64MibPerSecondAndNoAutomaticRemoval() {
        assertThat(config("0")).isEqualTo(RebalanceConfig.defaults());
        assertThat(RebalanceConfig.defaults().streamBytesPerSecond()).isEqualTo(64L << 20);
        assertThat(RebalanceConfig.defaults().autoRemoveAfterMillis()).isZero();
    }

    @Test
    void optionsAreParsed() {
        RebalanceConfig c = config("0", "--stream-throughput", "2.5", "--auto-remove-after", "10m");
        assertThat(c.streamBytesPerSecond()).isEqualTo((long) (2.5 * (1 << 20)));
        assertThat(c.autoRemoveAfterMillis()).isEqualTo(600_000);
        assertThat(config("0", "--stream-throughput", "0").streamBytesPerSecond()).as("unlimited").isZero();
    }

    @Test
    void badValuesAreRefusedNamingTheOption() {
        assertThatThrownBy(() -> config("0", "--stream-throughput", "-1"))
                .hasMessage("--stream-throughput: -1.0 (expected: >= 0 MiB/s)");
        assertThatThrownBy(() -> config("0", "--auto-remove-after", "soon"))
                .hasMessageStartingWith("--auto-remove-after: bad duration 'soon'");
    }
}
