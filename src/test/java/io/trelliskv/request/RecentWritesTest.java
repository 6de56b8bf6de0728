package io.trelliskv.request;

import io.trelliskv.version.Version;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
        assertThat(version(w, 0)).as("empty slots hold token 0, but no write of it").isNull();
    }

    @Test
    void aKeyRecordedIntoAnotherKeysSlotPushesItOutWithItsVersion() {
        List<String> out = new ArrayList<>();
        RecentWrites w = new RecentWrites(1, (t, h, n) -> out.add(t + "@" + h + "/" + n));
        w.record(1, 10, 1);
        w.record(2, 20, 2);
        assertThat(out).containsExactly("1@10/1");
        assertThat(version(w, 1)).isNull();
        assertThat(version(w, 2)).isEqualTo(new Version(20, 2));
        w.record(2, 15, 1); // its own slot, older: ignored, nothing pushed out
        w.record(1, 5, 1); // another key's slot: taken, whatever the versions
        assertThat(out).containsExactly("1@10/1", "2@20/2");
        assertThat(version(w, 1)).isEqualTo(new Version(5, 1));
    }

    @Test
    void growsByDoublingInsteadOfPushingOutUntilItsMostSlots() {
        List<Long> out = new ArrayList<>();
        RecentWrites w = new RecentWrites(64, (t, h, n) -> out.add(t));
        for (long token = 0; token < 16; token++) {
            w.record(token, 1 + token, 1);
        }
        assertThat(w.slots()).as("16 keys in distinct slots of the first table").isEqualTo(16);
        w.record(16, 17, 1); // shares slot 0 with token 0 in 16 slots, not in 32
        assertThat(w.slots()).isEqualTo(32);
        w.record(32L << 32, 33, 1); // its token folds to 32: shares slot 0 with token 0 until 64 slots
        assertThat(w.slots()).isEqualTo(64);
        w.record(64, 65, 1); // shares slot 0 with token 0 at the most slots
        assertThat(w.slots()).isEqualTo(64);
        assertThat(out).containsExactly(0L);
        for (long token = 1; token <= 16; token++) {
            assertThat(version(w, token)).as("token %d", token).isEqualTo(new Version(1 + token, 1));
        }
        assertThat(version(w, 32L << 32)).isEqualTo(new Version(33, 1));
        assertThat(version(w, 64)).isEqualTo(new Version(65, 1));
    }

    @Test
    void takesOnlyAPowerOfTwoOfSlots() {
        assertThatThrownBy(() -> new RecentWrites(1000, (t, h, n) -> { }))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RecentWrites(0, (t, h, n) -> { }))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * Against a model, the newest version ever recorded per key: seeded random writes over few tokens,
     * some of them sharing a slot at every size ({@code x} and {@code x << 32} fold alike), with versions
     * in random order. For every key, the newer of what is held for it and what was pushed out of it is
     * the newest version recorded for it (so a floor built from both is exact, never older); the key just
     * recorded is held; a key leaves only when the key just recorded takes its slot, and never before the
     * table has its most slots.
     */
    @Test
    void neverLosesTheNewestVersionOfAKeyAndPushesOutOnlyForTheKeyTakingItsSlot() {
        for (long seed = 1; seed <= 20; seed++) {
            Random random = new Random(seed);
            int maxSlots = 1 << random.nextInt(7);
            Map<Long, Version> newest = new HashMap<>();
            Map<Long, Version> pushedNewest = new HashMap<>();
            List<Long> pushedNow = new ArrayList<>();
            RecentWrites[] holder = new RecentWrites[1];
            RecentWrites w = new RecentWrites(maxSlots, (t, h, n) -> {
                assertThat(holder[0].slots()).as("pushed out only at the most slots").isEqualTo(maxSlots);
                pushedNow.add(t);
                pushedNewest.merge(t, new Version(h, n), (a, b) -> a.compareTo(b) >= 0 ? a : b);
            });
            holder[0] = w;
            for (int op = 0; op < 3_000; op++) {
                int x = random.nextInt(4 * maxSlots);
                long token = random.nextInt(4) == 0 ? (long) x << 32 : x;
                Version v = new Version(1 + random.nextInt(1_000), random.nextInt(3));
                Map<Long, Integer> heldBefore = new HashMap<>();
                for (long t : newest.keySet()) {
                    if (w.indexOf(t) >= 0) {
                        heldBefore.put(t, w.indexOf(t));
                    }
                }
                int slotsBefore = w.slots();
                pushedNow.clear();
                w.record(token, v.hlc(), v.nodeId());
                newest.merge(token, v, (a, b) -> a.compareTo(b) >= 0 ? a : b);

                String at = "seed " + seed + " op " + op;
                assertThat(w.indexOf(token)).as(at).isNotNegative();
                assertThat(pushedNow).as(at).hasSizeLessThanOrEqualTo(1);
                for (long t : pushedNow) {
                    // Its slot, or, the table growing first, the one it moved to: that plus a multiple of slotsBefore.
                    assertThat(heldBefore.get(t)).as(at).isEqualTo(w.indexOf(token) % slotsBefore);
                }
                heldBefore.keySet().removeAll(pushedNow);
                for (long t : heldBefore.keySet()) {
                    assertThat(w.indexOf(t)).as(at + " token " + t + " stays").isNotNegative();
                }
                assertThat(w.slots()).as(at).isLessThanOrEqualTo(maxSlots);
                for (Map.Entry<Long, Version> e : newest.entrySet()) {
                    Version floor = newer(version(w, e.getKey()), pushedNewest.get(e.getKey()));
                    assertThat(floor).as(at + " token " + e.getKey()).isEqualTo(e.getValue());
                }
            }
            assertThat(pushedNewest).as("seed %d: keys were pushed out", seed).isNotEmpty();
            assertThat(version(w, 4L * maxSlots)).as("never recorded").isNull();
        }
    }

    private static Version newer(Version a, Version b) {
        return a == null ? b : b == null || a.compareTo(b) >= 0 ? a : b;
    }

    private static Version version(RecentWrites w, long token) {
        int slot = w.indexOf(token);
        return slot < 0 ? null : new Version(w.hlc(slot), w.nodeId(slot));
    }
}
