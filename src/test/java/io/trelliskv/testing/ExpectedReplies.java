package io.trelliskv.testing;

import java.nio.charset.StandardCharsets;

/** Redis's replies as the exact RESP2 text a command test expects. */
public final class ExpectedReplies {

    public static final String OK = "+OK\r\n";
    public static final String NIL = "$-1\r\n";
    public static final String EMPTY = "$0\r\n\r\n";
    public static final String NOT_INTEGER = "-ERR value is not an integer or out of range\r\n";
    public static final String NOT_FLOAT = "-ERR value is not a valid float\r\n";
    public static final String SYNTAX = "-ERR syntax error\r\n";
    public static final String TOO_BIG = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";

    private ExpectedReplies() {
    }

    public static String bulk(String s) {
        return "$" + s.getBytes(StandardCharsets.UTF_8).length + "\r\n" + s + "\r\n";
    }

    public static String integer(long n) {
        return ":" + n + "\r\n";
    }

    public static String error(String message) {
        return "-" + message + "\r\n";
    }
}
