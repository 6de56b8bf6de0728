package io.trelliskv.cli;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits one interactive input line into command arguments the way redis-cli does (its
 * {@code sdssplitargs}), so lines copied between the two tools mean the same thing.
 *
 * <ul>
 *   <li>Arguments are separated by whitespace; an unquoted argument ends at a space, tab, CR or LF
 *       only (as in Redis, a vertical tab or form feed inside one is data).</li>
 *   <li>Double quotes group text and understand the escapes {@code \n \r \t \b \a}, {@code \xHH}
 *       (one byte, two hex digits) and backslash before any other character (that character).</li>
 *   <li>Single quotes group text literally; only {@code \'} is an escape.</li>
 *   <li>A closing quote must be followed by whitespace or the end of the line.</li>
 * </ul>
 *
 * <p>The line is handled as bytes, never decoded, so arguments are binary-safe and UTF-8 input passes
 * through unchanged. One difference from redis-cli, whose lines are C strings: a NUL byte is data,
 * not the end of the line.
 *
 * <p>The server's {@code io.trelliskv.resp.InlineSplitter} applies the same rules to inline requests;
 * it is package-private there, so the client keeps its own.
 */
final class ArgumentSplitter {

    private ArgumentSplitter() {
    }

    /**
     * Splits {@code line} (without its line terminator) into arguments; an empty or blank line gives
     * an empty list.
     *
     * @throws IllegalArgumentException if a quote is unbalanced or a closing quote is followed by
     *         something other than whitespace
     */
    static List<byte[]> split(byte[] line) {
        List<byte[]> args = new ArrayList<>();
        int i = 0;
        int n = line.length;
        while (true) {
            while (i < n && isSpace(line[i])) {
                i++;
            }
            if (i == n) {
                return args;
            }
            ByteArrayOutputStream arg = new ByteArrayOutputStream();
            boolean inDouble = false;
            boolean inSingle = false;
            boolean done = false;
            while (!done) {
                if (i == n) {
                    if (inDouble || inSingle) {
                        throw new IllegalArgumentException("unbalanced quotes");
                    }
                    break;
                }
                byte b = line[i];
                if (inDouble) {
                    if (b == '\\' && i + 3 < n && line[i + 1] == 'x' && isHex(line[i + 2]) && isHex(line[i + 3])) {
                        arg.write(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                        i += 3;
                    } else if (b == '\\' && i + 1 < n) {
                        i++;
                        arg.write(unescape(line[i]));
                    } else if (b == '"') {
                        requireSpaceAfterQuote(line, i);
                        done = true;
                    } else {
                        arg.write(b);
                    }
                } else if (inSingle) {
                    if (b == '\\' && i + 1 < n && line[i + 1] == '\'') {
                        i++;
                        arg.write('\'');
                    } else if (b == '\'') {
                        requireSpaceAfterQuote(line, i);
                        done = true;
                    } else {
                        arg.write(b);
                    }
                } else if (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
                    done = true;
                } else if (b == '"') {
                    inDouble = true;
                } else if (b == '\'') {
                    inSingle = true;
                } else {
                    arg.write(b);
                }
                i++;
            }
            args.add(arg.toByteArray());
        }
    }

    private static void requireSpaceAfterQuote(byte[] line, int quote) {
        if (quote + 1 < line.length && !isSpace(line[quote + 1])) {
            throw new IllegalArgumentException("closing quote must be followed by a space");
        }
    }

    private static int unescape(byte b) {
        return switch (b) {
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'b' -> '\b';
            case 'a' -> 7;
            default -> b;
        };
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == 0x0b || b == '\f';
    }

    private static boolean isHex(byte b) {
        return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
    }

    private static int hex(byte b) {
        return b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
    }
}
