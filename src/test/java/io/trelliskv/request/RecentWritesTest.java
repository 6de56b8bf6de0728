package io.trelliskv.request;

import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class RecentWritesTest {

    @Test
    void keepsTheNewestVersionOfEachKeyAndIgnoresOlderOnes() {
        RecentWrites w = new RecentWrites(4, (t, h, n) -> { });
        w.record(7, 100, 1);
        w.record(7, 90, 9);
        assertThat(version(w, 7)).isEqualTo(new Version(100, 1));
        w.record(7, 100, 2);
        assertThat(version(w, 7)).isEqualTo(new Version(100, 2));
        assertThat(version(w, 8)).isNull();
    }

    @Test
    void pushesOutTheKeyWhoseLastWriteIsOldest() {
        List<String> out = new ArrayList<>();
        RecentWrites w = new RecentWrites(2, (t, h, n) -> out.add(t + "@" + h));
        w.record(1, 10, 1);
        w.record(2, 20, 1);
        w.record(1, 30, 1); // key 1 written again: key 2's write is now the oldest
        w.record(3, 40, 1);
        assertThat(out).containsExactly("2@20");
        assertThat(version(w, 1)).isEqualTo(new Version(30, 1));
        assertThat(version(w, 2)).isNull();
        assertThat(w.size()).isEqualTo(2);
    }

    /**
     * Against a model (a map in order of last write, the eldest pushed out past the limit): seeded random
     * writes over few tokens, chosen to collide in the table, so that growth, probing, deletion by shifting
     * back and the ring's compaction all run.
     */
    @Test
    void behavesAsAMapInOrderOfLastWrite() {
        for (long seed = 1; seed <= 20; seed++) {
            Random random = new Random(seed);
            int limit = 1 + random.nextInt(40);
            List<String> pushed = new ArrayList<>();
            List<String> expectedPushed = new ArrayList<>();
            RecentWrites w = new RecentWrites(limit, (t, h, n) -> pushed.add(t + "@" + h + "/" + n));
            LinkedHashMap<Long, Version> model = new LinkedHashMap<>();
            for (int op = 0; op < 5_000; op++) {
                // Tokens differing in high bits only share a home slot; a few spread ones besides.
                long token = random.nextBoolean() ? (long) random.nextInt(3 * limit) << 40 : random.nextInt(3 * limit);
                Version v = new Version(random.nextInt(1_000), random.nextInt(3));
                Version had = model.get(token);
                if (had == null || v.compareTo(had) > 0) {
                    model.remove(token);
                    model.put(token, v);
                    if (model.size() > limit) {
                        Iterator<Map.Entry<Long, Version>> eldest = model.entrySet().iterator();
                        Map.Entry<Long, Version> e = eldest.next();
                        expectedPushed.add(e.getKey() + "@" + e.getValue().hlc() + "/" + e.getValue().nodeId());
                        eldest.remove();
                    }
                }
                w.record(token, v.hlc(), v.nodeId());
                assertThat(w.size()).as("seed %d op %d", seed, op).isEqualTo(model.size());
            }
            assertThat(pushed).as("seed %d", seed).isEqualTo(expectedPushed);
            for (long token = 0; token < 3L * limit; token++) {
                assertThat(version(w, token)).as("seed %d token %d", seed, token).isEqualTo(model.get(token));
                assertThat(version(w, token << 40)).as("seed %d token %d<<40", seed, token).isEqualTo(model.get(token << 40));
            }
        }
    }

    private static Version version(RecentWrites w, long token) {
        int slot = w.indexOf(token);
        return slot < 0 ? null : new Version(w.hlc(slot), w.nodeId(slot));
    }
}
