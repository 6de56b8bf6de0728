package io.trelliskv.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import io.trelliskv.common.Glob;

/**
 * One user of the access control list, with Redis 7's rules for a useful subset: on/off, passwords
 * (kept only as SHA-256 hashes, as Redis keeps them), key patterns with read and write permissions,
 * channel patterns (kept and shown; there is no pub/sub yet), and command permissions by command,
 * subcommand and category. Selectors ({@code (...)}) are not supported.
 *
 * <p>Rules, like keys and passwords, are byte strings: they are carried here as ISO-8859-1 strings (one char
 * per byte), so a binary password or pattern means what its bytes mean.
 *
 * <p>Immutable: {@link #apply} returns a new user, so a connection can check its user without locks
 * while {@code ACL SETUSER} replaces it.
 *
 * <h2>Command permissions</h2>
 * Kept as the list of rules in the order given, as Redis applies them to its command bitmap: a command
 * is allowed if the last rule that matches it allows it ({@code +@all} and {@code allcommands} match
 * every command, {@code +@cat} the commands of a category, {@code +cmd} the command with any subcommand,
 * {@code +cmd|sub} that subcommand). A rule that matches every command makes the ones before it moot,
 * so they are dropped, which keeps the list short and {@link #describe()} close to Redis's.
 */
public final class AclUser {

    /** A key pattern and what it grants: {@code ~p} read and write, {@code %R~p} read, {@code %W~p} write. */
    record KeyPattern(String pattern, byte[] glob, int literalPrefix, boolean read, boolean write) {
        KeyPattern(String pattern, byte[] glob, boolean read, boolean write) {
            this(pattern, glob, Glob.literalPrefix(glob), read, write);
        }

        boolean matches(byte[] key) {
            return Glob.matches(glob, literalPrefix, key);
        }

        String describe() {
            return (read && write ? "~" : read ? "%R~" : "%W~") + pattern;
        }
    }

    /** One command rule; {@code category} or {@code command} (with an optional {@code subcommand}) or neither (all). */
    record CommandRule(boolean allow, String category, String command, String subcommand) {
        boolean matchesAll() {
            return category == null && command == null;
        }

        boolean matches(String cmd, String sub, CommandCatalog catalog) {
            if (matchesAll()) {
                return true;
            }
            if (category != null) {
                return catalog.categoriesOf(cmd, sub).contains(category);
            }
            return command.equals(cmd) && (subcommand == null || subcommand.equalsIgnoreCase(sub));
        }

        String describe() {
            String sign = allow ? "+" : "-";
            if (matchesAll()) {
                return sign + "@all";
            }
            return sign + (category != null ? "@" + category : command + (subcommand != null ? "|" + subcommand : ""));
        }
    }

    private static final String PATTERN_AFTER_ALLKEYS = "Adding a pattern after the * pattern (or the 'allkeys' flag)"
            + " is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";

    /** Gives each user made by {@code ACL SETUSER} or an ACL file an identity of its own. */
    private static final AtomicLong NEXT_ID = new AtomicLong(1);

    private final String name;
    /**
     * Who this user is, kept by every rule ({@code reset} too): a user deleted and made again under the same name,
     * or made again by {@code ACL LOAD}, is another user, and a connection logged in as the old one is not logged
     * in as the new one. The {@code default} user, which is never deleted and which {@code ACL LOAD} keeps as
     * Redis does, is always 0.
     */
    private final long id;
    private final boolean enabled;
    private final boolean nopass;
    /** Lowercase hex SHA-256 of each password, in the order added, no duplicates. */
    private final List<String> passwordHashes;
    private final List<KeyPattern> keys;
    /** True when {@code ~*} or {@code allkeys} is in force: every key, read and write. */
    private final boolean allKeys;
    private final List<String> channels;
    private final boolean allChannels;
    private final List<CommandRule> rules;
    /** Whether any rule names a subcommand. */
    private final boolean hasSubcommandRules;
    /**
     * Redis's {@code sanitize-payload} or {@code skip-sanitize-payload} flag, or null for neither (a user
     * {@code ACL SETUSER} creates); {@code reset} sets {@code sanitize-payload}. They govern RESTORE, which
     * TrellisKV does not have: kept and shown so that ACL files written by Redis 7 load and read back alike.
     */
    private final String payloadFlag;
    /** The rules end with {@code +@all}: {@link #mayRun} is true for every command without looking further. */
    private final boolean allCommands;

    private AclUser(String name, long id, boolean enabled, boolean nopass, List<String> passwordHashes, List<KeyPattern> keys,
                    boolean allKeys, List<String> channels, boolean allChannels, List<CommandRule> rules,
                    String payloadFlag) {
        this.name = name;
        this.id = id;
        this.enabled = enabled;
        this.nopass = nopass;
        this.passwordHashes = List.copyOf(passwordHashes);
        this.keys = List.copyOf(keys);
        this.allKeys = allKeys;
        this.channels = List.copyOf(channels);
        this.allChannels = allChannels;
        this.rules = List.copyOf(rules);
        this.hasSubcommandRules = rules.stream().anyMatch(r -> r.subcommand() != null);
        // The last rule that matches decides, so a last +@all allows every command, whatever came before.
        this.allCommands = !rules.isEmpty() && rules.get(rules.size() - 1).matchesAll()
                && rules.get(rules.size() - 1).allow();
        this.payloadFlag = payloadFlag;
    }

    /** A new user as {@code ACL SETUSER name} makes it: off, no password, no keys, no channels, no commands. */
    public static AclUser create(String name) {
        if (name.isEmpty() || name.chars().anyMatch(c -> c <= ' ')) {
            throw new AclException("Usernames can't contain spaces or null characters");
        }
        return created(name, name.equals("default") ? 0 : NEXT_ID.getAndIncrement());
    }

    private static AclUser created(String name, long id) {
        return new AclUser(name, id, false, false, List.of(), List.of(), false, List.of(), false,
                List.of(new CommandRule(false, null, null, null)), null);
    }

    /** The {@code default} user of a node without ACLs: on, nopass, every key, channel and command. */
    public static AclUser defaultUser() {
        return new AclUser("default", 0, true, true, List.of(), List.of(), true, List.of(), true,
                List.of(new CommandRule(true, null, null, null)), null);
    }

    public String name() {
        return name;
    }

    /** Who this user is across changes of its rules; see {@link #id}. */
    public long id() {
        return id;
    }

    public boolean enabled() {
        return enabled;
    }

    public boolean nopass() {
        return nopass;
    }

    /** True if the user may log in with {@code password}: on, and nopass or one of its passwords. */
    public boolean authenticates(byte[] password) {
        if (!enabled) {
            return false;
        }
        if (nopass) {
            return true;
        }
        byte[] hash = HexFormat.of().formatHex(sha256(password)).getBytes(StandardCharsets.US_ASCII);
        boolean found = false;
        for (String h : passwordHashes) {
            // Compare every hash in constant time: the time taken says nothing about which one is close.
            found |= MessageDigest.isEqual(hash, h.getBytes(StandardCharsets.US_ASCII));
        }
        return found;
    }

    /** True if some command rule names a subcommand ({@code +config|get}): only then is the first argument looked at. */
    public boolean hasSubcommandRules() {
        return hasSubcommandRules;
    }

    /** True if the user may run every command on every key: no check can refuse it anything. */
    public boolean isUnrestricted() {
        return allKeys && rules.size() == 1 && rules.get(0).allow() && rules.get(0).matchesAll();
    }

    /** True if this user may run every command ({@link #mayRun} is true whatever it is asked). */
    public boolean allCommands() {
        return allCommands;
    }

    /** True if the user may run {@code command} (lowercase), with {@code subcommand} (its first argument, or null). */
    public boolean mayRun(String command, String subcommand, CommandCatalog catalog) {
        if (allCommands) {
            return true;
        }
        boolean allowed = false;
        for (CommandRule r : rules) {
            if (r.matches(command, subcommand, catalog)) {
                allowed = r.allow();
            }
        }
        return allowed;
    }

    /** True if some pattern grants what is asked on {@code key}: read, write, or both. */
    public boolean mayAccess(byte[] key, boolean read, boolean write) {
        if (allKeys) {
            return true;
        }
        for (KeyPattern p : keys) {
            if ((!read || p.read()) && (!write || p.write()) && p.matches(key)) {
                return true;
            }
        }
        return false;
    }

    /** This user with {@code rule} applied; {@link AclException} with Redis's reason if it is not a valid rule. */
    public AclUser apply(String rule, CommandCatalog catalog) {
        String lower = rule.toLowerCase(Locale.ROOT);
        switch (lower) {
            case "on":
                return with(true, nopass, passwordHashes, keys, allKeys, channels, allChannels, rules);
            case "off":
                return with(false, nopass, passwordHashes, keys, allKeys, channels, allChannels, rules);
            case "nopass":
                return with(enabled, true, List.of(), keys, allKeys, channels, allChannels, rules);
            case "resetpass":
                return with(enabled, false, List.of(), keys, allKeys, channels, allChannels, rules);
            case "allkeys":
                return with(enabled, nopass, passwordHashes, List.of(), true, channels, allChannels, rules);
            case "resetkeys":
                return with(enabled, nopass, passwordHashes, List.of(), false, channels, allChannels, rules);
            case "allchannels":
                return with(enabled, nopass, passwordHashes, keys, allKeys, List.of(), true, rules);
            case "resetchannels":
                return with(enabled, nopass, passwordHashes, keys, allKeys, List.of(), false, rules);
            case "allcommands":
                return withRule(new CommandRule(true, null, null, null));
            case "nocommands":
                return withRule(new CommandRule(false, null, null, null));
            case "reset":
                return created(name, id).withPayloadFlag("sanitize-payload");
            case "":
                return this; // as Redis: an empty rule does nothing
            case "~*":
                return apply("allkeys", catalog);
            case "&*":
                return apply("allchannels", catalog);
            case "sanitize-payload":
            case "skip-sanitize-payload":
                return withPayloadFlag(lower);
            default:
                break;
        }
        if (rule.startsWith("(")) {
            throw new AclException("ACL selectors are not supported");
        }
        char first = rule.isEmpty() ? ' ' : rule.charAt(0);
        String rest = rule.isEmpty() ? "" : rule.substring(1);
        switch (first) {
            case '>':
                return addHash(HexFormat.of().formatHex(sha256(rest.getBytes(StandardCharsets.ISO_8859_1))));
            case '#':
                return addHash(checkHash(rest));
            case '<':
                return removeHash(HexFormat.of().formatHex(sha256(rest.getBytes(StandardCharsets.ISO_8859_1))));
            case '!':
                return removeHash(checkHash(rest));
            case '~':
                return addKeyPattern(rest, true, true);
            case '%':
                return addKeyPattern(rule);
            case '&':
                if (allChannels) {
                    throw new AclException("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid"
                            + " and does not have any effect. Try 'resetchannels' to start with an empty list of channels");
                }
                requireNoSpaces(rest);
                List<String> ch = new ArrayList<>(channels);
                if (!ch.contains(rest)) {
                    ch.add(rest);
                }
                return with(enabled, nopass, passwordHashes, keys, allKeys, ch, false, rules);
            case '+':
            case '-':
                return withRule(commandRule(first == '+', rest.toLowerCase(Locale.ROOT), catalog));
            default:
                throw new AclException("Syntax error");
        }
    }

    private CommandRule commandRule(boolean allow, String what, CommandCatalog catalog) {
        if (what.startsWith("@")) {
            String category = what.substring(1);
            if (category.equals("all")) {
                return new CommandRule(allow, null, null, null);
            }
            if (!catalog.isCategory(category)) {
                throw new AclException(UNKNOWN_COMMAND);
            }
            return new CommandRule(allow, category, null, null);
        }
        int first = what.indexOf('|');
        if (first < 0) {
            if (!catalog.isCommand(what)) {
                throw new AclException(UNKNOWN_COMMAND);
            }
            return new CommandRule(allow, null, what, null);
        }
        String command = what.substring(0, first);
        String sub = what.substring(first + 1);
        Set<String> known = catalog.isCommand(command) ? catalog.subcommands(command) : null;
        boolean isSubcommand = known != null && known.contains(sub);
        if (!allow) { // as Redis, which looks the whole name up: only a subcommand can be taken away
            if (!isSubcommand) {
                throw new AclException(UNKNOWN_COMMAND);
            }
            return new CommandRule(false, null, command, sub);
        }
        int last = what.lastIndexOf('|');
        if (last != first) { // +config|get|x
            String inner = what.substring(first + 1, last);
            throw new AclException(known != null && known.contains(inner)
                    ? "Allowing first-arg of a subcommand is not supported" : UNKNOWN_COMMAND);
        }
        if (!catalog.isCommand(command)) {
            throw new AclException(UNKNOWN_COMMAND);
        }
        if (sub.isEmpty()) {
            throw new AclException("Syntax error");
        }
        if (known != null && !isSubcommand) {
            throw new AclException(UNKNOWN_COMMAND);
        }
        // A subcommand, or a first argument of a command without subcommands (+select|0, +debug|sleep), as Redis.
        return new CommandRule(true, null, command, sub);
    }

    /** Redis's reason for a rule naming no command or category. */
    static final String UNKNOWN_COMMAND = "Unknown command or category name in ACL";

    private AclUser withRule(CommandRule rule) {
        List<CommandRule> next = new ArrayList<>();
        if (!rule.matchesAll()) {
            next.addAll(rules);
            // A repeated rule for the same thing only counts where it last appears.
            next.removeIf(r -> r.category() != null ? r.category().equals(rule.category())
                    : r.command() != null && r.command().equals(rule.command()) && java.util.Objects.equals(r.subcommand(), rule.subcommand()));
        }
        next.add(rule);
        return with(enabled, nopass, passwordHashes, keys, allKeys, channels, allChannels, next);
    }

    private AclUser addKeyPattern(String rule) {
        // As Redis: a pattern after allkeys is refused before its permissions are read.
        if (allKeys) {
            throw new AclException(PATTERN_AFTER_ALLKEYS);
        }
        int tilde = rule.indexOf('~');
        if (tilde < 2) {
            throw new AclException("Syntax error");
        }
        String perms = rule.substring(1, tilde).toUpperCase(Locale.ROOT);
        boolean read = false;
        boolean write = false;
        for (char c : perms.toCharArray()) {
            if (c == 'R' && !read) {
                read = true;
            } else if (c == 'W' && !write) {
                write = true;
            } else {
                throw new AclException("Syntax error");
            }
        }
        return addKeyPattern(rule.substring(tilde + 1), read, write);
    }

    private AclUser addKeyPattern(String pattern, boolean read, boolean write) {
        if (allKeys) {
            throw new AclException(PATTERN_AFTER_ALLKEYS);
        }
        requireNoSpaces(pattern);
        List<KeyPattern> next = new ArrayList<>();
        boolean merged = false;
        for (KeyPattern p : keys) {
            if (p.pattern().equals(pattern)) {
                next.add(new KeyPattern(pattern, p.glob(), p.read() || read, p.write() || write));
                merged = true;
            } else {
                next.add(p);
            }
        }
        if (!merged) {
            next.add(new KeyPattern(pattern, pattern.getBytes(StandardCharsets.ISO_8859_1), read, write));
        }
        return with(enabled, nopass, passwordHashes, next, false, channels, allChannels, rules);
    }

    /** As Redis: a key or channel pattern with white space in it is a syntax error. */
    private static void requireNoSpaces(String pattern) {
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == ' ' || (c >= '\t' && c <= '\r')) {
                throw new AclException("Syntax error");
            }
        }
    }

    private AclUser addHash(String hash) {
        List<String> next = new ArrayList<>(passwordHashes);
        if (!next.contains(hash)) {
            next.add(hash);
        }
        return with(enabled, false, next, keys, allKeys, channels, allChannels, rules);
    }

    private AclUser removeHash(String hash) {
        List<String> next = new ArrayList<>(passwordHashes);
        if (!next.remove(hash)) {
            throw new AclException("The password you are trying to remove from the user does not exist");
        }
        return with(enabled, nopass, next, keys, allKeys, channels, allChannels, rules);
    }

    private static String checkHash(String hash) {
        if (hash.length() != 64 || !hash.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            throw new AclException("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters");
        }
        return hash;
    }

    private AclUser with(boolean enabled, boolean nopass, List<String> hashes, List<KeyPattern> keys, boolean allKeys,
                         List<String> channels, boolean allChannels, List<CommandRule> rules) {
        return new AclUser(name, id, enabled, nopass, hashes, keys, allKeys, channels, allChannels, rules, payloadFlag);
    }

    private AclUser withPayloadFlag(String flag) {
        return new AclUser(name, id, enabled, nopass, passwordHashes, keys, allKeys, channels, allChannels, rules, flag);
    }

    /** The user as {@code ACL LIST} and an ACL file show it: {@code user alice on #<hash> ~k:* resetchannels -@all +get}. */
    public String describe() {
        StringBuilder b = new StringBuilder("user ").append(name).append(enabled ? " on" : " off");
        if (nopass) {
            b.append(" nopass");
        }
        if (payloadFlag != null) {
            b.append(' ').append(payloadFlag);
        }
        for (String h : passwordHashes) {
            b.append(" #").append(h);
        }
        if (allKeys) {
            b.append(" ~*");
        }
        for (KeyPattern p : keys) {
            b.append(' ').append(p.describe());
        }
        if (allChannels) {
            b.append(" &*");
        } else {
            b.append(" resetchannels"); // as Redis writes it, before the patterns: reloaded, the line means the same
        }
        for (String c : channels) {
            b.append(" &").append(c);
        }
        b.append(' ').append(describeCommands());
        return b.toString();
    }

    /** The command rules as one string, as {@code ACL GETUSER} shows them under {@code commands}. */
    public String describeCommands() {
        StringBuilder b = new StringBuilder();
        for (CommandRule r : rules) {
            b.append(b.length() == 0 ? "" : " ").append(r.describe());
        }
        return b.toString();
    }

    /**
     * The flags {@code ACL GETUSER} lists, as Redis 7 does: on/off, nopass, and the payload flag if set
     * (every key or channel shows as {@code ~*} or {@code &*} under keys and channels, not as a flag).
     */
    public List<String> flags() {
        List<String> f = new ArrayList<>();
        f.add(enabled ? "on" : "off");
        if (nopass) {
            f.add("nopass");
        }
        if (payloadFlag != null) {
            f.add(payloadFlag);
        }
        return f;
    }

    public List<String> passwordHashes() {
        return passwordHashes;
    }

    /** The key patterns as {@code ACL GETUSER} shows them, one string: {@code ~* } or {@code ~a:* %R~b:*}. */
    public String describeKeys() {
        StringBuilder b = new StringBuilder(allKeys ? "~*" : "");
        for (KeyPattern p : keys) {
            b.append(b.length() == 0 ? "" : " ").append(p.describe());
        }
        return b.toString();
    }

    /** The channel patterns as one string: {@code &*} or {@code &news.*}, empty when none. */
    public String describeChannels() {
        StringBuilder b = new StringBuilder(allChannels ? "&*" : "");
        for (String c : channels) {
            b.append(b.length() == 0 ? "" : " ").append('&').append(c);
        }
        return b.toString();
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return "AclUser[" + name + "]";
    }
}
