package io.trelliskv.version;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VersionVectorTest {

    @Test
    void coversByCounterAndMergesByMaximum() {
        VersionVector a = VersionVector.of(1, 3, -1, 2);
        VersionVector b = VersionVector.of(1, 5, 7, 1);
        assertThat(a.covers(1, 3)).isTrue();
        assertThat(a.covers(1, 4)).isFalse();
        assertThat(a.covers(7, 1)).isFalse();
        VersionVector m = a.merge(b);
        assertThat(m).isEqualTo(VersionVector.of(1, 5, 7, 1, -1, 2));
        assertThat(m.descends(a)).isTrue();
        assertThat(m.descends(b)).isTrue();
        assertThat(a.descends(m)).isFalse();
        assertThat(VersionVector.of(9, 0)).isEqualTo(VersionVector.EMPTY);
    }

    @Test
    void theEmptyContextIsTheEmptyString() {
        assertThat(VersionVector.EMPTY.encode()).isEmpty();
        assertThat(VersionVector.decode(new byte[0])).isEqualTo(VersionVector.EMPTY);
    }

    @Test
    void everyTruncationAndAForeignFormatIsRefusedWithItsReason() {
        byte[] good = VersionVector.of(1, 300, -1, 2).encode();
        for (int len = 1; len < good.length; len++) {
            byte[] cut = Arrays.copyOf(good, len);
            assertThatThrownBy(() -> VersionVector.decode(cut)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("context");
        }
        byte[] longer = Arrays.copyOf(good, good.length + 1);
        assertThatThrownBy(() -> VersionVector.decode(longer)).hasMessageContaining("after the context's last entry");
        assertThatThrownBy(() -> VersionVector.decode(new byte[] {'x', 'y'})).hasMessageContaining("unknown context format");
        byte[] zeroCounter = {VersionVector.FORMAT, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0};
        assertThatThrownBy(() -> VersionVector.decode(zeroCounter)).hasMessageContaining("counter 0");
        byte[] unordered = {VersionVector.FORMAT, 2, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1};
        assertThatThrownBy(() -> VersionVector.decode(unordered)).hasMessageContaining("out of order");
    }
}
