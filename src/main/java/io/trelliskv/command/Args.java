package io.trelliskv.command;

import java.nio.charset.StandardCharsets;

/** Parsing of command arguments with Redis's rules and error texts. */
public final class Args {

    private Args() {
    }

    public static String str(byte[] arg) {
        return new String(arg, StandardCharsets.UTF_8);
    }

    public static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** True if {@code arg} equals {@code word} ignoring ASCII case. {@code word} is ASCII. */
    public static boolean is(byte[] arg, String word) {
        if (arg.length != word.length()) {
            return false;
        }
        for (int i = 0; i < arg.length; i++) {
            int a = arg[i];
            int w = word.charAt(i);
            if (a != w && !(Character.isLetter(w) && (a | 0x20) == (w | 0x20))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Parses a signed 64-bit decimal exactly as Redis's string2ll does: an optional '-', digits, no
     * '+', no spaces, no leading zeros (except "0" itself), no overflow. Throws
     * {@code ERR value is not an integer or out of range} otherwise.
     */
    public static long parseLong(byte[] arg) {
        int n = arg.length;
        if (n == 0 || n > 20) {
            throw CommandException.notInteger();
        }
        if (n == 1 && arg[0] == '0') {
            return 0;
        }
        int i = 0;
        boolean negative = arg[0] == '-';
        if (negative) {
            i = 1;
            if (n == 1) {
                throw CommandException.notInteger();
            }
        }
        if (arg[i] < '1' || arg[i] > '9') {
            throw CommandException.notInteger();
        }
        long v = 0; // accumulated negatively so that Long.MIN_VALUE parses
        for (; i < n; i++) {
            int d = arg[i] - '0';
            if (d < 0 || d > 9 || v < (Long.MIN_VALUE + d) / 10) {
                throw CommandException.notInteger();
            }
            v = v * 10 - d;
        }
        if (negative) {
            return v;
        }
        if (v == Long.MIN_VALUE) {
            throw CommandException.notInteger();
        }
        return -v;
    }

    /** Like {@link #parseLong} but with a caller-chosen error text. */
    public static long parseLong(byte[] arg, String error) {
        try {
            return parseLong(arg);
        } catch (CommandException e) {
            throw new CommandException(error);
        }
    }

    /** Returns true if {@code arg} is a valid string2ll integer. */
    public static boolean isLong(byte[] arg) {
        try {
            parseLong(arg);
            return true;
        } catch (CommandException e) {
            return false;
        }
    }

    /**
     * Redis's error for an expiry time that is not positive where it must be, or overflows once
     * converted to absolute milliseconds; {@code command} is the lowercase command name.
     */
    public static CommandException invalidExpireTime(String command) {
        return new CommandException("ERR invalid expire time in '" + command + "' command");
    }

    /** Parses an int with string2ll rules and range check. */
    public static int parseInt(byte[] arg) {
        long v = parseLong(arg);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw CommandException.notInteger();
        }
        return (int) v;
    }
}
