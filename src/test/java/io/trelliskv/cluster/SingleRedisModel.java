package io.trelliskv.cluster;

import io.trelliskv.command.CommandException;
import io.trelliskv.resp.RespValue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * What one client must see if its commands ran on a single Redis, in the order it sent them, on keys
 * that only it writes: checks each reply in turn, and the final value of each key.
 *
 * <h2>Indeterminate commands</h2>
 * A command answered with an error that does not say what happened ({@code TRYAGAIN} after a forward
 * that may have arrived, {@code TIMEOUT} after the coordinator wrote its copy, ...) may have taken
 * effect or not, and — like any request whose answer was lost — may take effect later than the
 * commands sent after it, or never. An INCR or APPEND among them may also have read the key at its old
 * coordinator while the new one served later commands, and so land with the result of any value the key
 * held since it was sent (see {@link Pending}). The model therefore keeps, per key, the set of values the key may
 * hold, each with the indeterminate writes not yet applied to it; before each later command any of those
 * may apply. A reply matches if it matches one of the possible values. A write whose effect depends on
 * the value (INCR, APPEND) drops the possibilities its reply rules out: it was acknowledged, and its
 * version supersedes what it read. A read rules out nothing: a write that failed may have reached one
 * replica only, and one quorum may see it while the next does not. Without indeterminate commands this
 * is exactly one Redis, value by value.
 *
 * <p>DEL and EXISTS counts are checked against every possible sum over their keys.
 */
final class SingleRedisModel {

    /** More possible values than this for a key: the key is no longer checked (counted, reported). */
    private static final int MAX_STATES = 512;
    /** More indeterminate writes than this on a key: the key is no longer checked. */
    private static final int MAX_PENDING = 10;
    private static final Pattern INTEGER = Pattern.compile("-?(0|[1-9][0-9]{0,17})");
    private static final String NOT_INTEGER = CommandException.NOT_INTEGER;

    /** A value the key may hold (null: no key), with the indeterminate writes (bits) not applied to it. */
    private record State(String value, long pending) {
    }

    private final Map<String, Set<State>> states = new HashMap<>();
    /**
     * An indeterminate write not known to have taken effect. A blind one ({@code results} null) sets
     * {@code effect(v)} whenever it lands. A read-modify-write (INCR, APPEND) may still be running at a
     * coordinator that the client's node gave up on while the key's new coordinator serves the
     * client's later commands; it then writes {@code effect} of whatever value its own read found — any
     * value the key held since it was sent — so it may set any of {@code results}, which grows as the
     * key takes new values.
     */
    private record Pending(UnaryOperator<String> effect, Set<String> results) {
    }

    private final Map<String, List<Pending>> pendingWrites = new HashMap<>();
    /** Keys given up on (too many possibilities). */
    private final Set<String> unchecked = new TreeSet<>();
    /** Keys with at least one indeterminate write. */
    private final Set<String> touchedByIndeterminate = new TreeSet<>();
    int indeterminate;

    SingleRedisModel(List<String> keys) {
        for (String k : keys) {
            states.put(k, new HashSet<>(Set.of(new State(null, 0))));
            pendingWrites.put(k, new ArrayList<>());
        }
    }

    /** Whether an error reply leaves open whether (and when) the command took effect. */
    static boolean isIndeterminate(RespValue reply) {
        if (!(reply instanceof RespValue.Error e)) {
            return false;
        }
        String m = e.message();
        return m.startsWith("TRYAGAIN") || m.startsWith("TIMEOUT") || m.startsWith("UNAVAILABLE")
                || m.startsWith("CLUSTERDOWN") || m.startsWith("REFUSED") || m.startsWith("ERR replication failed")
                || m.startsWith("ERR malformed reply");
    }

    /**
     * Takes the next command of the client and the reply it got.
     *
     * @return null if the reply is one a single Redis could have given; else what is wrong
     */
    String check(String[] cmd, RespValue reply) {
        String name = cmd[0].toUpperCase();
        String wrong;
        if (isIndeterminate(reply)) {
            indeterminate++;
            indeterminateWrite(name, cmd);
            wrong = null;
        } else {
            wrong = checkDeterminate(name, cmd, reply);
        }
        for (String key : keysOf(name, cmd)) {
            widen(key);
        }
        return wrong;
    }

    private static List<String> keysOf(String name, String[] cmd) {
        List<String> keys = new ArrayList<>();
        for (int i = 1; i < cmd.length; i += name.equals("MSET") ? 2 : 1) {
            keys.add(cmd[i]);
            if (!name.equals("MSET") && !name.equals("DEL") && !name.equals("EXISTS") && !name.equals("MGET")) {
                break;
            }
        }
        return keys;
    }

    private String checkDeterminate(String name, String[] cmd, RespValue reply) {
        switch (name) {
            case "GET" -> {
                return possible(cmd[1], v -> v == null ? RespValue.NULL : bulk(v), reply);
            }
            case "SET" -> {
                return narrow(cmd[1], v -> new RespValue.SimpleString("OK"), reply, v -> cmd[2]);
            }
            case "INCR" -> {
                if (reply instanceof RespValue.Error) {
                    return possible(cmd[1], v -> isInteger(v) ? new RespValue.Integer(incr(v))
                            : new RespValue.Error(NOT_INTEGER), reply); // wrote nothing
                }
                return narrow(cmd[1], v -> isInteger(v) ? new RespValue.Integer(incr(v))
                        : new RespValue.Error(NOT_INTEGER), reply, SingleRedisModel::incrOrKeep);
            }
            case "APPEND" -> {
                return narrow(cmd[1], v -> new RespValue.Integer(append(v, cmd[2]).getBytes(StandardCharsets.UTF_8).length),
                        reply, v -> append(v, cmd[2]));
            }
            case "DEL", "EXISTS" -> {
                boolean del = name.equals("DEL");
                String wrong = checkSum(cmd, reply);
                if (del) {
                    for (int i = 1; i < cmd.length; i++) {
                        applyAll(cmd[i], v -> null);
                    }
                }
                return wrong;
            }
            case "MSET" -> {
                if (!reply.equals(new RespValue.SimpleString("OK"))) {
                    return "expected +OK";
                }
                for (int i = 1; i < cmd.length; i += 2) {
                    String value = cmd[i + 1];
                    applyAll(cmd[i], v -> value);
                }
                return null;
            }
            case "MGET" -> {
                if (!(reply instanceof RespValue.Array a) || a.elements().size() != cmd.length - 1) {
                    return "expected an array of " + (cmd.length - 1);
                }
                for (int i = 1; i < cmd.length; i++) {
                    RespValue element = a.elements().get(i - 1);
                    String wrong = possible(cmd[i], v -> v == null ? RespValue.NULL : bulk(v), element);
                    if (wrong != null) {
                        return "element " + (i - 1) + ": " + wrong;
                    }
                }
                return null;
            }
            default -> throw new IllegalArgumentException("model has no " + name);
        }
    }

    /** The values {@code key} may hold at the end; null if the key is not checked. */
    Set<String> finalValues(String key) {
        if (unchecked.contains(key)) {
            return null;
        }
        Set<State> all = expand(key);
        if (all == null) {
            return null;
        }
        Set<String> out = new LinkedHashSet<>();
        all.forEach(s -> out.add(s.value()));
        return out;
    }

    Set<String> unchecked() {
        return unchecked;
    }

    Set<String> touchedByIndeterminate() {
        return touchedByIndeterminate;
    }

    // ---- internals ----

    private interface Reply {
        RespValue of(String value);
    }

    /** A read: its reply must be one that some possible value of {@code key} gives; nothing is ruled out. */
    private String possible(String key, Reply expected, RespValue actual) {
        if (unchecked.contains(key)) {
            return null;
        }
        Set<State> all = expand(key);
        if (all == null) {
            return null;
        }
        Set<String> expectedReplies = new TreeSet<>();
        for (State s : all) {
            RespValue want = expected.of(s.value());
            if (matches(want, actual)) {
                return null;
            }
            expectedReplies.add(show(want));
        }
        return "key " + key + ": reply " + show(actual) + ", a single Redis would reply " + expectedReplies
                + " (values it may hold: " + values(all) + ")";
    }

    /**
     * A write whose effect depends on the value (INCR, APPEND): keeps the possible values of
     * {@code key} whose reply matches, then applies {@code effect} to them. A reply that matches none is
     * the violation.
     */
    private String narrow(String key, Reply expected, RespValue actual, UnaryOperator<String> effect) {
        if (unchecked.contains(key)) {
            return null;
        }
        Set<State> all = expand(key);
        if (all == null) {
            return null;
        }
        Set<State> next = new HashSet<>();
        Set<String> expectedReplies = new TreeSet<>();
        for (State s : all) {
            RespValue want = expected.of(s.value());
            if (matches(want, actual)) {
                next.add(new State(effect.apply(s.value()), s.pending()));
            } else {
                expectedReplies.add(show(want));
            }
        }
        if (next.isEmpty()) {
            return "key " + key + ": reply " + show(actual) + ", a single Redis would reply " + expectedReplies
                    + " (values it may hold: " + values(all) + ")";
        }
        states.put(key, next);
        return null;
    }

    private String checkSum(String[] cmd, RespValue reply) {
        if (!(reply instanceof RespValue.Integer n)) {
            return "expected an integer";
        }
        Set<Long> sums = new HashSet<>(Set.of(0L));
        for (int i = 1; i < cmd.length; i++) {
            if (unchecked.contains(cmd[i])) {
                return null;
            }
            Set<State> all = expand(cmd[i]);
            if (all == null) {
                return null;
            }
            Set<Long> counts = new HashSet<>();
            all.forEach(s -> counts.add(s.value() == null ? 0L : 1L));
            Set<Long> next = new HashSet<>();
            for (long a : sums) {
                for (long b : counts) {
                    next.add(a + b);
                }
            }
            sums = next;
        }
        return sums.contains(n.value()) ? null
                : "keys " + Arrays.toString(Arrays.copyOfRange(cmd, 1, cmd.length)) + ": reply " + n.value()
                + ", a single Redis would reply one of " + new TreeSet<>(sums);
    }

    private void applyAll(String key, UnaryOperator<String> effect) {
        if (unchecked.contains(key)) {
            return;
        }
        Set<State> all = expand(key);
        if (all == null) {
            return;
        }
        Set<State> next = new HashSet<>();
        all.forEach(s -> next.add(new State(effect.apply(s.value()), s.pending())));
        states.put(key, next);
    }

    private void indeterminateWrite(String name, String[] cmd) {
        switch (name) {
            case "SET" -> pending(cmd[1], v -> cmd[2], false);
            case "INCR" -> pending(cmd[1], SingleRedisModel::incrOrKeep, true);
            case "APPEND" -> pending(cmd[1], v -> append(v, cmd[2]), true);
            case "DEL" -> {
                for (int i = 1; i < cmd.length; i++) {
                    pending(cmd[i], v -> null, false);
                }
            }
            case "MSET" -> {
                for (int i = 1; i < cmd.length; i += 2) {
                    String value = cmd[i + 1];
                    pending(cmd[i], v -> value, false);
                }
            }
            default -> {
                // a read: no effect either way
            }
        }
    }

    private void pending(String key, UnaryOperator<String> effect, boolean readModifyWrite) {
        touchedByIndeterminate.add(key);
        if (unchecked.contains(key)) {
            return;
        }
        List<Pending> writes = pendingWrites.get(key);
        if (writes.size() >= MAX_PENDING) {
            unchecked.add(key);
            return;
        }
        long bit = 1L << writes.size();
        writes.add(new Pending(effect, readModifyWrite ? new HashSet<>() : null));
        Set<State> next = new HashSet<>();
        states.get(key).forEach(s -> next.add(new State(s.value(), s.pending() | bit)));
        states.put(key, next);
    }

    /** Adds what each pending read-modify-write of {@code key} would write on the values it may hold now. */
    private void widen(String key) {
        if (unchecked.contains(key)) {
            return;
        }
        List<Pending> writes = pendingWrites.get(key);
        boolean any = writes.stream().anyMatch(w -> w.results() != null);
        if (!any) {
            return;
        }
        Set<State> all = expand(key);
        if (all == null) {
            return;
        }
        for (State s : all) {
            for (int i = 0; i < writes.size(); i++) {
                Pending w = writes.get(i);
                if (w.results() != null && (s.pending() & (1L << i)) != 0) {
                    w.results().add(w.effect().apply(s.value()));
                }
            }
        }
    }

    /** Every value the key may hold now: each state with any of its pending writes applied, in any order. */
    private Set<State> expand(String key) {
        List<Pending> writes = pendingWrites.get(key);
        Set<State> out = new HashSet<>(states.get(key));
        ArrayDeque<State> work = new ArrayDeque<>(out);
        while (!work.isEmpty()) {
            State s = work.poll();
            for (int i = 0; i < writes.size(); i++) {
                long bit = 1L << i;
                if ((s.pending() & bit) == 0) {
                    continue;
                }
                Pending w = writes.get(i);
                Set<String> results = w.results() != null ? w.results() : null;
                List<String> landed = new ArrayList<>();
                if (results == null) {
                    landed.add(w.effect().apply(s.value()));
                } else {
                    landed.addAll(results);
                    landed.add(w.effect().apply(s.value()));
                }
                for (String value : landed) {
                    State t = new State(value, s.pending() & ~bit);
                    if (out.add(t)) {
                        work.add(t);
                        if (out.size() > MAX_STATES) {
                            unchecked.add(key);
                            return null;
                        }
                    }
                }
            }
        }
        return out;
    }

    private static boolean matches(RespValue want, RespValue actual) {
        return want.equals(actual);
    }

    static boolean isInteger(String v) {
        return v == null || INTEGER.matcher(v).matches();
    }

    private static long incr(String v) {
        return v == null ? 1 : Long.parseLong(v) + 1;
    }

    private static String incrOrKeep(String v) {
        return isInteger(v) ? Long.toString(incr(v)) : v;
    }

    private static String append(String v, String suffix) {
        return v == null ? suffix : v + suffix;
    }

    private static RespValue bulk(String v) {
        return new RespValue.BulkString(v.getBytes(StandardCharsets.UTF_8));
    }

    private static Set<String> values(Set<State> all) {
        Set<String> out = new TreeSet<>();
        all.forEach(s -> out.add(String.valueOf(s.value())));
        return out;
    }

    static String show(RespValue v) {
        if (v instanceof RespValue.BulkString b) {
            return "\"" + new String(b.value(), StandardCharsets.UTF_8) + "\"";
        }
        if (v instanceof RespValue.Null) {
            return "nil";
        }
        if (v instanceof RespValue.Integer i) {
            return ":" + i.value();
        }
        if (v instanceof RespValue.SimpleString s) {
            return "+" + s.value();
        }
        if (v instanceof RespValue.Error e) {
            return "-" + e.message();
        }
        return v.toString();
    }
}
