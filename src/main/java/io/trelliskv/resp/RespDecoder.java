package io.trelliskv.resp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.Arrays;
import java.util.List;

/**
 * Decodes the requests a client sends into commands: one {@code byte[][]} per request, command name
 * first, one array per argument. It follows Redis's {@code processMultibulkBuffer} and
 * {@code processInlineBuffer} (networking.c), error texts included.
 *
 * <h2>Requests</h2>
 * A request whose first byte is {@code *} is a multibulk: {@code *<n>\r\n} followed by n bulk strings
 * {@code $<len>\r\n<len bytes>\r\n}; a count of zero or less is an empty request and yields nothing.
 * Any other request is inline: a line ending in LF (or CRLF), split into arguments by
 * {@link InlineSplitter}; a blank line yields nothing.
 *
 * <h2>State machine</h2>
 * <pre>
 * START ──'*'──▶ MULTIBULK_COUNT ──n &gt; 0──▶ BULK_COUNT ──▶ BULK_PAYLOAD ──last argument──▶ START
 *   │                 └──n &lt;= 0──▶ START          ▲                │
 *   │                                             └──more arguments─┘
 *   └──other──▶ INLINE ──▶ START
 * any state ──malformed input──▶ DISCARD (final)
 * </pre>
 * The reader index moves only past complete units: a count line with its CRLF, a payload with its
 * CRLF, an inline line. What is known about a request in progress lives in fields, never as absolute
 * buffer indexes, because {@link ByteToMessageDecoder} may discard read bytes and shift the cumulation
 * between calls: {@link #args} holds the arguments read so far, so a multibulk that arrives over many
 * reads is parsed once; {@link #scanned} says how much of an unterminated line was already searched,
 * so a long line arriving a few bytes at a time costs linear time. Each call decodes every complete
 * request available (a pipeline of 16 is one call), and tells its {@link Arrivals} of them before they
 * are passed on.
 *
 * <h2>Memory</h2>
 * Nothing is sized by a length the client only claims. A payload is copied out once, into an array of
 * its exact size, when all of it and its CRLF have arrived; until then only the cumulation grows, by
 * the bytes that did arrive, and never past {@link RespLimits#maxBulkLength()}. The argument array
 * starts at min(n, 16) slots and doubles as arguments arrive, capped at n, so a finished command's
 * array is exactly n long and is handed on without a copy.
 *
 * <h2>Errors</h2>
 * Malformed input raises {@link RespProtocolException}, whose message is Redis's text, exactly once:
 * the decoder drops the partial request, moves to DISCARD and from then on skips every byte, because
 * the connection handler replies with the error and closes the connection. Requests decoded before
 * the error are still passed on first.
 *
 * <h2>Where this differs from Redis</h2>
 * Only malformed input is affected, and each difference makes the outcome depend on the bytes alone,
 * never on how the network split them into reads (Redis's checks look at what happens to be buffered):
 * <ul>
 *   <li>Line limits bound where the terminator is. A count line must have its CR within 64 KiB of its
 *       start and an inline line its LF within {@link RespLimits#maxInlineLength()}, even when the
 *       whole line arrives at once (Redis would then accept it).</li>
 *   <li>A bulk string whose first byte is not {@code $} fails when that byte arrives; Redis first
 *       waits for the line's CR.</li>
 *   <li>Lines and payloads end in CRLF. Redis ends a count line at its CR and skips the next byte, and
 *       skips the two bytes after a payload, without looking at them. Here a count line whose CR is
 *       not followed by LF has an invalid length, and a payload not followed by CRLF is
 *       {@value #EXPECTED_CRLF}: a client whose lengths disagree with its data would otherwise have
 *       the rest of its payload run as commands.</li>
 * </ul>
 */
public final class RespDecoder extends ByteToMessageDecoder {

    /** Longest count line ({@code *<n>} or {@code $<len>}), in bytes before its CR; Redis's PROTO_INLINE_MAX_SIZE. */
    static final int MAX_COUNT_LINE = 64 * 1024;
    /** Slots a new argument array starts with, at most. */
    private static final int INITIAL_ARGS = 16;
    /** Shared by every empty argument; arguments are never written to. */
    private static final byte[] EMPTY = new byte[0];
    /** CR LF read as one big-endian short. */
    private static final short CRLF = ('\r' << 8) | '\n';
    /** What {@link #parseLength} returns for text that is not a number. */
    private static final long NOT_A_NUMBER = Long.MIN_VALUE;

    static final String INVALID_MULTIBULK_LENGTH = "Protocol error: invalid multibulk length";
    static final String INVALID_BULK_LENGTH = "Protocol error: invalid bulk length";
    static final String TOO_BIG_MULTIBULK_COUNT = "Protocol error: too big mbulk count string";
    static final String TOO_BIG_BULK_COUNT = "Protocol error: too big bulk count string";
    static final String TOO_BIG_INLINE = "Protocol error: too big inline request";
    static final String UNBALANCED_QUOTES = "Protocol error: unbalanced quotes in request";
    static final String EXPECTED_CRLF = "Protocol error: expected CRLF after bulk string";

    private enum State {
        /** Between requests: the next byte decides multibulk or inline. */
        START,
        /** Waiting for the whole {@code *<n>\r\n} line at the reader index. */
        MULTIBULK_COUNT,
        /** Waiting for the whole {@code $<len>\r\n} line of the next argument. */
        BULK_COUNT,
        /** Waiting for {@link #bulkLength} bytes and their CRLF. */
        BULK_PAYLOAD,
        /** Waiting for the LF that ends an inline request. */
        INLINE,
        /** After a protocol error: every byte is skipped. */
        DISCARD
    }

    private final RespLimits limits;
    private final Arrivals arrivals;
    private State state = State.START;
    /**
     * Bytes of the current line, from the reader index, already searched for its terminator without
     * finding it (or up to the terminator, when what must follow it has not arrived). 0 when a line starts.
     */
    private int scanned;
    /** The current multibulk's arguments; {@code args[0..argsRead)} are filled. Null outside a multibulk. */
    private byte[][] args;
    /** Arguments the current multibulk announced, the n of {@code *<n>}; {@code args.length <= argCount}. */
    private int argCount;
    private int argsRead;
    /** Payload length of the argument being read, in bytes without its CRLF; meaningful in BULK_PAYLOAD. */
    private int bulkLength;

    public RespDecoder(RespLimits limits) {
        this(limits, NO_ARRIVALS);
    }

    /** @param arrivals told of the requests each read held, before they are passed on */
    public RespDecoder(RespLimits limits, Arrivals arrivals) {
        this.limits = limits;
        this.arrivals = arrivals;
    }

    /** Told of the requests one read held, {@code out[from ..]}, before the first of them is passed on. */
    @FunctionalInterface
    public interface Arrivals {
        void arriving(List<Object> out, int from);
    }

    private static final Arrivals NO_ARRIVALS = (out, from) -> {
    };

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int from = out.size();
        decodeAvailable(in, out);
        if (out.size() > from) {
            arrivals.arriving(out, from);
        }
    }

    /** Decodes every complete request in {@code in} into {@code out}. */
    private void decodeAvailable(ByteBuf in, List<Object> out) {
        while (in.isReadable()) {
            boolean progressed = switch (state) {
                case START -> {
                    state = in.getByte(in.readerIndex()) == '*' ? State.MULTIBULK_COUNT : State.INLINE;
                    yield true;
                }
                case MULTIBULK_COUNT -> readMultibulkCount(in);
                case BULK_COUNT -> readBulkCount(in);
                case BULK_PAYLOAD -> readBulkPayload(in, out);
                case INLINE -> readInline(in, out);
                case DISCARD -> {
                    in.skipBytes(in.readableBytes());
                    yield false;
                }
            };
            if (!progressed) {
                return;
            }
        }
    }

    /** Reads {@code *<n>\r\n}; false if it has not fully arrived. */
    private boolean readMultibulkCount(ByteBuf in) {
        int cr = findLineEnd(in, (byte) '\r', MAX_COUNT_LINE, TOO_BIG_MULTIBULK_COUNT);
        if (cr < 0 || cr + 1 >= in.writerIndex()) {
            return false;
        }
        long n = in.getByte(cr + 1) == '\n' ? parseLength(in, in.readerIndex() + 1, cr) : NOT_A_NUMBER;
        if (n == NOT_A_NUMBER || n > limits.maxMultibulkLength()) {
            throw fail(in, INVALID_MULTIBULK_LENGTH);
        }
        in.readerIndex(cr + 2);
        scanned = 0;
        if (n <= 0) {
            state = State.START;
            return true;
        }
        argCount = (int) n;
        argsRead = 0;
        args = new byte[Math.min(argCount, INITIAL_ARGS)][];
        state = State.BULK_COUNT;
        return true;
    }

    /** Reads {@code $<len>\r\n}; false if it has not fully arrived. */
    private boolean readBulkCount(ByteBuf in) {
        int start = in.readerIndex();
        byte first = in.getByte(start);
        if (first != '$') {
            throw fail(in, "Protocol error: expected '$', got '" + printable(first) + "'");
        }
        int cr = findLineEnd(in, (byte) '\r', MAX_COUNT_LINE, TOO_BIG_BULK_COUNT);
        if (cr < 0 || cr + 1 >= in.writerIndex()) {
            return false;
        }
        long length = in.getByte(cr + 1) == '\n' ? parseLength(in, start + 1, cr) : NOT_A_NUMBER;
        if (length < 0 || length > limits.maxBulkLength()) {
            throw fail(in, INVALID_BULK_LENGTH);
        }
        in.readerIndex(cr + 2);
        scanned = 0;
        bulkLength = (int) length;
        state = State.BULK_PAYLOAD;
        return true;
    }

    /** Reads a payload and its CRLF, completing the command if it was the last argument; false if not all here. */
    private boolean readBulkPayload(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        if (in.writerIndex() - start < bulkLength + 2) {
            return false;
        }
        if (in.getShort(start + bulkLength) != CRLF) {
            throw fail(in, EXPECTED_CRLF);
        }
        byte[] arg = bulkLength == 0 ? EMPTY : new byte[bulkLength];
        copyOut(in, start, arg);
        in.readerIndex(start + bulkLength + 2);
        if (argsRead == args.length) {
            args = Arrays.copyOf(args, (int) Math.min(2L * args.length, argCount));
        }
        args[argsRead++] = arg;
        if (argsRead < argCount) {
            state = State.BULK_COUNT;
            return true;
        }
        out.add(args);
        args = null;
        state = State.START;
        return true;
    }

    /**
     * Copies {@code dst.length} bytes at {@code index} out of {@code in}. A direct buffer's
     * {@code getBytes} makes a duplicate of its NIO buffer per call (one object per argument of every
     * command, unless the JIT happens to elide it); its internal NIO buffer is reused instead. A buffer
     * made of several NIO buffers takes the general path.
     */
    private static void copyOut(ByteBuf in, int index, byte[] dst) {
        if (dst.length > 0 && in.isDirect() && in.nioBufferCount() == 1) {
            in.internalNioBuffer(index, dst.length).get(dst);
        } else {
            in.getBytes(index, dst);
        }
    }

    /** Reads an inline request line; false if its LF has not arrived. */
    private boolean readInline(ByteBuf in, List<Object> out) {
        int lf = findLineEnd(in, (byte) '\n', limits.maxInlineLength(), TOO_BIG_INLINE);
        if (lf < 0) {
            return false;
        }
        int start = in.readerIndex();
        int end = lf > start && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
        byte[] line = new byte[end - start];
        in.getBytes(start, line);
        byte[][] words = InlineSplitter.split(line);
        if (words == null) {
            throw fail(in, UNBALANCED_QUOTES);
        }
        in.readerIndex(lf + 1);
        scanned = 0;
        state = State.START;
        if (words.length > 0) {
            out.add(words);
        }
        return true;
    }

    /**
     * Finds {@code terminator} in the line starting at the reader index, searching only bytes not
     * searched before, and no further than {@code maxLine} bytes from the line's start.
     *
     * @return its index, or -1 if it has not arrived yet
     * @throws RespProtocolException with {@code tooLong} if it is not within {@code maxLine} bytes
     */
    private int findLineEnd(ByteBuf in, byte terminator, int maxLine, String tooLong) {
        int start = in.readerIndex();
        int windowEnd = (int) Math.min(in.writerIndex(), (long) start + maxLine + 1);
        int found = in.indexOf(start + scanned, windowEnd, terminator);
        if (found < 0) {
            scanned = windowEnd - start;
            if (scanned > maxLine) {
                throw fail(in, tooLong);
            }
            return -1;
        }
        scanned = found - start;
        return found;
    }

    /**
     * Parses the bytes in [from, to) as Redis's {@code string2ll} does: an optional '-', then digits
     * without leading zeros; no '+', no blanks. Returns {@link #NOT_A_NUMBER} for anything else,
     * including magnitudes beyond {@code Long.MAX_VALUE}.
     */
    private static long parseLength(ByteBuf in, int from, int to) {
        boolean negative = from < to && in.getByte(from) == '-';
        int i = negative ? from + 1 : from;
        if (i == to) {
            return NOT_A_NUMBER;
        }
        if (in.getByte(i) == '0') {
            return i + 1 == to && !negative ? 0 : NOT_A_NUMBER;
        }
        long value = 0;
        for (; i < to; i++) {
            int digit = in.getByte(i) - '0';
            if (digit < 0 || digit > 9 || value > (Long.MAX_VALUE - digit) / 10) {
                return NOT_A_NUMBER;
            }
            value = value * 10 + digit;
        }
        return negative ? -value : value;
    }

    /** The offending byte as Redis's error shows it; CR and LF become spaces, as Redis's error replies do. */
    private static char printable(byte b) {
        return b == '\r' || b == '\n' ? ' ' : (char) (b & 0xFF);
    }

    /** Drops the request in progress and all input, and enters DISCARD; returns the exception to throw. */
    private RespProtocolException fail(ByteBuf in, String message) {
        state = State.DISCARD;
        args = null;
        scanned = 0;
        in.skipBytes(in.readableBytes());
        return new RespProtocolException(message);
    }
}
