package io.trelliskv.resp;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Prints replies the way redis-cli does (its {@code cliFormatReplyTTY} and {@code cliFormatReplyRaw}),
 * so its users see familiar output.
 *
 * <p>{@link #format} is the terminal form: strings quoted with escapes ({@code "a\r\n"}), types named
 * ({@code (integer) 5}, {@code (nil)}, {@code (error) ERR ...}, {@code (double) 1.5}, {@code (true)}),
 * aggregates numbered and indented under their parent ({@code 1) "a"}, sets {@code 1~}, maps
 * {@code 1# "key" => value}). {@link #formatRaw} is the form for pipes and scripts, redis-cli's
 * {@code --raw}: bulk strings as their bytes, numbers bare, aggregate elements one per line, nil as an
 * empty line. Both end with a newline.
 *
 * <p>One deliberate difference: redis-cli's raw form prints an error followed by an empty line; here
 * it is one line like any other reply.
 */
public final class RespFormatter {

    private RespFormatter() {
    }

    /** The reply as redis-cli shows it on a terminal, ending with a newline. */
    public static String format(RespValue reply) {
        StringBuilder out = new StringBuilder();
        formatTty(out, reply, "");
        return out.toString();
    }

    /** The reply as {@code redis-cli --raw} prints it, ending with a newline. */
    public static byte[] formatRaw(RespValue reply) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        formatRaw(out, reply);
        out.write('\n');
        return out.toByteArray();
    }

    /** Appends {@code v}; {@code prefix} indents the second and later lines of an aggregate. */
    private static void formatTty(StringBuilder out, RespValue v, String prefix) {
        if (v instanceof RespValue.SimpleString s) {
            out.append(s.value()).append('\n');
        } else if (v instanceof RespValue.Error e) {
            out.append("(error) ").append(e.message()).append('\n');
        } else if (v instanceof RespValue.Integer i) {
            out.append("(integer) ").append(i.value()).append('\n');
        } else if (v instanceof RespValue.BulkString b) {
            quote(out, b.value());
            out.append('\n');
        } else if (v instanceof RespValue.Null) {
            out.append("(nil)\n");
        } else if (v instanceof RespValue.Double d) {
            out.append("(double) ").append(RespWriter.formatDouble(d.value())).append('\n');
        } else if (v instanceof RespValue.Boolean b) {
            out.append(b.value() ? "(true)\n" : "(false)\n");
        } else if (v instanceof RespValue.BigNumber n) {
            out.append("(big number) ").append(n.value()).append('\n');
        } else if (v instanceof RespValue.Verbatim t) {
            out.append(t.text()).append('\n');
        } else if (v instanceof RespValue.Array a) {
            formatElements(out, a.elements(), ')', "(empty array)", prefix);
        } else if (v instanceof RespValue.Set s) {
            formatElements(out, s.elements(), '~', "(empty set)", prefix);
        } else if (v instanceof RespValue.Push p) {
            formatElements(out, p.elements(), ')', "(empty push)", prefix);
        } else if (v instanceof RespValue.Map m) {
            formatEntries(out, m.entries(), prefix);
        }
    }

    private static void formatElements(StringBuilder out, List<RespValue> elements, char mark, String empty,
                                       String prefix) {
        if (elements.isEmpty()) {
            out.append(empty).append('\n');
            return;
        }
        int width = digits(elements.size());
        String inner = prefix + " ".repeat(width + 2);
        for (int i = 0; i < elements.size(); i++) {
            index(out, i, width, mark, prefix);
            formatTty(out, elements.get(i), inner);
        }
    }

    private static void formatEntries(StringBuilder out, List<RespValue.Map.Entry> entries, String prefix) {
        if (entries.isEmpty()) {
            out.append("(empty hash)\n");
            return;
        }
        int width = digits(entries.size());
        String inner = prefix + " ".repeat(width + 2);
        for (int i = 0; i < entries.size(); i++) {
            index(out, i, width, '#', prefix);
            formatTty(out, entries.get(i).key(), inner);
            out.setLength(out.length() - 1); // the key's newline
            out.append(" => ");
            formatTty(out, entries.get(i).value(), inner);
        }
    }

    /**
     * Writes element {@code i}'s number, right-aligned to {@code width}, and its mark. The first
     * element's line was started by the parent (after its own number), so it gets no prefix.
     */
    private static void index(StringBuilder out, int i, int width, char mark, String prefix) {
        if (i > 0) {
            out.append(prefix);
        }
        String number = Integer.toString(i + 1);
        out.append(" ".repeat(width - number.length())).append(number).append(mark).append(' ');
    }

    private static int digits(int n) {
        return Integer.toString(n).length();
    }

    /** Redis's {@code sdscatrepr}: double quotes, C escapes, {@code \xHH} for other unprintable bytes. */
    private static void quote(StringBuilder out, byte[] bytes) {
        out.append('"');
        for (byte b : bytes) {
            switch (b) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case 0x07 -> out.append("\\a");
                case '\b' -> out.append("\\b");
                default -> {
                    if (b >= 0x20 && b < 0x7F) {
                        out.append((char) b);
                    } else {
                        out.append(String.format("\\x%02x", b & 0xFF));
                    }
                }
            }
        }
        out.append('"');
    }

    private static void formatRaw(ByteArrayOutputStream out, RespValue v) {
        if (v instanceof RespValue.SimpleString s) {
            utf8(out, s.value());
        } else if (v instanceof RespValue.Error e) {
            utf8(out, e.message());
        } else if (v instanceof RespValue.Integer i) {
            utf8(out, Long.toString(i.value()));
        } else if (v instanceof RespValue.BulkString b) {
            out.writeBytes(b.value());
        } else if (v instanceof RespValue.Double d) {
            utf8(out, RespWriter.formatDouble(d.value()));
        } else if (v instanceof RespValue.Boolean b) {
            utf8(out, b.value() ? "(true)" : "(false)");
        } else if (v instanceof RespValue.BigNumber n) {
            utf8(out, n.value().toString());
        } else if (v instanceof RespValue.Verbatim t) {
            utf8(out, t.text());
        } else if (v instanceof RespValue.Array a) {
            formatRawElements(out, a.elements());
        } else if (v instanceof RespValue.Set s) {
            formatRawElements(out, s.elements());
        } else if (v instanceof RespValue.Push p) {
            formatRawElements(out, p.elements());
        } else if (v instanceof RespValue.Map m) {
            for (int i = 0; i < m.entries().size(); i++) {
                if (i > 0) {
                    out.write('\n');
                }
                formatRaw(out, m.entries().get(i).key());
                out.write(' ');
                formatRaw(out, m.entries().get(i).value());
            }
        }
        // RespValue.Null prints as nothing.
    }

    private static void formatRawElements(ByteArrayOutputStream out, List<RespValue> elements) {
        for (int i = 0; i < elements.size(); i++) {
            if (i > 0) {
                out.write('\n');
            }
            formatRaw(out, elements.get(i));
        }
    }

    private static void utf8(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }
}
