package io.trelliskv.membership;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SwimConfigTest {

    @Test
    void lanDefaultsAreMemberlistsDefaultLANConfigButForTheProbeInterval() {
        SwimConfig c = SwimConfig.lan("trellis");
        assertThat(c.clusterName()).isEqualTo("trellis");
        assertThat(c.probeIntervalMillis()).isEqualTo(500);
        assertThat(c.probeTimeoutMillis()).isEqualTo(500);
        assertThat(c.probeWindowMillis()).as("memberlist's probe period, kept").isEqualTo(1_000);
        assertThat(c.indirectChecks()).isEqualTo(3);
        assertThat(c.suspicionMult()).isEqualTo(4);
        assertThat(c.suspicionMaxTimeoutMult()).isEqualTo(6);
        assertThat(c.retransmitMult()).isEqualTo(4);
        assertThat(c.pushPullIntervalMillis()).isEqualTo(30_000);
        assertThat(c.awarenessMaxMultiplier()).isEqualTo(8);
        assertThat(c.gossipIntervalMillis()).isEqualTo(200);
        assertThat(c.gossipNodes()).isEqualTo(3);
        assertThat(c.gossipToTheDeadMillis()).isEqualTo(30_000);
        assertThat(c.streamTimeoutMillis()).isEqualTo(10_000);
        assertThat(c.maxPacketSize()).isEqualTo(1_400);
    }

    @Test
    void theBuilderChangesOnlyWhatItIsTold() {
        SwimConfig c = SwimConfig.lan("a").toBuilder().probeIntervalMillis(2_000).clusterName("b").build();
        assertThat(c.probeIntervalMillis()).isEqualTo(2_000);
        assertThat(c.clusterName()).isEqualTo("b");
        assertThat(c.toBuilder().build()).isEqualTo(c);
        assertThat(c.toBuilder().probeIntervalMillis(500).clusterName("a").build()).isEqualTo(SwimConfig.lan("a"));
    }

    @Test
    void theProbeWindowIsTheLongerOfTheIntervalAndTwoProbeTimeouts() {
        SwimConfig.Builder b = SwimConfig.lan("x").toBuilder();
        assertThat(b.probeIntervalMillis(500).probeTimeoutMillis(500).build().probeWindowMillis()).isEqualTo(1_000);
        assertThat(b.probeIntervalMillis(1_000).probeTimeoutMillis(500).build().probeWindowMillis()).isEqualTo(1_000);
        assertThat(b.probeIntervalMillis(2_000).probeTimeoutMillis(500).build().probeWindowMillis()).isEqualTo(2_000);
        assertThat(b.probeIntervalMillis(200).probeTimeoutMillis(300).build().probeWindowMillis()).isEqualTo(600);
    }

    @Test
    void invalidValuesAreNamedWithTheirRange() {
        SwimConfig.Builder b = SwimConfig.lan("x").toBuilder();
        assertThatThrownBy(() -> b.probeTimeoutMillis(0).build())
                .hasMessage("probeTimeoutMillis: 0 (expected: > 0)");
        assertThatThrownBy(() -> SwimConfig.lan("x").toBuilder().maxPacketSize(100).build())
                .hasMessage("maxPacketSize: 100 (expected: 512..65507)");
        assertThatThrownBy(() -> SwimConfig.lan("x").toBuilder().gossipIntervalMillis(0).build())
                .hasMessage("gossipIntervalMillis: 0 (expected: > 0)");
        assertThatThrownBy(() -> SwimConfig.lan("x").toBuilder().joinRetryMaxMillis(10).build())
                .hasMessage("joinRetryMaxMillis: 10 (expected: >= joinRetryInitialMillis (1000))");
        assertThatThrownBy(() -> SwimConfig.lan("x".repeat(256)))
                .hasMessage("clusterName: 256 bytes (expected: <= 255 bytes)");
    }
}
