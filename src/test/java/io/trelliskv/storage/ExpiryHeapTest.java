package io.trelliskv.storage;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

class ExpiryHeapTest {

    /** Where the heap says each handle sits, as the engine keeps it in the record. */
    private final Map<Long, Integer> positions = new HashMap<>();
    private final ExpiryHeap heap = new ExpiryHeap(positions::put);

    private void checkPositionsAndOrder() {
        for (int i = 0; i < heap.size(); i++) {
            assertThat(positions.get(heap.handleAt(i))).as("position of element %d", i).isEqualTo(i);
            if (i > 0) {
                assertThat(heap.timeAt((i - 1) / 2)).isLessThanOrEqualTo(heap.timeAt(i));
            }
        }
    }

    /** Removes the head and returns its time, as a poll would. */
    private long poll() {
        long t = heap.timeAt(0);
        positions.remove(heap.handleAt(0));
        heap.removeAt(0);
        return t;
    }

    @Test
    void pollsInExpiryOrderLikeAPriorityQueueAndRemovesAnyElementByItsPosition() {
        Random random = new Random(7);
        TreeMap<Long, Integer> model = new TreeMap<>(); // time -> count
        List<Long> live = new ArrayList<>();
        Map<Long, Long> timeOf = new HashMap<>();
        long nextHandle = 1;
        for (int step = 0; step < 20_000; step++) {
            int op = random.nextInt(4);
            if (op <= 1) {
                long t = random.nextInt(500);
                long h = nextHandle++;
                heap.add(t, h);
                live.add(h);
                timeOf.put(h, t);
                model.merge(t, 1, Integer::sum);
            } else if (op == 2 && heap.size() > 0) {
                long expected = model.firstKey();
                long h = heap.handleAt(0);
                assertThat(poll()).isEqualTo(expected);
                live.remove(h);
                model.merge(expected, -1, (a, b) -> a + b == 0 ? null : a + b);
            } else if (op == 3 && !live.isEmpty()) {
                long h = live.remove(random.nextInt(live.size()));
                long t = timeOf.get(h);
                heap.removeAt(positions.remove(h));
                model.merge(t, -1, (a, b) -> a + b == 0 ? null : a + b);
            }
            assertThat(heap.size()).isEqualTo(live.size());
            if (step % 97 == 0) {
                checkPositionsAndOrder();
            }
        }
        checkPositionsAndOrder();
        long previous = Long.MIN_VALUE;
        while (heap.size() > 0) {
            long t = poll();
            assertThat(t).isGreaterThanOrEqualTo(previous);
            previous = t;
        }
        assertThat(heap.bytes()).as("an empty heap releases its arrays").isZero();
    }

    @Test
    void theArraysShrinkWhenMostlyEmpty() {
        for (int i = 0; i < 1_000; i++) {
            heap.add(1_000 - i, i + 1);
        }
        long full = heap.bytes();
        while (heap.size() > 10) {
            poll();
        }
        assertThat(heap.bytes()).isLessThan(full / 8);
        checkPositionsAndOrder();
    }

    @Test
    void elementsAreIndexedWithTheHeadFirst() {
        heap.add(30, 1);
        heap.add(10, 2);
        heap.add(20, 3);
        assertThat(heap.timeAt(0)).isEqualTo(10);
        assertThat(heap.handleAt(0)).isEqualTo(2);
        checkPositionsAndOrder();
        heap.clear();
        assertThat(heap.size()).isZero();
    }

    @Test
    void toldWhenItGainsItsFirstElementAndLosesItsLast() {
        List<Boolean> told = new ArrayList<>();
        Map<Long, Integer> at = new HashMap<>();
        ExpiryHeap h = new ExpiryHeap(at::put, told::add);
        h.add(30, 3);
        h.add(10, 1);
        h.add(20, 2);
        assertThat(told).containsExactly(true);
        h.removeAt(at.get(1L));
        h.removeAt(at.get(3L));
        assertThat(told).containsExactly(true);
        h.removeAt(at.get(2L));
        assertThat(told).containsExactly(true, false);
        h.add(40, 4);
        h.clear();
        h.clear(); // already empty: nothing to tell
        assertThat(told).containsExactly(true, false, true, false);
    }
}
