package io.trelliskv.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.util.internal.PlatformDependent;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Writes RESP replies straight into an outbound buffer, in the protocol version the client negotiated
 * (RESP2 by default, RESP3 after {@code HELLO 3}). Replies are written as they are produced, with no
 * intermediate reply objects; where RESP2 and RESP3 differ (null, maps, sets, doubles, booleans,
 * verbatim strings) the writer picks the right form.
 *
 * <p>Not thread-safe: one writer per connection, used on its event loop.
 */
public final class RespWriter {

    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] OK = "+OK\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL_BULK2 = "$-1\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL_ARRAY2 = "*-1\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL3 = "_\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[][] SMALL_INTS = new byte[1025][];

    static {
        for (int i = 0; i < SMALL_INTS.length; i++) {
            SMALL_INTS[i] = (":" + i + "\r\n").getBytes(StandardCharsets.US_ASCII);
        }
    }

    private ByteBuf out;
    private int protocol = 2;

    /** Directs output to {@code buf}; the caller owns and flushes it. */
    public void target(ByteBuf buf) {
        this.out = buf;
    }

    public ByteBuf target() {
        return out;
    }

    /** 2 or 3. */
    public int protocol() {
        return protocol;
    }

    public void protocol(int version) {
        if (version != 2 && version != 3) {
            throw new IllegalArgumentException("protocol: " + version + " (expected: 2 or 3)");
        }
        this.protocol = version;
    }

    public boolean resp3() {
        return protocol == 3;
    }

    public RespWriter ok() {
        out.writeBytes(OK);
        return this;
    }

    /** A simple string; must not contain CR or LF. */
    public RespWriter simple(String s) {
        out.writeByte('+');
        ByteBufUtil.writeAscii(out, s);
        out.writeBytes(CRLF);
        return this;
    }

    /**
     * An error reply. {@code message} starts with the error code ("ERR ...", "WRONGTYPE ...") as Redis
     * sends it; CR and LF in it are replaced by spaces so the reply cannot break framing.
     */
    public RespWriter error(String message) {
        out.writeByte('-');
        ByteBufUtil.writeUtf8(out, message.replace('\r', ' ').replace('\n', ' '));
        out.writeBytes(CRLF);
        return this;
    }

    public RespWriter integer(long n) {
        if (n >= 0 && n < SMALL_INTS.length) {
            out.writeBytes(SMALL_INTS[(int) n]);
            return this;
        }
        out.writeByte(':');
        writeDecimal(n);
        out.writeBytes(CRLF);
        return this;
    }

    public RespWriter bulk(byte[] b) {
        if (b == null) {
            return nullBulk();
        }
        return bulk(b, 0, b.length);
    }

    public RespWriter bulk(byte[] b, int offset, int length) {
        out.ensureWritable(length + 16);
        out.writeByte('$');
        writeDecimal(length);
        out.writeBytes(CRLF);
        out.writeBytes(b, offset, length);
        out.writeBytes(CRLF);
        return this;
    }

    /**
     * A bulk string of the {@code length} bytes of {@code source} from {@code offset}, copied once, into the
     * output; {@code source}'s position and limit are left as they were.
     */
    public RespWriter bulk(ByteBuffer source, int offset, int length) {
        out.ensureWritable(length + 16);
        out.writeByte('$');
        writeDecimal(length);
        out.writeBytes(CRLF);
        Objects.checkFromIndexSize(offset, length, source.limit());
        int at = out.writerIndex();
        // Each way copies once; the first two make no object (a view of a pooled buffer is one).
        if (source.isDirect() && out.hasMemoryAddress() && PlatformDependent.hasUnsafe()) {
            PlatformDependent.copyMemory(PlatformDependent.directBufferAddress(source) + offset,
                    out.memoryAddress() + at, length);
        } else if (out.hasArray()) {
            source.get(offset, out.array(), out.arrayOffset() + at, length);
        } else {
            out.setBytes(at, source.slice(offset, length));
        }
        out.writerIndex(at + length);
        out.writeBytes(CRLF);
        return this;
    }

    public RespWriter bulk(String s) {
        return s == null ? nullBulk() : bulk(s.getBytes(StandardCharsets.UTF_8));
    }

    /** A long as a bulk string (as Redis replies to INCRBYFLOAT and friends). */
    public RespWriter bulkDecimal(long n) {
        return bulk(Long.toString(n).getBytes(StandardCharsets.US_ASCII));
    }

    /** The null bulk string: {@code $-1} in RESP2, {@code _} in RESP3. */
    public RespWriter nullBulk() {
        out.writeBytes(protocol == 3 ? NULL3 : NULL_BULK2);
        return this;
    }

    /** The null array: {@code *-1} in RESP2, {@code _} in RESP3. */
    public RespWriter nullArray() {
        out.writeBytes(protocol == 3 ? NULL3 : NULL_ARRAY2);
        return this;
    }

    public RespWriter array(int length) {
        return header('*', length);
    }

    /** A map of {@code pairs} key/value pairs: {@code %} in RESP3, a flat array in RESP2. */
    public RespWriter map(int pairs) {
        return protocol == 3 ? header('%', pairs) : header('*', pairs * 2);
    }

    /** A set: {@code ~} in RESP3, an array in RESP2. */
    public RespWriter set(int length) {
        return header(protocol == 3 ? '~' : '*', length);
    }

    /** A double: {@code ,} in RESP3, a bulk string in RESP2. */
    public RespWriter doubleValue(double d) {
        String s = formatDouble(d);
        if (protocol == 3) {
            out.writeByte(',');
            ByteBufUtil.writeAscii(out, s);
            out.writeBytes(CRLF);
            return this;
        }
        return bulk(s);
    }

    /** A boolean: {@code #t}/{@code #f} in RESP3, the integer 1/0 in RESP2. */
    public RespWriter bool(boolean b) {
        if (protocol == 3) {
            ByteBufUtil.writeAscii(out, b ? "#t\r\n" : "#f\r\n");
            return this;
        }
        return integer(b ? 1 : 0);
    }

    /** Text meant for people (INFO, CLIENT LIST): a verbatim string in RESP3, a bulk string in RESP2. */
    public RespWriter verbatim(String text) {
        if (protocol != 3) {
            return bulk(text);
        }
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        out.writeByte('=');
        writeDecimal(b.length + 4);
        out.writeBytes(CRLF);
        ByteBufUtil.writeAscii(out, "txt:");
        out.writeBytes(b);
        out.writeBytes(CRLF);
        return this;
    }

    private RespWriter header(char type, int length) {
        out.writeByte(type);
        writeDecimal(length);
        out.writeBytes(CRLF);
        return this;
    }

    /**
     * Writes {@code n} in decimal ASCII, as {@link Long#toString(long)} does, without making the string: every bulk
     * reply's length goes through here.
     */
    private void writeDecimal(long n) {
        if (n >= 0 && n < 10) {
            out.writeByte('0' + (int) n);
            return;
        }
        if (n == Long.MIN_VALUE) { // the one long whose magnitude is not a long
            ByteBufUtil.writeAscii(out, Long.toString(n));
            return;
        }
        if (n < 0) {
            out.writeByte('-');
            n = -n;
        }
        int digits = 1;
        for (long rest = n / 10; rest > 0; rest /= 10) {
            digits++;
        }
        out.ensureWritable(digits);
        int start = out.writerIndex();
        for (int i = start + digits - 1; i >= start; i--) {
            out.setByte(i, '0' + (int) (n % 10));
            n /= 10;
        }
        out.writerIndex(start + digits);
    }

    /** Formats a double as Redis does for replies: integral values without a fraction, inf as "inf". */
    public static String formatDouble(double d) {
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e17) {
            return Long.toString((long) d);
        }
        return new java.math.BigDecimal(d).round(new java.math.MathContext(17)).stripTrailingZeros()
                .toPlainString();
    }
}
