package io.trelliskv.command;

import io.trelliskv.security.CommandCatalog;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The ACL categories of this node's commands, as Redis 7 groups them ({@code ACL CAT}): {@code read},
 * {@code write}, {@code fast}, {@code slow} and {@code admin} follow from each command's flags; the
 * categories of a family of commands ({@code string}, {@code keyspace}, {@code connection},
 * {@code transaction}) and the {@code dangerous} ones come from the lists below, which follow Redis's
 * command tables. Every Redis category name is known, including those with no command here yet
 * ({@code hash}, {@code list}, ...), so an ACL file written for Redis loads.
 */
public final class CommandCategories implements CommandCatalog {

    /** Redis 7's category names, in {@code ACL CAT}'s order. */
    public static final List<String> ALL = List.of("keyspace", "read", "write", "set", "sortedset", "list", "hash",
            "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
            "dangerous", "connection", "transaction", "scripting");

    private static final Map<String, Set<String>> FAMILIES = Map.of(
            "string", Set.of("append", "decr", "decrby", "get", "getdel", "getex", "getrange", "getset", "incr", "incrby",
                    "incrbyfloat", "mget", "mset", "msetnx", "psetex", "set", "setex", "setnx", "setrange", "strlen"),
            "keyspace", Set.of("del", "exists", "expire", "expireat", "expiretime", "flushall", "flushdb", "keys",
                    "persist", "pexpire", "pexpireat", "pexpiretime", "pttl", "randomkey", "rename", "renamenx", "scan",
                    "ttl", "type", "unlink", "dbsize"),
            "connection", Set.of("auth", "client", "command", "echo", "hello", "ping", "quit", "select"),
            "admin", Set.of("lastsave"),
            "transaction", Set.of("discard", "exec", "multi", "unwatch", "watch"),
            "dangerous", Set.of("acl", "bgrewriteaof", "bgsave", "bootstrap", "client", "config", "consistency", "debug",
                    "decommission", "flushall", "flushdb", "info", "keys", "lastsave", "members", "removenode", "repair",
                    "replicas", "ring", "save", "status"));

    /**
     * Containers whose first argument names a subcommand, each with the subcommands Redis 7 keeps out of
     * {@code @admin} and {@code @dangerous} although their container is in both: what a client runs on
     * itself (CLIENT SETNAME, CLIENT SETINFO, which client libraries send as they connect) or reads of its
     * own state (ACL WHOAMI), and HELP. Every other subcommand has its container's categories, and CLIENT's
     * others (LIST, KILL, ...) are {@code @admin} as well, though the container is not.
     */
    private static final Map<String, Set<String>> CONTAINERS = Map.of(
            "acl", Set.of("cat", "genpass", "help", "whoami"),
            "client", Set.of("caching", "getname", "getredir", "help", "id", "info", "no-touch", "reply", "setinfo",
                    "setname", "tracking", "trackinginfo"),
            "config", Set.of("help"),
            "command", Set.of(),
            "debug", Set.of(),
            "object", Set.of());

    /**
     * Redis 7's subcommands of the containers this node has, whether this node runs them all or not: what an ACL
     * rule may name ({@code +client|kill}), as Redis accepts it. DEBUG has none in Redis: {@code +debug|x} allows
     * a first argument.
     */
    private static final Map<String, Set<String>> SUBCOMMANDS = Map.of(
            "acl", Set.of("cat", "deluser", "dryrun", "genpass", "getuser", "help", "list", "load", "log", "save",
                    "setuser", "users", "whoami"),
            "client", Set.of("caching", "getname", "getredir", "help", "id", "info", "kill", "list", "no-evict",
                    "no-touch", "pause", "reply", "setinfo", "setname", "tracking", "trackinginfo", "unblock", "unpause"),
            "config", Set.of("get", "help", "resetstat", "rewrite", "set"),
            "command", Set.of("count", "docs", "getkeys", "getkeysandflags", "help", "info", "list"));

    private final CommandTable table;

    public CommandCategories(CommandTable table) {
        this.table = table;
    }

    @Override
    public boolean isCommand(String command) {
        return table.find(command.getBytes(StandardCharsets.US_ASCII)) != null;
    }

    @Override
    public boolean isCategory(String category) {
        return ALL.contains(category);
    }

    @Override
    public Set<String> categoriesOf(String command) {
        CommandSpec spec = table.find(command.getBytes(StandardCharsets.US_ASCII));
        return spec == null ? Set.of() : categoriesOf(spec);
    }

    @Override
    public Set<String> categoriesOf(String command, String subcommand) {
        Set<String> of = categoriesOf(command);
        if (subcommand == null) {
            return of;
        }
        if (!CONTAINERS.getOrDefault(command, Set.of()).contains(subcommand)) {
            if (!command.equals("client")) {
                return of;
            }
            Set<String> out = new HashSet<>(of); // CLIENT LIST, KILL, PAUSE ...: @admin in Redis, as the container is not
            out.add("admin");
            return out;
        }
        Set<String> out = new HashSet<>(of);
        out.remove("admin");
        out.remove("dangerous");
        return out;
    }

    @Override
    public Set<String> subcommands(String command) {
        return isCommand(command) ? SUBCOMMANDS.get(command) : null;
    }

    @Override
    public boolean hasSubcommands(String command) {
        return CONTAINERS.containsKey(command) && isCommand(command);
    }

    /** The categories of a registered command. */
    public static Set<String> categoriesOf(CommandSpec spec) {
        Set<String> out = new HashSet<>();
        if (spec.has(CommandFlag.READONLY) && !spec.name().equals("watch")) { // WATCH: @fast @transaction in Redis
            out.add("read");
        }
        if (spec.has(CommandFlag.WRITE)) {
            out.add("write");
        }
        if (spec.has(CommandFlag.ADMIN)) {
            out.add("admin");
            out.add("dangerous");
        }
        out.add(spec.has(CommandFlag.FAST) ? "fast" : "slow");
        FAMILIES.forEach((category, names) -> {
            if (names.contains(spec.name())) {
                out.add(category);
            }
        });
        return out;
    }

    /** The commands of a category, for {@code ACL CAT category}. */
    public List<String> commandsIn(String category) {
        return table.all().stream().filter(s -> categoriesOf(s).contains(category)).map(CommandSpec::name).sorted().toList();
    }
}
