package io.trelliskv.harness;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checks the counter workload's history ({@link CounterWorkload}): after the heal, every final read of a
 * counter key — at ALL, and at ONE through each live node — must be its base (0: the keys start missing)
 * plus the sum of the acknowledged increments plus the sum of some subset of the indeterminate ones
 * (TIMEOUT, TRYAGAIN, a lost connection: applied or not, once at most since no client sends one again).
 * Increments refused with UNAVAILABLE or CLUSTERDOWN count for nothing: the store promises it did nothing.
 *
 * <p>With positive amounts only, "some subset" is exactly the interval
 * {@code [acknowledged, acknowledged + indeterminate]}; with negative indeterminate amounts the interval
 * {@code [acknowledged + negatives, acknowledged + positives]} is what this class checks, a necessary
 * condition only (the workload sends positive amounts, so the check is exact for its histories).
 *
 * <p>Final reads are {@code final} lines with op {@code read} on a {@code c:} key; the session column names
 * the node read through ({@code n3}) and the level column the level. Besides the bound, every final read
 * of a key must give the same value: the replicas converged.
 *
 * <p>Reads during the run (at QUORUM or ALL) are held to the bound as it stood: at least the increments
 * acknowledged before the read began (a QUORUM increment is on a quorum, which a QUORUM read meets), at
 * most those acknowledged or indeterminate that began before it ended. No time margin is needed: a
 * counter's value does not depend on versions' order.
 */
final class CounterChecker {

    /** One key's increments and final reads. */
    record KeyTally(String key, long acknowledged, long acknowledgedCount, long indeterminatePositive,
                    long indeterminateNegative, long indeterminateCount, long failedCount, List<Op> finalReads) {

        /** The least final value the history allows. */
        long lower() {
            return acknowledged + indeterminateNegative;
        }

        /** The greatest final value the history allows. */
        long upper() {
            return acknowledged + indeterminatePositive;
        }
    }

    /** What the check found: per key, and the checks. */
    record Result(List<KeyTally> keys, long reads, long readsOutOfBound, List<Checker.Check> checks) {
    }

    private CounterChecker() {
    }

    /** Checks the increments and final reads of {@code ops}; {@code converged} as the harness's REPLICAS polling found. */
    static Result check(List<Op> ops, boolean converged, String convergenceDetail) {
        Map<String, List<Op>> byKey = new LinkedHashMap<>();
        for (Op o : ops) {
            if (o.key() != null && o.key().startsWith(CounterWorkload.KEY_PREFIX) && !o.client().equals("nemesis")) {
                byKey.computeIfAbsent(o.key(), k -> new ArrayList<>()).add(o);
            }
        }
        List<KeyTally> tallies = new ArrayList<>();
        List<String> outOfBound = new ArrayList<>();
        List<String> unreadable = new ArrayList<>();
        List<String> disagree = new ArrayList<>();
        List<String> readEx = new ArrayList<>();
        long reads = 0;
        long readsOut = 0;
        for (Map.Entry<String, List<Op>> e : byKey.entrySet()) {
            List<Op> runReads = e.getValue().stream().filter(o -> o.isRead() && !o.client().equals("final") && o.ok()
                    && !"ONE".equals(o.level())).toList();
            reads += runReads.size();
            readsOut += readsOutOfBound(e.getValue(), runReads, readEx);
            KeyTally t = tally(e.getKey(), e.getValue());
            tallies.add(t);
            String agreed = null;
            boolean differ = false;
            if (t.finalReads().isEmpty()) {
                Checker.example(unreadable, t.key() + ": no final read");
            }
            for (Op r : t.finalReads()) {
                if (!r.ok()) {
                    Checker.example(unreadable, r.line());
                    continue;
                }
                Long value = valueOf(r.value());
                if (value == null || value < t.lower() || value > t.upper()) {
                    Checker.example(outOfBound, String.format(Locale.ROOT,
                            "%s through %s at %s: %s, expected %d..%d (acknowledged %d, indeterminate +%d/%d)", t.key(),
                            r.session(), r.level(), r.value(), t.lower(), t.upper(), t.acknowledged(),
                            t.indeterminatePositive(), t.indeterminateNegative()));
                }
                String v = r.value() == null ? "nil" : r.value();
                differ |= agreed != null && !agreed.equals(v);
                agreed = agreed == null ? v : agreed;
            }
            if (differ) {
                Checker.example(disagree, t.key() + ": " + describeReads(t.finalReads()));
            }
        }
        List<Checker.Check> checks = new ArrayList<>();
        checks.add(new Checker.Check("counter: every final value = acknowledged + a subset of indeterminate increments",
                outOfBound.isEmpty(), String.join("\n", outOfBound)));
        checks.add(new Checker.Check("counter: final reads (ALL, and ONE through every node) all completed",
                unreadable.isEmpty(), String.join("\n", unreadable)));
        checks.add(new Checker.Check("counter: every node reads the same value", disagree.isEmpty(),
                String.join("\n", disagree)));
        checks.add(new Checker.Check("counter: reads during the run within [acknowledged before, begun before its end]",
                readsOut == 0, String.join("\n", readEx)));
        checks.add(new Checker.Check("counter: replicas converged after heal", converged, convergenceDetail));
        return new Result(List.copyOf(tallies), reads, readsOut, List.copyOf(checks));
    }

    /**
     * The reads of one key that fall outside their bound: below the sum of the increments acknowledged
     * before they began, or above the sum of the increments not refused that began before they ended
     * (bounds for positive amounts, which the workload sends).
     */
    static long readsOutOfBound(List<Op> kops, List<Op> reads, List<String> examples) {
        List<Op> acked = kops.stream().filter(o -> o.op().equals(CounterWorkload.INCR) && o.ok())
                .sorted(java.util.Comparator.comparingDouble(Op::end)).toList();
        List<Op> possible = kops.stream().filter(o -> o.op().equals(CounterWorkload.INCR) && o.result() != Op.Result.FAIL)
                .sorted(java.util.Comparator.comparingDouble(Op::start)).toList();
        double[] ackedEnds = acked.stream().mapToDouble(Op::end).toArray();
        long[] ackedSums = prefixSums(acked);
        double[] possibleStarts = possible.stream().mapToDouble(Op::start).toArray();
        long[] possibleSums = prefixSums(possible);
        long out = 0;
        for (Op r : reads) {
            long lower = ackedSums[countBelow(ackedEnds, r.start())];
            long upper = possibleSums[countAtMost(possibleStarts, r.end())];
            Long value = valueOf(r.value());
            if (value == null || value < lower || value > upper) {
                out++;
                Checker.example(examples, String.format(Locale.ROOT, "%s, expected %d..%d", r.line(), lower, upper));
            }
        }
        return out;
    }

    /** {@code sums[i]}: the amounts of the first {@code i} increments. */
    private static long[] prefixSums(List<Op> increments) {
        long[] sums = new long[increments.size() + 1];
        for (int i = 0; i < increments.size(); i++) {
            sums[i + 1] = sums[i] + Long.parseLong(increments.get(i).value());
        }
        return sums;
    }

    /** How many of the sorted {@code times} are below {@code t}. */
    private static int countBelow(double[] times, double t) {
        int lo = 0;
        int hi = times.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (times[mid] < t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** How many of the sorted {@code times} are at most {@code t}. */
    private static int countAtMost(double[] times, double t) {
        int lo = 0;
        int hi = times.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (times[mid] <= t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static KeyTally tally(String key, List<Op> kops) {
        long acked = 0;
        long ackedCount = 0;
        long indetPos = 0;
        long indetNeg = 0;
        long indetCount = 0;
        long failed = 0;
        List<Op> finals = new ArrayList<>();
        for (Op o : kops) {
            if (o.client().equals("final")) {
                finals.add(o);
            } else if (o.op().equals(CounterWorkload.INCR)) {
                long amount = Long.parseLong(o.value());
                switch (o.result()) {
                    case OK -> {
                        acked += amount;
                        ackedCount++;
                    }
                    case INFO -> {
                        indetCount++;
                        if (amount >= 0) {
                            indetPos += amount;
                        } else {
                            indetNeg += amount;
                        }
                    }
                    case FAIL -> failed++;
                }
            }
        }
        return new KeyTally(key, acked, ackedCount, indetPos, indetNeg, indetCount, failed, List.copyOf(finals));
    }

    /** A final read's value as a number: nil is 0 (the key counts from missing); null if not an integer. */
    private static Long valueOf(String value) {
        if (value == null) {
            return 0L;
        }
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** {@code n1=40 n2=40 all@n3=40}: each final read's node and value, for the report. */
    static String describeReads(List<Op> reads) {
        StringBuilder sb = new StringBuilder();
        for (Op r : reads) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(r.session()).append('=').append(r.ok() ? (r.value() == null ? "nil" : r.value()) : "error");
        }
        return sb.toString();
    }

    /** The summary's lines: per key, the increments' outcomes and the final value through each node. */
    static String report(Result result) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "counter reads:    %d during the run (QUORUM), %d outside their bound%n",
                result.reads(), result.readsOutOfBound()));
        for (KeyTally t : result.keys()) {
            sb.append(String.format(Locale.ROOT, "counter %-4s      acknowledged %d (%d increments), indeterminate %d "
                            + "(+%d), failed %d: allowed %d..%d; final %s%n", t.key(), t.acknowledged(), t.acknowledgedCount(),
                    t.indeterminateCount(), t.indeterminatePositive(), t.failedCount(), t.lower(), t.upper(),
                    describeReads(t.finalReads())));
        }
        return sb.toString();
    }
}
