package io.trelliskv.replication;

import io.trelliskv.storage.Entry;

/**
 * One replica's answer for one key of a {@link ReplicaTransport#read}: the replica's version of the
 * key (hlc 0 and node 0 when it has none), and the whole entry when that version is newer than the one
 * the coordinator said it knew.
 *
 * @param hlc    the replica's version timestamp, 0 if it has no entry (not even a tombstone)
 * @param nodeId the node that stamped that version, 0 if none
 * @param entry  the replica's entry if newer than the coordinator's, else null
 */
public record ReadReply(long hlc, long nodeId, Entry entry) {

    /** The replica has nothing for the key. */
    public static final ReadReply MISSING = new ReadReply(0, 0, null);

    public boolean missing() {
        return hlc == 0 && nodeId == 0;
    }
}
