package io.trelliskv.replication;

import io.trelliskv.common.Clock;

/**
 * When the sender of a client's request stops waiting for its answer: a forwarded command, or a
 * coordinator's write to a replica. A request that starts after that is a <em>zombie</em>: its client
 * has been told it failed (TRYAGAIN, TIMEOUT) and may have written the key again since, and the late
 * request, stamped when it finally runs, would win over those newer acknowledged writes. So the
 * receiving node does not start a request whose deadline has passed; it answers with an error the
 * sender has already stopped waiting for.
 *
 * <h2>Absolute time, and the clock skew allowance</h2>
 * The deadline travels as an absolute time of the sender's wall clock (epoch ms: when it sent the
 * request plus its timeout for it), not as the time remaining: a remaining time would not count what
 * the request spent queued on the sender and in transit, and the receiver would start requests the
 * sender had already given up on. An absolute time needs the two clocks to agree, which the cluster
 * already assumes: a replica refuses versions more than {@code --max-clock-drift} ahead of its clock.
 * That same bound is the allowance here: a request has passed its deadline when this node's clock is
 * more than the allowance past it. With clocks within the bound, the sender has certainly given up
 * then, so a request the sender still waits for is never dropped; the price is that a request may
 * still start up to the allowance after its sender gave up.
 *
 * <h2>Where it is checked</h2>
 * At the moment the engine would be touched, not only on arrival: a forwarded command can wait behind
 * earlier commands of its client connection ({@code request.ForwardedStreams}). Requests that are not a
 * client's (hinted handoff, read repair, anti-entropy, streaming) carry no deadline ({@link #NONE}) and
 * are never dropped for their age.
 */
public final class Deadline {

    /** The wire value of "no deadline" (what older peers and non-client requests send). */
    public static final long NO_DEADLINE = 0;

    /** No deadline: never passed. */
    public static final Deadline NONE = new Deadline(NO_DEADLINE, 0, Clock.SYSTEM);

    /** Epoch ms of the sender's wall clock after which it stops waiting; {@link #NO_DEADLINE} for none. */
    private final long atMillis;
    /** How far this node's clock may be ahead of the sender's (ms): the cluster's maximum clock drift. */
    private final long allowanceMillis;
    private final Clock clock;

    private Deadline(long atMillis, long allowanceMillis, Clock clock) {
        this.atMillis = atMillis;
        this.allowanceMillis = allowanceMillis;
        this.clock = clock;
    }

    /**
     * The deadline a request carried, judged by this node's {@code clock}.
     *
     * @param atMillis        the sender's deadline, or {@link #NO_DEADLINE}
     * @param allowanceMillis the clock skew allowed between nodes ({@code --max-clock-drift}), at least 0
     */
    public static Deadline of(long atMillis, long allowanceMillis, Clock clock) {
        if (allowanceMillis < 0) {
            throw new IllegalArgumentException("allowance: " + allowanceMillis + " ms (expected: >= 0)");
        }
        return atMillis == NO_DEADLINE ? NONE : new Deadline(atMillis, allowanceMillis, clock);
    }

    /**
     * How long ago (ms) the request passed its deadline at this node's {@code nowMillis}, allowance
     * included: positive once passed, 0 or less while the sender may still wait; always 0 or less
     * without a deadline.
     */
    public static long lateMillis(long atMillis, long allowanceMillis, long nowMillis) {
        return atMillis == NO_DEADLINE ? Long.MIN_VALUE : nowMillis - atMillis - allowanceMillis;
    }

    /** Whether the request must not start now: its sender has given up on it. */
    public boolean passed() {
        return lateMillis() > 0;
    }

    /** How long ago (ms) the deadline passed, allowance included; 0 or less while it has not. */
    public long lateMillis() {
        return atMillis == NO_DEADLINE ? Long.MIN_VALUE : lateMillis(atMillis, allowanceMillis, clock.millis());
    }

    /** The reason given to the sender for not starting the request (without an error code). */
    public String reason(String what) {
        return what + " not started: " + (lateMillis() + allowanceMillis) + " ms past its sender's deadline, more than"
                + " the " + allowanceMillis + " ms clock skew allowance; the sender has given up on it";
    }

    @Override
    public String toString() {
        return atMillis == NO_DEADLINE ? "Deadline[none]" : "Deadline[at=" + atMillis + ", allowance=" + allowanceMillis + "]";
    }
}
