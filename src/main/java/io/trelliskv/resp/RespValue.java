package io.trelliskv.resp;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * A server reply as a client sees it: one record per RESP2 and RESP3 type, named as in the RESP3
 * specification. {@link RespReplyReader} produces them and {@link RespFormatter} prints them.
 *
 * <p>Some names are also names of {@code java.lang} and {@code java.util} types ({@code Integer},
 * {@code Double}, {@code Boolean}, {@code Map}, {@code Set}); refer to the records qualified, as
 * {@code RespValue.Integer}, and never import them.
 *
 * <p>Lists are immutable. Attributes ({@code |}) are metadata about the reply that follows them; the
 * reader skips them, so they have no record.
 */
public sealed interface RespValue {

    /** RESP2's null bulk string ({@code $-1}) and null array ({@code *-1}), and RESP3's null ({@code _}). */
    Null NULL = new Null();

    /** {@code +OK}. */
    record SimpleString(String value) implements RespValue {
    }

    /** {@code -ERR ...} or a RESP3 bulk error {@code !}; the message starts with the error code. */
    record Error(String message) implements RespValue {
    }

    /** {@code :42}. */
    record Integer(long value) implements RespValue {
    }

    /** {@code $5\r\nhello}: binary-safe bytes. Equal to another bulk string with the same bytes. */
    record BulkString(byte[] value) implements RespValue {

        @Override
        public boolean equals(Object o) {
            return o instanceof BulkString other && Arrays.equals(value, other.value);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return "BulkString[" + HexFormat.of().formatHex(value) + "]";
        }
    }

    /** {@code *n}. */
    record Array(List<RespValue> elements) implements RespValue {
        public Array {
            elements = List.copyOf(elements);
        }
    }

    /** See {@link #NULL}. */
    record Null() implements RespValue {
    }

    /** RESP3 {@code ,1.5}, {@code ,inf}, {@code ,nan}. */
    record Double(double value) implements RespValue {
    }

    /** RESP3 {@code #t} or {@code #f}. */
    record Boolean(boolean value) implements RespValue {
    }

    /** RESP3 {@code (} an integer of any size. */
    record BigNumber(BigInteger value) implements RespValue {
    }

    /** RESP3 {@code =}: text meant for people, with its three-letter format ({@code txt}, {@code mkd}). */
    record Verbatim(String format, String text) implements RespValue {
    }

    /** RESP3 {@code %n}: n key/value pairs in the order the server sent them. */
    record Map(List<Entry> entries) implements RespValue {
        public Map {
            entries = List.copyOf(entries);
        }

        public record Entry(RespValue key, RespValue value) {
        }
    }

    /** RESP3 {@code ~n}. */
    record Set(List<RespValue> elements) implements RespValue {
        public Set {
            elements = List.copyOf(elements);
        }
    }

    /** RESP3 {@code >n}: out-of-band data (a pub/sub message, an invalidation), not a reply to a command. */
    record Push(List<RespValue> elements) implements RespValue {
        public Push {
            elements = List.copyOf(elements);
        }
    }
}
