package io.trelliskv.ring;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class TokenRingTest {

    /** 2^60, a sixteenth of the ring. */
    private static final long U = 1L << 60;

    /**
     * Node 1 at -4U and 2U, node 2 at 0 and 6U, node 3 at 4U. Ring order: -4U(1) 0(2) 2U(1) 4U(3) 6U(2);
     * primary ranges (6U, -4U] 1 (6/16, wrapping), (-4U, 0] 2 (4/16), (0, 2U] 1, (2U, 4U] 3, (4U, 6U] 2
     * (2/16 each).
     */
    private static final TokenRing RING = TokenRing.of(1, Map.of(
            1L, List.of(2 * U, -4 * U),
            2L, List.of(0L, 6 * U),
            3L, List.of(4 * U)));

    @ParameterizedTest(name = "primary owner of {0} is {1}")
    @CsvSource({
            "-4611686018427387904, 1",   // -4U itself: a token owns itself
            "-4611686018427387903, 2",   // just after -4U: the next token is 0
            "0, 2",
            "1, 1",
            "2305843009213693952, 1",    // 2U
            "2305843009213693953, 3",
            "6917529027641081856, 2",    // 6U
            "6917529027641081857, 1",    // past the largest token: wraps to -4U
            "9223372036854775807, 1",    // MAX
            "-9223372036854775808, 1",   // MIN
    })
    void primaryOwner(long token, long owner) {
        assertThat(RING.primaryOwner(token)).isEqualTo(owner);
    }

    @ParameterizedTest(name = "replicas of {0} with n={1}: {2}")
    @CsvSource({
            "1, 1, 1",
            "1, 2, 1 3",
            "1, 3, 1 3 2",
            "1, 4, 1 3 2",                       // n capped at the node count
            "1, 100, 1 3 2",
            "2305843009213693953, 3, 3 2 1",     // from 4U: 3, 6U(2), wrap to -4U(1)
            "6917529027641081857, 2, 1 2",       // past the largest token: -4U(1), 0(2)
            "4611686018427387905, 3, 2 1 3",     // from 6U: 2, wrap -4U(1), 0(2) skipped, 2U(1) skipped, 4U(3)
            "-9223372036854775808, 3, 1 2 3",    // MIN
    })
    void replicas(long token, int n, String expected) {
        List<Long> want = Stream.of(expected.split(" ")).map(Long::valueOf).toList();
        assertThat(RING.replicas(token, n)).containsExactlyElementsOf(want);
    }

    @Test
    void replicaWalkSkipsTokensOfNodesAlreadyChosen() {
        TokenRing ring = TokenRing.of(0, Map.of(1L, List.of(10L, 20L, 30L), 2L, List.of(40L), 3L, List.of(50L)));
        assertThat(ring.replicas(5, 2)).containsExactly(1L, 2L);
        assertThat(ring.replicas(45, 3)).containsExactly(3L, 1L, 2L);
    }

    @Test
    void replicaListsAreSharedSoNoCallerCanChangeThem() {
        TokenRing ring = TokenRing.of(0, Map.of(1L, List.of(10L, 20L, 30L), 2L, List.of(40L), 3L, List.of(50L)));
        List<Long> list = ring.replicas(5, 3);
        assertThat(ring.replicas(5, 3)).isSameAs(list); // computed once per ring and factor
        assertThatThrownBy(() -> list.add(4L)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> list.set(0, 4L)).isInstanceOf(UnsupportedOperationException.class);
        assertThat(ring.replicas(5, 3)).containsExactly(1L, 2L, 3L);
    }

    @Test
    void arcsWithTheSameReplicasInTheSameOrderShareOneList() {
        TokenRing ring = TokenRing.of(0, Map.of(1L, List.of(10L, 20L, 30L), 2L, List.of(40L), 3L, List.of(50L)));
        // (50, 10], (10, 20] and (20, 30] all start at node 1, then 2, then 3
        assertThat(ring.replicas(5, 3)).isSameAs(ring.replicas(15, 3)).isSameAs(ring.replicas(25, 3));
        assertThat(ring.replicas(45, 3)).containsExactly(3L, 1L, 2L).isNotSameAs(ring.replicas(5, 3));
        assertThat(ring.replicasExcept(5, 3, 3)).isSameAs(ring.replicasExcept(15, 3, 3)).containsExactly(1L, 2L);
    }

    @Test
    void replicasExceptANodeAreTheReplicasInOrderLessIt() {
        TokenRing ring = TokenRing.of(0, Map.of(1L, List.of(10L, 20L, 30L), 2L, List.of(40L), 3L, List.of(50L)));
        for (long token : new long[] {5, 15, 25, 35, 45, 55}) {
            List<Long> all = ring.replicas(token, 3);
            for (long node = 1; node <= 4; node++) { // 4 is no member: its lists are the replicas themselves
                long except = node;
                List<Long> others = ring.replicasExcept(token, 3, node);
                assertThat(others).as("token %d less node %d", token, node)
                        .containsExactlyElementsOf(all.stream().filter(n -> n != except).toList());
                assertThat(ring.replicasExcept(token, 3, node)).as("computed once per node asked about").isSameAs(others);
                assertThatThrownBy(() -> others.add(9L)).isInstanceOf(UnsupportedOperationException.class);
            }
        }
        assertThat(ring.replicasExcept(5, 2, 1)).containsExactly(2L); // another factor: its own lists
        assertThat(TokenRing.of(0, Map.of()).replicasExcept(5, 3, 1)).isEmpty();
    }

    @Test
    void ownershipIsTheSizeOfEachNodesPrimaryRanges() {
        assertThat(RING.ownership()).containsExactly(
                Map.entry(1L, 0.5), Map.entry(2L, 0.375), Map.entry(3L, 0.125));
    }

    @Test
    void replicaOwnershipCountsEveryRangeANodeReplicatesDividedByN() {
        // n = 2: node 1 replicates (6U,-4U], (-4U,0], (0,2U], (4U,6U] = 14/16, node 2 the same, node 3 4/16.
        assertThat(RING.replicaOwnership(2)).containsExactly(
                Map.entry(1L, 0.4375), Map.entry(2L, 0.4375), Map.entry(3L, 0.125));
        assertThat(RING.replicaOwnership(1)).isEqualTo(RING.ownership());
        assertThat(RING.replicaOwnership(3).values()).allSatisfy(share -> assertThat(share).isCloseTo(1.0 / 3, within(1e-15)));
        assertThat(RING.replicaOwnership(7)).isEqualTo(RING.replicaOwnership(3));
    }

    @Test
    void replicaRangesAreTheArcsWhoseReplicaSetHoldsTheNode() {
        assertThat(RING.replicaRanges(3, 1)).containsExactly(new TokenRange(2 * U, 4 * U));
        assertThat(RING.replicaRanges(3, 2)).containsExactly(new TokenRange(0, 2 * U), new TokenRange(2 * U, 4 * U));
        assertThat(RING.replicaRanges(1, 1)).containsExactly(new TokenRange(6 * U, -4 * U), new TokenRange(0, 2 * U));
        assertThat(RING.replicaRanges(1, 2)).containsExactly(new TokenRange(6 * U, -4 * U), new TokenRange(-4 * U, 0),
                new TokenRange(0, 2 * U), new TokenRange(4 * U, 6 * U));
        assertThat(RING.replicaRanges(2, 3)).hasSize(5);
        assertThat(RING.replicaRanges(99, 1)).isEmpty();
    }

    @Test
    void aOneTokenRingIsOneFullRange() {
        TokenRing ring = TokenRing.of(0, Map.of(7L, List.of(42L)));
        assertThat(ring.replicaRanges(7, 1)).containsExactly(TokenRange.fullRing(42));
        assertThat(ring.ownership()).containsExactly(Map.entry(7L, 1.0));
        assertThat(ring.primaryOwner(Long.MIN_VALUE)).isEqualTo(7);
        assertThat(ring.replicas(43, 3)).containsExactly(7L);
    }

    @Test
    void anEmptyRingHasNoOwners() {
        TokenRing ring = TokenRing.empty();
        assertThat(ring.isEmpty()).isTrue();
        assertThat(ring.version()).isZero();
        assertThat(ring.nodes()).isEmpty();
        assertThat(ring.replicas(0, 3)).isEmpty();
        assertThat(ring.ownership()).isEmpty();
        assertThatThrownBy(() -> ring.primaryOwner(5))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("the ring is empty: no node owns token 5");
    }

    @Test
    void tokensAndNodesAreSorted() {
        assertThat(RING.nodes()).containsExactly(1L, 2L, 3L);
        assertThat(RING.tokensOf(1)).containsExactly(-4 * U, 2 * U);
        assertThat(RING.tokensOf(4)).isEmpty();
        assertThat(RING.tokenCount()).isEqualTo(5);
    }

    @Test
    void withNodeAndWithoutNodeBumpTheVersionAndMoveNoOtherToken() {
        TokenRing grown = RING.withNode(4, List.of(-2 * U, 3 * U));
        assertThat(grown.version()).isEqualTo(2);
        assertThat(grown.tokensOf(4)).containsExactly(-2 * U, 3 * U);
        assertThat(grown.primaryOwner(-3 * U)).isEqualTo(4);
        assertThat(RING.primaryOwner(-3 * U)).isEqualTo(2);   // the original is unchanged

        TokenRing shrunk = grown.withoutNode(2);
        assertThat(shrunk.version()).isEqualTo(3);
        assertThat(shrunk.nodes()).containsExactly(1L, 3L, 4L);
        for (long node : shrunk.nodes()) {
            assertThat(shrunk.tokensOf(node)).isEqualTo(grown.tokensOf(node));
        }
        assertThat(shrunk.primaryOwner(0)).isEqualTo(1);      // node 2's range (-2U, 0] falls to 2U's owner
    }

    @Test
    void refusesInconsistentRings() {
        assertThatThrownBy(() -> RING.withNode(3, List.of(1L)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("node 3 is already on the ring (version 1)");
        assertThatThrownBy(() -> RING.withNode(4, List.of(0L)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("token 0 is claimed by nodes");
        assertThatThrownBy(() -> RING.withNode(4, List.of(5L, 5L)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("token 5 is listed twice for node 4");
        assertThatThrownBy(() -> RING.withNode(4, List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("node 4 has no tokens (expected: at least 1)");
        assertThatThrownBy(() -> RING.withoutNode(9))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("node 9 is not on the ring (version 1)");
        assertThatThrownBy(() -> TokenRing.of(-1, Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("version: -1 (expected: >= 0)");
        assertThatThrownBy(() -> RING.replicas(0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("replicas: 0 (expected: >= 1)");
    }

    @Test
    void describesOwnershipPerNode() {
        assertThat(RING.describe(2)).isEqualTo("""
                ring version 1: 3 nodes, 5 tokens, 2 replicas
                node              tokens  primary  replica
                0000000000000001       2   50.00%   43.75%
                0000000000000002       2   37.50%   43.75%
                0000000000000003       1   12.50%   12.50%
                """);
    }

    @Test
    void describesTokensInRingOrder() {
        assertThat(RING.describeTokens()).isEqualTo("""
                -4611686018427387904 0000000000000001
                0 0000000000000002
                2305843009213693952 0000000000000001
                4611686018427387904 0000000000000003
                6917529027641081856 0000000000000002
                """);
        assertThat(RING).hasToString("TokenRing{version=1, nodes=3, tokens=5}");
    }

    @Property(tries = 200, seed = "20240611")
    void replicasAreDistinctCappedAndStartAtThePrimary(@ForAll long seed, @ForAll long token,
                                                       @ForAll @IntRange(min = 1, max = 6) int n) {
        TokenRing ring = randomRing(seed);
        List<Long> replicas = ring.replicas(token, n);
        assertThat(replicas).doesNotHaveDuplicates().hasSize(Math.min(n, ring.nodes().size()));
        assertThat(replicas.get(0)).isEqualTo(ring.primaryOwner(token));
        assertThat(ring.replicas(token, n + 1)).startsWith(replicas.toArray(Long[]::new));
    }

    @Property(tries = 200, seed = "20240612")
    void replicaRangesHoldExactlyTheTokensTheNodeReplicates(@ForAll long seed, @ForAll long token,
                                                            @ForAll @IntRange(min = 1, max = 4) int n) {
        TokenRing ring = randomRing(seed);
        for (long node : ring.nodes()) {
            boolean inRanges = ring.replicaRanges(node, n).stream().anyMatch(r -> r.contains(token));
            assertThat(inRanges).isEqualTo(ring.replicas(token, n).contains(node));
        }
        // A ring token is the end of its own range.
        long ringToken = ring.tokensOf(ring.nodes().iterator().next()).get(0);
        assertThat(ring.replicaRanges(ring.primaryOwner(ringToken), 1)).anyMatch(r -> r.end() == ringToken);
    }

    @Property(tries = 100, seed = "20240613")
    void sharesSumToOne(@ForAll long seed, @ForAll @IntRange(min = 1, max = 6) int n) {
        TokenRing ring = randomRing(seed);
        assertThat(ring.ownership().values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0, within(1e-12));
        assertThat(ring.replicaOwnership(n).values().stream().mapToDouble(Double::doubleValue).sum())
                .isCloseTo(1.0, within(1e-12));
        Set<TokenRange> allRanges = ring.nodes().stream()
                .flatMap(node -> ring.replicaRanges(node, 1).stream()).collect(Collectors.toSet());
        assertThat(allRanges).hasSize(ring.tokenCount());
    }

    /**
     * The primary owner found through the ring's slice index is the one a scan of the sorted tokens finds:
     * at every ring token and either side of it, at the ends of the token space and at random tokens, for
     * rings of one token to more tokens than the index has slices, spread out or crowded into one slice.
     */
    @Property(tries = 60, seed = "20261205")
    void primaryOwnerIsTheOwnerOfTheFirstTokenAtOrAfter(@ForAll long seed,
                                                        @ForAll @IntRange(min = 1, max = 40_000) int tokenCount,
                                                        @ForAll boolean crowded) {
        SplittableRandom random = new SplittableRandom(seed);
        long base = random.nextLong();
        TreeMap<Long, Long> ownerByToken = new TreeMap<>();
        while (ownerByToken.size() < tokenCount) {
            long token = crowded ? base + random.nextInt(4 * tokenCount + 16) : random.nextLong();
            ownerByToken.put(token, 1L + random.nextInt(7));
        }
        Map<Long, List<Long>> byNode = new LinkedHashMap<>();
        ownerByToken.forEach((token, node) -> byNode.computeIfAbsent(node, n -> new ArrayList<>()).add(token));
        TokenRing ring = TokenRing.of(1, byNode);
        List<Long> queries = new ArrayList<>(List.of(Long.MIN_VALUE, Long.MAX_VALUE, 0L, base));
        for (long token : ownerByToken.keySet()) {
            if (queries.size() > 3_000) {
                break;
            }
            queries.addAll(List.of(token, token - 1, token + 1));
        }
        for (int i = 0; i < 1_000; i++) {
            queries.add(random.nextLong());
        }
        for (long q : queries) {
            Map.Entry<Long, Long> at = ownerByToken.ceilingEntry(q);
            long expected = at != null ? at.getValue() : ownerByToken.firstEntry().getValue();
            assertThat(ring.primaryOwner(q)).as("owner of %d", q).isEqualTo(expected);
        }
    }

    /** 1 to 8 nodes with 1 to 5 random tokens each. */
    private static TokenRing randomRing(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int nodes = 1 + random.nextInt(8);
        Set<Long> used = new HashSet<>();
        Map<Long, List<Long>> tokens = new LinkedHashMap<>();
        for (int node = 0; node < nodes; node++) {
            List<Long> own = new ArrayList<>();
            int count = 1 + random.nextInt(5);
            while (own.size() < count) {
                long token = random.nextLong();
                if (used.add(token)) {
                    own.add(token);
                }
            }
            tokens.put(random.nextLong(), own);
        }
        return TokenRing.of(0, tokens);
    }
}
