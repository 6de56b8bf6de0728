package io.trelliskv.request;

import io.trelliskv.command.CommandFlag;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.common.Clock;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.security.Acl;
import io.trelliskv.security.AclUser;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;

/**
 * Who may run what, decided when a command is admitted, before it is routed: a connection that has not
 * logged in gets {@code -NOAUTH} for everything but the commands flagged {@code NO_AUTH} (AUTH, HELLO,
 * QUIT); a logged-in one gets {@code -NOPERM} for a command its user may not run or a key none of its
 * patterns grants, and the denial goes to {@code ACL LOG}. A forwarded command was checked on the node
 * the client is connected to, with the client's own user, so it is not checked again here. Redis's
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

    /** Commands that read the value of a key they write (so a write-only pattern does not suffice). */
    private static final Set<String> READ_AND_WRITE = Set.of("append", "decr", "decrby", "getdel", "getex", "getset",
            "incr", "incrby", "incrbyfloat", "setrange", "rename", "renamenx");

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
     * Null if {@code client} may run the command; otherwise the error to reply. {@link #DENIED} also
     * means: close the connection after the reply.
     */
    String refusal(ClientConnection client, CommandSpec spec, byte[][] args) {
        if (client.isDetached()) {
            return null;
        }
        if (!client.greeted()) {
            client.greeted(true);
            if (!acl.authRequired()) {
                if (protectedMode && !client.fromLoopback()) {
                    return DENIED;
                }
                client.user("default");
            }
        }
        String name = client.user();
        if (name == null) {
            return spec.has(CommandFlag.NO_AUTH) ? null : NOAUTH;
        }
        AclUser user = acl.user(name);
        if (user == null || !user.enabled()) {
            // The user was deleted or switched off since the client logged in: it may log in again.
            client.user(null);
            return spec.has(CommandFlag.NO_AUTH) ? null : NOAUTH;
        }
        if (user.isUnrestricted()) {
            return null;
        }
        // A user who may run every command (+@all) needs no look at the command's name: the catalog's lookups
        // were a few percent of a node's CPU under pipelined commands.
        if (!spec.has(CommandFlag.NO_AUTH) && !user.allCommands()) {
            boolean container = acl.catalog().hasSubcommands(spec.name());
            String sub = args.length > 1 && (container || user.hasSubcommandRules())
                    ? new String(args[1], StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT) : null;
            if (!user.mayRun(spec.name(), sub, acl.catalog())) {
                // as Redis: a container's subcommand is named as the command refused ('acl|setuser')
                String refused = container && sub != null ? spec.name() + "|" + sub : spec.name();
                acl.logDenial(Acl.Denial.COMMAND, "toplevel", refused, name, clientInfo(client), clock.millis());
                return "NOPERM this user has no permissions to run the '" + refused + "' command";
            }
        }
        if (spec.firstKey() > 0) {
            boolean write = spec.has(CommandFlag.WRITE);
            boolean read = !write || READ_AND_WRITE.contains(spec.name());
            int last = spec.lastKey() >= 0 ? spec.lastKey() : args.length + spec.lastKey();
            int step = Math.max(1, spec.step());
            for (int i = spec.firstKey(); i <= last && i < args.length; i += step) {
                if (!user.mayAccess(args[i], read, write)) {
                    acl.logDenial(Acl.Denial.KEY, "toplevel", new String(args[i], StandardCharsets.ISO_8859_1), name,
                            clientInfo(client), clock.millis());
                    return "NOPERM this user has no permissions to access one of the keys used as arguments";
                }
            }
        }
        return null;
    }

    /** The client as ACL LOG's {@code client-info} shows it (the first fields of CLIENT LIST). */
    private static String clientInfo(ClientConnection c) {
        return "id=" + c.id() + " addr=" + c.remoteAddress() + " name=" + c.name() + " cmd=" + c.lastCommand()
                + " user=" + c.user();
    }
}
