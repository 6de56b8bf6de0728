package io.trelliskv.resp;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static io.trelliskv.resp.DecoderRun.bytes;
import static org.assertj.core.api.Assertions.assertThat;

class RespFormatterTest {

    private static RespValue bulk(String s) {
        return new RespValue.BulkString(bytes(s));
    }

    private static RespValue array(RespValue... elements) {
        return new RespValue.Array(List.of(elements));
    }

    private static RespValue integer(long n) {
        return new RespValue.Integer(n);
    }

    private static RespValue map(RespValue... keysAndValues) {
        List<RespValue.Map.Entry> entries = new ArrayList<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            entries.add(new RespValue.Map.Entry(keysAndValues[i], keysAndValues[i + 1]));
        }
        return new RespValue.Map(entries);
    }

    @Nested
    class Terminal {

        @Test
        void scalars() {
            assertThat(RespFormatter.format(new RespValue.SimpleString("OK"))).isEqualTo("OK\n");
            assertThat(RespFormatter.format(new RespValue.Error("ERR unknown command 'FLY'")))
                    .isEqualTo("(error) ERR unknown command 'FLY'\n");
            assertThat(RespFormatter.format(integer(-5))).isEqualTo("(integer) -5\n");
            assertThat(RespFormatter.format(bulk("hello"))).isEqualTo("\"hello\"\n");
            assertThat(RespFormatter.format(RespValue.NULL)).isEqualTo("(nil)\n");
            assertThat(RespFormatter.format(new RespValue.Double(1.5))).isEqualTo("(double) 1.5\n");
            assertThat(RespFormatter.format(new RespValue.Double(3))).isEqualTo("(double) 3\n");
            assertThat(RespFormatter.format(new RespValue.Double(Double.NEGATIVE_INFINITY))).isEqualTo("(double) -inf\n");
            assertThat(RespFormatter.format(new RespValue.Boolean(true))).isEqualTo("(true)\n");
            assertThat(RespFormatter.format(new RespValue.Boolean(false))).isEqualTo("(false)\n");
            assertThat(RespFormatter.format(new RespValue.BigNumber(new BigInteger("12345678901234567890"))))
                    .isEqualTo("(big number) 12345678901234567890\n");
            assertThat(RespFormatter.format(new RespValue.Verbatim("txt", "# Server\r\nversion:1\r\n")))
                    .isEqualTo("# Server\r\nversion:1\r\n\n");
        }

        @Test
        void bulkStringsAreQuotedWithRedisEscapes() {
            assertThat(RespFormatter.format(bulk("a\"b\\c\n\r\t\u0007\b\0\u007f\u00ff ~")))
                    .isEqualTo("\"a\\\"b\\\\c\\n\\r\\t\\a\\b\\x00\\x7f\\xff ~\"\n");
            assertThat(RespFormatter.format(new RespValue.BulkString("é".getBytes(StandardCharsets.UTF_8))))
                    .isEqualTo("\"\\xc3\\xa9\"\n");
        }

        @Test
        void arraysAreNumberedAndNestedOnesIndented() {
            assertThat(RespFormatter.format(array(bulk("a"), bulk("b")))).isEqualTo("1) \"a\"\n2) \"b\"\n");
            assertThat(RespFormatter.format(array(array(bulk("a"), array(integer(1), integer(2))), RespValue.NULL)))
                    .isEqualTo("""
                            1) 1) "a"
                               2) 1) (integer) 1
                                  2) (integer) 2
                            2) (nil)
                            """);
        }

        @Test
        void numbersAreRightAlignedToTheWidestIndex() {
            RespValue[] elements = new RespValue[10];
            for (int i = 0; i < elements.length; i++) {
                elements[i] = integer(i);
            }
            String formatted = RespFormatter.format(array(array(elements)));
            assertThat(formatted).startsWith("1)  1) (integer) 0\n    2) (integer) 1\n")
                    .endsWith("\n   10) (integer) 9\n");
        }

        @Test
        void mapsShowKeyAndValueOnOneLine() {
            assertThat(RespFormatter.format(map(bulk("server"), bulk("trellis"), bulk("proto"), integer(3),
                    bulk("modules"), array())))
                    .isEqualTo("""
                            1# "server" => "trellis"
                            2# "proto" => (integer) 3
                            3# "modules" => (empty array)
                            """);
        }

        @Test
        void setsAndPushes() {
            assertThat(RespFormatter.format(new RespValue.Set(List.of(bulk("x"), bulk("y")))))
                    .isEqualTo("1~ \"x\"\n2~ \"y\"\n");
            assertThat(RespFormatter.format(new RespValue.Push(List.of(bulk("message"), bulk("ch")))))
                    .isEqualTo("1) \"message\"\n2) \"ch\"\n");
        }

        @Test
        void emptyAggregatesAreNamed() {
            assertThat(RespFormatter.format(array())).isEqualTo("(empty array)\n");
            assertThat(RespFormatter.format(new RespValue.Set(List.of()))).isEqualTo("(empty set)\n");
            assertThat(RespFormatter.format(map())).isEqualTo("(empty hash)\n");
            assertThat(RespFormatter.format(new RespValue.Push(List.of()))).isEqualTo("(empty push)\n");
        }
    }

    @Nested
    class Raw {

        private String raw(RespValue v) {
            return new String(RespFormatter.formatRaw(v), StandardCharsets.ISO_8859_1);
        }

        @Test
        void scalarsAreBare() {
            assertThat(raw(new RespValue.SimpleString("OK"))).isEqualTo("OK\n");
            assertThat(raw(new RespValue.Error("ERR no"))).isEqualTo("ERR no\n");
            assertThat(raw(integer(3))).isEqualTo("3\n");
            assertThat(raw(RespValue.NULL)).isEqualTo("\n");
            assertThat(raw(new RespValue.Double(2.5))).isEqualTo("2.5\n");
            assertThat(raw(new RespValue.Boolean(true))).isEqualTo("(true)\n");
            assertThat(raw(new RespValue.BigNumber(BigInteger.TEN))).isEqualTo("10\n");
            assertThat(raw(new RespValue.Verbatim("txt", "a:b"))).isEqualTo("a:b\n");
        }

        @Test
        void bulkStringsAreTheirBytes() {
            assertThat(raw(bulk("a\r\n\0\u00ff"))).isEqualTo("a\r\n\0\u00ff\n");
        }

        @Test
        void aggregatesPutOneElementPerLine() {
            assertThat(raw(array(bulk("a"), array(bulk("b"), integer(1)), RespValue.NULL))).isEqualTo("a\nb\n1\n\n");
            assertThat(raw(new RespValue.Set(List.of(bulk("x"), bulk("y"))))).isEqualTo("x\ny\n");
            assertThat(raw(map(bulk("k1"), bulk("v1"), bulk("k2"), integer(2)))).isEqualTo("k1 v1\nk2 2\n");
            assertThat(raw(array())).isEqualTo("\n");
        }
    }
}
