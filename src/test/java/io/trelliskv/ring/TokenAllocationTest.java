package io.trelliskv.ring;

import io.trelliskv.common.Key;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static io.trelliskv.ring.TokenAllocator.DEFAULT_VNODES;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Balance and data movement of rings grown one node at a time by {@link TokenAllocator}. The balance test
 * prints the figures quoted in the allocator's class comment and the docs:
 * {@code ./mvnw -B -q -o test -Dtest=TokenAllocationTest}.
 */
class TokenAllocationTest {

    private static final int[] REPORTED_SIZES = {3, 10, 100};

    @Test
    void maxOverMeanOwnershipStaysWithinTenPercent() {
        for (int replicas : new int[] {3, 1}) {
            TokenAllocator allocator = new TokenAllocator(replicas, 1);
            TokenRing ring = TokenRing.empty();
            for (int nodes = 1; nodes <= 100; nodes++) {
                ring = allocator.join(ring, nodes, DEFAULT_VNODES);
                if (nodes == 3 || nodes == 10 || nodes == 100) {
                    OwnershipStats primary = OwnershipStats.of(ring.ownership());
                    OwnershipStats replica = OwnershipStats.of(ring.replicaOwnership(3));
                    System.out.printf(Locale.ROOT, "allocator n=%d, %d vnodes, %3d nodes: primary %s | replicas n=3 %s%n",
                            replicas, DEFAULT_VNODES, nodes, primary, replica);
                    if (nodes >= 10) {
                        assertThat(primary.maxOverMean()).as("primary max/mean at %d nodes", nodes).isLessThanOrEqualTo(1.10);
                    }
                    if (nodes >= 10 && replicas == 3) {
                        assertThat(replica.maxOverMean()).as("replica max/mean at %d nodes", nodes).isLessThanOrEqualTo(1.10);
                    }
                }
            }
        }
    }

    /** Cassandra's original scheme, for comparison: random tokens. Prints, asserts nothing about balance. */
    @Test
    void randomTokensForComparison() {
        SplittableRandom random = new SplittableRandom(1);
        for (int vnodes : new int[] {16, 256}) {
            for (int nodes : REPORTED_SIZES) {
                Map<Long, List<Long>> tokens = new HashMap<>();
                for (long node = 1; node <= nodes; node++) {
                    List<Long> own = new ArrayList<>();
                    for (int i = 0; i < vnodes; i++) {
                        own.add(random.nextLong());
                    }
                    tokens.put(node, own);
                }
                TokenRing ring = TokenRing.of(0, tokens);
                System.out.printf(Locale.ROOT, "random tokens, %3d vnodes, %3d nodes: primary %s | replicas n=3 %s%n",
                        vnodes, nodes, OwnershipStats.of(ring.ownership()), OwnershipStats.of(ring.replicaOwnership(3)));
            }
        }
    }

    @Test
    void removingANodeKeepsEveryOtherToken() {
        TokenAllocator allocator = new TokenAllocator(3, 2);
        TokenRing ring = TokenAllocatorTest.grow(allocator, 20, DEFAULT_VNODES);
        TokenRing shrunk = ring.withoutNode(7).withoutNode(13);
        assertThat(shrunk.nodes()).hasSize(18).doesNotContain(7L, 13L);
        for (long node : shrunk.nodes()) {
            assertThat(shrunk.tokensOf(node)).isEqualTo(ring.tokensOf(node));
        }
        // Their ranges spread over several nodes, and the next join moves no existing token either.
        Map<Long, Double> before = ring.ownership();
        long gainers = shrunk.ownership().entrySet().stream().filter(e -> e.getValue() > before.get(e.getKey())).count();
        assertThat(gainers).isGreaterThanOrEqualTo(8);
        TokenRing regrown = allocator.join(shrunk, 21, DEFAULT_VNODES);
        for (long node : shrunk.nodes()) {
            assertThat(regrown.tokensOf(node)).isEqualTo(ring.tokensOf(node));
        }
        System.out.printf(Locale.ROOT, "20 nodes %s; 2 removed %s; 1 joined %s%n", OwnershipStats.of(ring.ownership()),
                OwnershipStats.of(shrunk.ownership()), OwnershipStats.of(regrown.ownership()));
    }

    @Property(tries = 25, seed = "1729")
    void aJoinMovesKeysOnlyToTheNewNode(@ForAll long seed, @ForAll @IntRange(min = 1, max = 20) int nodes,
                                        @ForAll @IntRange(min = 1, max = 5) int replicas) {
        SplittableRandom random = new SplittableRandom(seed);
        TokenAllocator allocator = new TokenAllocator(replicas, seed);
        TokenRing before = TokenRing.empty();
        Set<Long> ids = new HashSet<>();
        for (int i = 0; i < nodes; i++) {
            long id = random.nextLong();
            if (ids.add(id)) {
                before = allocator.join(before, id, 1 + random.nextInt(24));
            }
        }
        long joiner = random.nextLong();
        if (!ids.add(joiner)) {
            return;
        }
        TokenRing after = allocator.join(before, joiner, 1 + random.nextInt(24));
        byte[] bytes = new byte[12];
        for (int k = 0; k < 2_000; k++) {
            random.nextBytes(bytes);
            long token = Key.of(bytes).token();
            long oldPrimary = before.primaryOwner(token);
            long newPrimary = after.primaryOwner(token);
            if (newPrimary != oldPrimary) {
                assertThat(newPrimary).isEqualTo(joiner);
            }
            List<Long> oldReplicas = before.replicas(token, replicas);
            List<Long> newReplicas = after.replicas(token, replicas);
            assertThat(newReplicas).doesNotHaveDuplicates();
            // The new set is the old one, or the old one with the joiner in place of at most one member.
            assertThat(oldReplicas).containsAll(newReplicas.stream().filter(node -> node != joiner).toList());
        }
    }
}
