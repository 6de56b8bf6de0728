package io.trelliskv.membership;

import io.trelliskv.common.Address;

import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable snapshot of one member as this node sees it. Handed to listeners and returned by
 * {@link Swim#members()}; it does not change when the member does.
 */
public final class Member {

    /** Most metadata bytes a member may carry (as memberlist's MetaMaxSize): it rides in UDP packets. */
    public static final int MAX_META_BYTES = 512;

    private final long id;
    private final Address address;
    /** Only the member itself increments it (to refute suspicion or announce new metadata). */
    private final long incarnation;
    private final MemberState state;
    private final byte[] meta;

    public Member(long id, Address address, long incarnation, MemberState state, byte[] meta) {
        this.id = id;
        this.address = Objects.requireNonNull(address, "address");
        this.incarnation = incarnation;
        this.state = Objects.requireNonNull(state, "state");
        this.meta = meta.clone();
    }

    public long id() {
        return id;
    }

    public Address address() {
        return address;
    }

    public long incarnation() {
        return incarnation;
    }

    public MemberState state() {
        return state;
    }

    /** The opaque metadata (a copy); later it carries the member's ring tokens. */
    public byte[] meta() {
        return meta.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Member m && id == m.id && incarnation == m.incarnation && state == m.state
                && address.equals(m.address) && Arrays.equals(meta, m.meta);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(id) * 31 + Long.hashCode(incarnation);
    }

    @Override
    public String toString() {
        return "Member{" + Long.toHexString(id) + "@" + address + " " + state + " inc=" + incarnation
                + " meta=" + meta.length + "B}";
    }
}
