package io.trelliskv.harness;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a history and decides, check by check, whether the store kept its promises.
 *
 * <h2>Ordering writes without seeing versions</h2>
 * GET does not return the version the store stamped, so the checker orders two writes of a key only
 * when real time forces their versions' order: a version is the coordinator's hybrid logical clock,
 * which is never behind the coordinator's wall clock and never ahead of the fastest wall clock by more
 * than {@code --max-clock-drift} (replicas refuse versions further ahead). All nodes share this machine's
 * clock, shifted only by the nemesis's offsets. So if acknowledged write A ended more than
 * {@link #margin} before write B started, A's version is below B's. An indeterminate write is never
 * ordered before anything: it may take effect at any later time. The check never accuses the store wrongly; it misses
 * anomalies smaller than the margin.
 *
 * <h2>Checks</h2>
 * <ul>
 * <li>set: every acknowledged write is there in the final read at ALL (lost = 0), with its value;</li>
 * <li>set, register, delete, TTL: every final read completed;</li>
 * <li>no phantom (a value no client wrote, read before it was written, or whose write failed with
 *     UNAVAILABLE or CLUSTERDOWN, which promise that nothing was done);</li>
 * <li>register: no stale read — a read at QUORUM or ALL that started after a QUORUM write was
 *     acknowledged returns that write or one not certainly older (the final reads at ALL count, so this
 *     also checks that the converged value is not older than an acknowledged write);</li>
 * <li>register: read-your-writes — a client's read returns its own last acknowledged write of the key
 *     or one not certainly older, at any level;</li>
 * <li>register: replicas converged within the bound, after the heal;</li>
 * <li>delete: no read that started after an acknowledged DEL returns the value;</li>
 * <li>TTL: no read that started after the key certainly expired returns the value;</li>
 * <li>under {@code --sloppy-quorum}, where a write acknowledged with hints need not be on the replicas a later
 *     QUORUM read reaches: the stale-read rule holds only for the final reads at ALL, the delete rule only for
 *     the deleting connection's reads and the final reads; the other reads that break them are counted;</li>
 * <li>pipelined (when the run had {@link PipelinedClient}s): no reply contradicted what the client's own
 *     earlier commands imply — the clients check each reply as it arrives and record a
 *     {@code pipe-violation} line for each that does not; and each key's final read at ALL equals the
 *     value its client's model holds for certain at the end.</li>
 * </ul>
 * The pipelined clients' lines and keys ({@code p:}) take no part in the other checks and counts, nor
 * do the counter ({@code c:}) and versioned ({@code v:}) workloads', which have checkers of their own.
 *
 * <h2>Kill-alls</h2>
 * A {@code kill-all} nemesis line ({@link PowerCut}) SIGKILLed every node at once; it names the nodes'
 * {@code --appendfsync}. Under {@code always} an acknowledged write is on W disks, so a kill-all may lose
 * nothing and every check stays as it is. Under {@code everysec} a node may lose what it acknowledged in
 * about the last second ({@link #EVERYSEC_LOSS_WINDOW_MILLIS} with slack), under {@code no} anything: a
 * write acknowledged in that window before a kill-all may be gone after it. Such a lost set write, a
 * register read that misses only such writes, and a deleted key that comes back because only such a delete
 * removed it are counted ({@link CutLosses}), not failed; a lost write acknowledged before the window
 * still fails its check.
 */
final class Checker {

    /** One check's outcome: its name, whether it passed, and a few lines of evidence. */
    record Check(String name, boolean passed, String detail) {
    }

    /**
     * What the pipelined clients saw, summed over their {@code pipeline} lines (see {@link PipelinedClient}),
     * and how their keys' final reads compared with the models.
     *
     * @param faults        commands answered by an error that is no answer about the key, or not answered
     * @param unchecked     replies on a key abandoned earlier in the same batch
     * @param lostBlindSets replies explained only by a SET that lost to an older value during a clock fault (allowed)
     * @param finalEqual    keys whose model was certain at the end and whose final read returned that value
     * @param finalWrong    keys whose final read differs from the certain model, or did not complete
     * @param finalUncertain keys whose model was not certain at the end (not checked)
     */
    record Pipelined(long pipelines, long commands, long checked, long violations, long faults, long unchecked,
                     long abandoned, long lostBlindSets, long finalEqual, long finalWrong, long finalUncertain) {
    }

    /**
     * Everysec's promise: a node forces its log at least once a second, so a kill loses at most what it
     * acknowledged in about the last second. The slack covers a force's own time and the scheduling of
     * five JVMs on two cores; a write whose client saw the acknowledgement this long before a kill-all
     * began must survive it.
     */
    static final double EVERYSEC_LOSS_WINDOW_MILLIS = 1_000 + 500;
    /** How long after a kill-all's last SIGKILL a client may still record an acknowledgement sent before it. */
    static final double CUT_REPLY_SLACK_MILLIS = 500;

    /**
     * A kill-all: every node SIGKILLed, from {@code start} to {@code end} (history ms), running with
     * {@code --appendfsync fsync}.
     */
    record PowerCut(double start, double end, String fsync) {

        private static final java.util.regex.Pattern LINE = java.util.regex.Pattern.compile("^kill-all: .*appendfsync (\\w+)");

        /** The kill-alls of a history, in order: the nemesis's {@code start} lines that begin {@code kill-all: }. */
        static List<PowerCut> of(List<Op> ops) {
            List<PowerCut> cuts = new ArrayList<>();
            for (Op o : ops) {
                if (o.client().equals("nemesis") && o.op().equals("start") && o.value() != null) {
                    java.util.regex.Matcher m = LINE.matcher(o.value());
                    if (m.find()) {
                        cuts.add(new PowerCut(o.start(), o.end(), m.group(1)));
                    }
                }
            }
            cuts.sort(Comparator.comparingDouble(PowerCut::start));
            return cuts;
        }

        /** How long before the kill an acknowledged write may be lost: negative for none (always). */
        double lossWindow() {
            return switch (fsync) {
                case "always" -> -1;
                case "everysec" -> EVERYSEC_LOSS_WINDOW_MILLIS;
                default -> Double.POSITIVE_INFINITY;
            };
        }

        /** Whether this kill-all may have lost acknowledged write {@code w}. */
        boolean mayLose(Op w) {
            double window = lossWindow();
            return window >= 0 && w.ok() && w.end() >= start - window && w.end() <= end + CUT_REPLY_SLACK_MILLIS;
        }
    }

    /**
     * What kill-alls cost: the acknowledged set writes lost (each with when it was acknowledged relative to
     * the next kill-all), and how many lost ones fall within the policy's window (allowed) or before it
     * (a violation, counted by the set check too); register reads older than an acknowledged write that
     * only a kill-all explains; deleted keys read again after a kill-all undid their delete.
     */
    record CutLosses(int cuts, String fsync, long lostWithin, long lostOutside, long staleAllowed,
                     long reappearedAllowed, List<String> lostWrites) {
    }

    /** What the run measured besides the checks. */
    record Summary(long operations, long acknowledged, long failed, long indeterminate, long lost, long stale,
                   long phantoms, long rywViolations, long reappeared, long expiredSeen, long finalUnreadable,
                   long lateIndeterminate, Pipelined pipelined, List<Check> checks, CutLosses cutLosses) {

        /**
         * The summary of a run of the counter or versioned workload: its counts and its own checks; the
         * other workloads' counts are zero.
         */
        static Summary of(long operations, long acknowledged, long failed, long indeterminate, long finalUnreadable,
                          List<Check> checks) {
            return new Summary(operations, acknowledged, failed, indeterminate, 0, 0, 0, 0, 0, 0, finalUnreadable, 0,
                    new Pipelined(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), checks,
                    new CutLosses(0, null, 0, 0, 0, 0, List.of()));
        }

        long passed() {
            return checks.stream().filter(Check::passed).count();
        }

        long violations() {
            return checks.size() - passed();
        }
    }

    /** How much a version may be out of real-time order, in ms (see the class comment). */
    private final double margin;
    /** Whether the nodes ran with {@code --sloppy-quorum} (see the constructor). */
    private final boolean sloppyQuorum;
    /**
     * Reads at QUORUM/ALL that returned an indeterminate write although a write acknowledged after it
     * (by more than the margin) came before the read: the indeterminate write took effect late.
     */
    private long lateIndeterminate;
    /** The history's kill-alls, set by {@link #check}. */
    private List<PowerCut> cuts = List.of();
    private long staleAllowed;
    /** Under --sloppy-quorum: clients' stale QUORUM reads, allowed (see the constructor). */
    private long sloppyStale;

    /**
     * @param maxDriftMillis  the nodes' --max-clock-drift
     * @param maxOffsetMillis the largest clock offset the nemesis applied
     */
    Checker(long maxDriftMillis, long maxOffsetMillis) {
        this(maxDriftMillis, maxOffsetMillis, false);
    }

    /**
     * @param sloppyQuorum whether the nodes ran with {@code --sloppy-quorum}: a write acknowledged with hints
     *                     for down replicas need not be on any replica a later QUORUM read reaches, so reads of
     *                     other connections are not held to the stale-read and delete rules (the checks' names
     *                     count them); read-your-writes per connection, lost writes, the final reads and
     *                     convergence are checked as always
     */
    Checker(long maxDriftMillis, long maxOffsetMillis, boolean sloppyQuorum) {
        this.margin = maxDriftMillis + 2.0 * maxOffsetMillis + 250;
        this.sloppyQuorum = sloppyQuorum;
    }

    double margin() {
        return margin;
    }

    /**
     * Checks {@code ops}; {@code converged} is whether every register's replicas agreed before the bound.
     */
    Summary check(List<Op> ops, boolean converged, String convergenceDetail) {
        List<Op> client = ops.stream().filter(o -> !o.client().equals("nemesis") && !pipelined(o) && !causal(o)).toList();
        long acknowledged = client.stream().filter(Op::ok).count();
        long failed = client.stream().filter(o -> o.result() == Op.Result.FAIL).count();
        long indeterminate = client.stream().filter(o -> o.result() == Op.Result.INFO).count();
        Map<String, List<Op>> byKey = new LinkedHashMap<>();
        for (Op o : client) {
            byKey.computeIfAbsent(o.key(), k -> new ArrayList<>()).add(o);
        }
        List<Check> checks = new ArrayList<>();
        cuts = PowerCut.of(ops);
        staleAllowed = 0;
        sloppyStale = 0;
        long lostWithin = 0;
        long reappearedAllowed = 0;
        List<String> lostWrites = new ArrayList<>();

        long lost = 0;
        long unreadable = 0;
        List<String> lostEx = new ArrayList<>();
        long stale = 0;
        List<String> staleEx = new ArrayList<>();
        lateIndeterminate = 0;
        long phantoms = 0;
        List<String> phantomEx = new ArrayList<>();
        long ryw = 0;
        List<String> rywEx = new ArrayList<>();
        long reappeared = 0;
        long sloppyReappeared = 0;
        List<String> reappearedEx = new ArrayList<>();
        long expired = 0;
        List<String> expiredEx = new ArrayList<>();
        List<String> unreadableEx = new ArrayList<>();

        for (Map.Entry<String, List<Op>> e : byKey.entrySet()) {
            String key = e.getKey();
            List<Op> kops = e.getValue();
            Op finalRead = kops.stream().filter(o -> o.client().equals("final")).findFirst().orElse(null);
            if (finalRead == null || !finalRead.ok()) {
                unreadable++;
                example(unreadableEx, key + ": " + (finalRead == null ? "no final read" : finalRead.error()));
            }
            Map<String, Op> writes = new HashMap<>();
            for (Op o : kops) {
                if (o.isWrite()) {
                    writes.put(o.value(), o);
                }
            }
            // Phantoms: any read of any family that returns a value never written, or before it was written.
            for (Op r : kops) {
                if (r.isRead() && r.ok() && r.value() != null) {
                    Op w = writes.get(r.value());
                    if (w == null || w.start() > r.end() || w.result() == Op.Result.FAIL) {
                        phantoms++;
                        example(phantomEx, r.line());
                    }
                }
            }
            if (key.startsWith("s:")) {
                Op w = kops.stream().filter(Op::isWrite).findFirst().orElse(null);
                if (w != null && w.ok() && finalRead != null && finalRead.ok() && !w.value().equals(finalRead.value())) {
                    lost++;
                    PowerCut cut = cuts.stream().filter(c -> c.mayLose(w)).findFirst().orElse(null);
                    if (cut != null) {
                        lostWithin++;
                    } else {
                        example(lostEx, "acknowledged " + w.line() + " / final " + finalRead.line());
                    }
                    if (!cuts.isEmpty() && lostWrites.size() < 50) {
                        lostWrites.add(describeLoss(w, finalRead, cut));
                    }
                }
            } else if (key.startsWith("r:")) {
                stale += staleReads(kops, writes, staleEx);
                ryw += readYourWrites(kops, writes, rywEx);
            } else if (key.startsWith("d:")) {
                Op del = kops.stream().filter(o -> o.op().equals("delete") && o.ok()).findFirst().orElse(null);
                if (del != null) {
                    for (Op r : kops) {
                        if (r.isRead() && r.ok() && r.value() != null && r.start() > del.end()) {
                            if (lostBefore(del, r.start())) {
                                reappearedAllowed++; // the delete itself was lost at a kill-all
                            } else if (sloppyQuorum && !r.client().equals("final")
                                    && (r.session() == null || !r.session().equals(del.session()))) {
                                sloppyReappeared++; // another connection's read need not reach the delete's copies
                            } else {
                                reappeared++;
                                example(reappearedEx, "deleted by " + del.line() + " / then read " + r.line());
                            }
                        }
                    }
                }
            } else if (key.startsWith("t:")) {
                Op w = kops.stream().filter(Op::isWrite).findFirst().orElse(null);
                if (w != null && w.ok()) {
                    double expiredBy = w.end() + w.ttl() + margin;
                    for (Op r : kops) {
                        if (r.isRead() && r.ok() && r.value() != null && r.start() > expiredBy) {
                            expired++;
                            example(expiredEx, "written " + w.line() + " / read " + r.line());
                        }
                    }
                }
            }
        }
        boolean lossAllowed = cuts.stream().anyMatch(c -> c.lossWindow() >= 0);
        checks.add(new Check("set: acknowledged writes lost = 0" + (lossAllowed
                ? " (but those acknowledged within the --appendfsync loss window before a kill-all)" : ""),
                lost - lostWithin == 0, String.join("\n", lostEx)));
        checks.add(new Check("final reads at ALL all completed", unreadable == 0, String.join("\n", unreadableEx)));
        checks.add(new Check("no phantom values", phantoms == 0, String.join("\n", phantomEx)));
        checks.add(new Check(sloppyQuorum ? "register: no final read at ALL older than an acknowledged write"
                + " (--sloppy-quorum: " + sloppyStale + " stale QUORUM reads of clients allowed)"
                : "register: no stale QUORUM reads", stale == 0, String.join("\n", staleEx)));
        checks.add(new Check("register: read-your-writes", ryw == 0, String.join("\n", rywEx)));
        checks.add(new Check("register: replicas converged after heal", converged, convergenceDetail));
        checks.add(new Check("delete: deleted keys never reappear" + (sloppyQuorum
                ? " to the deleting connection or the final reads (--sloppy-quorum: " + sloppyReappeared
                        + " reads of other connections saw one)" : ""), reappeared == 0, String.join("\n", reappearedEx)));
        checks.add(new Check("ttl: expired keys never reappear", expired == 0, String.join("\n", expiredEx)));
        Pipelined pipelined = checkPipelined(ops, checks);
        CutLosses cutLosses = new CutLosses(cuts.size(), cuts.isEmpty() ? null : cuts.get(0).fsync(), lostWithin,
                lost - lostWithin, staleAllowed, reappearedAllowed, List.copyOf(lostWrites));
        return new Summary(client.size(), acknowledged, failed, indeterminate, lost, stale, phantoms, ryw, reappeared,
                expired, unreadable, lateIndeterminate, pipelined, checks, cutLosses);
    }

    /** Whether a kill-all that began before {@code t} may have lost acknowledged write {@code w}. */
    private boolean lostBefore(Op w, double t) {
        for (PowerCut c : cuts) {
            if (c.start() < t && c.mayLose(w)) {
                return true;
            }
        }
        return false;
    }

    /** One lost set write against the next kill-all after its acknowledgement. */
    private String describeLoss(Op w, Op finalRead, PowerCut allowedBy) {
        PowerCut next = cuts.stream().filter(c -> c.end() + CUT_REPLY_SLACK_MILLIS >= w.end()).findFirst().orElse(null);
        String when = next == null ? "no kill-all after it"
                : String.format(java.util.Locale.ROOT, "%.0f ms before the kill-all at %.0f ms", next.start() - w.end(),
                next.start());
        return String.format(java.util.Locale.ROOT, "%s=%s acknowledged at %.0f ms (%s), final read %s: %s", w.key(),
                w.value(), w.end(), when, finalRead.value() == null ? "nil" : finalRead.value(),
                allowedBy != null ? "within the " + allowedBy.fsync() + " window" : "OUTSIDE any loss window");
    }

    /** An operation of the counter or versioned workload, which {@link CounterChecker} and {@link VersionedSetChecker} check. */
    static boolean causal(Op o) {
        return o.key() != null && (o.key().startsWith(CounterWorkload.KEY_PREFIX)
                || o.key().startsWith(VersionedSetWorkload.KEY_PREFIX));
    }

    /** A pipelined client's line, or any operation on a pipelined key (the final reads). */
    private static boolean pipelined(Op o) {
        return o.op().equals(PipelinedClient.PIPELINE) || o.op().equals(PipelinedClient.VIOLATION)
                || o.op().equals(PipelinedClient.MODEL) || (o.key() != null && o.key().startsWith(PipelinedClient.KEY_PREFIX));
    }

    /**
     * Sums the pipelined clients' counts, and compares each key's final read at ALL with the model its
     * client held for certain at the end; adds the two pipelined checks if the run had pipelined clients.
     */
    private static Pipelined checkPipelined(List<Op> ops, List<Check> checks) {
        long[] sums = new long[7]; // commands, checked, violations, faults, unchecked, abandoned, lost-blind-sets
        String[] names = {"commands", "checked", "violations", "faults", "unchecked", "abandoned", "lost-blind-sets"};
        long pipelines = 0;
        List<String> violationEx = new ArrayList<>();
        Map<String, Op> finalReads = new HashMap<>();
        List<Op> models = new ArrayList<>();
        for (Op o : ops) {
            if (o.op().equals(PipelinedClient.PIPELINE)) {
                pipelines++;
                Map<String, Long> counts = counts(o.value());
                for (int i = 0; i < names.length; i++) {
                    sums[i] += counts.getOrDefault(names[i], 0L);
                }
            } else if (o.op().equals(PipelinedClient.VIOLATION)) {
                example(violationEx, o.line());
            } else if (o.op().equals(PipelinedClient.MODEL)) {
                models.add(o);
            } else if (o.client().equals("final") && o.key() != null && o.key().startsWith(PipelinedClient.KEY_PREFIX)) {
                finalReads.put(o.key(), o);
            }
        }
        long finalEqual = 0;
        long finalWrong = 0;
        long finalUncertain = 0;
        List<String> finalEx = new ArrayList<>();
        for (Op m : models) {
            if (!m.ok()) {
                finalUncertain++;
                continue;
            }
            Op r = finalReads.get(m.key());
            if (r == null || !r.ok()) {
                finalWrong++;
                example(finalEx, "model " + m.line() + " / final read " + (r == null ? "missing" : r.line()));
            } else if (!java.util.Objects.equals(r.value(), m.value())) {
                finalWrong++;
                example(finalEx, "model " + m.line() + " / final read " + r.line());
            } else {
                finalEqual++;
            }
        }
        if (pipelines > 0 || !models.isEmpty()) {
            checks.add(new Check("pipelined: every reply follows from the client's own earlier commands", sums[2] == 0,
                    String.join("\n", violationEx)));
            checks.add(new Check("pipelined: final reads at ALL equal the clients' models", finalWrong == 0,
                    String.join("\n", finalEx)));
        }
        return new Pipelined(pipelines, sums[0], sums[1], sums[2], sums[3], sums[4], sums[5], sums[6], finalEqual,
                finalWrong, finalUncertain);
    }

    /** Reads {@code name=number} pairs separated by spaces; other words are skipped. */
    static Map<String, Long> counts(String text) {
        Map<String, Long> out = new HashMap<>();
        if (text == null) {
            return out;
        }
        for (String word : text.split(" ")) {
            int eq = word.indexOf('=');
            if (eq > 0) {
                try {
                    out.put(word.substring(0, eq), Long.parseLong(word.substring(eq + 1)));
                } catch (NumberFormatException e) {
                    // not a count
                }
            }
        }
        return out;
    }

    /**
     * Reads at QUORUM or ALL against writes acknowledged at QUORUM before the read began: for each read,
     * the latest start among those writes; the read is stale if its value is missing or its write ended
     * more than {@link #margin} before that start.
     */
    private long staleReads(List<Op> kops, Map<String, Op> writes, List<String> examples) {
        List<Op> acked = kops.stream().filter(o -> o.isWrite() && o.ok() && !"ONE".equals(o.level()))
                .sorted(Comparator.comparingDouble(Op::end)).toList();
        double[] ends = acked.stream().mapToDouble(Op::end).toArray();
        double[] maxStart = new double[acked.size()];
        Op[] latest = new Op[acked.size()];
        for (int i = 0; i < acked.size(); i++) {
            boolean later = i == 0 || acked.get(i).start() > maxStart[i - 1];
            maxStart[i] = later ? acked.get(i).start() : maxStart[i - 1];
            latest[i] = later ? acked.get(i) : latest[i - 1];
        }
        long stale = 0;
        for (Op r : kops) {
            if (!r.isRead() || !r.ok() || "ONE".equals(r.level())) {
                continue;
            }
            int i = lastBefore(ends, r.start());
            if (i < 0) {
                continue;
            }
            Op w = r.value() == null ? null : writes.get(r.value());
            if (w != null && w.result() == Op.Result.INFO && w.end() + margin < maxStart[i]) {
                lateIndeterminate++; // not a violation: see certainlyOlder
            }
            if (r.value() == null || certainlyOlder(w, maxStart[i])) {
                if (!cuts.isEmpty() && !staleAmongSurvivors(acked, r, w)) {
                    staleAllowed++; // only writes a kill-all may have lost make it stale
                    continue;
                }
                if (sloppyQuorum && !r.client().equals("final")) {
                    sloppyStale++; // the write may be only on replicas, and hints, that this read did not reach
                    continue;
                }
                stale++;
                example(examples, "acknowledged " + latest[i].line() + " / then read " + r.line());
            }
        }
        return stale;
    }

    /**
     * The stale-read rule against only the acknowledged writes (sorted by end) that no kill-all before
     * the read may have lost: false if those alone do not make read {@code r}, of write {@code w}, stale.
     */
    private boolean staleAmongSurvivors(List<Op> acked, Op r, Op w) {
        double maxStart = Double.NEGATIVE_INFINITY;
        for (Op a : acked) {
            if (a.end() >= r.start()) {
                break;
            }
            if (!lostBefore(a, r.start())) {
                maxStart = Math.max(maxStart, a.start());
            }
        }
        if (maxStart == Double.NEGATIVE_INFINITY) {
            return false;
        }
        return r.value() == null || certainlyOlder(w, maxStart);
    }

    /**
     * Each session's reads against its own acknowledged writes of the key. The store promises
     * read-your-writes per connection, so a client's writes and reads on different connections are
     * checked only by the stale-read rule.
     */
    private long readYourWrites(List<Op> kops, Map<String, Op> writes, List<String> examples) {
        Map<String, Op> lastOwn = new HashMap<>();
        long violations = 0;
        List<Op> sorted = new ArrayList<>(kops);
        sorted.sort(Comparator.comparingDouble(Op::start));
        for (Op o : sorted) {
            if (o.session() == null) {
                continue;
            }
            if (o.isWrite() && o.ok()) {
                lastOwn.put(o.session(), o);
            } else if (o.isWrite()) {
                lastOwn.remove(o.session()); // an indeterminate later write of its own may or may not be there
            } else if (o.isRead() && o.ok()) {
                Op own = lastOwn.get(o.session());
                if (own == null || own.end() > o.start()) {
                    continue;
                }
                Op w = o.value() == null ? null : writes.get(o.value());
                if (o.value() == null || certainlyOlder(w, own.start())) {
                    violations++;
                    example(examples, "own write " + own.line() + " / then read " + o.line());
                }
            }
        }
        return violations;
    }

    /**
     * True if {@code w}'s version is certainly below that of a write that started at {@code start}.
     * Only an acknowledged write has a known latest moment of effect: an indeterminate one (TIMEOUT,
     * TRYAGAIN, a lost connection) may take effect any time later — the harness saw a forwarded SET
     * applied 14 s after its client got TRYAGAIN, held back by TCP retransmission — and then carries a
     * version from that later moment.
     */
    private boolean certainlyOlder(Op w, double start) {
        return w != null && w.ok() && w.end() + margin < start;
    }

    /** Index of the last element of sorted {@code ends} below {@code t}, or -1. */
    private static int lastBefore(double[] ends, double t) {
        int i = Arrays.binarySearch(ends, t);
        if (i < 0) {
            i = -i - 1;
        }
        while (i > 0 && ends[i - 1] >= t) {
            i--;
        }
        return i - 1;
    }

    /** Keeps the first five examples of a check's evidence. */
    static void example(List<String> examples, String line) {
        if (examples.size() < 5) {
            examples.add(line);
        }
    }
}
