package io.trelliskv.harness;

/**
 * One operation of the history: who did what to which key, when (ms since the run began, on the
 * harness's monotonic clock: {@code start} before the request was sent, {@code end} after the reply or
 * the failure), at which consistency level, and how it ended.
 *
 * @param client  the client's number, {@code final} for the reads after the heal, {@code nemesis} for faults
 * @param session the client's connection ({@code client@node.n}): read-your-writes holds per connection
 * @param op      {@code write}, {@code write-ttl}, {@code read}, {@code delete}, {@code incr}, {@code vget},
 *                {@code vadd}, a pipelined client's line, or a nemesis event
 * @param value   the value written, or the value a read returned ({@code null}: the key was missing)
 * @param ttl     for {@code write-ttl}, the time to live in ms; 0 otherwise
 * @param result  {@link Result}
 * @param error   the error reply or exception, for FAIL and INFO; for an acknowledged {@code incr}, its reply
 */
record Op(String client, String session, String op, String key, String value, long ttl, String level, double start, double end,
          Result result, String error) {

    /**
     * How an operation ended. OK: acknowledged (a read returned {@code value}). FAIL: certainly not
     * applied (UNAVAILABLE, CLUSTERDOWN: the store did nothing). INFO: indeterminate — TIMEOUT,
     * TRYAGAIN, REFUSED, a lost connection or a client timeout: a write may or may not have been
     * applied, and may appear later.
     */
    enum Result { OK, FAIL, INFO }

    boolean ok() {
        return result == Result.OK;
    }

    boolean isWrite() {
        return op.equals("write") || op.equals("write-ttl");
    }

    boolean isRead() {
        return op.equals("read");
    }

    /** Reads back a {@link #line()}. */
    static Op parse(String line) {
        String[] f = line.split("\t", -1);
        java.util.function.Function<String, String> orNull = v -> v.equals("-") ? null : v;
        return new Op(f[0], f.length > 10 ? orNull.apply(f[10]) : null, f[1], orNull.apply(f[2]),
                f[3].equals("nil") ? null : f[3], f[7].startsWith("px=") ? Long.parseLong(f[7].substring(3)) : 0,
                orNull.apply(f[8]), Double.parseDouble(f[4]), Double.parseDouble(f[5]),
                Result.valueOf(f[6].toUpperCase(java.util.Locale.ROOT)), orNull.apply(f[9]));
    }

    /** One tab-separated line: client, op, key, value, start, end, result (and ttl, level, error). */
    String line() {
        return String.join("\t", client, op, key == null ? "-" : key, value == null ? "nil" : value,
                String.format(java.util.Locale.ROOT, "%.3f", start), String.format(java.util.Locale.ROOT, "%.3f", end),
                result.name().toLowerCase(java.util.Locale.ROOT), ttl > 0 ? "px=" + ttl : "-", level == null ? "-" : level,
                error == null ? "-" : error.replace('\t', ' ').replace('\n', ' '), session == null ? "-" : session);
    }
}
