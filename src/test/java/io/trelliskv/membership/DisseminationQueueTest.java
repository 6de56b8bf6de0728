package io.trelliskv.membership;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class DisseminationQueueTest {

    @ParameterizedTest(name = "mult {0}, n {1} -> {2}")
    @CsvSource({
            // memberlist's TestRetransmitLimit, then our default multiplier; at least once even alone
            "3,    0,  1",
            "3,    1,  3",
            "3,   99,  6",
            "4,    1,  4",
            "4,    9,  4",
            "4,   10,  8",
            "4,   50,  8",
            "4,  100, 12",
            "4, 1000, 16",
    })
    void retransmitLimit(int mult, int n, int expected) {
        assertThat(DisseminationQueue.retransmitLimit(mult, n)).isEqualTo(expected);
    }

    private static byte[] msg(int id, int size) {
        byte[] b = new byte[size];
        b[0] = (byte) id;
        return b;
    }

    private static List<Integer> ids(List<byte[]> messages) {
        List<Integer> out = new ArrayList<>();
        for (byte[] m : messages) {
            out.add((int) m[0]);
        }
        return out;
    }

    @Test
    void fewestTransmitsFirstAndNewestFirstAmongNew() {
        DisseminationQueue q = new DisseminationQueue(2, () -> 9); // limit 2 * ceil(log10(10)) = 2
        q.enqueue(1, msg(1, 10));
        q.enqueue(2, msg(2, 10));
        assertThat(ids(q.take(10, 10))).containsExactly(2);
        q.enqueue(3, msg(3, 10));
        assertThat(ids(q.take(100, 10))).containsExactly(3, 1, 2);
        assertThat(ids(q.take(100, 10))).as("2 retired after 2 sends").containsExactly(3, 1);
        assertThat(q.size()).isZero();
        assertThat(q.take(100, 10)).isEmpty();
    }

    @Test
    void aPeekSendsWithoutCountingATransmission() {
        DisseminationQueue q = new DisseminationQueue(1, () -> 5); // limit 1
        q.enqueue(1, msg(1, 10));
        assertThat(ids(q.peek(100, 10))).containsExactly(1);
        assertThat(ids(q.peek(100, 10))).containsExactly(1);
        assertThat(ids(q.take(100, 10))).containsExactly(1);
        assertThat(q.size()).as("retired by the one counted send").isZero();
    }

    @Test
    void aNewerBroadcastAboutTheSameMemberReplacesTheOlder() {
        DisseminationQueue q = new DisseminationQueue(4, () -> 9);
        int[] done = {0};
        q.enqueue(7, msg(1, 10), () -> done[0]++);
        q.take(100, 10);
        q.enqueue(7, msg(2, 10));
        assertThat(done[0]).as("the replaced one is finished").isEqualTo(1);
        assertThat(q.size()).isEqualTo(1);
        assertThat(ids(q.take(100, 10))).containsExactly(2);
    }

    @Test
    void onDoneRunsWhenTheBroadcastRetires() {
        DisseminationQueue q = new DisseminationQueue(3, () -> 5); // limit 3
        int[] done = {0};
        q.enqueue(1, msg(1, 10), () -> done[0]++);
        q.take(100, 10);
        q.take(100, 10);
        assertThat(done[0]).isZero();
        q.take(100, 10);
        assertThat(done[0]).isEqualTo(1);
    }

    @Test
    void respectsTheByteBudgetAndTheMessageCount() {
        DisseminationQueue q = new DisseminationQueue(4, () -> 9);
        q.enqueue(1, msg(1, 50));
        q.enqueue(2, msg(2, 500));
        q.enqueue(3, msg(3, 50));
        assertThat(ids(q.take(120, 10))).as("skips what does not fit").containsExactly(3, 1);
        assertThat(ids(q.take(1000, 1))).containsExactly(2);
        assertThat(q.take(0, 10)).isEmpty();
        assertThat(q.take(1000, 0)).isEmpty();
    }

    @Test
    void theLimitFollowsTheClusterSize() {
        int[] n = {1};
        DisseminationQueue q = new DisseminationQueue(1, () -> n[0]); // limit 1 while alone
        q.enqueue(1, msg(1, 10));
        n[0] = 100;                                                    // limit 3
        q.take(100, 10);
        q.take(100, 10);
        assertThat(q.size()).isEqualTo(1);
        q.take(100, 10);
        assertThat(q.size()).isZero();
    }
}
