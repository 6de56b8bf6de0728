package io.trelliskv.membership;

import io.trelliskv.common.Address;

/**
 * How {@link Swim} reaches other members: unreliable datagrams for probes and gossip, and a reliable
 * request-reply stream for push-pull state exchange. The net package implements it over UDP and TCP on
 * the node's port; the tests over an in-memory network.
 *
 * <p>Incoming traffic goes the other way: the transport hands each datagram to
 * {@link Swim#onPacket(Address, byte[])} and each stream request to
 * {@link Swim#onStreamRequest(Address, byte[])}, on the Swim thread (through its {@link Scheduler}).
 * The {@code from} address is the sender's listening address (TrellisKV sends UDP from its listening
 * port); Swim answers pings and relays to it.
 */
public interface Transport {

    /**
     * Sends one datagram, best effort. Never blocks and never throws for network failures: a packet that
     * cannot be sent is simply lost, as it might be on the wire.
     */
    void sendPacket(Address to, byte[] packet);

    /**
     * Opens a stream to {@code to}, writes {@code request}, reads one reply and closes. Exactly one of the
     * callbacks runs, on the Swim thread. Swim applies its own timeout and ignores a late answer, but the
     * transport should still give up on its connection at some point.
     */
    void exchange(Address to, byte[] request, StreamCallback callback);

    /** The outcome of {@link #exchange}. */
    interface StreamCallback {
        void onReply(byte[] reply);

        void onFailure(Exception cause);
    }
}
