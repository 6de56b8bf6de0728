package io.trelliskv.replication;

import io.trelliskv.common.Key;
import io.trelliskv.replication.SimCluster.SimNode;
import io.trelliskv.replication.SimCluster.Write;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.trelliskv.replication.ConsistencyLevel.ALL;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Coordinator#holding}: which of this node's copies a forward carries ahead of it to the key's first replica.
 * Only writes this node stamped itself that meet the connection's floors: a copy stamped elsewhere is held by its
 * own coordinator already, and an older one would not help the read it is carried for.
 */
class CarriedAheadTest {

    private final SimCluster cluster = SimCluster.ofThree(7);
    private final SimNode n1 = cluster.node(1);
    private final SimNode n2 = cluster.node(2);

    @Test
    void carriesTheConnectionsOwnWriteMadeHereAndItsTombstone() {
        Write set = n1.set("k", "v1", ALL);
        Write del = n1.delete("d", ALL);

        List<Entry> held = n1.coordinator.holding(List.of(Key.of("k"), Key.of("d"), Key.of("none")),
                new Version[] {set.version(), del.version(), set.version()});

        assertThat(held).extracting(Entry::version).containsExactly(set.version(), del.version());
        assertThat(new String(held.get(0).value())).isEqualTo("v1");
        assertThat(held.get(1).isTombstone()).isTrue();
    }

    @Test
    void leavesOutWritesStampedElsewhereAndCopiesBelowTheFloor() {
        Write elsewhere = n2.set("k", "v1", ALL); // n1 holds it as a replica
        Write older = n1.set("j", "old", ALL);
        Write newer = n2.set("j", "new", ALL);

        assertThat(n1.engine.stored(Key.of("k")).version()).isEqualTo(elsewhere.version());
        assertThat(n1.coordinator.holding(List.of(Key.of("k")), new Version[] {elsewhere.version()})).isNull();
        assertThat(n1.coordinator.holding(List.of(Key.of("j"), Key.of("k")),
                new Version[] {older.version(), null})).as("j's copy here is n2's, k has no floor").isNull();
        assertThat(newer.version()).isGreaterThan(older.version());
        assertThat(n1.coordinator.holding(List.of(Key.of("j")), null)).isNull();
    }

    @Test
    void carriesAtMostItsBytesAndTheRestIsLeftToTheRead() {
        String big = "x".repeat(Coordinator.MAX_CARRIED_BYTES / 2);
        Write a = n1.set("a", big, ALL);
        Write b = n1.set("b", big, ALL);

        List<Entry> held = n1.coordinator.holding(List.of(Key.of("a"), Key.of("b")),
                new Version[] {a.version(), b.version()});

        assertThat(held).extracting(Entry::version).containsExactly(a.version());
    }
}
