package io.trelliskv.common;

import java.util.Locale;

/** Parsing and printing of byte sizes, with Redis's units. */
public final class Sizes {

    private Sizes() {
    }

    /**
     * Parses a size as Redis's configuration does: a plain number of bytes, or a number followed by
     * {@code k}/{@code m}/{@code g} (powers of 1000) or {@code kb}/{@code mb}/{@code gb} (powers of
     * 1024), case-insensitively: {@code 100mb}, {@code 2gb}, {@code 0}.
     *
     * @throws ParseException naming the value and the expected form
     */
    public static long parseBytes(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long unit = 1;
        String digits = t;
        String[][] units = {{"kb", "1024"}, {"mb", "1048576"}, {"gb", "1073741824"},
                {"k", "1000"}, {"m", "1000000"}, {"g", "1000000000"}, {"b", "1"}};
        for (String[] u : units) {
            if (t.endsWith(u[0])) {
                unit = Long.parseLong(u[1]);
                digits = t.substring(0, t.length() - u[0].length());
                break;
            }
        }
        try {
            long n = Long.parseLong(digits);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return Math.multiplyExact(n, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new ParseException("invalid size '" + s
                    + "' (expected: a number of bytes, optionally with a unit: 100mb, 2gb, 512kb)");
        }
    }

    /** Human-readable form as Redis's INFO prints it: {@code 1.23M}, {@code 512B}. */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + "B";
        }
        String units = "KMGTPE";
        double v = bytes;
        int i = -1;
        while (v >= 1024 && i < units.length() - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.2f%c", v, units.charAt(i));
    }
}
