package io.trelliskv.harness;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What one pipelined client knows about a key that only it writes: the values the key may hold now
 * ({@code null}: absent), so that it can predict the reply to each of its commands and check the
 * store's.
 *
 * <h2>Candidates</h2>
 * Usually there is one candidate: the value that executing the client's acknowledged commands in
 * order implies, and a reply either equals the prediction or is a violation. The store allows one
 * exception (docs/USAGE.md, "Guarantees"): a blind SET coordinated just after a failover by a node
 * whose clock is behind the previous coordinator's can be acknowledged and still lose to the older
 * value, by last-writer-wins. So while a clock fault may be in effect ({@code blindSetMayLose}), a SET
 * leaves its own value first and every earlier candidate after it. Each later reply keeps only the
 * candidates that explain it (a GET or an INCR usually settles the question; EXISTS and DEL tell
 * only present from absent). Candidate 0 is always what in-order execution implies: a reply that only
 * a later candidate explains is {@link Outcome#LOST_BLIND_SET}, allowed and counted.
 *
 * <h2>What is not modelled</h2>
 * A command whose outcome is unknown (TRYAGAIN, TIMEOUT, REFUSED, a lost connection) may take effect
 * at any later time — even after later commands of the same connection, as the harness saw a forwarded
 * SET applied 14 s after its TRYAGAIN (docs/TESTING.md, finding 2) — so no set of candidates describes
 * the key afterwards. The client abandons such a key for a fresh one ({@link PipelinedClient}); this
 * class never sees those replies.
 */
final class KeyModel {

    /** The commands of the pipelined workload; {@link #writes} tells which may change the key. */
    enum Kind {
        SET(true), INCR(true), DEL(true), APPEND(true), GET(false), EXISTS(false);

        private final boolean writes;

        Kind(boolean writes) {
            this.writes = writes;
        }

        boolean writes() {
            return writes;
        }
    }

    /** One command on one key; {@code arg} is SET's and APPEND's value, null for the others. */
    record Command(Kind kind, String key, String arg) {

        /** The RESP arguments: {@code SET key arg}, {@code INCR key}, ... */
        List<String> args() {
            return arg == null ? List.of(kind.name(), key) : List.of(kind.name(), key, arg);
        }

        @Override
        public String toString() {
            return kind + (arg == null ? "" : " " + arg);
        }
    }

    /** How a reply compared with the model. */
    enum Outcome {
        /** The reply is what in-order execution implies. */
        MATCH,
        /** Explained only by a blind SET that lost to an older value by last-writer-wins during a clock fault: allowed. */
        LOST_BLIND_SET,
        /** No candidate explains the reply. */
        VIOLATION
    }

    /** More candidates than this and the key is treated as unknown (a long run of SETs during a clock fault). */
    static final int MAX_CANDIDATES = 32;
    static final String NOT_AN_INTEGER = "ERR value is not an integer or out of range";
    static final String OVERFLOW = "ERR increment or decrement would overflow";

    /** The values the key may hold, candidate 0 first; never empty. */
    private List<String> candidates;

    /** A key never written: certainly absent. */
    KeyModel() {
        this.candidates = new ArrayList<>();
        this.candidates.add(null);
    }

    /** True if the key holds exactly one possible value. */
    boolean certain() {
        return candidates.size() == 1;
    }

    /** The value in-order execution implies (null: absent). */
    String expected() {
        return candidates.get(0);
    }

    /** False once too many candidates accumulated to be worth tracking. */
    boolean tracked() {
        return candidates.size() <= MAX_CANDIDATES;
    }

    /** The candidates as text: {@code "5"}, {@code (nil)}, or {@code "5" | "c7.3"}. */
    String describe() {
        List<String> parts = new ArrayList<>();
        for (String c : candidates) {
            parts.add(c == null ? "(nil)" : "\"" + c + "\"");
        }
        return String.join(" | ", parts);
    }

    /** The replies {@code c} may get, one per distinct candidate, as redis-cli prints them. */
    List<String> expectedReplies(Command c) {
        List<String> out = new ArrayList<>();
        for (String v : candidates) {
            addDistinct(out, reply(c, v).render());
        }
        return out;
    }

    /** What {@code c} replies to a key holding {@code value}. */
    static RespReply reply(Command c, String value) {
        return switch (c.kind()) {
            case GET -> value == null ? RespReply.NIL : RespReply.bulk(value);
            case EXISTS, DEL -> RespReply.integer(value == null ? 0 : 1);
            case SET -> RespReply.OK;
            case APPEND -> RespReply.integer(utf8Length(value == null ? c.arg() : value + c.arg()));
            case INCR -> {
                if (value == null) {
                    yield RespReply.integer(1);
                }
                Long n = parseInteger(value);
                if (n == null) {
                    yield RespReply.error(NOT_AN_INTEGER);
                }
                yield n == Long.MAX_VALUE ? RespReply.error(OVERFLOW) : RespReply.integer(n + 1);
            }
        };
    }

    /** What the key holds after {@code c} on a key holding {@code value}. */
    static String after(Command c, String value) {
        return switch (c.kind()) {
            case GET, EXISTS -> value;
            case DEL -> null;
            case SET -> c.arg();
            case APPEND -> value == null ? c.arg() : value + c.arg();
            case INCR -> {
                Long n = value == null ? Long.valueOf(0) : parseInteger(value);
                yield n == null || n == Long.MAX_VALUE ? value : Long.toString(n + 1);
            }
        };
    }

    /**
     * True if {@code reply} is an answer about the key (a value, an integer, OK, or INCR's own errors),
     * false if it is a fault (TRYAGAIN, TIMEOUT, UNAVAILABLE, ...), which says nothing about the key.
     */
    static boolean aboutTheKey(RespReply reply) {
        return !reply.isError() || reply.text().equals(NOT_AN_INTEGER) || reply.text().equals(OVERFLOW);
    }

    /**
     * Checks the store's reply to {@code c} (an answer about the key, see {@link #aboutTheKey}) and
     * moves the model on. After a {@link Outcome#VIOLATION} the model is unchanged and no longer
     * describes the key: the caller abandons it.
     *
     * @param blindSetMayLose whether a clock fault may have been in effect while {@code c} ran (see the
     *                        class comment); only a SET uses it
     */
    Outcome step(Command c, RespReply actual, boolean blindSetMayLose) {
        List<String> next = new ArrayList<>();
        boolean first = false;
        for (int i = 0; i < candidates.size(); i++) {
            String v = candidates.get(i);
            if (reply(c, v).equals(actual)) {
                first |= i == 0;
                addDistinct(next, after(c, v));
            }
        }
        if (next.isEmpty()) {
            return Outcome.VIOLATION;
        }
        if (c.kind() == Kind.SET && blindSetMayLose) {
            for (String v : candidates) {
                addDistinct(next, v);
            }
        }
        candidates = next;
        return first ? Outcome.MATCH : Outcome.LOST_BLIND_SET;
    }

    private static void addDistinct(List<String> list, String v) {
        for (String s : list) {
            if (Objects.equals(s, v)) {
                return;
            }
        }
        list.add(v);
    }

    /** The value as Redis's string2ll reads it: canonical decimal only (no '+', no leading zeros, no "-0"). */
    static Long parseInteger(String value) {
        try {
            long n = Long.parseLong(value);
            return Long.toString(n).equals(value) ? n : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
