package io.trelliskv.storage;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects the entries a command writes on the current thread, so its coordinator can send exactly
 * those versions to the key's other replicas. A command handler runs on one thread from start to end
 * and reaches the engine only through calls on that thread, so a thread-bound list sees every write it
 * makes and none of anyone else's.
 *
 * <p>Only the engine's own stamped writes ({@link Engine#put}, {@link Engine#delete} and their
 * {@link Engine.Txn} forms) are recorded; {@link Engine#merge} (a version from elsewhere), eviction and
 * expiry are not, as they are not new writes.
 *
 * <pre>{@code
 * WriteCapture.begin();
 * try { handler.handle(...); } finally { written = WriteCapture.end(); }
 * }</pre>
 */
public final class WriteCapture {

    private static final ThreadLocal<List<Entry>> CURRENT = new ThreadLocal<>();

    private WriteCapture() {
    }

    /** Starts recording this thread's writes. */
    public static void begin() {
        CURRENT.set(new ArrayList<>(2));
    }

    /** Stops recording and returns the entries written since {@link #begin()}, in order. */
    public static List<Entry> end() {
        List<Entry> written = CURRENT.get();
        CURRENT.remove();
        return written == null ? List.of() : written;
    }

    /** Called by the engine, under the key's lock, for each entry it stamps. */
    static void record(Entry e) {
        List<Entry> written = CURRENT.get();
        if (written != null) {
            written.add(e);
        }
    }
}
