package io.trelliskv.request;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

class RoutedKeysTest {

    @Test
    void aKeyWhoseCommandsWentElsewhereOrWaitedMustBeAwaitedUntilAllHaveAnswered() {
        RoutedKeys r = new RoutedKeys();
        CompletableFuture<byte[]> set = new CompletableFuture<>();
        CompletableFuture<byte[]> get = new CompletableFuture<>();
        r.routed(new long[] {7}, new long[] {1}, set, false);
        r.routed(new long[] {7}, new long[] {1}, get, false);
        assertThat(r.mustAwait(new long[] {7}, new long[] {1})).as("same coordinator, unheld").isNull();
        assertThat(r.mustAwait(new long[] {7}, new long[] {2})).containsExactly(set, get);
        assertThat(r.mustAwait(new long[] {8}, new long[] {2})).as("another key").isNull();

        CompletableFuture<byte[]> waited = new CompletableFuture<>();
        r.routed(new long[] {7}, new long[] {1}, waited, true);
        set.complete(new byte[0]);
        assertThat(r.mustAwait(new long[] {7}, new long[] {1})).as("held: even the same coordinator waits")
                .containsExactly(get, waited);
        waited.complete(new byte[0]);
        assertThat(r.mustAwait(new long[] {7}, new long[] {1})).as("held until all have answered")
                .containsExactly(get);
        get.complete(new byte[0]);
        assertThat(r.mustAwait(new long[] {7}, new long[] {2})).isNull();
        assertThat(r.size()).as("a settled key is dropped when looked up").isZero();
    }

    /** A connection that writes ever new keys (settled keys are never looked up again) keeps a small table. */
    @Test
    void settledKeysAreSweptOutSoTheTableStaysProportionalToWhatIsOutstanding() {
        RoutedKeys r = new RoutedKeys();
        List<CompletableFuture<byte[]>> open = new ArrayList<>();
        for (long token = 1; token <= 10_000; token++) {
            CompletableFuture<byte[]> reply = new CompletableFuture<>();
            r.routed(new long[] {token * 0x9E3779B97F4A7C15L}, new long[] {1}, reply, false);
            open.add(reply);
            if (open.size() > 16) { // a pipeline of 16
                open.remove(0).complete(new byte[0]);
            }
        }
        assertThat(r.capacity()).isLessThanOrEqualTo(8 * 17);
    }

    /**
     * Against a model (the map of per-key records it replaces): seeded random commands over few tokens,
     * chosen to collide in the table, answered in random order, so that growth, probing, deletion by
     * shifting back and the sweeps of settled keys all run.
     */
    @Test
    void behavesAsAMapOfOutstandingCommandsPerKey() {
        for (long seed = 1; seed <= 20; seed++) {
            Random random = new Random(seed);
            int tokenCount = 2 + random.nextInt(200);
            RoutedKeys table = new RoutedKeys();
            Map<Long, Model> model = new HashMap<>();
            List<CompletableFuture<byte[]>> open = new ArrayList<>();
            int mostOpen = 0;
            for (int op = 0; op < 4_000; op++) {
                int keys = 1 + random.nextInt(3);
                long[] tokens = new long[keys];
                long[] targets = new long[keys];
                for (int i = 0; i < keys; i++) {
                    int t = random.nextInt(tokenCount);
                    // Tokens differing in high bits only share a home slot; a few spread ones besides.
                    tokens[i] = random.nextBoolean() ? (long) t << 40 : t;
                    targets[i] = random.nextInt(3);
                }
                List<CompletableFuture<?>> found = table.mustAwait(tokens, targets);
                Set<CompletableFuture<?>> expected = mustAwait(model, tokens, targets);
                assertThat(found == null ? Set.of() : new HashSet<>(found)).as("seed %d op %d", seed, op)
                        .isEqualTo(expected);
                if (found != null) {
                    assertThat(found).doesNotHaveDuplicates();
                }
                CompletableFuture<byte[]> reply = new CompletableFuture<>();
                boolean held = !expected.isEmpty() || random.nextInt(10) == 0;
                table.routed(tokens, targets, reply, held);
                routed(model, tokens, targets, reply, held);
                open.add(reply);
                mostOpen = Math.max(mostOpen, open.size());
                for (int n = random.nextInt(4); n > 0 && !open.isEmpty(); n--) {
                    open.remove(random.nextInt(open.size())).complete(new byte[0]);
                }
                // Each outstanding command has up to 3 keys; settled ones are swept out before the table grows.
                assertThat(table.capacity()).as("bounded by the keys outstanding at once")
                        .isLessThanOrEqualTo(Math.max(16, 8 * (3 * mostOpen + 1)));
            }
        }
    }

    /** The model: the records {@link Session} kept per key before {@link RoutedKeys}. */
    private static final class Model {
        long target;
        boolean held;
        final List<CompletableFuture<?>> replies = new ArrayList<>();

        boolean settled() {
            replies.removeIf(CompletableFuture::isDone);
            return replies.isEmpty();
        }
    }

    private static Set<CompletableFuture<?>> mustAwait(Map<Long, Model> model, long[] tokens, long[] targets) {
        Set<CompletableFuture<?>> found = new HashSet<>();
        for (int i = 0; i < tokens.length; i++) {
            Model m = model.get(tokens[i]);
            if (m == null || m.settled()) {
                continue;
            }
            if (m.held || m.target != targets[i]) {
                found.addAll(m.replies);
            }
        }
        return found;
    }

    private static void routed(Map<Long, Model> model, long[] tokens, long[] targets, CompletableFuture<?> reply,
                               boolean held) {
        for (int i = 0; i < tokens.length; i++) {
            Model m = model.computeIfAbsent(tokens[i], t -> new Model());
            boolean earlier = !m.settled();
            m.target = targets[i];
            m.held = held || (earlier && m.held);
            m.replies.add(reply);
        }
    }
}
