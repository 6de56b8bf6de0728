package io.trelliskv.node;

import io.trelliskv.command.CommandCategories;
import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.Clock;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.security.Acl;
import io.trelliskv.security.AclException;
import io.trelliskv.security.AclUser;
import io.trelliskv.security.AuthThrottle;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

import static io.trelliskv.command.CommandFlag.ADMIN;
import static io.trelliskv.command.CommandFlag.FAST;
import static io.trelliskv.command.CommandFlag.LOADING;
import static io.trelliskv.command.CommandFlag.NO_AUTH;
import static io.trelliskv.command.CommandFlag.STALE;

/**
 * Logging in and managing users, with Redis 7's commands and replies: {@code AUTH [user] password},
 * the {@code AUTH} option of {@code HELLO} (through {@link #login}), and {@code ACL SETUSER, GETUSER,
 * DELUSER, LIST, USERS, WHOAMI, CAT, SAVE, LOAD, LOG, GENPASS}. Passwords reach the ACL only as bytes
 * to hash; nothing here logs them.
 */
final class AclCommands {

    private final Acl acl;
    private final CommandCategories categories;
    private final Path aclFile;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    /** Failed logins per client address, to slow guessing down. */
    private final AuthThrottle throttle;
    /** The connected clients: those of a deleted user are closed. */
    private final ClientRegistry clients;

    AclCommands(Acl acl, CommandTable table, SecurityConfig security, Clock clock, AuthThrottle throttle,
                ClientRegistry clients) {
        this.acl = acl;
        this.clients = clients;
        this.throttle = throttle;
        this.categories = new CommandCategories(table);
        this.aclFile = security.aclFile();
        this.clock = clock;
    }

    void registerInto(CommandTable t) {
        t.register("auth", -2, EnumSet.of(NO_AUTH, FAST, LOADING, STALE), this::auth);
        t.register("acl", -2, EnumSet.of(ADMIN, LOADING, STALE), this::acl);
    }

    /** Rules, user names and passwords are byte strings: one char per byte. */
    private static String latin1(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /** The host part of a client's address ({@code 10.0.0.7:5123} -> {@code 10.0.0.7}): failures count per host. */
    private static String host(String address) {
        int colon = address.lastIndexOf(':');
        return colon > 0 ? address.substring(0, colon) : address;
    }

    /** AUTH password | AUTH username password. */
    private void auth(ClientConnection c, byte[][] a, RespWriter out) {
        if (a.length > 3) {
            throw CommandException.syntax();
        }
        if (a.length == 2 && !acl.authRequired()) {
            throw new CommandException("ERR AUTH <password> called without any password configured for the default"
                    + " user. Are you sure your configuration is correct?");
        }
        login(c, latin1(a[0]), a.length == 2 ? "default" : latin1(a[1]), a[a.length - 1]);
        out.ok();
    }

    /**
     * Logs {@code c} in as {@code user}, or throws Redis's WRONGPASS (and logs the attempt for ACL LOG, under the
     * command's name as the client spelled it: {@code command}). A failed attempt leaves the connection as it was,
     * as Redis does.
     */
    void login(ClientConnection c, String command, String user, byte[] password) {
        String from = host(c.remoteAddress());
        long now = clock.millis();
        if (!throttle.mayTry(from, now)) {
            throw new CommandException("ERR too many failed logins from " + from + "; try again in a second");
        }
        AclUser authenticated = acl.authenticate(user, password);
        if (authenticated == null) {
            throttle.failed(from, now);
            acl.logDenial(Acl.Denial.AUTH, "toplevel", command, user, c.info(now), now);
            throw new CommandException("WRONGPASS invalid username-password pair or user is disabled.");
        }
        c.greeted(true);
        // The ACL's own instance of the name (every command looks the user up by it) and the user's identity.
        c.user(authenticated.name(), authenticated.id());
    }

    private void acl(ClientConnection c, byte[][] a, RespWriter out) {
        String sub = latin1(a[1]).toLowerCase(Locale.ROOT);
        switch (sub) {
            case "setuser" -> {
                arity(a, 3, -1, sub);
                List<String> rules = new ArrayList<>();
                for (int i = 3; i < a.length; i++) {
                    rules.add(latin1(a[i]));
                }
                try {
                    acl.setUser(latin1(a[2]), rules);
                } catch (AclException e) {
                    throw new CommandException("ERR " + e.getMessage());
                }
                out.ok();
            }
            case "getuser" -> {
                arity(a, 3, 3, sub);
                AclUser u = acl.user(latin1(a[2]));
                if (u == null) {
                    out.nullBulk();
                    return;
                }
                out.map(6);
                out.bulk("flags").set(u.flags().size()); // a set, as Redis's (an array under RESP2)
                u.flags().forEach(out::bulk);
                out.bulk("passwords").array(u.passwordHashes().size());
                u.passwordHashes().forEach(out::bulk);
                out.bulk("commands").bulk(u.describeCommands());
                out.bulk("keys").bulk(u.describeKeys());
                out.bulk("channels").bulk(u.describeChannels());
                out.bulk("selectors").array(0);
            }
            case "deluser" -> {
                arity(a, 3, -1, sub);
                List<String> names = new ArrayList<>();
                for (int i = 2; i < a.length; i++) {
                    names.add(latin1(a[i]));
                }
                int removed;
                try {
                    removed = acl.deleteUsers(names);
                } catch (AclException e) {
                    throw new CommandException("ERR " + e.getMessage());
                }
                out.integer(removed);
                closeClientsOfGoneUsers(c);
            }
            case "list" -> {
                arity(a, 2, 2, sub);
                List<String> lines = acl.list();
                out.array(lines.size());
                lines.forEach(out::bulk);
            }
            case "users" -> {
                arity(a, 2, 2, sub);
                List<String> names = acl.userNames();
                out.array(names.size());
                names.forEach(out::bulk);
            }
            case "whoami" -> {
                arity(a, 2, 2, sub);
                out.bulk(c.user() == null ? "default" : c.user());
            }
            case "cat" -> {
                arity(a, 2, 3, sub);
                List<String> names;
                if (a.length == 2) {
                    names = CommandCategories.ALL;
                } else {
                    String category = latin1(a[2]).toLowerCase(Locale.ROOT);
                    if (!categories.isCategory(category)) {
                        throw new CommandException("ERR Unknown category '" + latin1(a[2]) + "'");
                    }
                    names = categories.commandsIn(category);
                }
                out.array(names.size());
                names.forEach(out::bulk);
            }
            case "save" -> {
                arity(a, 2, 2, sub);
                save();
                out.ok();
            }
            case "load" -> {
                arity(a, 2, 2, sub);
                load();
                out.ok();
                closeClientsOfGoneUsers(c);
            }
            case "log" -> log(a, out);
            case "genpass" -> {
                arity(a, 2, 3, sub);
                long bits = a.length == 3 ? parsePositive(a[2]) : 256;
                byte[] bytes = new byte[(int) ((bits + 7) / 8)];
                random.nextBytes(bytes);
                String hex = HexFormat.of().formatHex(bytes);
                out.bulk(hex.substring(0, (int) ((bits + 3) / 4)));
            }
            case "help" -> {
                List<String> help = List.of("ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                        "CAT [<category>]", "    List all commands that belong to <category>, or all command categories",
                        "    when no category is specified.",
                        "DELUSER <username> [<username> ...]", "    Delete a list of users.",
                        "GETUSER <username>", "    Get the user's details.",
                        "GENPASS [<bits>]", "    Generate a secure 256-bit user password. The optional `bits` argument can",
                        "    be used to specify a different size.",
                        "LIST", "    Show users details in config file format.",
                        "LOAD", "    Reload users from the ACL file.",
                        "LOG [<count> | RESET]", "    Show the ACL log entries.",
                        "SAVE", "    Save the current config to the ACL file.",
                        "SETUSER <username> <attribute> [<attribute> ...]",
                        "    Create or modify a user with the specified attributes.",
                        "USERS", "    List all the registered usernames.",
                        "WHOAMI", "    Return the current connection username.",
                        "HELP", "    Print this help.");
                out.array(help.size());
                help.forEach(out::simple);
            }
            default -> throw new CommandException("ERR unknown subcommand '" + latin1(a[1])
                    + "'. Try ACL HELP.");
        }
    }

    private static void arity(byte[][] a, int min, int max, String sub) {
        if (a.length < min || (max >= 0 && a.length > max)) {
            throw new CommandException("ERR wrong number of arguments for 'acl|" + sub + "' command");
        }
    }

    private static long parsePositive(byte[] arg) {
        long n;
        try {
            n = Long.parseLong(latin1(arg));
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n <= 0 || n > 4096) {
            throw new CommandException("ERR ACL GENPASS argument must be the number of bits for the output password,"
                    + " a positive number up to 4096");
        }
        return n;
    }

    private void log(byte[][] a, RespWriter out) {
        arity(a, 2, 3, "log");
        int count = 10;
        if (a.length == 3) {
            if (latin1(a[2]).equalsIgnoreCase("reset")) {
                acl.resetLog();
                out.ok();
                return;
            }
            long asked;
            try {
                asked = Long.parseLong(latin1(a[2]));
            } catch (NumberFormatException e) {
                throw new CommandException("ERR value is not an integer or out of range");
            }
            count = (int) Math.max(0, Math.min(asked, Acl.LOG_MAX_ENTRIES)); // as Redis: a negative count is 0
        }
        List<Acl.LogEntry> entries = acl.logEntries(count);
        long now = clock.millis();
        out.array(entries.size());
        for (Acl.LogEntry e : entries) {
            out.map(10); // Redis 7.0's fields, then 7.2's three, which clients such as Jedis 5 read
            out.bulk("count").integer(e.count());
            out.bulk("reason").bulk(e.denial().reason());
            out.bulk("context").bulk(e.context());
            out.bulk("object").bulk(e.object());
            out.bulk("username").bulk(e.username());
            out.bulk("age-seconds").doubleValue((now - e.updatedMillis()) / 1000.0); // since the last denial, as Redis
            out.bulk("client-info").bulk(e.clientInfo());
            out.bulk("entry-id").integer(e.id());
            out.bulk("timestamp-created").integer(e.createdMillis());
            out.bulk("timestamp-last-updated").integer(e.updatedMillis());
        }
    }

    /**
     * Closes the connections logged in as a user that is no more, or that was made again (ACL DELUSER, ACL LOAD), as
     * Redis does; the one running the command ({@code running}) is closed after its reply. A connection this misses
     * (logging in while this runs) is closed at its next command ({@code AccessControl}).
     */
    private void closeClientsOfGoneUsers(ClientConnection running) {
        for (ClientConnection client : clients.list()) {
            String name = client.user();
            if (name == null) {
                continue;
            }
            AclUser now = acl.user(name);
            if (now == null || now.id() != client.userId()) {
                if (client == running) {
                    client.closeAfterReply();
                } else {
                    client.close();
                }
            }
        }
    }

    private void save() {
        if (aclFile == null) {
            throw notConfigured();
        }
        Path tmp = aclFile.resolveSibling(aclFile.getFileName() + ".tmp");
        try {
            Files.write(tmp, acl.list());
            Files.move(tmp, aclFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CommandException("ERR There was an error trying to save the ACLs. Please check the server logs"
                    + " for more information: " + e.getMessage());
        }
    }

    private void load() {
        if (aclFile == null) {
            throw notConfigured();
        }
        try {
            acl.load(aclFile.toString(), Files.readAllLines(aclFile));
        } catch (IOException e) {
            throw new CommandException("ERR Error loading ACLs, opening file '" + aclFile + "': " + e.getMessage());
        } catch (AclException e) {
            throw new CommandException("ERR " + e.getMessage());
        }
    }

    private static CommandException notConfigured() {
        return new CommandException("ERR This Redis instance is not configured to use an ACL file. You may want to"
                + " specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a"
                + " Redis configuration file set) in order to store users in the Redis configuration.");
    }
}
