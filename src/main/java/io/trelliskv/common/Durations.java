package io.trelliskv.common;

import java.time.Duration;

/**
 * Durations as people type and read them on the command line: a whole number with an optional unit
 * ({@code 500ms}, {@code 10s}, {@code 5m}, {@code 2h}, {@code 1d}); a bare number is seconds, as in
 * Redis's {@code EXPIRE}. Output goes the other way, from milliseconds to {@code 1h 2m 3.5s}.
 */
public final class Durations {

    /** Shown in error messages so a user sees what to type instead. */
    public static final String EXPECTED = "expected a positive whole number with an optional unit ms, s, m, h or d,"
            + " e.g. 500ms, 10s, 5m";

    private static final long SECOND = 1000;
    private static final long MINUTE = 60 * SECOND;
    private static final long HOUR = 60 * MINUTE;
    private static final long DAY = 24 * HOUR;

    private Durations() {
    }

    /**
     * Parses a positive duration.
     *
     * @throws ParseException naming the text and the accepted forms
     */
    public static Duration parse(String text) {
        int digits = 0;
        while (digits < text.length() && text.charAt(digits) >= '0' && text.charAt(digits) <= '9') {
            digits++;
        }
        if (digits == 0 || digits > 18) {
            throw bad(text);
        }
        long amount = Long.parseLong(text.substring(0, digits));
        long unitMillis = switch (text.substring(digits)) {
            case "ms" -> 1;
            case "", "s" -> SECOND;
            case "m" -> MINUTE;
            case "h" -> HOUR;
            case "d" -> DAY;
            default -> throw bad(text);
        };
        if (amount == 0) {
            throw bad(text);
        }
        try {
            return Duration.ofMillis(Math.multiplyExact(amount, unitMillis));
        } catch (ArithmeticException e) {
            throw bad(text);
        }
    }

    /**
     * Formats a non-negative number of milliseconds for people: {@code 998ms}, {@code 9.998s},
     * {@code 5m 3s}, {@code 1d 2h 0.5s}; zero parts are left out.
     */
    public static String formatMillis(long millis) {
        if (millis < SECOND) {
            return millis + "ms";
        }
        StringBuilder sb = new StringBuilder();
        long rest = millis;
        rest = appendPart(sb, rest, DAY, "d");
        rest = appendPart(sb, rest, HOUR, "h");
        rest = appendPart(sb, rest, MINUTE, "m");
        if (rest > 0) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(rest / SECOND);
            long fraction = rest % SECOND;
            if (fraction > 0) {
                String digits = String.format("%03d", fraction);
                sb.append('.').append(digits.replaceFirst("0+$", ""));
            }
            sb.append('s');
        }
        return sb.toString();
    }

    private static long appendPart(StringBuilder sb, long millis, long unit, String suffix) {
        if (millis >= unit) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(millis / unit).append(suffix);
        }
        return millis % unit;
    }

    private static ParseException bad(String text) {
        return new ParseException("bad duration '" + text + "' (" + EXPECTED + ")");
    }
}
