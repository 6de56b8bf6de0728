package io.trelliskv.storage;

import io.trelliskv.common.Key;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ExpiryHeapTest {

    private static Entry entry(int id, long expireAt) {
        return new Entry(Key.of("k" + id), new byte[0], id, 1, expireAt);
    }

    @Test
    void pollsInExpiryOrderLikeAPriorityQueue() {
        Random random = new Random(7);
        ExpiryHeap heap = new ExpiryHeap();
        PriorityQueue<Entry> model = new PriorityQueue<>(Comparator.comparingLong(Entry::expireAt));
        for (int step = 0; step < 20_000; step++) {
            if (random.nextInt(3) > 0) {
                Entry e = entry(step, random.nextInt(500));
                heap.add(e);
                model.add(e);
            } else {
                Entry polled = heap.poll();
                Entry expected = model.poll();
                assertThat(polled == null ? null : polled.expireAt())
                        .isEqualTo(expected == null ? null : expected.expireAt());
            }
            assertThat(heap.size()).isEqualTo(model.size());
        }
    }

    @Test
    void removeIfKeepsTheRestInOrderAndShrinks() {
        ExpiryHeap heap = new ExpiryHeap();
        List<Entry> kept = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            Entry e = entry(i, 1_000 - i);
            heap.add(e);
            if (i % 10 == 0) {
                kept.add(e);
            }
        }
        assertThat(heap.removeIf(e -> !kept.contains(e))).isEqualTo(900);
        assertThat(heap.size()).isEqualTo(100);
        long previous = Long.MIN_VALUE;
        for (int i = 0; i < 100; i++) {
            Entry e = heap.poll();
            assertThat(kept).contains(e);
            assertThat(e.expireAt()).isGreaterThanOrEqualTo(previous);
            previous = e.expireAt();
        }
        assertThat(heap.poll()).isNull();
        assertThat(heap.peek()).isNull();
    }

    @Test
    void getIndexesTheArrayWithTheHeadFirst() {
        ExpiryHeap heap = new ExpiryHeap();
        heap.add(entry(1, 30));
        heap.add(entry(2, 10));
        heap.add(entry(3, 20));
        assertThat(heap.get(0).expireAt()).isEqualTo(10);
        assertThat(heap.peek()).isSameAs(heap.get(0));
        heap.clear();
        assertThat(heap.size()).isZero();
        assertThat(heap.peek()).isNull();
    }
}
