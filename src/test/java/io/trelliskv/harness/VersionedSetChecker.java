package io.trelliskv.harness;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Checks the versioned workload's history ({@link VersionedSetWorkload}). Elements are only ever added:
 * every VSET writes the union of the siblings it read plus one new element, and replaces only what its
 * context saw. So after the heal each key's final VGET — at ALL, and at ONE through each live node —
 * merged over its siblings must hold every element whose VSET was acknowledged (none lost), and no
 * element that was never written or whose VSET the store refused before doing anything (UNAVAILABLE,
 * CLUSTERDOWN, too many siblings). Indeterminate elements (TIMEOUT, TRYAGAIN, a lost connection) may or
 * may not be there. Every final read of a key must hold the same elements: the replicas converged.
 *
 * <p>Final reads are {@code final} lines with op {@code vget}; their value is the siblings separated by
 * {@code |} (nil: no sibling), the session column names the node read through.
 *
 * <p>During the run the clients check each VGET against the elements acknowledged before it began and
 * record how many it lacks ({@code missing=K} in a {@code vget} line); any such VGET fails a check.
 */
final class VersionedSetChecker {

    /** Separates the siblings in a final VGET's value. */
    static final String SIBLING_SEPARATOR = "|";

    /**
     * What the history shows, over all keys: elements by outcome, those lost (missing from at least one final
     * read) and the phantoms (counted per final read), the
     * indeterminate elements found at the end, and siblings (most in one read during the run, reads that
     * saw more than one, most in one final read).
     */
    record Result(long acknowledged, long indeterminate, long failed, long lost, long phantoms,
                  long indeterminatePresent, long keys, long reads, long readsWithSiblings, long maxSiblings,
                  long maxFinalSiblings, long readsMissing, List<Checker.Check> checks) {
    }

    private VersionedSetChecker() {
    }

    static Result check(List<Op> ops, boolean converged, String convergenceDetail) {
        Map<String, List<Op>> byKey = new LinkedHashMap<>();
        for (Op o : ops) {
            if (o.key() != null && o.key().startsWith(VersionedSetWorkload.KEY_PREFIX) && !o.client().equals("nemesis")) {
                byKey.computeIfAbsent(o.key(), k -> new ArrayList<>()).add(o);
            }
        }
        long acknowledged = 0;
        long indeterminate = 0;
        long failed = 0;
        long lost = 0;
        long phantoms = 0;
        long indeterminatePresent = 0;
        long reads = 0;
        long readsWithSiblings = 0;
        long maxSiblings = 0;
        long maxFinalSiblings = 0;
        long readsMissing = 0;
        List<String> missingEx = new ArrayList<>();
        List<String> lostEx = new ArrayList<>();
        List<String> phantomEx = new ArrayList<>();
        List<String> unreadableEx = new ArrayList<>();
        List<String> disagreeEx = new ArrayList<>();
        for (Map.Entry<String, List<Op>> e : byKey.entrySet()) {
            String key = e.getKey();
            Set<String> acked = new HashSet<>();
            Set<String> indet = new HashSet<>();
            Map<String, Op> adds = new LinkedHashMap<>();
            List<Op> finals = new ArrayList<>();
            for (Op o : e.getValue()) {
                if (o.client().equals("final")) {
                    finals.add(o);
                } else if (o.op().equals(VersionedSetWorkload.VADD)) {
                    adds.put(o.value(), o);
                    switch (o.result()) {
                        case OK -> acked.add(o.value());
                        case INFO -> indet.add(o.value());
                        case FAIL -> failed++;
                    }
                } else if (o.op().equals(VersionedSetWorkload.VGET) && o.ok()) {
                    reads++;
                    Map<String, Long> counts = Checker.counts(o.value());
                    long siblings = counts.getOrDefault("siblings", 0L);
                    if (counts.getOrDefault("missing", 0L) > 0) {
                        readsMissing++;
                        Checker.example(missingEx, o.line());
                    }
                    maxSiblings = Math.max(maxSiblings, siblings);
                    readsWithSiblings += siblings > 1 ? 1 : 0;
                }
            }
            acknowledged += acked.size();
            indeterminate += indet.size();
            if (finals.isEmpty()) {
                Checker.example(unreadableEx, key + ": no final VGET");
            }
            Set<String> agreed = null;
            boolean differ = false;
            Set<String> present = new HashSet<>();
            Set<String> lostHere = new HashSet<>();
            for (Op r : finals) {
                if (!r.ok()) {
                    Checker.example(unreadableEx, r.line());
                    continue;
                }
                List<String> siblings = siblings(r.value());
                maxFinalSiblings = Math.max(maxFinalSiblings, siblings.size());
                Set<String> elements = VersionedSetWorkload.union(siblings);
                present.addAll(elements);
                for (String a : acked) {
                    if (!elements.contains(a) && lostHere.add(a)) {
                        Checker.example(lostEx, "acknowledged " + adds.get(a).line() + " / missing from the final VGET of "
                                + key + " through " + r.session() + " at " + r.level() + " (" + siblings.size() + " siblings, "
                                + elements.size() + " elements)");
                    }
                }
                for (String element : elements) {
                    Op add = adds.get(element);
                    if (add == null || add.result() == Op.Result.FAIL) {
                        phantoms++;
                        Checker.example(phantomEx, key + " through " + r.session() + ": element " + element
                                + (add == null ? " never written" : " from the refused " + add.line()));
                    }
                }
                differ |= agreed != null && !agreed.equals(elements);
                agreed = agreed == null ? elements : agreed;
            }
            if (differ) {
                Checker.example(disagreeEx, key + ": " + finalSizes(finals));
            }
            lost += lostHere.size();
            for (String i : indet) {
                indeterminatePresent += present.contains(i) ? 1 : 0;
            }
        }
        List<Checker.Check> checks = new ArrayList<>();
        checks.add(new Checker.Check("versioned: acknowledged elements lost = 0 (every final VGET, siblings merged)",
                lost == 0, String.join("\n", lostEx)));
        checks.add(new Checker.Check("versioned: every VGET of the run holds the elements acknowledged before it began",
                readsMissing == 0, String.join("\n", missingEx)));
        checks.add(new Checker.Check("versioned: no phantom elements (never written, or refused)", phantoms == 0,
                String.join("\n", phantomEx)));
        checks.add(new Checker.Check("versioned: final VGETs (ALL, and ONE through every node) all completed",
                unreadableEx.isEmpty(), String.join("\n", unreadableEx)));
        checks.add(new Checker.Check("versioned: every node reads the same elements", disagreeEx.isEmpty(),
                String.join("\n", disagreeEx)));
        checks.add(new Checker.Check("versioned: replicas converged after heal", converged, convergenceDetail));
        return new Result(acknowledged, indeterminate, failed, lost, phantoms, indeterminatePresent, byKey.size(), reads,
                readsWithSiblings, maxSiblings, maxFinalSiblings, readsMissing, List.copyOf(checks));
    }

    /** A final VGET's value split into its siblings; none for nil. */
    static List<String> siblings(String value) {
        return value == null ? List.of() : Arrays.asList(value.split(java.util.regex.Pattern.quote(SIBLING_SEPARATOR), -1));
    }

    /** {@code n1=2/40 n2=1/40}: each final read's node, siblings and elements. */
    private static String finalSizes(List<Op> finals) {
        StringBuilder sb = new StringBuilder();
        for (Op r : finals) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            List<String> s = siblings(r.value());
            sb.append(r.session()).append('=').append(r.ok() ? s.size() + "/" + VersionedSetWorkload.union(s).size() : "error");
        }
        return sb.toString();
    }

    /** The summary's lines. */
    static String report(Result r) {
        return String.format(Locale.ROOT, "versioned:        %d keys; elements acknowledged %d, indeterminate %d (%d of them "
                        + "present at the end), failed %d%n", r.keys(), r.acknowledged(), r.indeterminate(),
                r.indeterminatePresent(), r.failed())
                + String.format(Locale.ROOT, "                  lost %d, phantoms %d; siblings: %d of %d VGETs saw more than one "
                        + "(most %d), most in a final VGET %d; %d VGETs lacked an element acknowledged before them%n",
                r.lost(), r.phantoms(), r.readsWithSiblings(), r.reads(), r.maxSiblings(), r.maxFinalSiblings(),
                r.readsMissing());
    }
}
