package io.trelliskv.storage;

import java.util.Arrays;

/**
 * An array-based binary min-heap of (expiry time, record handle) pairs in two primitive arrays: one per
 * engine segment, holding exactly the records of the segment that have an expiry time (volatile keys
 * and tombstones). No Java object per element.
 *
 * <p>The heap is indexed: each time an element lands at a new array index, {@link Positions#moved} tells
 * the owner, which keeps the index in the record, so a record that is overwritten or deleted leaves the
 * heap at once through {@link #removeAt} (O(log n)) and the heap never holds stale elements.
 *
 * <p>Not thread-safe: used under the segment's lock.
 */
final class ExpiryHeap {

    /** Told where an element now sits. */
    interface Positions {
        void moved(long handle, int index);
    }

    private static final long[] EMPTY = {};
    /** Capacity of the first arrays, allocated on the first {@link #add}. */
    private static final int INITIAL_CAPACITY = 8;

    /** Told when the heap gains its first element ({@code true}) and when it loses its last ({@code false}). */
    interface Occupancy {
        void occupied(boolean any);
    }

    private final Positions positions;
    private final Occupancy occupancy;
    /** Elements {@code [0, size)} form a binary heap: {@code times[i]} is no later than its children's. */
    private long[] times = EMPTY;
    /** Record handle of each element, parallel to {@link #times}. */
    private long[] handles = EMPTY;
    private int size;

    ExpiryHeap(Positions positions) {
        this(positions, any -> { });
    }

    ExpiryHeap(Positions positions, Occupancy occupancy) {
        this.positions = positions;
        this.occupancy = occupancy;
    }

    int size() {
        return size;
    }

    /**
     * Expiry time of the element at array index {@code i}, {@code 0 <= i < size()}. Index 0 is the head;
     * the smallest few expiry times are near the front, but the array order is otherwise arbitrary, which
     * makes a random index a uniform sample of the elements.
     */
    long timeAt(int i) {
        check(i);
        return times[i];
    }

    long handleAt(int i) {
        check(i);
        return handles[i];
    }

    /** Bytes of the two arrays. */
    long bytes() {
        return 16L * times.length;
    }

    void add(long expireAt, long handle) {
        if (size == times.length) {
            int capacity = Math.max(INITIAL_CAPACITY, size * 2);
            times = Arrays.copyOf(times, capacity);
            handles = Arrays.copyOf(handles, capacity);
        }
        siftUp(size++, expireAt, handle);
        if (size == 1) {
            occupancy.occupied(true);
        }
    }

    /** Removes the element at array index {@code i} (as reported to {@link Positions}). */
    void removeAt(int i) {
        check(i);
        int last = --size;
        if (i != last) {
            long t = times[last];
            long h = handles[last];
            if (i > 0 && t < times[(i - 1) >>> 1]) {
                siftUp(i, t, h);
            } else {
                siftDown(i, t, h);
            }
        }
        if (size == 0) {
            times = EMPTY;
            handles = EMPTY;
            occupancy.occupied(false);
        } else if (times.length > INITIAL_CAPACITY && times.length >= 4 * size) {
            int capacity = Math.max(INITIAL_CAPACITY, size * 2);
            times = Arrays.copyOf(times, capacity);
            handles = Arrays.copyOf(handles, capacity);
        }
    }

    /** Removes every element and releases the arrays. */
    void clear() {
        times = EMPTY;
        handles = EMPTY;
        if (size > 0) {
            size = 0;
            occupancy.occupied(false);
        }
    }

    private void check(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("index: " + i + " (expected: 0 <= index < " + size + ")");
        }
    }

    private void place(int i, long t, long h) {
        times[i] = t;
        handles[i] = h;
        positions.moved(h, i);
    }

    private void siftUp(int i, long t, long h) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (times[parent] <= t) {
                break;
            }
            place(i, times[parent], handles[parent]);
            i = parent;
        }
        place(i, t, h);
    }

    private void siftDown(int i, long t, long h) {
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < size && times[right] < times[child]) {
                child = right;
            }
            if (t <= times[child]) {
                break;
            }
            place(i, times[child], handles[child]);
            i = child;
        }
        place(i, t, h);
    }
}
