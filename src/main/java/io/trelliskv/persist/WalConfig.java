package io.trelliskv.persist;

import java.util.Objects;

/**
 * Settings of a {@link WriteAheadLog}.
 *
 * @param fsync              when an append counts as durable
 * @param segmentBytes       a segment is closed and a new one started once it holds this many bytes
 * @param syncIntervalMillis under {@link AppendFsync#EVERYSEC}, the longest time written records stay unforced
 * @param retryMillis        after a write error, how long the log waits before trying the disk again
 * @param channels           how files are opened (the real disk, or a faulty one in tests)
 */
public record WalConfig(AppendFsync fsync, long segmentBytes, long syncIntervalMillis, long retryMillis,
                        LogChannel.Factory channels) {

    /** Segments of 64 MiB: a few seconds of writes at full speed, small enough to delete often. */
    public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
    /** Redis's {@code everysec}. */
    public static final long DEFAULT_SYNC_INTERVAL_MILLIS = 1000;
    /** Redis retries a failed AOF write once per {@code serverCron}, ten times a second; a disk needs less. */
    public static final long DEFAULT_RETRY_MILLIS = 1000;

    public WalConfig {
        Objects.requireNonNull(fsync, "fsync");
        Objects.requireNonNull(channels, "channels");
        if (segmentBytes < LogFormat.HEADER_BYTES + 1) {
            throw new IllegalArgumentException("segmentBytes: " + segmentBytes + " (expected: > "
                    + LogFormat.HEADER_BYTES + ")");
        }
        if (syncIntervalMillis < 1) {
            throw new IllegalArgumentException("syncIntervalMillis: " + syncIntervalMillis + " (expected: >= 1)");
        }
        if (retryMillis < 1) {
            throw new IllegalArgumentException("retryMillis: " + retryMillis + " (expected: >= 1)");
        }
    }

    /** The defaults for {@code fsync}, on the real disk. */
    public static WalConfig of(AppendFsync fsync) {
        return new WalConfig(fsync, DEFAULT_SEGMENT_BYTES, DEFAULT_SYNC_INTERVAL_MILLIS, DEFAULT_RETRY_MILLIS,
                LogChannel.FILES);
    }
}
