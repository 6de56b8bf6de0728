package io.trelliskv.membership;

/**
 * What this node believes about a member. ALIVE and SUSPECT members are probed and gossiped to; DEAD
 * and LEFT members are not, but stay listed, because liveness is not ownership: a dead node still owns
 * its ring ranges until it is explicitly removed.
 */
public enum MemberState {
    // ONLY APPEND: the numeric values are part of the protocol (push-pull carries them).
    /** Answered a probe, or said so itself with a newer incarnation. */
    ALIVE(0),
    /** Missed a probe, directly and indirectly; becomes DEAD unless it refutes in time. */
    SUSPECT(1),
    /** Was suspected and did not refute before the suspicion timeout. */
    DEAD(2),
    /** Said goodbye: a graceful leave, never confused with a failure. */
    LEFT(3);

    private static final MemberState[] BY_CODE = values();

    /** The wire code. */
    public final int code;

    MemberState(int code) {
        this.code = code;
    }

    /** The state for a wire code, or {@code null} if there is none. */
    static MemberState fromCode(int code) {
        return code >= 0 && code < BY_CODE.length && BY_CODE[code].code == code ? BY_CODE[code] : null;
    }

    /** Whether members in this state are probed and gossiped to. */
    public boolean isLive() {
        return this == ALIVE || this == SUSPECT;
    }
}
