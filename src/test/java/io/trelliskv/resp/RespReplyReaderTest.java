package io.trelliskv.resp;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.math.BigInteger;
import java.util.List;
import java.util.stream.Stream;

import static io.trelliskv.resp.DecoderRun.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class RespReplyReaderTest {

    private static RespReplyReader reader(String stream) {
        return new RespReplyReader(new ByteArrayInputStream(bytes(stream)));
    }

    private static RespValue read(String stream) throws IOException {
        return reader(stream).read();
    }

    private static RespValue bulk(String s) {
        return new RespValue.BulkString(bytes(s));
    }

    private static RespValue simple(String s) {
        return new RespValue.SimpleString(s);
    }

    private static RespValue integer(long n) {
        return new RespValue.Integer(n);
    }

    private static RespValue.Map.Entry entry(RespValue key, RespValue value) {
        return new RespValue.Map.Entry(key, value);
    }

    @Nested
    class Resp2 {

        @Test
        void simpleStringErrorAndInteger() throws IOException {
            assertThat(read("+OK\r\n")).isEqualTo(simple("OK"));
            assertThat(read("-ERR unknown command 'FLY'\r\n")).isEqualTo(new RespValue.Error("ERR unknown command 'FLY'"));
            assertThat(read(":-9223372036854775808\r\n")).isEqualTo(integer(Long.MIN_VALUE));
            assertThat(read(":+7\r\n")).isEqualTo(integer(7));
        }

        @Test
        void bulkStringsAreBinarySafe() throws IOException {
            assertThat(read("$5\r\nhello\r\n")).isEqualTo(bulk("hello"));
            assertThat(read("$0\r\n\r\n")).isEqualTo(bulk(""));
            assertThat(read("$6\r\na\r\n\0\u00ff\n\r\n")).isEqualTo(bulk("a\r\n\0\u00ff\n"));
        }

        @Test
        void nullBulkAndNullArrayAreNull() throws IOException {
            assertThat(read("$-1\r\n")).isSameAs(RespValue.NULL);
            assertThat(read("*-1\r\n")).isEqualTo(RespValue.NULL);
        }

        @Test
        void nestedArrays() throws IOException {
            assertThat(read("*3\r\n*2\r\n:1\r\n$1\r\na\r\n*0\r\n$-1\r\n")).isEqualTo(new RespValue.Array(List.of(
                    new RespValue.Array(List.of(integer(1), bulk("a"))),
                    new RespValue.Array(List.of()),
                    RespValue.NULL)));
        }

        @Test
        void readsRepliesOneAfterAnother() throws IOException {
            RespReplyReader reader = reader("+OK\r\n:1\r\n$1\r\nx\r\n");
            assertThat(reader.read()).isEqualTo(simple("OK"));
            assertThat(reader.read()).isEqualTo(integer(1));
            assertThat(reader.read()).isEqualTo(bulk("x"));
            assertThatThrownBy(reader::read).isInstanceOf(EOFException.class);
        }
    }

    @Nested
    class Resp3 {

        @Test
        void nullDoubleBooleanAndBigNumber() throws IOException {
            assertThat(read("_\r\n")).isEqualTo(RespValue.NULL);
            assertThat(read(",1.5\r\n")).isEqualTo(new RespValue.Double(1.5));
            assertThat(read(",-2E3\r\n")).isEqualTo(new RespValue.Double(-2000));
            assertThat(read(",10\r\n")).isEqualTo(new RespValue.Double(10));
            assertThat(read(",inf\r\n")).isEqualTo(new RespValue.Double(Double.POSITIVE_INFINITY));
            assertThat(read(",-inf\r\n")).isEqualTo(new RespValue.Double(Double.NEGATIVE_INFINITY));
            assertThat(read(",nan\r\n")).isEqualTo(new RespValue.Double(Double.NaN));
            assertThat(read("#t\r\n")).isEqualTo(new RespValue.Boolean(true));
            assertThat(read("#f\r\n")).isEqualTo(new RespValue.Boolean(false));
            assertThat(read("(3492890328409238509324850943850943825024385\r\n"))
                    .isEqualTo(new RespValue.BigNumber(new BigInteger("3492890328409238509324850943850943825024385")));
        }

        @Test
        void bulkErrorAndVerbatimString() throws IOException {
            assertThat(read("!21\r\nSYNTAX invalid syntax\r\n")).isEqualTo(new RespValue.Error("SYNTAX invalid syntax"));
            assertThat(read("=15\r\ntxt:Some string\r\n")).isEqualTo(new RespValue.Verbatim("txt", "Some string"));
            assertThat(read("=4\r\nmkd:\r\n")).isEqualTo(new RespValue.Verbatim("mkd", ""));
        }

        @Test
        void mapSetAndPush() throws IOException {
            assertThat(read("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n~1\r\n#t\r\n"))
                    .isEqualTo(new RespValue.Map(List.of(
                            entry(simple("first"), integer(1)),
                            entry(bulk("second"), new RespValue.Set(List.of(new RespValue.Boolean(true)))))));
            assertThat(read("~0\r\n")).isEqualTo(new RespValue.Set(List.of()));
            assertThat(read(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"))
                    .isEqualTo(new RespValue.Push(List.of(bulk("message"), bulk("ch"), bulk("hi"))));
        }

        @Test
        void attributesAreSkipped() throws IOException {
            String attribute = "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n";
            assertThat(read(attribute + "*2\r\n:2039123\r\n:9543892\r\n"))
                    .isEqualTo(new RespValue.Array(List.of(integer(2039123), integer(9543892))));
            assertThat(read("*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:1\r\n"))
                    .isEqualTo(new RespValue.Array(List.of(bulk("v"), integer(1))));
        }
    }

    @Nested
    class Malformed {

        static Stream<Arguments> malformed() {
            return Stream.of(
                    arguments("?x\r\n", "malformed reply: unknown reply type '?'"),
                    arguments("\u0001\r\n", "malformed reply: unknown reply type 0x01"),
                    arguments(":12a\r\n", "malformed reply: invalid integer ':12a'"),
                    arguments(":\r\n", "malformed reply: invalid integer ':'"),
                    arguments("$abc\r\n", "malformed reply: invalid bulk string length 'abc'"),
                    arguments("$-2\r\n", "malformed reply: invalid bulk string length '-2'"),
                    arguments("$3\r\nabcXY", "malformed reply: bulk string of 3 bytes not followed by CRLF"),
                    arguments("!-1\r\n", "malformed reply: invalid bulk error length '-1'"),
                    arguments("*-2\r\n", "malformed reply: invalid array length '-2'"),
                    arguments("*3000000000\r\n", "malformed reply: invalid array length '3000000000'"),
                    arguments("%-1\r\n", "malformed reply: invalid map length '-1'"),
                    arguments("~x\r\n", "malformed reply: invalid set length 'x'"),
                    arguments("#x\r\n", "malformed reply: invalid boolean '#x' (expected: #t or #f)"),
                    arguments(",1.5d\r\n", "malformed reply: invalid double ',1.5d'"),
                    arguments(",Infinity\r\n", "malformed reply: invalid double ',Infinity'"),
                    arguments("(12a\r\n", "malformed reply: invalid big number '(12a'"),
                    arguments("_x\r\n", "malformed reply: null '_' followed by 'x'"),
                    arguments("=3\r\ntxt\r\n", "malformed reply: verbatim string without its 'fmt:' prefix"),
                    arguments("+OK\rX", "malformed reply: CR not followed by LF in a reply line"),
                    arguments("*1\r\n".repeat(RespReplyReader.MAX_DEPTH + 1) + ":1\r\n",
                            "malformed reply: aggregates nested deeper than " + RespReplyReader.MAX_DEPTH + " levels"),
                    arguments("+" + "x".repeat(RespReplyReader.MAX_LINE + 1) + "\r\n",
                            "malformed reply: reply line longer than " + RespReplyReader.MAX_LINE + " bytes"));
        }

        @ParameterizedTest
        @MethodSource("malformed")
        void aMalformedReplyIsAnIOExceptionSayingWhatIsWrong(String stream, String message) {
            assertThatThrownBy(() -> read(stream)).isExactlyInstanceOf(IOException.class).hasMessage(message);
        }

        @Test
        void nestingUpToTheLimitIsFine() throws IOException {
            RespValue value = read("*1\r\n".repeat(RespReplyReader.MAX_DEPTH) + ":1\r\n");
            for (int i = 0; i < RespReplyReader.MAX_DEPTH; i++) {
                value = ((RespValue.Array) value).elements().get(0);
            }
            assertThat(value).isEqualTo(integer(1));
        }

        @Test
        void aReplyCutShortIsAnEofException() {
            for (String stream : List.of("", "+OK", "+OK\r", ":1", "$5\r\nhel", "$5\r\nhello", "$5\r\nhello\r",
                    "*2\r\n:1\r\n", "%1\r\n+k\r\n", "|1\r\n+a\r\n+b\r\n")) {
                assertThatThrownBy(() -> read(stream)).as(stream).isInstanceOf(EOFException.class);
            }
        }

        @Test
        void aHugeAnnouncedLengthCostsOnlyWhatArrives() {
            assertThatThrownBy(() -> read("$2000000000\r\nabc")).isInstanceOf(EOFException.class)
                    .hasMessage("end of stream inside a bulk string (3 of 2000000000 bytes)");
            assertThatThrownBy(() -> read("*2000000000\r\n:1\r\n")).isInstanceOf(EOFException.class);
        }
    }
}
