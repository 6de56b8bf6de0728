package io.trelliskv.persist;

import io.trelliskv.common.ConfigException;

import java.util.Objects;

/**
 * How a node keeps its data on disk.
 *
 * @param appendOnly           whether it does at all; without, the node keeps its data in memory only
 * @param fsync                when a write counts as durable ({@code --appendfsync})
 * @param truncateCorrupt      start even if the log is damaged, cutting it at the damage
 *                             ({@code --repair-log}, as {@code redis-check-aof --fix})
 * @param rewriteMinBytes      a snapshot is written in the background once the log since the last one
 *                             has grown past this many bytes ...
 * @param rewritePercent       ... and past this percentage of the last snapshot's size (Redis's
 *                             {@code auto-aof-rewrite-min-size} and {@code auto-aof-rewrite-percentage});
 *                             0 turns automatic snapshots off
 * @param channels             how files are opened (the real disk, or a faulty one in tests)
 */
public record PersistConfig(boolean appendOnly, AppendFsync fsync, boolean truncateCorrupt, long rewriteMinBytes,
                            int rewritePercent, LogChannel.Factory channels) {

    /** Redis's {@code auto-aof-rewrite-min-size}. */
    public static final long DEFAULT_REWRITE_MIN_BYTES = 64L << 20;
    /** Redis's {@code auto-aof-rewrite-percentage}. */
    public static final int DEFAULT_REWRITE_PERCENT = 100;

    public PersistConfig {
        Objects.requireNonNull(fsync, "fsync");
        Objects.requireNonNull(channels, "channels");
        ConfigException.require(rewriteMinBytes >= 0, "rewriteMinBytes", rewriteMinBytes, ">= 0");
        ConfigException.require(rewritePercent >= 0, "rewritePercent", rewritePercent, ">= 0");
    }

    /** Durable with {@code fsync} and the defaults. */
    public static PersistConfig of(AppendFsync fsync) {
        return new PersistConfig(true, fsync, false, DEFAULT_REWRITE_MIN_BYTES, DEFAULT_REWRITE_PERCENT,
                LogChannel.FILES);
    }

    /** In memory only ({@code --appendonly no}). */
    public static PersistConfig inMemory() {
        return new PersistConfig(false, AppendFsync.EVERYSEC, false, DEFAULT_REWRITE_MIN_BYTES,
                DEFAULT_REWRITE_PERCENT, LogChannel.FILES);
    }

    public PersistConfig withTruncateCorrupt(boolean truncate) {
        return new PersistConfig(appendOnly, fsync, truncate, rewriteMinBytes, rewritePercent, channels);
    }

    public PersistConfig withRewrite(long minBytes, int percent) {
        return new PersistConfig(appendOnly, fsync, truncateCorrupt, minBytes, percent, channels);
    }

    public PersistConfig withChannels(LogChannel.Factory factory) {
        return new PersistConfig(appendOnly, fsync, truncateCorrupt, rewriteMinBytes, rewritePercent, factory);
    }

    /** The log's own settings. */
    WalConfig wal() {
        return new WalConfig(fsync, WalConfig.DEFAULT_SEGMENT_BYTES, WalConfig.DEFAULT_SYNC_INTERVAL_MILLIS,
                WalConfig.DEFAULT_RETRY_MILLIS, channels);
    }
}
