package io.trelliskv.cli;

import io.trelliskv.common.Durations;
import io.trelliskv.common.ParseException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code trellis-cli [options] <host:port | unix:/path> [command [args...]]}: the command-line client
 * of TrellisKV. With a command it runs that one command and exits with a status scripts can test
 * (see {@link ExitCode}); without one it opens an interactive prompt ({@link Repl}).
 *
 * <h2>Parsing</h2>
 * Options come before the address. Picocli stops interpreting options at the address
 * ({@code stopAtPositional}), so everything after it reaches the command untouched: values that look
 * like options ({@code put k -5}, {@code put k --}) and {@code @file} words (at-file expansion is
 * off) are data. A command word that starts with {@code -} is refused with a hint, since it is almost
 * always an option typed after the address.
 *
 * <h2>Errors</h2>
 * Every failure is one line on stderr, prefixed {@code trellis-cli:}; never a stack trace. Usage
 * errors add a pointer to {@code --help}.
 */
@Command(name = "trellis-cli", mixinStandardHelpOptions = true, versionProvider = TrellisCli.VersionProvider.class,
        sortOptions = false, usageHelpWidth = 100,
        description = "Command-line client for TrellisKV (and any server speaking the Redis protocol).",
        footer = {"",
                "Commands (case-insensitive; with none, an interactive prompt starts):",
                "  put KEY VALUE [--ttl DURATION]  set a value, optionally expiring (SET ... PX)",
                "  get KEY                         print the value",
                "  delete KEY                      delete a key",
                "  ttl KEY                         time to live left, e.g. 9.998s or 'no expiry'",
                "  info [SECTION]                  server information",
                "  members                         cluster members: id, address, state, incarnation, ownership",
                "  ring                            ring tokens and ownership per node",
                "  repair                          run anti-entropy on the node now, showing progress until done",
                "  status                          members' ring status (NORMAL/JOINING/LEAVING), streams and progress",
                "  decommission                    hand the node's ranges over, then it leaves the ring and exits",
                "  removenode NODE_ID              take a DEAD node off the ring; its ranges get back to N replicas",
                "  gossipkey list                  the gossip keys' fingerprints, the primary first",
                "  gossipkey install|use|remove    rotate gossip keys; the key (base64) is read from standard input",
                "  raw CMD [ARG...]                send any command, print the reply like redis-cli",
                "  CMD [ARG...]                    any other word is sent as with raw, e.g. DBSIZE",
                "",
                "Options go before ADDRESS; words after the command are passed as they are, even '-5'.",
                "Durations: 500ms, 10s, 5m, 2h, 1d, or a number of seconds.",
                "Exit status: 0 success, 1 key not found (get, delete, ttl), 2 error (usage, connection,",
                "server error reply).",
                "",
                "Examples:",
                "  trellis-cli localhost:5000 put greeting hello --ttl 10m",
                "  trellis-cli [::1]:5000 get greeting",
                "  trellis-cli unix:/run/trellis.sock DBSIZE"})
public final class TrellisCli implements Callable<Integer> {

    /** Default for {@code --timeout}. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Connect and read timeout (default: 5s).")
    Duration timeout = DEFAULT_TIMEOUT;

    @Option(names = "--consistency", paramLabel = "LEVEL",
            description = "Consistency level for this session's reads and writes: ONE, QUORUM or ALL"
                    + " (default: the node's).")
    String consistency;

    @Option(names = "--raw", description = "Print replies raw, without redis-cli's quotes and type tags.")
    boolean raw;

    @Option(names = "--tls", description = "Connect over TLS (to the node's --tls-port).")
    boolean tls;

    @Option(names = "--cacert", paramLabel = "FILE",
            description = "CA certificates to trust the node's certificate by (PEM; default: the JDK's trust store).")
    Path caCert;

    @Option(names = "--cert", paramLabel = "FILE", description = "Client certificate to present (PEM).")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", description = "The private key of --cert (PEM, PKCS#8).")
    Path key;

    @Option(names = "--user", paramLabel = "USER", description = "Log in as this ACL user (with --pass).")
    String user;

    @Option(names = "--pass", paramLabel = "PASSWORD",
            description = "Password to log in with; visible in the process list, so prefer the REDISCLI_AUTH"
                    + " environment variable.")
    String pass;

    @Parameters(index = "0", paramLabel = "ADDRESS", description = "host:port, [ipv6]:port or unix:/path/to.sock")
    String address;

    @Parameters(index = "1..*", paramLabel = "COMMAND", description = "Command and its arguments.")
    List<String> command = new ArrayList<>();

    private final StandardStreams streams;

    private TrellisCli(StandardStreams streams) {
        this.streams = streams;
    }

    public static void main(String[] args) {
        System.exit(run(args, StandardStreams.system()));
    }

    /** Runs trellis-cli with {@code args} on {@code streams} and returns the exit status. */
    static int run(String[] args, StandardStreams streams) {
        CommandLine cli = new CommandLine(new TrellisCli(streams))
                .setStopAtPositional(true)
                .setExpandAtFiles(false)
                .setOut(new PrintWriter(streams.out(), true))
                .setErr(new PrintWriter(streams.err(), true))
                .setParameterExceptionHandler((ex, a) -> usageError(streams, ex.getMessage()))
                .setExecutionExceptionHandler((ex, c, parsed) -> {
                    if (ex instanceof UsageException) {
                        return usageError(streams, ex.getMessage());
                    }
                    streams.err().println("trellis-cli: internal error: " + ex);
                    return ExitCode.ERROR;
                });
        int status = cli.execute(args);
        streams.out().flush();
        streams.err().flush();
        return status;
    }

    private ClientSecurity security() {
        if (!tls && (caCert != null || cert != null || key != null)) {
            throw new UsageException("--cacert, --cert and --key need --tls");
        }
        String password = pass != null ? pass : streams.environment(ClientSecurity.PASSWORD_VARIABLE);
        if (user != null && password == null) {
            throw new UsageException("--user needs a password: --pass or the " + ClientSecurity.PASSWORD_VARIABLE
                    + " environment variable");
        }
        return new ClientSecurity(tls ? ClientSecurity.tlsFactory(caCert, cert, key) : null, user, password);
    }

    private static int usageError(StandardStreams streams, String message) {
        streams.err().println("trellis-cli: " + message + " (see trellis-cli --help)");
        return ExitCode.ERROR;
    }

    @Override
    public Integer call() {
        Address target;
        try {
            target = Address.parse(address);
        } catch (ParseException e) {
            throw new UsageException(e.getMessage());
        }
        if (consistency != null && !List.of("ONE", "QUORUM", "ALL").contains(consistency.toUpperCase(Locale.ROOT))) {
            throw new UsageException("--consistency: unknown level '" + consistency + "' (expected: ONE, QUORUM or ALL)");
        }
        String level = consistency == null ? null : consistency.toUpperCase(Locale.ROOT);
        ClientSecurity security = security();
        if (command.isEmpty()) {
            return new Repl(target, timeout, security, level, raw, streams).run();
        }
        if (command.get(0).startsWith("-")) {
            throw new UsageException("'" + command.get(0) + "' is not a command; options go before the address");
        }
        if (command.get(0).equalsIgnoreCase("repair")) {
            if (command.size() > 1) {
                throw new UsageException("repair: unexpected argument '" + command.get(1) + "' (usage: repair)");
            }
            return new Repair(target, timeout, security, Repair.POLL_INTERVAL, streams).run();
        }
        if (command.get(0).equalsIgnoreCase("decommission")) {
            if (command.size() > 1) {
                throw new UsageException("decommission: unexpected argument '" + command.get(1)
                        + "' (usage: decommission)");
            }
            return new Decommission(target, timeout, security, Decommission.POLL_INTERVAL, streams).run();
        }
        return new OneShot(target, timeout, security, level, raw, streams).run(command);
    }

    /** Converts {@code --timeout} values, reporting bad ones in {@link Durations}' words. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return Durations.parse(value);
            } catch (ParseException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** The version from the jar manifest, or "dev" when run from classes. */
    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = TrellisCli.class.getPackage().getImplementationVersion();
            return new String[] {"trellis-cli " + (version != null ? version : "dev")};
        }
    }
}
