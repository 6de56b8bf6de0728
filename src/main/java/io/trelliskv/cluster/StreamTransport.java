package io.trelliskv.cluster;

import io.trelliskv.repair.StreamCodec;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.Entry;

import java.util.List;

/**
 * How the {@link Rebalancer} moves one batch of a range to or from a peer. Both calls block the stream
 * thread until the peer has answered (streams run one at a time, off the event loops) and throw on any
 * failure, so the stream retries the batch from the same cursor. {@link PeerStreamTransport} sends them
 * over the peer protocol; a simulation delivers them in memory.
 */
public interface StreamTransport {

    /** Asks {@code peer} for the entries of {@code (cursor, range.end]}, about {@code maxBytes} of them; applies nothing. */
    StreamCodec.Batch pull(long peer, TokenRange range, long cursor, int maxBytes) throws Exception;

    /** Writes {@code entries} to {@code peer}, which merges them as replica writes. */
    void push(long peer, List<Entry> entries) throws Exception;
}
