package io.trelliskv.resp;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Reads server replies, RESP2 and RESP3, from a blocking stream, one {@link RespValue} per
 * {@link #read()}: the client side of the protocol, for trellis-cli and tests.
 *
 * <p>Every type of both protocol versions is understood: {@code + - : $ *} and RESP3's
 * {@code _ , # ! = ( % ~ > |}. An attribute ({@code |}) is read and dropped, and the value it
 * annotates is returned in its place. Streamed RESP3 strings and aggregates ({@code $?}, {@code *?})
 * are not: no server command of this project sends them.
 *
 * <p>A reply that breaks the protocol raises an {@link IOException} saying what was expected; one that
 * is cut short by the end of the stream raises an {@link EOFException}. Either way the stream is out of
 * step with the replies and the connection should be closed. A broken or hostile server cannot make
 * the reader allocate much more than it actually sent: lines are bounded, and bulk strings and
 * aggregates grow as their contents arrive rather than by the lengths they announce.
 *
 * <p>Reads one byte at a time through {@link InputStream#read()}: give it a buffered stream.
 */
public final class RespReplyReader {

    /** Longest line (simple string, error, number), in bytes before its CRLF. */
    static final int MAX_LINE = 1024 * 1024;
    /** Deepest nesting of aggregates; Redis's own replies nest a few levels at most. */
    static final int MAX_DEPTH = 128;
    /** Elements reserved for an aggregate before any has arrived. */
    private static final int INITIAL_ELEMENTS = 16;
    /** Largest Java array, roughly; longer bulk strings cannot be held. */
    private static final long MAX_BULK = Integer.MAX_VALUE - 16;

    /** A RESP3 double other than inf, -inf and nan. */
    private static final Pattern DOUBLE = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?");
    private static final Pattern BIG_NUMBER = Pattern.compile("[+-]?\\d+");

    private final InputStream in;
    /** The current line's bytes; grows as needed up to {@link #MAX_LINE}. */
    private byte[] line = new byte[128];

    public RespReplyReader(InputStream in) {
        this.in = in;
    }

    /**
     * Reads the next reply, blocking until it is complete.
     *
     * @throws EOFException if the stream ends before a whole reply
     * @throws IOException  if the bytes are not a RESP reply, or reading fails
     */
    public RespValue read() throws IOException {
        return read(0);
    }

    private RespValue read(int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw malformed("aggregates nested deeper than " + MAX_DEPTH + " levels");
        }
        int type = in.read();
        if (type < 0) {
            throw new EOFException("end of stream before a reply");
        }
        return switch (type) {
            case '+' -> new RespValue.SimpleString(lineText(readLine()));
            case '-' -> new RespValue.Error(lineText(readLine()));
            case ':' -> new RespValue.Integer(readInteger());
            case '$' -> {
                byte[] bulk = readBulk("bulk string", true);
                yield bulk == null ? RespValue.NULL : new RespValue.BulkString(bulk);
            }
            case '!' -> new RespValue.Error(new String(readBulk("bulk error", false), StandardCharsets.UTF_8));
            case '=' -> readVerbatim();
            case '*' -> {
                int n = readCount("array", true);
                yield n < 0 ? RespValue.NULL : new RespValue.Array(readElements(n, depth));
            }
            case '~' -> new RespValue.Set(readElements(readCount("set", false), depth));
            case '>' -> new RespValue.Push(readElements(readCount("push", false), depth));
            case '%' -> new RespValue.Map(readEntries(readCount("map", false), depth));
            case '|' -> {
                readEntries(readCount("attribute", false), depth);
                yield read(depth);
            }
            case '_' -> {
                int length = readLine();
                if (length != 0) {
                    throw malformed("null '_' followed by '" + lineText(length) + "'");
                }
                yield RespValue.NULL;
            }
            case ',' -> new RespValue.Double(readDouble());
            case '#' -> readBoolean();
            case '(' -> readBigNumber();
            default -> throw malformed("unknown reply type " + describe(type));
        };
    }

    private List<RespValue> readElements(int n, int depth) throws IOException {
        List<RespValue> elements = new ArrayList<>(Math.min(n, INITIAL_ELEMENTS));
        for (int i = 0; i < n; i++) {
            elements.add(read(depth + 1));
        }
        return elements;
    }

    private List<RespValue.Map.Entry> readEntries(int n, int depth) throws IOException {
        List<RespValue.Map.Entry> entries = new ArrayList<>(Math.min(n, INITIAL_ELEMENTS));
        for (int i = 0; i < n; i++) {
            entries.add(new RespValue.Map.Entry(read(depth + 1), read(depth + 1)));
        }
        return entries;
    }

    private RespValue readVerbatim() throws IOException {
        byte[] b = readBulk("verbatim string", false);
        if (b.length < 4 || b[3] != ':') {
            throw malformed("verbatim string without its 'fmt:' prefix");
        }
        return new RespValue.Verbatim(new String(b, 0, 3, StandardCharsets.UTF_8),
                new String(b, 4, b.length - 4, StandardCharsets.UTF_8));
    }

    private long readInteger() throws IOException {
        int length = readLine();
        try {
            return Long.parseLong(lineText(length));
        } catch (NumberFormatException e) {
            throw malformed("invalid integer ':" + lineText(length) + "'");
        }
    }

    private double readDouble() throws IOException {
        String text = lineText(readLine());
        return switch (text) {
            case "inf" -> Double.POSITIVE_INFINITY;
            case "-inf" -> Double.NEGATIVE_INFINITY;
            case "nan" -> Double.NaN;
            default -> {
                if (!DOUBLE.matcher(text).matches()) {
                    throw malformed("invalid double '," + text + "'");
                }
                yield Double.parseDouble(text);
            }
        };
    }

    private RespValue readBoolean() throws IOException {
        String text = lineText(readLine());
        return switch (text) {
            case "t" -> new RespValue.Boolean(true);
            case "f" -> new RespValue.Boolean(false);
            default -> throw malformed("invalid boolean '#" + text + "' (expected: #t or #f)");
        };
    }

    private RespValue readBigNumber() throws IOException {
        String text = lineText(readLine());
        if (!BIG_NUMBER.matcher(text).matches()) {
            throw malformed("invalid big number '(" + text + "'");
        }
        return new RespValue.BigNumber(new BigInteger(text));
    }

    /**
     * Reads {@code <len>\r\n<len bytes>\r\n}; returns null for length -1 if {@code nullable}. The bytes
     * are read as they arrive, so a huge announced length costs only what is actually sent.
     */
    private byte[] readBulk(String what, boolean nullable) throws IOException {
        int length = readLine();
        long n = parseCount(length, what);
        if (n == -1 && nullable) {
            return null;
        }
        if (n < 0 || n > MAX_BULK) {
            throw malformed("invalid " + what + " length '" + lineText(length) + "'");
        }
        byte[] b = in.readNBytes((int) n);
        if (b.length < n) {
            throw new EOFException("end of stream inside a " + what + " (" + b.length + " of " + n + " bytes)");
        }
        int cr = in.read();
        int lf = in.read();
        if (lf < 0) {
            throw new EOFException("end of stream after a " + what);
        }
        if (cr != '\r' || lf != '\n') {
            throw malformed(what + " of " + n + " bytes not followed by CRLF");
        }
        return b;
    }

    /** Reads an aggregate's element count; -1 (null) is allowed only if {@code nullable}. */
    private int readCount(String what, boolean nullable) throws IOException {
        int length = readLine();
        long n = parseCount(length, what);
        if (n < (nullable ? -1 : 0) || n > Integer.MAX_VALUE) {
            throw malformed("invalid " + what + " length '" + lineText(length) + "'");
        }
        return (int) n;
    }

    private long parseCount(int length, String what) throws IOException {
        try {
            return Long.parseLong(lineText(length));
        } catch (NumberFormatException e) {
            throw malformed("invalid " + what + " length '" + lineText(length) + "'");
        }
    }

    /** Reads up to CRLF into {@link #line}; returns the line's length without CRLF. */
    private int readLine() throws IOException {
        int length = 0;
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("end of stream inside a reply line");
            }
            if (b == '\r') {
                int lf = in.read();
                if (lf < 0) {
                    throw new EOFException("end of stream inside a reply line");
                }
                if (lf != '\n') {
                    throw malformed("CR not followed by LF in a reply line");
                }
                return length;
            }
            if (length == line.length) {
                if (length == MAX_LINE) {
                    throw malformed("reply line longer than " + MAX_LINE + " bytes");
                }
                line = Arrays.copyOf(line, Math.min(2 * length, MAX_LINE));
            }
            line[length++] = (byte) b;
        }
    }

    private String lineText(int length) {
        return new String(line, 0, length, StandardCharsets.UTF_8);
    }

    private static String describe(int b) {
        return b >= 0x20 && b < 0x7F ? "'" + (char) b + "'" : String.format("0x%02x", b);
    }

    private static IOException malformed(String detail) {
        return new IOException("malformed reply: " + detail);
    }
}
