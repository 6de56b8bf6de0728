package io.trelliskv.persist;

import java.util.Locale;

/** When an appended record counts as written, with Redis's {@code appendfsync} meanings. */
public enum AppendFsync {
    /** After the record is forced to stable storage; concurrent appends share one force (group commit). */
    ALWAYS,
    /** After the record is written to the OS; the log is forced at least once per sync interval (1 s). */
    EVERYSEC,
    /** After the record is written to the OS; the OS decides when it reaches the disk. */
    NO;

    /** As Redis's configuration spells it: {@code always}, {@code everysec}, {@code no}. */
    public String redisName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
