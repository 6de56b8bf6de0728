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
 *
 * <p>Every command of a coordinator passes through here, so a capture costs no allocation of its own:
 * each thread keeps one {@link Capture} and reuses its list, and {@link #end()} hands out an immutable
 * copy only of what was written (nothing for a read, one small list for a one-key write).
 */
public final class WriteCapture {

    /** One thread's capture, reused by every command the thread runs. */
    private static final class Capture {
        /** Whether a capture is open on the thread: between {@link #begin()} and {@link #end()}. */
        boolean open;
        final ArrayList<Entry> written = new ArrayList<>();
    }

    private static final ThreadLocal<Capture> CURRENT = ThreadLocal.withInitial(Capture::new);

    private WriteCapture() {
    }

    /** Starts recording this thread's writes. */
    public static void begin() {
        Capture c = CURRENT.get();
        c.written.clear();
        c.open = true;
    }

    /** Stops recording and returns the entries written since {@link #begin()}, in order (immutable). */
    public static List<Entry> end() {
        Capture c = CURRENT.get();
        if (!c.open) {
            return List.of();
        }
        c.open = false;
        List<Entry> written = switch (c.written.size()) {
            case 0 -> List.of();
            case 1 -> List.of(c.written.get(0));
            default -> List.copyOf(c.written);
        };
        c.written.clear(); // hold no entry past the command
        return written;
    }

    /** Called by the engine, under the key's lock, for each entry it stamps. */
    static void record(Entry e) {
        Capture c = CURRENT.get();
        if (c.open) {
            c.written.add(e);
        }
    }
}
