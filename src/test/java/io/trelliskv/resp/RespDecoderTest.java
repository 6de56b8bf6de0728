package io.trelliskv.resp;

import com.sun.management.ThreadMXBean;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.stream.Stream;

import static io.trelliskv.resp.DecoderRun.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class RespDecoderTest {

    /** Small limits, so that every boundary is cheap to reach. */
    private static final RespLimits SMALL = new RespLimits(10, 4, 20);

    private static String multibulk(String... args) {
        StringBuilder sb = new StringBuilder().append('*').append(args.length).append("\r\n");
        for (String arg : args) {
            sb.append('$').append(arg.length()).append("\r\n").append(arg).append("\r\n");
        }
        return sb.toString();
    }

    private static DecoderRun decode(String stream) {
        return DecoderRun.whole(bytes(stream));
    }

    private static DecoderRun decode(RespLimits limits, String stream) {
        return DecoderRun.whole(limits, bytes(stream));
    }

    private static DecoderRun commands(List<?>... commands) {
        @SuppressWarnings("unchecked")
        List<List<String>> list = (List<List<String>>) (List<?>) List.of(commands);
        return new DecoderRun(list, null);
    }

    private static DecoderRun error(String message, List<?>... before) {
        return new DecoderRun(commands(before).commands(), message);
    }

    /** Asserts that {@code stream} decodes to {@code expected} whole, split at every byte boundary, and byte by byte. */
    private static void assertEverySplit(RespLimits limits, String stream, DecoderRun expected) {
        byte[] b = bytes(stream);
        assertThat(DecoderRun.whole(limits, b)).isEqualTo(expected);
        for (int at = 1; at < b.length; at++) {
            assertThat(DecoderRun.splitAt(limits, b, at)).as("split at %d", at).isEqualTo(expected);
        }
        assertThat(DecoderRun.byteByByte(limits, b)).as("byte by byte").isEqualTo(expected);
    }

    @Nested
    class Multibulk {

        @Test
        void decodesOneCommandPerRequest() {
            assertThat(decode(multibulk("SET", "key", "value") + multibulk("GET", "key")))
                    .isEqualTo(commands(List.of("SET", "key", "value"), List.of("GET", "key")));
        }

        @Test
        void passesEachCommandOnAsAByteArrayPerArgument() {
            EmbeddedChannel channel = new EmbeddedChannel(new RespDecoder(RespLimits.DEFAULTS));
            channel.writeInbound(Unpooled.wrappedBuffer(bytes(multibulk("ECHO", "hi"))));
            byte[][] args = channel.readInbound();
            assertThat(args).isDeepEqualTo(new byte[][] {bytes("ECHO"), bytes("hi")});
            assertThat(channel.finishAndReleaseAll()).isFalse();
        }

        @Test
        void payloadsAreBinarySafe() {
            String binary = "a\r\nb\0*1\r\n$3\r\n\u00ff\u0080\n\r";
            assertThat(decode(multibulk("SET", binary, "")))
                    .isEqualTo(commands(List.of("SET", binary, "")));
        }

        @Test
        void zeroOrNegativeCountIsAnEmptyRequest() {
            assertThat(decode("*0\r\n*-1\r\n*-10\r\n" + multibulk("PING")))
                    .isEqualTo(commands(List.of("PING")));
        }

        @Test
        void manyArgumentsGrowTheArgumentArrayToExactlyTheirCount() {
            String[] args = new String[1000];
            for (int i = 0; i < args.length; i++) {
                args[i] = "v" + i;
            }
            EmbeddedChannel channel = new EmbeddedChannel(new RespDecoder(RespLimits.DEFAULTS));
            for (byte b : bytes(multibulk(args))) {
                channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
            }
            byte[][] decoded = channel.readInbound();
            assertThat(decoded.length).isEqualTo(1000);
            assertThat(DecoderRun.strings(decoded)).containsExactly(args);
            channel.finishAndReleaseAll();
        }

        @Test
        void aLargeBulkArrivingInPiecesIsDecodedWhenComplete() {
            byte[] value = new byte[1_000_000];
            for (int i = 0; i < value.length; i++) {
                value[i] = (byte) i;
            }
            EmbeddedChannel channel = new EmbeddedChannel(new RespDecoder(RespLimits.DEFAULTS));
            channel.writeInbound(Unpooled.wrappedBuffer(bytes("*2\r\n$3\r\nSET\r\n$1000000\r\n")));
            for (int i = 0; i < value.length; i += 10_000) {
                channel.writeInbound(Unpooled.wrappedBuffer(value, i, 10_000));
                assertThat((Object) channel.readInbound()).isNull();
            }
            channel.writeInbound(Unpooled.wrappedBuffer(bytes("\r\n")));
            byte[][] args = channel.readInbound();
            assertThat(args[1]).isEqualTo(value);
            channel.finishAndReleaseAll();
        }
    }

    @Nested
    class Inline {

        @Test
        void splitsALineOnBlanks() {
            assertThat(decode("PING\r\nset  a\tb \r\nGET k\n"))
                    .isEqualTo(commands(List.of("PING"), List.of("set", "a", "b"), List.of("GET", "k")));
        }

        @Test
        void emptyAndBlankLinesAreIgnored() {
            assertThat(decode("\r\n\n   \t\r\nPING\r\n")).isEqualTo(commands(List.of("PING")));
        }

        @Test
        void doubleQuotesUnderstandEscapes() {
            assertThat(decode("SET \"a b\" \"\\n\\r\\t\\b\\a\\\\\\\"\\x41\\xfF\\q\" \"\"\r\n"))
                    .isEqualTo(commands(List.of("SET", "a b", "\n\r\t\b\u0007\\\"A\u00ffq", "")));
        }

        @Test
        void anIncompleteHexEscapeIsTakenLiterally() {
            assertThat(decode("ECHO \"\\x4\" \"\\xZZ\"\r\n")).isEqualTo(commands(List.of("ECHO", "x4", "xZZ")));
        }

        @Test
        void singleQuotesAreLiteralButForEscapedQuote() {
            assertThat(decode("SET 'it\\'s' '\\n\"'\r\n")).isEqualTo(commands(List.of("SET", "it's", "\\n\"")));
        }

        @Test
        void quotesMayStartInsideAnArgument() {
            assertThat(decode("SET ab\"c d\"\r\n")).isEqualTo(commands(List.of("SET", "abc d")));
        }

        @Test
        void aNulByteEndsTheLineAsInRedis() {
            assertThat(decode("SET a\0b c\r\nPING\r\n")).isEqualTo(commands(List.of("SET", "a"), List.of("PING")));
        }

        @Test
        void aLoneCrIsABlank() {
            assertThat(decode("SET a\rb\r\n")).isEqualTo(commands(List.of("SET", "a", "b")));
        }

        @Test
        void inlineAndMultibulkMix() {
            assertThat(decode("PING\r\n" + multibulk("GET", "k") + "DEL k\n"))
                    .isEqualTo(commands(List.of("PING"), List.of("GET", "k"), List.of("DEL", "k")));
        }
    }

    @Nested
    class Splitting {

        /** Every request form in one pipelined stream. */
        private static final String PIPELINE = multibulk("SET", "k", "a\r\nb")
                + "*0\r\n"
                + "PING\r\n"
                + "\r\n"
                + multibulk("GET", "k")
                + "*-1\r\n"
                + "ECHO \"x y\" 'z'\n"
                + multibulk("MSET", "", "$3\r\n", "*1")
                + "DEL k\r\n";

        @Test
        void aPipelineDecodesTheSameHoweverItIsSplit() {
            assertEverySplit(RespLimits.DEFAULTS, PIPELINE, commands(
                    List.of("SET", "k", "a\r\nb"),
                    List.of("PING"),
                    List.of("GET", "k"),
                    List.of("ECHO", "x y", "z"),
                    List.of("MSET", "", "$3\r\n", "*1"),
                    List.of("DEL", "k")));
        }

        @Test
        void anIncompleteRequestYieldsNothingYet() {
            String stream = multibulk("PING") + multibulk("SET", "k", "v");
            assertThat(decode(stream.substring(0, stream.length() - 1))).isEqualTo(commands(List.of("PING")));
            assertThat(decode("PING")).isEqualTo(commands());
        }
    }

    @Nested
    class Errors {

        static Stream<Arguments> malformed() {
            String set = "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n";
            return Stream.of(
                    arguments("*abc\r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("*\r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("*01\r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("*+1\r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("* 1\r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("*1 \r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("*-\r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("*1\rX", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("*3000000000\r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("*1048577\r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("*99999999999999999999\r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments("*-99999999999999999999\r\n", RespDecoder.INVALID_MULTIBULK_LENGTH),
                    arguments(set + "$-10\r\n", RespDecoder.INVALID_BULK_LENGTH),
                    arguments(set + "$-1\r\n", RespDecoder.INVALID_BULK_LENGTH),
                    arguments(set + "$-0\r\n", RespDecoder.INVALID_BULK_LENGTH),
                    arguments(set + "$2000000000\r\n", RespDecoder.INVALID_BULK_LENGTH),
                    arguments(set + "$67108865\r\n", RespDecoder.INVALID_BULK_LENGTH),
                    arguments(set + "$blabla\r\n", RespDecoder.INVALID_BULK_LENGTH),
                    arguments(set + "$\r\n", RespDecoder.INVALID_BULK_LENGTH),
                    arguments(set + "$3\rX", RespDecoder.INVALID_BULK_LENGTH),
                    arguments(set + "fooz\r\n", "Protocol error: expected '$', got 'f'"),
                    arguments("*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'"),
                    arguments("*1\r\n\r\n", "Protocol error: expected '$', got ' '"),
                    arguments("*1\r\n\n", "Protocol error: expected '$', got ' '"),
                    arguments("*1\r\n$3\r\nfooXY", RespDecoder.EXPECTED_CRLF),
                    arguments("*1\r\n$3\r\nfoo\n\r", RespDecoder.EXPECTED_CRLF),
                    arguments("*1\r\n$0\r\n\nX", RespDecoder.EXPECTED_CRLF),
                    arguments("set \"\"\"test-key\"\"\" test-value\r\nping\r\n", RespDecoder.UNBALANCED_QUOTES),
                    arguments("ECHO \"abc\r\n", RespDecoder.UNBALANCED_QUOTES),
                    arguments("ECHO 'abc\r\n", RespDecoder.UNBALANCED_QUOTES),
                    arguments("ECHO \"abc\"def\r\n", RespDecoder.UNBALANCED_QUOTES),
                    arguments("ECHO 'abc'def\r\n", RespDecoder.UNBALANCED_QUOTES),
                    arguments("ECHO \"abc\\\"\r\n", RespDecoder.UNBALANCED_QUOTES),
                    arguments("ECHO \"a\0\"\r\n", RespDecoder.UNBALANCED_QUOTES));
        }

        @ParameterizedTest
        @MethodSource("malformed")
        void malformedRequestsGetRedisErrorTextsHoweverSplit(String stream, String message) {
            assertEverySplit(RespLimits.DEFAULTS, stream, error(message));
        }

        @Test
        void aCountLineMayBe64KiBBeforeItsCr() {
            String digits = "1".repeat(RespDecoder.MAX_COUNT_LINE - 1);
            assertThat(decode("*" + digits + "\r\n")).isEqualTo(error(RespDecoder.INVALID_MULTIBULK_LENGTH));
            assertThat(decode("*" + digits + "1\r\n")).isEqualTo(error(RespDecoder.TOO_BIG_MULTIBULK_COUNT));
            assertThat(decode("*1\r\n$" + digits + "\r\n")).isEqualTo(error(RespDecoder.INVALID_BULK_LENGTH));
            assertThat(decode("*1\r\n$" + digits + "1\r\n")).isEqualTo(error(RespDecoder.TOO_BIG_BULK_COUNT));
        }

        @Test
        void anUnterminatedCountLineFailsAt64KiBWithoutWaitingForMore() {
            assertThat(decode("*" + "x".repeat(RespDecoder.MAX_COUNT_LINE)))
                    .isEqualTo(error(RespDecoder.TOO_BIG_MULTIBULK_COUNT));
            assertThat(decode("*1\r\n$" + "x".repeat(RespDecoder.MAX_COUNT_LINE)))
                    .isEqualTo(error(RespDecoder.TOO_BIG_BULK_COUNT));
            assertThat(decode("*" + "x".repeat(RespDecoder.MAX_COUNT_LINE - 1))).isEqualTo(commands());
        }

        @Test
        void anInlineLineMayBeMaxInlineLengthBeforeItsLf() {
            String max = "a".repeat(RespLimits.DEFAULTS.maxInlineLength());
            assertThat(decode(max + "\n")).isEqualTo(commands(List.of(max)));
            assertThat(decode(max + "\r\n")).isEqualTo(error(RespDecoder.TOO_BIG_INLINE));
            assertThat(decode(max + "a")).isEqualTo(error(RespDecoder.TOO_BIG_INLINE));
            assertThat(decode(max)).isEqualTo(commands());
        }

        /** Redis's "Protocol desync regression test": garbage with no line end must not be buffered forever. */
        @Test
        void garbageWithoutLineEndsIsRefused() {
            String payload = "payload".repeat(10_000);
            assertThat(decode("\0" + payload)).isEqualTo(error(RespDecoder.TOO_BIG_INLINE));
            assertThat(decode("*\0" + payload)).isEqualTo(error(RespDecoder.TOO_BIG_MULTIBULK_COUNT));
            assertThat(decode("$\0" + payload)).isEqualTo(error(RespDecoder.TOO_BIG_INLINE));
        }

        @Test
        void requestsBeforeTheErrorArePassedOnAndNothingAfterIt() {
            String stream = "PING\r\n" + multibulk("GET", "k") + "*1\r\nfoo\r\n" + multibulk("DEL", "k") + "PING\r\n";
            assertEverySplit(RespLimits.DEFAULTS, stream,
                    error("Protocol error: expected '$', got 'f'", List.of("PING"), List.of("GET", "k")));
        }

        @Test
        void afterAnErrorAllInputIsDiscardedQuietly() {
            EmbeddedChannel channel = new EmbeddedChannel(new RespDecoder(RespLimits.DEFAULTS));
            try {
                channel.writeInbound(Unpooled.wrappedBuffer(bytes("*x\r\nPING\r\n")));
            } catch (RespProtocolException e) {
                assertThat(e).hasMessage(RespDecoder.INVALID_MULTIBULK_LENGTH);
            }
            assertThat(channel.writeInbound(Unpooled.wrappedBuffer(bytes("PING\r\n*1\r\nfoo\r\n")))).isFalse();
            assertThat(channel.writeInbound(Unpooled.wrappedBuffer(bytes(multibulk("GET", "k"))))).isFalse();
            assertThat(channel.finishAndReleaseAll()).isFalse();
        }

        @Test
        void theErrorIsADecoderExceptionCarryingTheTextWithoutErrCode() {
            EmbeddedChannel channel = new EmbeddedChannel(new RespDecoder(RespLimits.DEFAULTS));
            Throwable thrown = catchThrowable(
                    () -> channel.writeInbound(Unpooled.wrappedBuffer(bytes("*1\r\n$x\r\n"))));
            assertThat(thrown).isInstanceOf(DecoderException.class)
                    .isExactlyInstanceOf(RespProtocolException.class)
                    .hasMessage("Protocol error: invalid bulk length");
            channel.finishAndReleaseAll();
        }
    }

    @Nested
    class Limits {

        @Test
        void bulkLength() {
            assertThat(decode(SMALL, multibulk("0123456789"))).isEqualTo(commands(List.of("0123456789")));
            assertThat(decode(SMALL, multibulk("0123456789A"))).isEqualTo(error(RespDecoder.INVALID_BULK_LENGTH));
        }

        @Test
        void multibulkLength() {
            assertThat(decode(SMALL, multibulk("a", "b", "c", "d"))).isEqualTo(commands(List.of("a", "b", "c", "d")));
            assertThat(decode(SMALL, "*5\r\n")).isEqualTo(error(RespDecoder.INVALID_MULTIBULK_LENGTH));
        }

        @Test
        void inlineLength() {
            String max = "ECHO " + "x".repeat(15);
            assertEverySplit(SMALL, max + "\nPING\r\n", commands(List.of("ECHO", "x".repeat(15)), List.of("PING")));
            assertEverySplit(SMALL, max + "\r\nPING\r\n", error(RespDecoder.TOO_BIG_INLINE));
        }

        @Test
        void inlineLinesAreNotBoundByBulkLimits() {
            assertThat(decode(SMALL, "a b c d 0123456789A\n"))
                    .isEqualTo(commands(List.of("a", "b", "c", "d", "0123456789A")));
        }
    }

    @Nested
    class Memory {

        private final ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();

        /** Heap bytes this thread allocates while {@code channel} reads {@code stream}. */
        private long allocatedReading(EmbeddedChannel channel, String stream) {
            byte[] b = bytes(stream);
            long before = threads.getCurrentThreadAllocatedBytes();
            channel.writeInbound(Unpooled.wrappedBuffer(b));
            return threads.getCurrentThreadAllocatedBytes() - before;
        }

        private EmbeddedChannel warmChannel(RespLimits limits) {
            EmbeddedChannel channel = new EmbeddedChannel(new RespDecoder(limits));
            allocatedReading(channel, multibulk("PING"));
            channel.readInbound();
            return channel;
        }

        @Test
        void aHugeBulkHeaderAllocatesNothingUntilItsDataArrives() {
            RespLimits limits = new RespLimits(RespLimits.MAX_BULK_LENGTH_LIMIT, 1024 * 1024, 64 * 1024);
            EmbeddedChannel channel = warmChannel(limits);
            long allocated = allocatedReading(channel, "*2\r\n$3\r\nSET\r\n$100000000\r\n");
            assertThat(allocated).isLessThan(256 * 1024);
            assertThat((Object) channel.readInbound()).isNull();
            channel.finishAndReleaseAll();
        }

        @Test
        void aHugeArgumentCountAllocatesNothingUntilArgumentsArrive() {
            EmbeddedChannel channel = warmChannel(RespLimits.DEFAULTS);
            long allocated = allocatedReading(channel, "*1048576\r\n$3\r\nSET\r\n");
            assertThat(allocated).isLessThan(256 * 1024);
            assertThat((Object) channel.readInbound()).isNull();
            channel.finishAndReleaseAll();
        }
    }
}
