package io.trelliskv.cluster;

import static io.trelliskv.common.ConfigException.require;

/**
 * How a node moves ranges when the ring changes (bootstrap, decommission, removal).
 *
 * @param streamBytesPerSecond  most bytes per second one stream moves ({@code --stream-throughput}); 0 = no limit
 * @param autoRemoveAfterMillis how long a member stays DEAD before this node removes it from the ring
 *                              ({@code --auto-remove-after}); 0 = never, only {@code REMOVENODE}
 * @param settleMillis          how long a node waits after announcing JOINING or LEAVING before it streams,
 *                              so that every coordinator has heard it and sends it (or its successors) the
 *                              writes made during the stream; a few gossip rounds
 * @param rejoinTimeoutMillis   how long a restarted node waits for a NORMAL replica of each of its ranges
 *                              before it goes NORMAL without the ranges nobody holds ({@code --rejoin-timeout});
 *                              0 = wait for an operator's {@code BOOTSTRAP FORCE}
 */
public record RebalanceConfig(long streamBytesPerSecond, long autoRemoveAfterMillis, long settleMillis,
                              long rejoinTimeoutMillis) {

    /** Default stream rate: 64 MiB/s, a fraction of a 10 Gbit/s link and of one core's merge rate. */
    public static final long DEFAULT_STREAM_BYTES_PER_SECOND = 64L << 20;
    /** Default settle time: about ten gossip intervals and four probe intervals at LAN defaults. */
    public static final long DEFAULT_SETTLE_MILLIS = 2_000;

    public RebalanceConfig {
        require(streamBytesPerSecond >= 0, "streamBytesPerSecond", streamBytesPerSecond, ">= 0, 0 = unlimited");
        require(autoRemoveAfterMillis >= 0, "autoRemoveAfterMillis", autoRemoveAfterMillis, ">= 0, 0 = never");
        require(settleMillis >= 0, "settleMillis", settleMillis, ">= 0");
        require(rejoinTimeoutMillis >= 0, "rejoinTimeoutMillis", rejoinTimeoutMillis, ">= 0, 0 = wait for BOOTSTRAP FORCE");
    }

    /** Without a rejoin timeout: a restarted node with unheld ranges waits for {@code BOOTSTRAP FORCE}. */
    public RebalanceConfig(long streamBytesPerSecond, long autoRemoveAfterMillis, long settleMillis) {
        this(streamBytesPerSecond, autoRemoveAfterMillis, settleMillis, 0);
    }

    public static RebalanceConfig defaults() {
        return new RebalanceConfig(DEFAULT_STREAM_BYTES_PER_SECOND, 0, DEFAULT_SETTLE_MILLIS, 0);
    }
}
