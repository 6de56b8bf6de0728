package io.trelliskv.membership;

import io.trelliskv.common.Address;

import java.util.Arrays;
import java.util.List;

/**
 * The membership protocol's messages, as {@link Codec} decodes them. Probe messages (PING,
 * INDIRECT_PING, ACK, NACK) travel as the primary message of a packet; state messages (ALIVE, SUSPECT,
 * DEAD, LEFT, REMOVED) are the broadcasts piggy-backed on any packet; PUSH_PULL is the full state sent
 * over a stream.
 */
sealed interface Message {

    /** Probe of {@code targetId}; the target answers with an {@link Ack} of the same {@code seq}. */
    record Ping(int seq, long targetId) implements Message {
    }

    /**
     * Asks the receiver to ping {@code targetId} at {@code target} and relay the ack; with
     * {@code wantNack}, to answer with a {@link Nack} if the target has not acked within the probe
     * timeout, which tells the requester its relay is reachable and the fault is the target's.
     */
    record IndirectPing(int seq, long targetId, Address target, boolean wantNack) implements Message {
    }

    record Ack(int seq) implements Message {
    }

    record Nack(int seq) implements Message {
    }

    /** Member {@code id} is alive at {@code incarnation}; only the member itself originates one. */
    record Alive(long id, long incarnation, Address address, byte[] meta) implements Message {
        @Override
        public boolean equals(Object o) {
            return o instanceof Alive a && id == a.id && incarnation == a.incarnation
                    && address.equals(a.address) && Arrays.equals(meta, a.meta);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(id) * 31 + Long.hashCode(incarnation);
        }
    }

    /** {@code accuser} failed to probe member {@code id} at {@code incarnation}. */
    record Suspect(long id, long incarnation, long accuser) implements Message {
    }

    /** {@code accuser}'s suspicion of member {@code id} at {@code incarnation} timed out. */
    record Dead(long id, long incarnation, long accuser) implements Message {
    }

    /** Member {@code id} left gracefully at {@code incarnation}; only the member itself originates one. */
    record Left(long id, long incarnation) implements Message {
    }

    /** Member {@code id}, DEAD or LEFT at {@code incarnation} or before, was removed by an operator. */
    record Removed(long id, long incarnation) implements Message {
    }

    /**
     * Full state: every member this node lists, and the removal tombstones. Sent over a stream on join
     * ({@code join} set) and periodically; the receiver merges it and answers with its own.
     */
    record PushPull(long senderId, boolean join, List<Entry> members, List<Removed> removed)
            implements Message {

        /** One member's record as the sender sees it. */
        record Entry(long id, Address address, long incarnation, MemberState state, byte[] meta) {
            @Override
            public boolean equals(Object o) {
                return o instanceof Entry e && id == e.id && incarnation == e.incarnation && state == e.state
                        && address.equals(e.address) && Arrays.equals(meta, e.meta);
            }

            @Override
            public int hashCode() {
                return Long.hashCode(id) * 31 + Long.hashCode(incarnation);
            }
        }
    }

    /** A decoded datagram: who sent it and its messages, primary first. */
    record Packet(long senderId, List<Message> messages) {
    }
}
