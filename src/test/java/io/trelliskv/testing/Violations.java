package io.trelliskv.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Replies that differ from what a single Redis would have answered, counted over a whole run rather
 * than stopping at the first: how many there are tells a one-off race from a systematic reordering.
 * The first {@value #KEPT} are kept with their context; {@link #assertNone} prints the count and
 * those, then fails if there were any.
 */
public final class Violations {

    /** Violations kept with their description; the rest are only counted. */
    static final int KEPT = 10;

    private final String run;
    private final List<String> first = new ArrayList<>();
    private long checks;
    private long count;

    /** {@code run} names the run in the summary (the test and its seed, say). */
    public Violations(String run) {
        this.run = run;
    }

    /** Checks one reply: {@code what} is the command and its context, printed only if it is a violation. */
    public void expect(String what, Object expected, Object actual) {
        checks++;
        if (!Objects.equals(expected, actual)) {
            record(what + ": expected " + expected + ", got " + actual);
        }
    }

    /** Records a check that the caller made itself and found wrong. */
    public void add(String description) {
        checks++;
        record(description);
    }

    private void record(String description) {
        count++;
        if (first.size() < KEPT) {
            first.add(description);
        }
    }

    /** Counts a check that the caller made itself and found right. */
    public void passed() {
        checks++;
    }

    public long count() {
        return count;
    }

    /** Prints the summary (always, so a passing run shows what it checked), then fails on any violation. */
    public void assertNone() {
        assertNone(this);
    }

    /**
     * Prints the summaries of several runs that belong together (the replies of a pipeline and the state
     * it left, say), then fails if any of them found a violation.
     */
    public static void assertNone(Violations... runs) {
        StringBuilder summaries = new StringBuilder();
        long total = 0;
        for (Violations v : runs) {
            summaries.append(summaries.isEmpty() ? "" : "\n").append(v.summary());
            total += v.count;
        }
        System.out.println(summaries);
        assertThat(total).as(summaries.toString()).isZero();
    }

    private String summary() {
        StringBuilder summary = new StringBuilder(run).append(": ").append(count).append(" violations in ")
                .append(checks).append(" checks");
        if (!first.isEmpty()) {
            summary.append("; the first ").append(first.size()).append(':');
            first.forEach(v -> summary.append("\n  ").append(v));
        }
        return summary.toString();
    }
}
