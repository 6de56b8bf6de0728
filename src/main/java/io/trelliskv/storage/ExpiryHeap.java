package io.trelliskv.storage;

import java.util.Arrays;
import java.util.function.Predicate;

/**
 * An array-based binary min-heap of entries ordered by {@link Entry#expireAt}: one per engine segment,
 * holding every entry of the segment that has an expiry time (volatile keys and tombstones).
 *
 * <p>The heap does not know which of its elements are still in the segment's table. An entry that was
 * overwritten or deleted stays in the heap as a stale element until it reaches the head (where the
 * expiry cycle drops it) or until the owner compacts the heap with {@link #removeIf}. The owner bounds
 * the number of stale elements that way; the heap itself only orders.
 *
 * <p>Not thread-safe: used under the segment's lock.
 */
final class ExpiryHeap {

    private static final Entry[] EMPTY = {};
    /** Capacity of the first array, allocated on the first {@link #add}. */
    private static final int INITIAL_CAPACITY = 8;

    /** Elements {@code [0, size)} form a binary heap: {@code queue[i]} expires no later than its children. */
    private Entry[] queue = EMPTY;
    private int size;

    int size() {
        return size;
    }

    /** The element with the smallest expiry time, or null if empty. */
    Entry peek() {
        return size == 0 ? null : queue[0];
    }

    /**
     * The element at array index {@code i}, {@code 0 <= i < size()}. Index 0 is the head; the smallest
     * few expiry times are near the front, but the array order is otherwise arbitrary, which makes a
     * random index a uniform sample of the elements.
     */
    Entry get(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("index: " + i + " (expected: 0 <= index < " + size + ")");
        }
        return queue[i];
    }

    void add(Entry e) {
        if (size == queue.length) {
            queue = Arrays.copyOf(queue, Math.max(INITIAL_CAPACITY, size * 2));
        }
        siftUp(size++, e);
    }

    /** Removes and returns the head, or null if empty. */
    Entry poll() {
        if (size == 0) {
            return null;
        }
        Entry head = queue[0];
        Entry last = queue[--size];
        queue[size] = null;
        if (size > 0) {
            siftDown(0, last);
        }
        return head;
    }

    /**
     * Removes every element matching {@code stale} and restores heap order in O(n) (Floyd's heapify);
     * shrinks the array when it is mostly empty. Returns the number removed.
     */
    int removeIf(Predicate<Entry> stale) {
        int kept = 0;
        for (int i = 0; i < size; i++) {
            Entry e = queue[i];
            if (!stale.test(e)) {
                queue[kept++] = e;
            }
        }
        int removed = size - kept;
        Arrays.fill(queue, kept, size, null);
        size = kept;
        if (queue.length > INITIAL_CAPACITY && queue.length > 4 * size) {
            queue = size == 0 ? EMPTY : Arrays.copyOf(queue, Math.max(INITIAL_CAPACITY, size * 2));
        }
        for (int i = (size >>> 1) - 1; i >= 0; i--) {
            siftDown(i, queue[i]);
        }
        return removed;
    }

    /** Removes every element and releases the array. */
    void clear() {
        queue = EMPTY;
        size = 0;
    }

    private void siftUp(int i, Entry e) {
        long exp = e.expireAt;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            Entry p = queue[parent];
            if (p.expireAt <= exp) {
                break;
            }
            queue[i] = p;
            i = parent;
        }
        queue[i] = e;
    }

    private void siftDown(int i, Entry e) {
        long exp = e.expireAt;
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            Entry c = queue[child];
            int right = child + 1;
            if (right < size && queue[right].expireAt < c.expireAt) {
                child = right;
                c = queue[right];
            }
            if (exp <= c.expireAt) {
                break;
            }
            queue[i] = c;
            i = child;
        }
        queue[i] = e;
    }
}
