package io.trelliskv.request;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Per key token, where one client connection's outstanding commands on that key went and their replies:
 * what {@link Session#conflicting} and {@link Session#routed} keep. Reads and blind writes are
 * coordinated by any replica (this node when it is one), read-modify-write commands by the first live
 * replica, so one connection's commands on one key may go to two coordinators, and a later command must
 * then wait for the earlier ones.
 *
 * <h2>Layout</h2>
 * Every command that does not answer at once is recorded here, so a record costs no object of its own:
 * an open-addressing table with linear probing, at most half full, over a key's token and target
 * ({@link #slots}, two longs a key, side by side) and its outstanding replies ({@link #replies}: one
 * future, or a list of them when several are outstanding on one key; null for an empty slot), and
 * whether it is {@link #held}. A key whose replies have all completed is <em>settled</em>: it is removed
 * when next looked up, and the settled keys are swept out, in place, when the table is half full; it
 * doubles only if more than a quarter is still outstanding then. So it stays under eight times the keys
 * outstanding at once, and a sweep makes no garbage.
 *
 * <p>Not thread-safe: the session guards it.
 */
final class RoutedKeys {

    private static final int INITIAL_SLOTS = 16;

    /** Per slot {@code i}: the key's token at {@code [2i]}, the node its commands went to at {@code [2i + 1]}. */
    private long[] slots = new long[2 * INITIAL_SLOTS];
    /** Per slot: the outstanding replies, a {@code CompletableFuture} or a {@code List} of them; null: empty. */
    private Object[] replies = new Object[INITIAL_SLOTS];
    /**
     * Per slot: set when one of its commands waited for an earlier command of the connection (it may not
     * have been sent yet, so a later command to the same coordinator could overtake it, and the earlier
     * ones may have gone elsewhere); stays set until all have answered.
     */
    private boolean[] held = new boolean[INITIAL_SLOTS];
    /** Slots in use, settled or not; at most half the table. */
    private int size;

    boolean isEmpty() {
        return size == 0;
    }

    /** Keys held now, settled ones included until swept. */
    int size() {
        return size;
    }

    /** Slots in the table. */
    int capacity() {
        return replies.length;
    }

    /**
     * What a command about to go to {@code targets[i]} for the key with {@code tokens[i]} must wait for:
     * the outstanding replies on one of its keys if they went to another coordinator, or waited
     * themselves, each once; null if nothing.
     */
    List<CompletableFuture<?>> mustAwait(long[] tokens, long[] targets) {
        if (size == 0) {
            return null;
        }
        List<CompletableFuture<?>> found = null;
        for (int i = 0; i < tokens.length; i++) {
            int slot = indexOf(tokens[i]);
            if (slot < 0) {
                continue;
            }
            if (settled(slot)) {
                removeSlot(slot);
                continue;
            }
            if (held[slot] || slots[2 * slot + 1] != targets[i]) {
                if (found == null) {
                    found = new ArrayList<>(2);
                }
                addDistinct(found, replies[slot]);
            }
        }
        return found;
    }

    /**
     * Remembers that a command on the keys with {@code tokens} went to {@code targets} and answers with
     * {@code reply}, until it completes. It joins the outstanding commands on each key: the key's target
     * becomes its own, and the key stays held if it was (see {@link Session#routed}).
     */
    void routed(long[] tokens, long[] targets, CompletableFuture<?> reply, boolean wasHeld) {
        for (int i = 0; i < tokens.length; i++) {
            int slot = indexOf(tokens[i]);
            boolean earlier;
            if (slot < 0) {
                if (2 * (size + 1) > replies.length) {
                    sweep();
                    if (4 * (size + 1) > replies.length) {
                        resize(2 * replies.length);
                    }
                }
                slot = insert(tokens[i]);
                earlier = false;
            } else {
                earlier = !settled(slot);
            }
            slots[2 * slot + 1] = targets[i];
            held[slot] = wasHeld || (earlier && held[slot]);
            replies[slot] = earlier ? joined(replies[slot], reply) : reply;
        }
    }

    /** Whether every reply outstanding on the slot's key has completed; drops those that have. */
    private boolean settled(int slot) {
        Object r = outstanding(replies[slot]);
        if (r == null) {
            return true; // the caller removes the slot or gives it a new reply
        }
        replies[slot] = r;
        return false;
    }

    /** Of a key's replies, those not complete: a future, a list of them, or null if none. */
    private static Object outstanding(Object replies) {
        if (replies instanceof CompletableFuture<?> f) {
            return f.isDone() ? null : f;
        }
        @SuppressWarnings("unchecked")
        List<CompletableFuture<?>> list = (List<CompletableFuture<?>>) replies;
        list.removeIf(CompletableFuture::isDone);
        return list.isEmpty() ? null : list.size() == 1 ? list.get(0) : list;
    }

    /** The outstanding replies of a key with one more. */
    private static Object joined(Object had, CompletableFuture<?> reply) {
        if (had == reply) {
            return had; // one command naming the key twice
        }
        if (had instanceof CompletableFuture<?> f) {
            List<CompletableFuture<?>> list = new ArrayList<>(4);
            list.add(f);
            list.add(reply);
            return list;
        }
        @SuppressWarnings("unchecked")
        List<CompletableFuture<?>> list = (List<CompletableFuture<?>>) had;
        if (!list.contains(reply)) {
            list.add(reply);
        }
        return list;
    }

    private static void addDistinct(List<CompletableFuture<?>> found, Object replies) {
        if (replies instanceof CompletableFuture<?> f) {
            if (!found.contains(f)) {
                found.add(f);
            }
            return;
        }
        @SuppressWarnings("unchecked")
        List<CompletableFuture<?>> list = (List<CompletableFuture<?>>) replies;
        for (CompletableFuture<?> f : list) {
            if (!found.contains(f)) {
                found.add(f);
            }
        }
    }

    private int indexOf(long token) {
        int mask = replies.length - 1;
        for (int i = home(token, mask); replies[i] != null; i = (i + 1) & mask) {
            if (slots[2 * i] == token) {
                return i;
            }
        }
        return -1;
    }

    /** Takes an empty slot for {@code token}; its replies are set by the caller. */
    private int insert(long token) {
        int mask = replies.length - 1;
        int i = home(token, mask);
        while (replies[i] != null) {
            i = (i + 1) & mask;
        }
        slots[2 * i] = token;
        size++;
        return i;
    }

    /** Empties a slot, shifting back the slots after it that probed past it (linear probing's deletion). */
    private void removeSlot(int hole) {
        int mask = replies.length - 1;
        for (int j = (hole + 1) & mask; replies[j] != null; j = (j + 1) & mask) {
            int home = home(slots[2 * j], mask);
            // j's entry may fill the hole unless its home lies cyclically in (hole, j].
            boolean stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
            if (!stays) {
                slots[2 * hole] = slots[2 * j];
                slots[2 * hole + 1] = slots[2 * j + 1];
                replies[hole] = replies[j];
                held[hole] = held[j];
                hole = j;
            }
        }
        replies[hole] = null;
        held[hole] = false;
        size--;
    }

    /**
     * Drops the settled keys, in place. Deleting shifts later slots back into the slot just emptied,
     * which is then looked at again; a slot shifted back into one already passed is kept until the next
     * lookup or sweep, which is safe.
     */
    private void sweep() {
        for (int i = 0; i < replies.length; i++) {
            while (replies[i] != null && settled(i)) {
                removeSlot(i);
            }
        }
    }

    /** Rebuilds the table with {@code capacity} slots (a power of two), keeping the keys not settled. */
    private void resize(int capacity) {
        long[] oldSlots = slots;
        Object[] oldReplies = replies;
        boolean[] oldHeld = held;
        slots = new long[2 * capacity];
        replies = new Object[capacity];
        held = new boolean[capacity];
        size = 0;
        for (int i = 0; i < oldReplies.length; i++) {
            Object r = oldReplies[i] == null ? null : outstanding(oldReplies[i]);
            if (r != null) {
                int slot = insert(oldSlots[2 * i]);
                slots[2 * slot + 1] = oldSlots[2 * i + 1];
                replies[slot] = r;
                held[slot] = oldHeld[i];
            }
        }
    }

    /** Tokens are already hashes of the keys: their bits are spread. */
    private static int home(long token, int mask) {
        return (int) (token ^ (token >>> 32)) & mask;
    }
}
