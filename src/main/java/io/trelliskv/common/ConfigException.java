package io.trelliskv.common;

import java.util.function.UnaryOperator;

/**
 * A setting refused where a configuration value is built: it names the option, the value and what was
 * expected ({@code windowMillis: 0 (expected: >= 1)}), or, for a rule between two options, both of them
 * and the reason ({@code tombstoneGraceMillis 1h must be longer than windowMillis 3h, or ...}).
 *
 * <p>Options are named as the configuration records name their components; a front end with names of
 * its own (the command line's flags) renames them with {@link #renamed}, so the rule is written once and
 * the message still names what the user typed.
 */
public final class ConfigException extends IllegalArgumentException {

    private final String option;
    private final String value;
    private final String expected;
    private final String relation;
    private final String other;
    private final String otherValue;
    private final String reason;

    private ConfigException(String option, String value, String expected, String relation, String other,
                            String otherValue, String reason) {
        super(format(option, value, expected, relation, other, otherValue, reason));
        this.option = option;
        this.value = value;
        this.expected = expected;
        this.relation = relation;
        this.other = other;
        this.otherValue = otherValue;
        this.reason = reason;
    }

    /** A value out of its range: {@code option: value (expected: expected)}. */
    public static ConfigException outOfRange(String option, Object value, String expected) {
        return new ConfigException(option, String.valueOf(value), expected, null, null, null, null);
    }

    /**
     * Two options that do not agree: {@code option value relation other otherValue reason}, e.g.
     * {@code host 0.0.0.0 needs advertise: the address peers should use}; {@code otherValue} may be null,
     * and {@code reason} starts with its own punctuation.
     */
    public static ConfigException conflict(String option, String value, String relation, String other,
                                           String otherValue, String reason) {
        return new ConfigException(option, value, null, relation, other, otherValue, reason);
    }

    /**
     * A well-formed value that cannot be used, for a reason found outside the configuration:
     * {@code option value: reason}, e.g. {@code data directory /var/trellis: ... belongs to cluster 'alpha'}.
     */
    public static ConfigException unusable(String option, Object value, String reason) {
        return new ConfigException(option, String.valueOf(value), null, null, null, null, reason);
    }

    /** Throws {@link #outOfRange} unless {@code ok}. */
    public static void require(boolean ok, String option, Object value, String expected) {
        if (!ok) {
            throw outOfRange(option, value, expected);
        }
    }

    /** The option refused, as the configuration names it. */
    public String option() {
        return option;
    }

    /** The same refusal with the options named by {@code names} (an option it does not know stays as it is). */
    public ConfigException renamed(UnaryOperator<String> names) {
        ConfigException renamed = new ConfigException(names.apply(option), value, expected, relation,
                other == null ? null : names.apply(other), otherValue, reason);
        renamed.setStackTrace(getStackTrace());
        return renamed;
    }

    private static String format(String option, String value, String expected, String relation, String other,
                                 String otherValue, String reason) {
        if (relation == null) {
            return expected == null ? option + " " + value + ": " + reason
                    : option + ": " + value + " (expected: " + expected + ")";
        }
        return option + " " + value + " " + relation + " " + other + (otherValue == null ? "" : " " + otherValue)
                + reason;
    }
}
