package io.trelliskv.resp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits an inline request line (a command typed into telnet) into arguments exactly as Redis's
 * {@code sdssplitargs} (sds.c) does:
 * <ul>
 *   <li>arguments are separated by blanks (space, tab, CR, LF, vertical tab, form feed); an unquoted
 *       argument ends at a space, tab, CR or LF only;</li>
 *   <li>double quotes group text and understand {@code \n \r \t \b \a}, {@code \xHH} (one byte) and a
 *       backslash before any other character (that character);</li>
 *   <li>single quotes group text literally, with {@code \'} as their only escape;</li>
 *   <li>a closing quote must be followed by a blank or the end of the line;</li>
 *   <li>the line ends at its first NUL byte, because Redis splits it as a C string.</li>
 * </ul>
 * The server uses it for inline requests and {@code trellis-cli} for the lines typed at its prompt, so
 * a line means the same to both.
 */
public final class InlineSplitter {

    private InlineSplitter() {
    }

    /**
     * Returns the arguments of {@code line} (without its line terminator), none for a blank line, or
     * null if its quotes are unbalanced or a closing quote is followed by something other than a blank.
     */
    public static byte[][] split(byte[] line) {
        int end = 0;
        while (end < line.length && line[end] != 0) {
            end++;
        }
        List<byte[]> args = new ArrayList<>();
        byte[] arg = new byte[end]; // an argument is never longer than the line it comes from
        int p = 0;
        while (true) {
            while (p < end && isBlank(line[p])) {
                p++;
            }
            if (p == end) {
                return args.toArray(new byte[0][]);
            }
            int length = 0;
            boolean inDouble = false;
            boolean inSingle = false;
            boolean done = false;
            while (!done) {
                int c = at(line, end, p);
                if (inDouble) {
                    if (c == '\\' && at(line, end, p + 1) == 'x'
                            && isHex(at(line, end, p + 2)) && isHex(at(line, end, p + 3))) {
                        arg[length++] = (byte) (hex(line[p + 2]) * 16 + hex(line[p + 3]));
                        p += 3;
                    } else if (c == '\\' && p + 1 < end) {
                        p++;
                        arg[length++] = unescape(line[p]);
                    } else if (c == '"') {
                        if (!endsArgument(line, end, p + 1)) {
                            return null;
                        }
                        done = true;
                    } else if (p == end) {
                        return null;
                    } else {
                        arg[length++] = (byte) c;
                    }
                } else if (inSingle) {
                    if (c == '\\' && at(line, end, p + 1) == '\'') {
                        p++;
                        arg[length++] = '\'';
                    } else if (c == '\'') {
                        if (!endsArgument(line, end, p + 1)) {
                            return null;
                        }
                        done = true;
                    } else if (p == end) {
                        return null;
                    } else {
                        arg[length++] = (byte) c;
                    }
                } else {
                    switch (c) {
                        case ' ', '\n', '\r', '\t', 0 -> done = true;
                        case '"' -> inDouble = true;
                        case '\'' -> inSingle = true;
                        default -> arg[length++] = (byte) c;
                    }
                }
                if (p < end) {
                    p++;
                }
            }
            args.add(Arrays.copyOf(arg, length));
        }
    }

    /** The byte at {@code i} as 0..255, or 0 (C's string terminator) at or past {@code end}. */
    private static int at(byte[] line, int end, int i) {
        return i < end ? line[i] & 0xFF : 0;
    }

    /** What may follow a closing quote: a blank or the end of the line. */
    private static boolean endsArgument(byte[] line, int end, int i) {
        return i >= end || isBlank(line[i]);
    }

    /** C's {@code isspace} in the C locale. */
    private static boolean isBlank(int c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0B || c == '\f';
    }

    private static boolean isHex(int c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static int hex(byte c) {
        return Character.digit(c, 16);
    }

    private static byte unescape(byte c) {
        return switch (c) {
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'b' -> '\b';
            case 'a' -> 0x07;
            default -> c;
        };
    }
}
