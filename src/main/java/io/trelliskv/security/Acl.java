package io.trelliskv.security;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A node's users: the table {@code AUTH}, {@code HELLO ... AUTH} and {@code ACL} work on, with Redis 7's
 * semantics. There is always a {@code default} user, which a connection is logged in as when it opens:
 * on and {@code nopass} unless {@code --requirepass} or an ACL file says otherwise, so a node without
 * any security setting behaves as before.
 *
 * <p>Thread-safe: the table is an immutable hash map replaced whole under this object's lock, and users are
 * immutable, so a check on the request path reads one volatile field and takes no lock.
 */
public final class Acl {

    /** Entries {@code ACL LOG} keeps, newest first, as Redis's {@code acllog-max-len} default. */
    public static final int LOG_MAX_ENTRIES = 128;

    /** Why an entry is in the log: Redis's {@code reason} field values. */
    public enum Denial {
        AUTH("auth"), COMMAND("command"), KEY("key");

        private final String reason;

        Denial(String reason) {
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    /**
     * One {@code ACL LOG} entry; repeated denials of the same kind merge into one with a count. {@code id} numbers
     * the entries in the order they were made, as Redis 7.2's {@code entry-id}.
     */
    public record LogEntry(long id, long count, Denial denial, String context, String object, String username,
                           long createdMillis, long updatedMillis, String clientInfo) {
    }

    private final CommandCatalog catalog;
    /** Denials so far, by kind (INFO's acl_access_denied_*). */
    private final java.util.EnumMap<Denial, java.util.concurrent.atomic.LongAdder> denials = new java.util.EnumMap<>(Denial.class);
    private volatile Map<String, AclUser> users;
    private final Deque<LogEntry> log = new ArrayDeque<>();
    /** The next log entry's {@link LogEntry#id}; guarded by {@link #log}. */
    private long nextLogEntryId;

    /** A table with only the {@code default} user, open to all (no password). */
    public Acl(CommandCatalog catalog) {
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        for (Denial d : Denial.values()) {
            denials.put(d, new java.util.concurrent.atomic.LongAdder());
        }
        Map<String, AclUser> m = new HashMap<>();
        m.put("default", AclUser.defaultUser());
        this.users = Collections.unmodifiableMap(m);
    }

    public CommandCatalog catalog() {
        return catalog;
    }

    /** The user called {@code name}, or null. */
    public AclUser user(String name) {
        Map<String, AclUser> now = users;
        Lookup last = lastLookup;
        if (last.users == now && last.name == name) {
            return last.user;
        }
        AclUser u = now.get(name);
        lastLookup = new Lookup(now, name, u);
        return u;
    }

    /**
     * The last {@link #user} answer, and the table it came from: every command of a logged-in client asks for its
     * user by the same name (the instance {@code AUTH} took from this table), so most lookups are the last one again,
     * and a hash lookup per command showed as 1 % of a node's CPU under pipelined commands. Immutable, so any thread
     * may read whichever one it sees; a change of the table makes a new map, which no cached answer matches.
     */
    private record Lookup(Map<String, AclUser> users, String name, AclUser user) {
    }

    private Lookup lastLookup = new Lookup(Map.of(), null, null);

    /** The {@code default} user. */
    public AclUser defaultUser() {
        return users.get("default");
    }

    /** Names of all users, sorted. */
    public List<String> userNames() {
        return users.keySet().stream().sorted().toList();
    }

    /** True if a connection must authenticate before anything else: the default user cannot log in without a password. */
    public boolean authRequired() {
        AclUser d = defaultUser();
        return !(d.enabled() && d.nopass());
    }

    /** The user {@code name} if {@code password} logs it in; null otherwise (a missing user looks like a wrong password). */
    public AclUser authenticate(String name, byte[] password) {
        AclUser u = users.get(name);
        return u != null && u.authenticates(password) ? u : null;
    }

    /**
     * {@code ACL SETUSER name rule...}: creates the user if needed and applies the rules, all or none.
     *
     * @throws AclException "Error in ACL SETUSER modifier 'rule': reason" for the first rule that fails
     */
    public synchronized AclUser setUser(String name, List<String> rules) {
        AclUser u = users.get(name);
        if (u == null) {
            u = AclUser.create(name);
        }
        for (String rule : rules) {
            try {
                u = u.apply(rule, catalog);
            } catch (AclException e) {
                throw new AclException("Error in ACL SETUSER modifier '" + rule + "': " + e.getMessage());
            }
        }
        Map<String, AclUser> next = new HashMap<>(users);
        next.put(name, u);
        users = Collections.unmodifiableMap(next);
        return u;
    }

    /** {@code ACL DELUSER}: returns how many of the named users existed and were removed. */
    public synchronized int deleteUsers(List<String> names) {
        if (names.contains("default")) {
            throw new AclException("The 'default' user cannot be removed");
        }
        Map<String, AclUser> next = new HashMap<>(users);
        int removed = 0;
        for (String n : names) {
            if (next.remove(n) != null) {
                removed++;
            }
        }
        users = Collections.unmodifiableMap(next);
        return removed;
    }

    /** {@code ACL LIST}: every user as an ACL file line, sorted by name. */
    public List<String> list() {
        List<String> out = new ArrayList<>();
        for (String name : userNames()) {
            out.add(users.get(name).describe());
        }
        return out;
    }

    /**
     * Replaces the whole table with the users of an ACL file (Redis's format: one {@code user NAME rule...}
     * per line; blank lines and {@code #} comments skipped, which Redis 7.0 refuses). All or nothing: on any error
     * the table is unchanged. A file without a {@code default} user keeps the default one open to all, as Redis does.
     *
     * @param file the file's name, for the errors
     * @throws AclException with every error found, in Redis 7.0's words: {@code FILE:LINE: Error in applying
     *         operation 'RULE': REASON.} for an unknown command or category (each one), {@code FILE:LINE: REASON.}
     *         for the first other bad rule of a line, {@code FILE:LINE should start with user keyword followed by the
     *         username.}, {@code WARNING: Duplicate user 'NAME' found on line LINE.}, then {@code WARNING: ACL
     *         errors detected, no change to the previously active ACL rules was performed}
     */
    public synchronized void load(String file, List<String> lines) {
        Map<String, AclUser> next = new HashMap<>();
        StringBuilder errors = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] words = line.split("\\s+");
            int number = i + 1;
            if (!words[0].equals("user") || words.length < 2) {
                errors.append(file).append(':').append(number)
                        .append(" should start with user keyword followed by the username. ");
                continue;
            }
            String name = words[1];
            if (next.containsKey(name)) {
                errors.append("WARNING: Duplicate user '").append(name).append("' found on line ").append(number)
                        .append(". ");
                continue;
            }
            AclUser u;
            try {
                u = AclUser.create(name);
            } catch (AclException e) {
                errors.append(file).append(':').append(number).append(": ").append(e.getMessage()).append(". ");
                continue;
            }
            boolean ruleError = false;
            for (int w = 2; w < words.length; w++) {
                try {
                    u = u.apply(words[w], catalog);
                } catch (AclException e) {
                    if (e.getMessage().equals(AclUser.UNKNOWN_COMMAND)) {
                        errors.append(file).append(':').append(number).append(": Error in applying operation '")
                                .append(words[w]).append("': ").append(e.getMessage()).append(". ");
                    } else if (!ruleError) { // as Redis: only a line's first, which may explain those after it
                        errors.append(file).append(':').append(number).append(": ").append(e.getMessage())
                                .append(". ");
                        ruleError = true;
                    }
                }
            }
            next.put(name, u);
        }
        if (!errors.isEmpty()) {
            throw new AclException(errors + "WARNING: ACL errors detected, no change to the previously active ACL"
                    + " rules was performed");
        }
        next.putIfAbsent("default", AclUser.defaultUser());
        users = Collections.unmodifiableMap(next);
    }

    /** Sets the default user's password as {@code --requirepass} does ({@code resetpass >password}); null or empty makes it nopass. */
    public synchronized void requirePassword(String password) {
        List<String> rules = password == null || password.isEmpty() ? List.of("nopass") : List.of("resetpass", ">" + password);
        setUser("default", rules);
    }

    // ---- ACL LOG ----

    /** Newest entries a denial is compared with, as Redis's. */
    private static final int LOG_MATCH_SCAN = 10;
    /** Most time since an entry's last denial for a new one to count in it, as Redis's. */
    private static final long LOG_MATCH_MILLIS = 60_000;

    /**
     * Records a denial. An entry equal in kind, context, object and user among the {@value #LOG_MATCH_SCAN} newest,
     * last raised at most a minute ago, has its count raised instead of another entry added, as Redis does.
     */
    public void logDenial(Denial denial, String context, String object, String username, String clientInfo, long nowMillis) {
        denials.get(denial).increment();
        synchronized (log) {
            int scanned = 0;
            for (LogEntry e : log) {
                if (scanned++ == LOG_MATCH_SCAN) {
                    break;
                }
                if (e.denial() == denial && e.context().equals(context) && e.object().equals(object)
                        && e.username().equals(username) && Math.abs(nowMillis - e.updatedMillis()) <= LOG_MATCH_MILLIS) {
                    log.remove(e);
                    log.addFirst(new LogEntry(e.id(), e.count() + 1, denial, context, object, username, e.createdMillis(), nowMillis, clientInfo));
                    return;
                }
            }
            log.addFirst(new LogEntry(nextLogEntryId++, 1, denial, context, object, username, nowMillis, nowMillis,
                    clientInfo));
            while (log.size() > LOG_MAX_ENTRIES) {
                log.removeLast();
            }
        }
    }

    /** Denials of this kind since the start (failed logins for {@link Denial#AUTH}). */
    public long denied(Denial denial) {
        return denials.get(denial).sum();
    }

    /** The newest {@code max} log entries, newest first. */
    public List<LogEntry> logEntries(int max) {
        synchronized (log) {
            List<LogEntry> out = new ArrayList<>(Math.min(max, log.size()));
            for (LogEntry e : log) {
                if (out.size() == max) {
                    break;
                }
                out.add(e);
            }
            return out;
        }
    }

    /** {@code ACL LOG RESET}. */
    public void resetLog() {
        synchronized (log) {
            log.clear();
        }
    }
}
