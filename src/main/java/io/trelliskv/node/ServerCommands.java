package io.trelliskv.node;

import io.trelliskv.command.Args;
import io.trelliskv.command.CommandCategories;
import io.trelliskv.command.CommandException;
import io.trelliskv.command.CommandFlag;
import io.trelliskv.command.CommandHandler;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.Glob;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.net.ServerTls;
import io.trelliskv.net.TlsConfig;
import io.trelliskv.net.TlsFiles;
import io.trelliskv.net.peer.PeerTls;
import io.trelliskv.net.peer.PeerTlsConfig;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.version.Version;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.trelliskv.command.Args.is;
import static io.trelliskv.command.Args.str;
import static io.trelliskv.command.CommandFlag.ADMIN;
import static io.trelliskv.command.CommandFlag.FAST;
import static io.trelliskv.command.CommandFlag.LOADING;
import static io.trelliskv.command.CommandFlag.NO_AUTH;
import static io.trelliskv.command.CommandFlag.STALE;
import static io.trelliskv.command.CommandFlag.WRITE;

/**
 * Connection and server commands: PING, ECHO, QUIT, HELLO, AUTH, CLIENT, SELECT, COMMAND, INFO, DBSIZE,
 * FLUSHALL, FLUSHDB, TIME, CONFIG.
 */
final class ServerCommands {

    /** The Redis version whose commands and replies this node follows; clients use it to pick features. */
    static final String REDIS_COMPAT_VERSION = "7.0.0";

    private final Node node;
    private final Info info;
    private final Config config;

    /** AUTH and ACL; HELLO's AUTH option logs in through it. */
    private final AclCommands acl;

    ServerCommands(Node node, AclCommands acl) {
        this.node = node;
        this.acl = acl;
        this.info = new Info(node.infoSources());
        this.config = new Config(node);
    }

    void registerInto(CommandTable t) {
        t.register("ping", -1, EnumSet.of(FAST, STALE), this::ping);
        t.register("echo", 2, EnumSet.of(FAST), (c, a, out) -> out.bulk(a[1]));
        t.register("quit", -1, EnumSet.of(NO_AUTH, FAST, LOADING, STALE), this::quit);
        t.register("hello", -1, EnumSet.of(NO_AUTH, FAST, LOADING, STALE), this::hello);
        t.register("client", -2, EnumSet.of(LOADING, STALE), this::client);
        t.register("select", 2, EnumSet.of(FAST, LOADING, STALE), this::select);
        t.register("command", -1, EnumSet.of(LOADING, STALE), new CommandCommand(t));
        t.register("info", -1, EnumSet.of(LOADING, STALE), (c, a, out) -> out.verbatim(info.render(a)));
        t.register("dbsize", 1, EnumSet.of(CommandFlag.READONLY, FAST), (c, a, out) -> out.integer(node.engine().size()));
        t.register("flushall", -1, EnumSet.of(WRITE), this::flush);
        t.register("flushdb", -1, EnumSet.of(WRITE), this::flush);
        t.register("time", 1, EnumSet.of(FAST, LOADING, STALE), this::time);
        t.register("config", -2, EnumSet.of(ADMIN, LOADING, STALE), config::handle);
    }

    private void ping(ClientConnection c, byte[][] a, RespWriter out) {
        if (a.length > 2) {
            throw CommandException.wrongArity("ping");
        }
        if (a.length == 2) {
            out.bulk(a[1]);
        } else {
            out.simple("PONG");
        }
    }

    private void quit(ClientConnection c, byte[][] a, RespWriter out) {
        out.ok();
        c.closeAfterReply();
    }

    /** HELLO [protover [AUTH username password] [SETNAME clientname]]. */
    private void hello(ClientConnection c, byte[][] a, RespWriter out) {
        int protocol = out.protocol();
        int i = 1;
        if (a.length > 1) {
            long v;
            try {
                v = Args.parseLong(a[1]);
            } catch (CommandException e) {
                throw new CommandException("ERR Protocol version is not an integer or out of range");
            }
            if (v != 2 && v != 3) {
                throw new CommandException("NOPROTO unsupported protocol version");
            }
            protocol = (int) v;
            i = 2;
        }
        String name = null;
        String user = null;
        byte[] password = null;
        for (; i < a.length; i++) {
            boolean more = i + 1 < a.length;
            if (is(a[i], "AUTH") && i + 2 < a.length) {
                user = new String(a[++i], java.nio.charset.StandardCharsets.ISO_8859_1);
                password = a[++i];
            } else if (is(a[i], "SETNAME") && more) {
                name = str(a[++i]);
                validateClientName(name);
            } else {
                throw new CommandException("ERR Syntax error in HELLO option '" + str(a[i]) + "'");
            }
        }
        if (user != null) {
            acl.login(c, str(a[0]), user, password); // as Redis: a failed login fails the whole HELLO
        } else if (c.user() == null && node.acl().authRequired()) {
            throw new CommandException("NOAUTH HELLO must be called with the client already authenticated, otherwise"
                    + " the HELLO AUTH <user> <pass> option can be used to authenticate the client and select"
                    + " the RESP protocol version at the same time");
        }
        if (name != null) {
            c.name(name);
        }
        out.protocol(protocol);
        out.map(7);
        out.bulk("server").bulk("trelliskv");
        out.bulk("version").bulk(REDIS_COMPAT_VERSION);
        out.bulk("proto").integer(protocol);
        out.bulk("id").integer(c.id());
        out.bulk("mode").bulk("standalone");
        out.bulk("role").bulk("master");
        out.bulk("modules").array(0);
    }

    private void select(ClientConnection c, byte[][] a, RespWriter out) {
        long db = Args.parseLong(a[1]);
        if (db != 0) {
            throw new CommandException("ERR DB index is out of range");
        }
        out.ok();
    }

    private void flush(ClientConnection c, byte[][] a, RespWriter out) {
        if (a.length > 2 || (a.length == 2 && !is(a[1], "ASYNC") && !is(a[1], "SYNC"))) {
            throw CommandException.syntax();
        }
        // In a cluster the dispatcher runs FLUSHALL itself, in the connection's order, on every member
        // (Dispatcher.flushInOrder); here only this node's engine is flushed (no cluster, or a test).
        node.engine().flush(new Version(node.hlc().now(), node.nodeId()));
        out.ok();
    }

    private void time(ClientConnection c, byte[][] a, RespWriter out) {
        long micros = Math.multiplyExact(node.clock().millis(), 1000L);
        out.array(2).bulk(Long.toString(micros / 1_000_000)).bulk(Long.toString(micros % 1_000_000));
    }

    private void client(ClientConnection c, byte[][] a, RespWriter out) {
        String sub = str(a[1]).toLowerCase(Locale.ROOT);
        switch (sub) {
            case "setname" -> {
                requireArgs(a, 3, sub);
                String name = str(a[2]);
                validateClientName(name);
                c.name(name);
                out.ok();
            }
            case "getname" -> {
                requireArgs(a, 2, sub);
                if (c.name().isEmpty()) {
                    out.nullBulk();
                } else {
                    out.bulk(c.name());
                }
            }
            case "id" -> {
                requireArgs(a, 2, sub);
                out.integer(c.id());
            }
            case "setinfo" -> {
                requireArgs(a, 4, sub);
                String value = str(a[3]);
                if (is(a[2], "LIB-NAME")) {
                    validateClientName(value);
                    c.libName(value);
                } else if (is(a[2], "LIB-VER")) {
                    validateClientName(value);
                    c.libVersion(value);
                } else {
                    throw new CommandException("ERR Unrecognized option '" + str(a[2]) + "'");
                }
                out.ok();
            }
            case "list" -> out.verbatim(clientList(a));
            case "info" -> {
                requireArgs(a, 2, sub);
                out.verbatim(clientLine(c) + "\n");
            }
            case "help" -> help(out,
                    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "GETNAME", "    Return the name of the current connection.",
                    "ID", "    Return the ID of the current connection.",
                    "INFO", "    Return information about the current client connection.",
                    "LIST [TYPE normal] [ID <id> [<id> ...]]", "    Return information about client connections.",
                    "SETINFO <option> <value>", "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
                    "SETNAME <name>", "    Assign the name <name> to the current connection.",
                    "HELP", "    Print this help.");
            default -> throw new CommandException("ERR unknown subcommand '" + str(a[1]) + "'. Try CLIENT HELP.");
        }
    }

    private static void requireArgs(byte[][] a, int n, String sub) {
        if (a.length != n) {
            throw new CommandException("ERR wrong number of arguments for 'client|" + sub + "' command");
        }
    }

    private static void validateClientName(String name) {
        for (int i = 0; i < name.length(); i++) {
            char ch = name.charAt(i);
            if (ch < '!' || ch > '~') {
                throw new CommandException("ERR Client names cannot contain spaces, newlines or special characters.");
            }
        }
    }

    /** CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]. */
    private String clientList(byte[][] a) {
        List<Long> ids = null;
        boolean none = false;
        for (int i = 2; i < a.length; i++) {
            if (is(a[i], "TYPE") && i + 1 < a.length) {
                String type = str(a[++i]).toLowerCase(Locale.ROOT);
                switch (type) {
                    case "normal" -> { }
                    case "master", "replica", "slave", "pubsub" -> none = true;
                    default -> throw new CommandException("ERR Unknown client type '" + type + "'");
                }
            } else if (is(a[i], "ID") && i + 1 < a.length) {
                ids = new ArrayList<>();
                while (i + 1 < a.length) {
                    long id = Args.parseLong(a[++i], "ERR Invalid client ID");
                    if (id <= 0) {
                        throw new CommandException("ERR Invalid client ID");
                    }
                    ids.add(id);
                }
            } else {
                throw CommandException.syntax();
            }
        }
        StringBuilder sb = new StringBuilder();
        if (!none) {
            for (ClientConnection c : node.clients().list()) {
                if (ids == null || ids.contains(c.id())) {
                    sb.append(clientLine(c)).append('\n');
                }
            }
        }
        return sb.toString();
    }

    private String clientLine(ClientConnection c) {
        return c.info(node.clock().millis());
    }

    /**
     * The subcommands this node runs, per container: what COMMAND LIST names (as Redis names its own, so a client
     * that looks one up there before using it finds it). Each container's handler answers every one of them
     * (NodeJedisTest sends each).
     */
    static final Map<String, List<String>> SUBCOMMANDS = Map.of(
            "acl", List.of("cat", "deluser", "genpass", "getuser", "help", "list", "load", "log", "save", "setuser",
                    "users", "whoami"),
            "client", List.of("getname", "help", "id", "info", "list", "setinfo", "setname"),
            "command", List.of("count", "docs", "help", "info", "list"),
            "config", List.of("get", "help", "resetstat", "set"));

    /** COMMAND [COUNT | LIST | INFO name... | DOCS name... | HELP]. */
    private static final class CommandCommand implements CommandHandler {
        private final CommandTable table;

        CommandCommand(CommandTable table) {
            this.table = table;
        }

        @Override
        public void handle(ClientConnection c, byte[][] a, RespWriter out) {
            if (a.length == 1) {
                out.array(table.all().size());
                table.all().forEach(spec -> describe(spec, out));
                return;
            }
            String sub = str(a[1]).toLowerCase(Locale.ROOT);
            switch (sub) {
                case "count" -> out.integer(table.all().size());
                case "list" -> { // as Redis: the containers' subcommands too, container|subcommand
                    List<String> names = new ArrayList<>();
                    for (CommandSpec spec : table.all()) {
                        names.add(spec.name());
                        for (String subcommand : SUBCOMMANDS.getOrDefault(spec.name(), List.of())) {
                            names.add(spec.name() + "|" + subcommand);
                        }
                    }
                    out.array(names.size());
                    names.forEach(out::bulk);
                }
                case "info" -> {
                    out.array(a.length - 2);
                    for (int i = 2; i < a.length; i++) {
                        CommandSpec spec = table.find(a[i]);
                        if (spec == null) {
                            out.nullArray();
                        } else {
                            describe(spec, out);
                        }
                    }
                }
                case "docs" -> {
                    // No documentation is served; clients fall back to their built-in help.
                    out.map(0);
                }
                case "help" -> help(out,
                        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                        "(no subcommand)", "    Return details about all commands.",
                        "COUNT", "    Return the total number of commands in this server.",
                        "LIST", "    Return a list of all commands in this server.",
                        "INFO <command-name> [<command-name> ...]", "    Return details about the given commands.",
                        "DOCS [<command-name> ...]", "    Return documentation details (none is served here: an empty map).",
                        "HELP", "    Print this help.");
                default -> throw new CommandException("ERR unknown subcommand '" + str(a[1])
                        + "'. Try COMMAND HELP.");
            }
        }

        private static void describe(CommandSpec spec, RespWriter out) {
            out.array(10);
            out.bulk(spec.name());
            out.integer(spec.arity());
            out.set(spec.flags().size());
            spec.flags().forEach(f -> out.simple(f.redisName()));
            out.integer(spec.firstKey());
            out.integer(spec.lastKey());
            out.integer(spec.step());
            List<String> categories = CommandCategories.ALL.stream()
                    .filter(CommandCategories.categoriesOf(spec)::contains).toList();
            out.set(categories.size()); // ACL categories, in ACL CAT's order
            categories.forEach(c -> out.simple("@" + c));
            out.set(0); // tips
            out.array(0); // key specs
            out.array(0); // subcommands
        }
    }

    /** CONFIG GET / SET / RESETSTAT over the few parameters a node exposes. */
    private static final class Config {
        private final Node node;

        Config(Node node) {
            this.node = node;
        }

        void handle(ClientConnection c, byte[][] a, RespWriter out) {
            if (is(a[1], "GET") && a.length >= 3) {
                Map<String, String> params = parameters();
                List<Map.Entry<String, String>> matches = new ArrayList<>();
                for (Map.Entry<String, String> e : params.entrySet()) {
                    for (int i = 2; i < a.length; i++) {
                        byte[] pattern = str(a[i]).toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8);
                        if (Glob.matches(pattern, e.getKey().getBytes(StandardCharsets.UTF_8))) {
                            matches.add(e);
                            break;
                        }
                    }
                }
                out.map(matches.size());
                matches.forEach(e -> out.bulk(e.getKey()).bulk(e.getValue()));
            } else if (is(a[1], "HELP") && a.length == 2) {
                help(out,
                        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                        "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
                        "SET <directive> <value>", "    Set the configuration <directive> to <value>: requirepass,"
                                + " protected-mode, tls-cert-file, tls-key-file or tls-ca-cert-file (the others need"
                                + " a restart with the option).",
                        "RESETSTAT", "    Reset statistics reported by the INFO command.",
                        "HELP", "    Print this help.");
            } else if (is(a[1], "RESETSTAT") && a.length == 2) {
                node.dispatcher().resetStats();
                out.ok();
            } else if (is(a[1], "SET") && a.length == 4 && is(a[2], "requirepass")) {
                node.acl().requirePassword(new String(a[3], StandardCharsets.ISO_8859_1));
                out.ok();
            } else if (is(a[1], "SET") && a.length == 4 && is(a[2], "protected-mode")) {
                if (!is(a[3], "yes") && !is(a[3], "no")) {
                    throw new CommandException("ERR CONFIG SET failed (possibly related to argument 'protected-mode')"
                            + " - argument must be 'yes' or 'no'");
                }
                node.protectedMode(is(a[3], "yes"));
                out.ok();
            } else if (is(a[1], "SET") && a.length >= 4 && a.length % 2 == 0 && str(a[2]).toLowerCase(Locale.ROOT).startsWith("tls-")) {
                rotateTls(a);
                out.ok();
            } else if (is(a[1], "SET") && a.length >= 4) {
                throw new CommandException("ERR CONFIG SET is not supported for '" + str(a[2]) + "' (only requirepass,"
                        + " protected-mode, tls-cert-file, tls-key-file and tls-ca-cert-file): restart the node with the"
                        + " option instead");
            } else if (is(a[1], "GET") || is(a[1], "SET") || is(a[1], "RESETSTAT")) {
                throw new CommandException("ERR wrong number of arguments for 'config|"
                        + str(a[1]).toLowerCase(Locale.ROOT) + "' command");
            } else {
                throw new CommandException("ERR unknown subcommand '" + str(a[1]) + "'. Try CONFIG HELP.");
            }
        }

        /**
         * CONFIG SET tls-cert-file F [tls-key-file K] [tls-ca-cert-file C]: loads the new files and uses them for
         * new connections, all or nothing (as Redis, a bad file leaves the old ones in force): the client TLS port's
         * and, with {@code --tls-cluster}, the peers', dialed and accepted. A file not named stays as it is.
         */
        private void rotateTls(byte[][] a) {
            ServerTls tls = node.tls();
            PeerTls peerTls = node.peerTls();
            if (tls == null && peerTls == null) {
                throw new CommandException("ERR CONFIG SET failed: this node uses no TLS (--tls-port, --tls-cluster)");
            }
            java.nio.file.Path cert = null;
            java.nio.file.Path key = null;
            java.nio.file.Path ca = null;
            for (int i = 2; i < a.length; i += 2) {
                String name = str(a[i]).toLowerCase(Locale.ROOT);
                java.nio.file.Path value = java.nio.file.Path.of(str(a[i + 1]));
                switch (name) {
                    case "tls-cert-file" -> cert = value;
                    case "tls-key-file" -> key = value;
                    case "tls-ca-cert-file" -> ca = value;
                    default -> throw new CommandException("ERR CONFIG SET is not supported for '" + name + "'");
                }
            }
            try {
                Runnable peers = null;
                if (peerTls != null) {
                    PeerTlsConfig p = peerTls.config();
                    peers = peerTls.prepareReload(p.withFiles(cert != null ? cert : p.certFile(),
                            key != null ? key : p.keyFile(), ca != null ? ca : p.caCertFile()));
                }
                if (tls != null) {
                    TlsConfig c = tls.config();
                    tls.reload(c.withFiles(cert != null ? cert : c.certFile(), key != null ? key : c.keyFile(),
                            ca != null ? ca : c.caCertFile()));
                }
                if (peers != null) {
                    peers.run();
                }
            } catch (IllegalArgumentException e) {
                throw new CommandException("ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - "
                        + e.getMessage());
            }
        }

        private Map<String, String> parameters() {
            NodeConfig cfg = node.config();
            Map<String, String> p = new java.util.LinkedHashMap<>();
            p.put("bind", cfg.net().host());
            p.put("port", Integer.toString(node.address() == null ? cfg.net().port() : node.address().getPort()));
            p.put("unixsocket", cfg.net().unixSocket() == null ? "" : cfg.net().unixSocket());
            p.put("maxmemory", Long.toString(cfg.engine().maxMemoryBytes()));
            p.put("maxmemory-policy", cfg.engine().policy().configName());
            p.put("maxmemory-samples", Integer.toString(cfg.engine().evictionSamples()));
            p.put("maxclients", Integer.toString(cfg.net().maxClients()));
            p.put("io-threads", Integer.toString(cfg.net().eventLoopThreads())); // the number running, as Redis says
            p.put("proto-max-bulk-len", Long.toString(cfg.net().limits().maxBulkLength()));
            p.put("databases", "1");
            p.put("max-siblings", Integer.toString(cfg.maxSiblings()));
            p.put("save", "");
            p.put("appendonly", cfg.persist().appendOnly() ? "yes" : "no");
            ServerTls tls = node.tls();
            p.put("tls-port", tls == null ? "0" : Integer.toString(node.tlsAddress() == null ? tls.config().port()
                    : node.tlsAddress().getPort()));
            PeerTlsConfig peerTls = node.peerTls() == null ? null : node.peerTls().config();
            p.put("tls-cert-file", tls != null ? tls.config().certFile().toString()
                    : peerTls != null ? peerTls.certFile().toString() : "");
            p.put("tls-key-file", tls != null ? tls.config().keyFile().toString()
                    : peerTls != null ? peerTls.keyFile().toString() : "");
            p.put("tls-ca-cert-file", tls != null && tls.config().caCertFile() != null ? tls.config().caCertFile().toString()
                    : peerTls != null ? peerTls.caCertFile().toString() : "");
            p.put("tls-auth-clients", tls != null ? tls.config().authClients().name().toLowerCase(Locale.ROOT) : "yes");
            List<String> protocols = tls != null ? tls.config().protocols()
                    : peerTls != null ? peerTls.protocols() : List.of();
            p.put("tls-protocols", String.join(" ", protocols));
            // The ciphers in force, split by version as Redis's two options are: a version neither option named
            // shows the engine's defaults for it, or nothing when neither was given (the engine chooses).
            List<String> ciphers = tls != null ? tls.config().ciphersuites()
                    : peerTls != null ? peerTls.ciphersuites() : List.of();
            p.put("tls-ciphers", String.join(":", ciphers.stream().filter(c -> !TlsFiles.TLS13_SUITES.contains(c)).toList()));
            p.put("tls-ciphersuites", String.join(":", ciphers.stream().filter(TlsFiles.TLS13_SUITES::contains).toList()));
            p.put("tls-clients-only", tls != null && tls.config().clientsOnly() ? "yes" : "no");
            p.put("tls-cluster", peerTls == null ? "no" : peerTls.optional() ? "optional" : "yes");
            p.put("protected-mode", node.protectedMode() ? "yes" : "no");
            p.put("aclfile", cfg.security().aclFile() == null ? "" : cfg.security().aclFile().toString());
            return p;
        }
    }

    /** A container's HELP: its lines as simple strings, as Redis answers it. */
    private static void help(RespWriter out, String... lines) {
        out.array(lines.length);
        for (String line : lines) {
            out.simple(line);
        }
    }
}
