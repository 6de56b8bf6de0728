package io.trelliskv.repair;

import io.trelliskv.common.Key;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.Entry;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class MerkleTreeTest {

    private static final long NOW = 1_700_000_000_000L;

    private static List<Entry> entries(int n, long seed) {
        Random random = new Random(seed);
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] value = random.nextInt(5) == 0 ? null : ("v" + i).getBytes();
            out.add(new Entry(Key.of("k" + i), value, Hlc.pack(NOW - random.nextInt(1000), 0), 1 + random.nextInt(3),
                    value == null ? NOW + 60_000 : 0));
        }
        return out;
    }

    private static MerkleTree build(TokenRange range, int depth, List<Entry> entries) {
        MerkleTree tree = new MerkleTree(range, depth);
        for (Entry e : entries) {
            if (range.contains(e.key().token())) {
                tree.add(e, NOW);
            }
        }
        return tree;
    }

    @Test
    void equalDataMakesEqualTreesWhateverTheInsertionOrder() {
        List<Entry> entries = entries(5000, 1);
        for (TokenRange range : List.of(new TokenRange(0, 0), new TokenRange(Long.MAX_VALUE / 3, -Long.MAX_VALUE / 3),
                new TokenRange(-5, Long.MAX_VALUE / 2))) {
            MerkleTree a = build(range, 10, entries);
            List<Entry> shuffled = new ArrayList<>(entries);
            Collections.shuffle(shuffled, new Random(7));
            MerkleTree b = build(range, 10, shuffled);
            assertThat(b.leaves()).isEqualTo(a.leaves());
            assertThat(b.root()).isEqualTo(a.root());
            assertThat(a.differingLeaves(b.leaves())).isEmpty();
        }
    }

    @Test
    void aChangedVersionOrTombstoneFlagChangesExactlyItsLeaf() {
        List<Entry> entries = entries(2000, 2);
        TokenRange range = new TokenRange(0, 0);
        MerkleTree base = build(range, 8, entries);
        Entry e = entries.get(17);
        for (Entry changed : List.of(
                new Entry(e.key(), e.value(), e.hlc() + 1, e.nodeId(), e.expireAt()),
                new Entry(e.key(), e.value(), e.hlc(), e.nodeId() + 1, e.expireAt()),
                new Entry(e.key(), e.isTombstone() ? new byte[] {1} : null, e.hlc(), e.nodeId(), NOW + 1))) {
            List<Entry> other = new ArrayList<>(entries);
            other.set(17, changed);
            MerkleTree tree = build(range, 8, other);
            assertThat(tree.root()).isNotEqualTo(base.root());
            assertThat(base.differingLeaves(tree.leaves())).containsExactly(base.leafOf(e.key().token()));
        }
        List<Entry> missing = new ArrayList<>(entries);
        missing.remove(17);
        assertThat(base.differingLeaves(build(range, 8, missing).leaves()))
                .containsExactly(base.leafOf(e.key().token()));
    }

    @Test
    void leavesTileTheRangeAndHoldTheirTokens() {
        Random random = new Random(3);
        List<TokenRange> ranges = new ArrayList<>(List.of(new TokenRange(0, 0), new TokenRange(Long.MIN_VALUE, Long.MAX_VALUE),
                new TokenRange(Long.MAX_VALUE, Long.MIN_VALUE + 100), new TokenRange(10, 13)));
        for (int i = 0; i < 50; i++) {
            ranges.add(new TokenRange(random.nextLong(), random.nextLong()));
        }
        for (TokenRange range : ranges) {
            for (int depth : new int[] {0, 1, 3, 7}) {
                MerkleTree tree = new MerkleTree(range, depth);
                long expectedStart = range.start();
                int i = 0;
                for (; i < tree.leaves().length; i++) {
                    TokenRange leaf = tree.leafRange(i);
                    if (leaf == null) {
                        break;
                    }
                    assertThat(leaf.start()).as("leaf %d of %s at depth %d", i, range, depth).isEqualTo(expectedStart);
                    assertThat(tree.leafOf(leaf.end())).isEqualTo(i);
                    assertThat(tree.leafOf(leaf.start() + 1)).isEqualTo(i);
                    expectedStart = leaf.end();
                }
                assertThat(expectedStart).as("leaves of %s at depth %d end where it does", range, depth).isEqualTo(range.end());
                for (; i < tree.leaves().length; i++) {
                    assertThat(tree.leafRange(i)).isNull();
                }
                for (int t = 0; t < 200; t++) {
                    long token = random.nextLong();
                    if (range.contains(token)) {
                        assertThat(tree.leafRange(tree.leafOf(token)).contains(token)).isTrue();
                    }
                }
            }
        }
    }

    @Test
    void runsGroupAdjacentLeavesUpToTheBound() {
        MerkleTree tree = new MerkleTree(new TokenRange(0, 1 << 20), 4); // 16 leaves of 65536 tokens
        List<TokenRange> runs = tree.runs(new int[] {1, 2, 3, 4, 5, 9, 15}, 3);
        assertThat(runs).containsExactly(
                new TokenRange(65536, 4 * 65536), new TokenRange(4 * 65536, 6 * 65536),
                new TokenRange(9 * 65536, 10 * 65536), new TokenRange(15 * 65536, 1 << 20));
    }

    /** Table: about 8 keys per leaf, within the bounds. */
    @Test
    void depthForKeyCounts() {
        long[][] table = {{0, 6}, {8, 6}, {512, 6}, {520, 7}, {80_000, 14}, {1_000_000, 15}, {1L << 40, 15}};
        for (long[] row : table) {
            assertThat(MerkleTree.depthFor(row[0], 6, 15)).as("keys %d", row[0]).isEqualTo((int) row[1]);
        }
    }

    @Test
    void purgedTombstonesAreLeftOutButFreshOnesCount() {
        Entry fresh = new Entry(Key.of("t"), null, Hlc.pack(NOW, 0), 1, NOW + 1);
        Entry purgeable = new Entry(Key.of("t"), null, Hlc.pack(NOW, 0), 1, NOW - 1);
        assertThat(MerkleTree.purged(fresh, NOW)).isFalse();
        assertThat(MerkleTree.purged(purgeable, NOW)).isTrue();
    }
}
