package io.trelliskv.request;

import io.trelliskv.command.CommandFlag;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.common.Clock;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.security.Acl;
import io.trelliskv.security.AclUser;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * Who may run what, decided when a command is admitted, before it is routed: a connection that has not
 * logged in gets {@code -NOAUTH} for everything but the commands flagged {@code NO_AUTH} (AUTH, HELLO,
 * QUIT); a logged-in one gets {@code -NOPERM} for a command its user may not run or a key none of its
 * patterns grants, and the denial goes to {@code ACL LOG}. A forwarded command, checked on the node the
 * client is connected to, is checked again on the node that runs it, with the user of the same name as this
 * node defines it ({@link #refusalForwarded}): a node enforces its own ACL on every command it runs. Redis's
 * protected mode is decided here too: while the default user needs no password and the node listens
 * beyond loopback, clients from other hosts are refused with Redis's explanation and disconnected.
 *
 * <p>Cheap when nothing is configured: a node whose default user is open to all and has no other user
 * in use passes every command after one volatile read and one comparison.
 */
final class AccessControl {

    /** Redis's reply to a client that has not logged in. */
    static final String NOAUTH = "NOAUTH Authentication required.";

    /** Redis's reply to a client from another host while protected mode is in force (one line of RESP). */
    static final String DENIED = "DENIED Redis is running in protected mode because protected mode is enabled and"
            + " no password is set for the default user. In this mode connections are only accepted from the"
            + " loopback interface. If you want to connect from external computers to Redis you may adopt one of"
            + " the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET"
            + " protected-mode no' from the loopback interface by connecting to Redis from the same host the"
            + " server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so."
            + " Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the"
            + " protected mode by editing the Redis configuration file, and setting the protected mode option to"
            + " 'no', and then restarting the server. 3) If you started the server manually just for testing,"
            + " restart it with the '--protected-mode no' option. 4) Setup a bind address or an authentication"
            + " password. NOTE: You only need to do one of the above things in order for the server to start"
            + " accepting connections from the outside.";

    /**
     * What a command needs of a key pattern ({@code ~p} read and write, {@code %R~p}, {@code %W~p}), from Redis 7.0's
     * key specs: a key whose value the command reads or returns needs read ({@code ACCESS}), one it inserts,
     * updates or deletes needs write, and one it only looks at (EXISTS, TYPE, STRLEN, WATCH) needs a pattern that
     * names it, whatever that pattern grants.
     */
    private enum KeyNeed {
        READ(true, false), WRITE(false, true), BOTH(true, true), ANY(false, false);

        final boolean read;
        final boolean write;

        KeyNeed(boolean read, boolean write) {
            this.read = read;
            this.write = write;
        }
    }

    /**
     * Per keyed command, what each of its keys needs; a command not here needs read, and write too if it writes.
     * SET needs read as well when given GET, RENAME and RENAMENX only write of their destination
     * ({@link #keyNeed}).
     */
    private static final Map<String, KeyNeed> KEY_NEEDS = Map.ofEntries(
            Map.entry("get", KeyNeed.READ), Map.entry("mget", KeyNeed.READ), Map.entry("getrange", KeyNeed.READ),
            Map.entry("ttl", KeyNeed.READ), Map.entry("pttl", KeyNeed.READ), Map.entry("expiretime", KeyNeed.READ),
            Map.entry("pexpiretime", KeyNeed.READ), Map.entry("vget", KeyNeed.READ),
            Map.entry("set", KeyNeed.WRITE), Map.entry("setnx", KeyNeed.WRITE), Map.entry("setex", KeyNeed.WRITE),
            Map.entry("psetex", KeyNeed.WRITE), Map.entry("mset", KeyNeed.WRITE), Map.entry("msetnx", KeyNeed.WRITE),
            Map.entry("append", KeyNeed.WRITE), Map.entry("setrange", KeyNeed.WRITE), Map.entry("del", KeyNeed.WRITE),
            Map.entry("unlink", KeyNeed.WRITE), Map.entry("expire", KeyNeed.WRITE), Map.entry("pexpire", KeyNeed.WRITE),
            Map.entry("expireat", KeyNeed.WRITE), Map.entry("pexpireat", KeyNeed.WRITE),
            Map.entry("persist", KeyNeed.WRITE), Map.entry("vdel", KeyNeed.WRITE),
            Map.entry("getset", KeyNeed.BOTH), Map.entry("getdel", KeyNeed.BOTH), Map.entry("getex", KeyNeed.BOTH),
            Map.entry("incr", KeyNeed.BOTH), Map.entry("incrby", KeyNeed.BOTH), Map.entry("incrbyfloat", KeyNeed.BOTH),
            Map.entry("decr", KeyNeed.BOTH), Map.entry("decrby", KeyNeed.BOTH), Map.entry("rename", KeyNeed.BOTH),
            Map.entry("renamenx", KeyNeed.BOTH), Map.entry("vset", KeyNeed.BOTH),
            Map.entry("exists", KeyNeed.ANY), Map.entry("type", KeyNeed.ANY), Map.entry("strlen", KeyNeed.ANY),
            Map.entry("watch", KeyNeed.ANY));

    /** What the key at {@code args[index]} of a command needs. */
    private static KeyNeed keyNeed(CommandSpec spec, byte[][] args, int index) {
        KeyNeed need = KEY_NEEDS.get(spec.name());
        if (need == null) {
            return spec.has(CommandFlag.WRITE) ? KeyNeed.BOTH : KeyNeed.READ;
        }
        switch (spec.name()) {
            case "set" -> { // as Redis's setGetKeys: any later argument GET, without parsing the options
                for (int i = 3; i < args.length; i++) {
                    if (args[i].length == 3 && new String(args[i], StandardCharsets.ISO_8859_1).equalsIgnoreCase("get")) {
                        return KeyNeed.BOTH;
                    }
                }
            }
            case "rename", "renamenx" -> {
                if (index == 2) {
                    return KeyNeed.WRITE; // the destination: written, not read
                }
            }
            default -> {
            }
        }
        return need;
    }

    /** Redis 7.0's refusal of a command the user may not run: this, then {@code the 'name' command}. */
    private static final String COMMAND_DENIED = "NOPERM this user has no permissions to run";
    /** Redis 7.0's refusal of a command on a key the user may not access as it needs. */
    private static final String KEY_DENIED = "NOPERM this user has no permissions to access one of the keys used as"
            + " arguments";

    /** The reply to a command of a connection whose user was deleted or made again; the connection is then closed. */
    static final String USER_GONE = "ERR this connection's user was deleted or replaced (ACL DELUSER, ACL LOAD):"
            + " connection closed; log in again";

    private final Acl acl;
    private final Clock clock;
    /** Protected mode configured ({@code --protected-mode yes}) and the node listening beyond loopback. */
    private volatile boolean protectedMode;

    AccessControl(Acl acl, Clock clock, boolean protectedMode) {
        this.acl = acl;
        this.clock = clock;
        this.protectedMode = protectedMode;
    }

    Acl acl() {
        return acl;
    }

    void protectedMode(boolean on) {
        this.protectedMode = on;
    }

    boolean protectedMode() {
        return protectedMode;
    }

    /**
     * Null if {@code client} may run the command; otherwise the error to reply. {@link #DENIED} and
     * {@link #USER_GONE} also mean: close the connection after the reply.
     */
    String refusal(ClientConnection client, CommandSpec spec, byte[][] args) {
        return refusal(client, spec, args, false);
    }

    /** {@link #refusal(ClientConnection, CommandSpec, byte[][])} of a command queued in MULTI or not ({@code queued}). */
    String refusal(ClientConnection client, CommandSpec spec, byte[][] args, boolean queued) {
        String context = queued ? "multi" : "toplevel"; // ACL LOG's, as Redis's
        if (client.isDetached()) {
            return null;
        }
        String denied = greet(client);
        if (denied != null) {
            return denied;
        }
        String name = client.user();
        if (name == null) {
            return spec.has(CommandFlag.NO_AUTH) ? null : NOAUTH;
        }
        AclUser user = acl.user(name);
        if (user == null || user.id() != client.userId()) {
            // The user was deleted since the client logged in, or made again (ACL DELUSER then SETUSER, ACL LOAD):
            // as Redis, which closes such connections at once (so does ACL here, for those it finds then), the
            // connection is closed; the new user's permissions are not the old one's. A user switched off keeps
            // the connections it has, as in Redis.
            client.user(null, 0);
            return USER_GONE;
        }
        return user.isUnrestricted() ? null : refusal(user, name, spec, args, context, client::info);
    }

    /**
     * A command another node forwarded for a client logged in there as {@code userName}, checked with this node's
     * user of that name: null if it may run here; otherwise the error to reply (a denial goes to this node's
     * {@code ACL LOG}, the client named as the forwarding node). A user this node does not know may run nothing.
     *
     * @param queued whether the command is one of a transaction's
     */
    String refusalForwarded(String userName, long fromNode, CommandSpec spec, byte[][] args, boolean queued) {
        AclUser user = acl.user(userName);
        if (user == null) {
            return "NOPERM user '" + userName + "' does not exist on the node that owns the key: define every ACL"
                    + " user on every node";
        }
        return user.isUnrestricted() ? null : refusal(user, userName, spec, args, queued ? "multi" : "toplevel",
                now -> "forwarded-by=" + Long.toHexString(fromNode)); // key=value, as CLIENT LIST
    }

    /** What {@code user}, restricted, may not do of the command, as its refusal; null if nothing. */
    private String refusal(AclUser user, String name, CommandSpec spec, byte[][] args, String context,
                           LongFunction<String> clientInfo) {
        // A user who may run every command (+@all) needs no look at the command's name: the catalog's lookups
        // were a few percent of a node's CPU under pipelined commands.
        if (!spec.has(CommandFlag.NO_AUTH) && !user.allCommands()) {
            boolean container = acl.catalog().hasSubcommands(spec.name());
            String sub = args.length > 1 && (container || user.hasSubcommandRules())
                    ? new String(args[1], StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT) : null;
            if (!user.mayRun(spec.name(), sub, acl.catalog())) {
                // as Redis: a container's subcommand is named as the command refused ('acl|setuser')
                String refused = container && sub != null ? spec.name() + "|" + sub : spec.name();
                long now = clock.millis();
                acl.logDenial(Acl.Denial.COMMAND, context, refused, name, clientInfo.apply(now), now);
                return COMMAND_DENIED + " the '" + refused + "' command";
            }
        }
        if (spec.firstKey() > 0) {
            int last = spec.lastKey() >= 0 ? spec.lastKey() : args.length + spec.lastKey();
            int step = Math.max(1, spec.step());
            for (int i = spec.firstKey(); i <= last && i < args.length; i += step) {
                KeyNeed need = keyNeed(spec, args, i);
                if (!user.mayAccess(args[i], need.read, need.write)) {
                    long now = clock.millis();
                    acl.logDenial(Acl.Denial.KEY, context, new String(args[i], StandardCharsets.ISO_8859_1), name,
                            clientInfo.apply(now), now);
                    return KEY_DENIED;
                }
            }
        }
        return null;
    }

    /**
     * At EXEC, a queued command that its user may no longer run, as ACL rules changed since it was queued: the
     * command's reply in EXEC's, in Redis 7.0's words; null if it may run. The denial goes to ACL LOG (context
     * {@code multi}).
     */
    String refusalAtExec(ClientConnection client, CommandSpec spec, byte[][] args) {
        String refusal = refusal(client, spec, args, true);
        if (refusal == null) {
            return null;
        }
        String reason = refusal.equals(KEY_DENIED) ? "no permission to touch the specified keys"
                : refusal.startsWith(COMMAND_DENIED) ? "no permission to execute the command or subcommand" : refusal;
        return "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This"
                + " command is no longer allowed for the following reason: " + reason;
    }

    /**
     * At a connection's first command: {@link #DENIED} if protected mode keeps it out, else null, having logged it in
     * as the default user if that needs no password. Null for every later command.
     */
    String greet(ClientConnection client) {
        if (client.isDetached() || client.greeted()) {
            return null;
        }
        client.greeted(true);
        if (!acl.authRequired()) {
            if (protectedMode && !client.fromLoopback()) {
                return DENIED;
            }
            client.user("default", acl.defaultUser().id());
        }
        return null;
    }
}
