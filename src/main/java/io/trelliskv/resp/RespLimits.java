package io.trelliskv.resp;

/**
 * Bounds on one client request, enforced by {@link RespDecoder} before it allocates anything the
 * request asks for. They play the parts of Redis's {@code proto-max-bulk-len}, its former fixed
 * limit of 1M arguments per multibulk, and {@code PROTO_INLINE_MAX_SIZE}.
 *
 * @param maxBulkLength      largest bulk string (one argument) in a multibulk request, in bytes;
 *                           1 to {@link #MAX_BULK_LENGTH_LIMIT}
 * @param maxMultibulkLength most arguments in one multibulk request (the n of {@code *<n>}); at least 1
 * @param maxInlineLength    longest inline request line, in bytes before its LF; at least 1
 */
public record RespLimits(long maxBulkLength, int maxMultibulkLength, int maxInlineLength) {

    /**
     * Upper bound of {@link #maxBulkLength}, 512 MiB (Redis's default). Values live on the JVM heap, and
     * a payload must fit one Java array and one Netty buffer with room to spare.
     */
    public static final long MAX_BULK_LENGTH_LIMIT = 512L * 1024 * 1024;

    /** 64 MiB bulks, 1,048,576 arguments, 64 KiB inline lines. */
    public static final RespLimits DEFAULTS = new RespLimits(64L * 1024 * 1024, 1024 * 1024, 64 * 1024);

    public RespLimits {
        if (maxBulkLength < 1 || maxBulkLength > MAX_BULK_LENGTH_LIMIT) {
            throw new IllegalArgumentException("maxBulkLength: " + maxBulkLength + " (expected: 1 to "
                    + MAX_BULK_LENGTH_LIMIT + " bytes)");
        }
        if (maxMultibulkLength < 1) {
            throw new IllegalArgumentException("maxMultibulkLength: " + maxMultibulkLength + " (expected: 1 to "
                    + Integer.MAX_VALUE + ")");
        }
        if (maxInlineLength < 1) {
            throw new IllegalArgumentException("maxInlineLength: " + maxInlineLength + " (expected: 1 to "
                    + Integer.MAX_VALUE + " bytes)");
        }
    }
}
