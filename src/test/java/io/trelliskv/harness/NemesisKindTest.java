package io.trelliskv.harness;

import org.junit.jupiter.api.Test;

import java.util.EnumSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NemesisKindTest {

    @Test
    void allIsEveryFaultButChurn() {
        assertThat(Nemesis.Kind.parse("all")).containsExactlyInAnyOrder(Nemesis.Kind.PARTITION, Nemesis.Kind.KILL,
                Nemesis.Kind.PAUSE, Nemesis.Kind.CLOCK, Nemesis.Kind.LOSS);
        assertThat(Harness.Options.parse().nemesis()).isEqualTo(Nemesis.Kind.ALL);
    }

    @Test
    void churnIsNamedOrAddedToAll() {
        assertThat(Nemesis.Kind.parse("churn,partition")).isEqualTo(EnumSet.of(Nemesis.Kind.CHURN, Nemesis.Kind.PARTITION));
        assertThat(Nemesis.Kind.parse("all,churn")).isEqualTo(EnumSet.range(Nemesis.Kind.PARTITION, Nemesis.Kind.CHURN));
        assertThat(Nemesis.Kind.parse("none")).isEmpty();
        assertThatThrownBy(() -> Nemesis.Kind.parse("churn,flood")).hasMessageContaining("unknown fault 'flood'");
    }

    @Test
    void killAllIsNamedKillallAndNotPartOfAll() {
        assertThat(Nemesis.Kind.parse("killall")).containsExactly(Nemesis.Kind.KILL_ALL);
        assertThat(Nemesis.Kind.parse("all,killall")).contains(Nemesis.Kind.KILL_ALL, Nemesis.Kind.PARTITION)
                .doesNotContain(Nemesis.Kind.CHURN);
        assertThat(Nemesis.Kind.ALL).doesNotContain(Nemesis.Kind.KILL_ALL);
        assertThatThrownBy(() -> Nemesis.Kind.parse("kill_all")).hasMessageContaining("unknown fault");
    }

    @Test
    void appendFsyncIsPassedToEveryNode() {
        assertThat(Harness.Options.parse().nodeArgs()).isEmpty();
        assertThat(Harness.Options.parse().effectiveAppendFsync()).isEqualTo("everysec");
        assertThat(Harness.Options.parse("--appendfsync", "always").nodeArgs()).containsExactly("--appendfsync", "always");
        assertThatThrownBy(() -> Harness.Options.parse("--appendfsync", "sometimes")).hasMessageContaining("--appendfsync");
    }

    @Test
    void secureRunsPassPeerTlsAClusterSecretAndAGossipKeyToEveryNode() {
        Harness.Options o = Harness.Options.parse("--secure", "yes", "--run-dir", "/tmp/tkh-test");
        String dir = o.secureDir().toAbsolutePath().toString();
        assertThat(o.nodeArgs()).containsSubsequence("--tls-cluster", "yes")
                .contains("--tls-cert-file", dir + "/server.crt", "--tls-key-file", dir + "/server.key",
                        "--tls-ca-cert-file", dir + "/ca.crt", "--cluster-secret-file", dir + "/cluster.secret",
                        "--gossip-key-file", dir + "/gossip.keys");
        assertThat(Harness.Options.parse("--secure", "no").nodeArgs()).isEmpty();
        assertThatThrownBy(() -> Harness.Options.parse("--secure", "maybe")).hasMessageContaining("--secure");
    }

    @Test
    void sloppyQuorumRunsPassTheFlagToEveryNode() {
        assertThat(Harness.Options.parse("--sloppy-quorum", "yes").nodeArgs()).containsExactly("--sloppy-quorum");
        assertThat(Harness.Options.parse("--sloppy-quorum", "no").nodeArgs()).isEmpty();
        assertThatThrownBy(() -> Harness.Options.parse("--sloppy-quorum", "on")).hasMessageContaining("--sloppy-quorum");
    }
}
