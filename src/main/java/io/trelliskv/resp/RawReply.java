package io.trelliskv.resp;

import io.trelliskv.common.MalformedMessageException;

import java.util.Arrays;

/**
 * Reads the reply shapes the {@link Router} merges — an integer, and an array of bulk strings and
 * nulls — straight from raw RESP2 or RESP3 bytes, keeping each array element's bytes as they are.
 * Anything else, or bytes cut short, is a {@link MalformedMessageException} saying what was expected.
 */
public final class RawReply {

    private RawReply() {
    }

    /** The value of an integer reply ({@code :n}). */
    public static long integer(byte[] resp) {
        expectType(resp, 0, ':');
        int eol = lineEnd(resp, 0);
        return decimal(resp, 1, eol);
    }

    /** The raw bytes of each element of an array reply ({@code *n}) of non-aggregate values. */
    public static byte[][] arrayElements(byte[] resp) {
        expectType(resp, 0, '*');
        int eol = lineEnd(resp, 0);
        long n = decimal(resp, 1, eol);
        if (n < 0 || n > resp.length) {
            throw new MalformedMessageException("array length: " + n + " (expected: 0.." + resp.length + ")");
        }
        byte[][] elements = new byte[(int) n][];
        int at = eol + 2;
        for (int i = 0; i < n; i++) {
            int end = skipValue(resp, at);
            elements[i] = Arrays.copyOfRange(resp, at, end);
            at = end;
        }
        if (at != resp.length) {
            throw new MalformedMessageException((resp.length - at) + " bytes after the array (expected: none)");
        }
        return elements;
    }

    /** The index just past the non-aggregate value starting at {@code at}. */
    private static int skipValue(byte[] b, int at) {
        if (at >= b.length) {
            throw new MalformedMessageException("reply ends before its array does");
        }
        int eol = lineEnd(b, at);
        switch (b[at]) {
            case '$' -> {
                long len = decimal(b, at + 1, eol);
                if (len < 0) {
                    return eol + 2;
                }
                long end = eol + 2 + len;
                if (end + 2 > b.length || b[(int) end] != '\r' || b[(int) end + 1] != '\n') {
                    throw new MalformedMessageException("bulk string of " + len + " bytes cut short");
                }
                return (int) end + 2;
            }
            case '_', '+', '-', ':', ',', '#' -> {
                return eol + 2;
            }
            default -> throw new MalformedMessageException("element type '" + (char) b[at]
                    + "' (expected: a bulk string, null or simple value)");
        }
    }

    private static void expectType(byte[] b, int at, char type) {
        if (at >= b.length || b[at] != type) {
            throw new MalformedMessageException("reply type '" + (at < b.length ? (char) b[at] : "end")
                    + "' (expected: '" + type + "')");
        }
    }

    /** The index of the CR ending the line that starts at {@code from}. */
    private static int lineEnd(byte[] b, int from) {
        for (int i = from; i + 1 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                return i;
            }
        }
        throw new MalformedMessageException("line without CRLF");
    }

    private static long decimal(byte[] b, int from, int to) {
        try {
            return Long.parseLong(new String(b, from, to - from, java.nio.charset.StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            throw new MalformedMessageException("not a number: " + e.getMessage());
        }
    }
}
