package io.trelliskv.membership;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * Infection-style dissemination: the broadcasts waiting to be piggy-backed on outgoing packets.
 *
 * <p>Each broadcast is a membership message about one member (ALIVE, SUSPECT, DEAD, LEFT, REMOVED),
 * already encoded. Every outgoing packet (ping, ack, indirect ping, gossip) fills its spare room with
 * the broadcasts sent the fewest times so far, newest first; a broadcast retires after
 * {@link #retransmitLimit(int, int)} transmissions, {@code mult * ceil(log10(n + 1))}, which is enough
 * for an epidemic to reach every member with high probability (SWIM section 4.1). A newer broadcast
 * about a member replaces the queued one, so the queue holds at most one message per member and a
 * stale verdict never travels after the fresh one. As hashicorp/memberlist's
 * {@code TransmitLimitedQueue}.
 *
 * <p>Not thread-safe: owned by the Swim thread.
 */
final class DisseminationQueue {

    /** After this many queued broadcasts in a row did not fit a packet, stop looking for one that does. */
    private static final int MAX_MISFITS_PER_TAKE = 16;

    /** One queued broadcast; linked into the bucket of its transmit count. */
    private static final class Entry {
        final long memberId;
        final byte[] message;
        /** Called once when the broadcast retires or is replaced; may be null. */
        final Runnable onDone;
        int transmits;
        Entry prev;
        Entry next;

        Entry(long memberId, byte[] message, Runnable onDone) {
            this.memberId = memberId;
            this.message = message;
            this.onDone = onDone;
        }
    }

    /**
     * Entries by transmit count: {@code heads[t]} starts the list of entries sent {@code t} times. New
     * broadcasts go to the front of list 0, so the newest is sent first; an entry sent once more moves to
     * the back of the next list. Lists rather than a sorted tree because every packet moves a few dozen
     * entries, and a list move is O(1).
     */
    private Entry[] heads = new Entry[8];
    private Entry[] tails = new Entry[8];
    private final Map<Long, Entry> byMember = new HashMap<>();
    /** The retransmit multiplier, lambda in the SWIM paper. */
    private final int retransmitMult;
    /** The number of live members, which sets the retransmit limit. */
    private final IntSupplier clusterSize;

    DisseminationQueue(int retransmitMult, IntSupplier clusterSize) {
        this.retransmitMult = retransmitMult;
        this.clusterSize = clusterSize;
    }

    /** Queues {@code message} about {@code memberId}, replacing (and finishing) any queued one. */
    void enqueue(long memberId, byte[] message, Runnable onDone) {
        Entry old = byMember.remove(memberId);
        if (old != null) {
            unlink(old);
            finish(old);
        }
        Entry e = new Entry(memberId, message, onDone);
        byMember.put(memberId, e);
        linkFirst(e);
    }

    void enqueue(long memberId, byte[] message) {
        enqueue(memberId, message, null);
    }

    /**
     * Takes up to {@code maxMessages} broadcasts whose sizes add up to at most {@code budgetBytes}, those
     * sent the fewest times first, counting one transmission for each and retiring those that reached the
     * limit.
     */
    List<byte[]> take(int budgetBytes, int maxMessages) {
        List<Entry> taken = select(budgetBytes, maxMessages);
        int limit = retransmitLimit(retransmitMult, clusterSize.getAsInt());
        List<byte[]> out = new ArrayList<>(taken.size());
        for (Entry e : taken) {
            out.add(e.message);
            unlink(e);
            e.transmits++;
            if (e.transmits >= limit) {
                byMember.remove(e.memberId);
                finish(e);
            } else {
                linkLast(e);
            }
        }
        return out;
    }

    /**
     * The broadcasts {@link #take} would return, without counting a transmission: for a packet to a
     * member that will not pass them on.
     */
    List<byte[]> peek(int budgetBytes, int maxMessages) {
        List<Entry> selected = select(budgetBytes, maxMessages);
        List<byte[]> out = new ArrayList<>(selected.size());
        for (Entry e : selected) {
            out.add(e.message);
        }
        return out;
    }

    /** Those sent the fewest times first, newest first within a count, as many as fit. */
    private List<Entry> select(int budgetBytes, int maxMessages) {
        if (byMember.isEmpty() || budgetBytes <= 0 || maxMessages <= 0) {
            return List.of();
        }
        List<Entry> taken = new ArrayList<>();
        int free = budgetBytes;
        int misfits = 0;
        scan:
        for (Entry head : heads) {
            for (Entry e = head; e != null; e = e.next) {
                if (e.message.length <= free) {
                    taken.add(e);
                    free -= e.message.length;
                    misfits = 0;
                    if (taken.size() == maxMessages) {
                        break scan;
                    }
                } else if (++misfits == MAX_MISFITS_PER_TAKE) {
                    break scan;
                }
            }
        }
        return taken;
    }

    private void linkFirst(Entry e) {
        int t = bucket(e);
        e.prev = null;
        e.next = heads[t];
        if (heads[t] != null) {
            heads[t].prev = e;
        } else {
            tails[t] = e;
        }
        heads[t] = e;
    }

    private void linkLast(Entry e) {
        int t = bucket(e);
        e.next = null;
        e.prev = tails[t];
        if (tails[t] != null) {
            tails[t].next = e;
        } else {
            heads[t] = e;
        }
        tails[t] = e;
    }

    private void unlink(Entry e) {
        int t = e.transmits;
        if (e.prev != null) {
            e.prev.next = e.next;
        } else {
            heads[t] = e.next;
        }
        if (e.next != null) {
            e.next.prev = e.prev;
        } else {
            tails[t] = e.prev;
        }
        e.prev = null;
        e.next = null;
    }

    /** The bucket index of {@code e}, growing the bucket arrays if needed. */
    private int bucket(Entry e) {
        if (e.transmits >= heads.length) {
            heads = Arrays.copyOf(heads, e.transmits * 2);
            tails = Arrays.copyOf(tails, e.transmits * 2);
        }
        return e.transmits;
    }

    int size() {
        return byMember.size();
    }

    private static void finish(Entry e) {
        if (e.onDone != null) {
            e.onDone.run();
        }
    }

    /**
     * How many times each broadcast is sent in a cluster of {@code n} live members:
     * {@code mult * ceil(log10(n + 1))}, at least 1.
     */
    static int retransmitLimit(int retransmitMult, int n) {
        int nodeScale = (int) Math.ceil(Math.log10(n + 1.0));
        return Math.max(1, retransmitMult * nodeScale);
    }
}
