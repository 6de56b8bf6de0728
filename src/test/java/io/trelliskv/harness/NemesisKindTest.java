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
        assertThat(Nemesis.Kind.parse("all,churn")).isEqualTo(EnumSet.allOf(Nemesis.Kind.class));
        assertThat(Nemesis.Kind.parse("none")).isEmpty();
        assertThatThrownBy(() -> Nemesis.Kind.parse("churn,flood")).hasMessageContaining("unknown fault 'flood'");
    }
}
