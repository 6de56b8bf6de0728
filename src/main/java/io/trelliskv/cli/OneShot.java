package io.trelliskv.cli;

import io.trelliskv.common.Durations;
import io.trelliskv.common.ParseException;
import io.trelliskv.resp.RespFormatter;
import io.trelliskv.resp.RespValue;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToIntFunction;

/**
 * Runs one command given on the command line and turns its reply into output and an exit status.
 *
 * <p>The friendly commands map onto Redis commands: {@code put} is SET (with PX for {@code --ttl}),
 * {@code get} GET, {@code delete} DEL, {@code ttl} PTTL, {@code info} INFO. Anything else, or
 * {@code raw CMD ...}, is sent as typed and its reply printed the way redis-cli prints it.
 *
 * <p>Results go to stdout, everything else to stderr, so {@code value=$(trellis-cli ... get k)}
 * captures just the value: a missing key prints {@code (nil)} ({@code get}) or {@code not found}
 * ({@code delete}, {@code ttl}) to stderr with status 1; an error reply prints
 * {@code (error) ERR ...} to stderr with status 2.
 *
 * <p>Arguments are checked before connecting, so a usage error never waits on the network.
 */
final class OneShot {

    /** The consistency level to set on each connection, or null for the node's defaults. */
    private final String consistency;

    private final Address address;
    private final Duration timeout;
    private final ClientSecurity security;
    private final boolean raw;
    private final StandardStreams streams;

    OneShot(Address address, Duration timeout, ClientSecurity security, String consistency, boolean raw,
            StandardStreams streams) {
        this.security = security;
        this.consistency = consistency;
        this.address = address;
        this.timeout = timeout;
        this.raw = raw;
        this.streams = streams;
    }

    /** A command to send and what to make of its reply (called only for replies that are not errors). */
    private record Request(List<String> command, ToIntFunction<RespValue> onReply) {
    }

    /** Runs {@code words} (command name first) and returns the exit status. */
    int run(List<String> words) {
        Request request = request(words);
        RespValue reply;
        try (Connection connection = Connection.open(address, timeout, security, consistency)) {
            reply = connection.call(toBytes(request.command()));
        } catch (ConnectionException e) {
            streams.err().println("trellis-cli: " + e.getMessage());
            return ExitCode.ERROR;
        }
        if (reply instanceof RespValue.Error error) {
            streams.err().println("(error) " + error.message());
            return ExitCode.ERROR;
        }
        return request.onReply().applyAsInt(reply);
    }

    /** Checks the arguments and builds the request; throws {@link UsageException} for bad ones. */
    private Request request(List<String> words) {
        List<String> args = words.subList(1, words.size());
        return switch (words.get(0).toLowerCase(Locale.ROOT)) {
            case "put" -> new Request(put(args), this::printOk);
            case "get" -> new Request(List.of("GET", oneKey("get", args)), this::printValue);
            case "delete" -> new Request(List.of("DEL", oneKey("delete", args)), this::printDeleted);
            case "ttl" -> new Request(List.of("PTTL", oneKey("ttl", args)), this::printTtl);
            case "info" -> info(args);
            case "members" -> new Request(List.of("MEMBERS"), this::printText);
            case "ring" -> new Request(List.of("RING"), this::printText);
            case "status" -> new Request(List.of("STATUS"), this::printText);
            case "removenode" -> {
                if (args.size() != 1) {
                    throw new UsageException("removenode: expected one NODE_ID (usage: removenode NODE_ID)");
                }
                yield new Request(List.of("REMOVENODE", args.get(0)), this::printOk);
            }
            case "gossipkey" -> gossipKey(args);
            case "raw" -> {
                if (args.isEmpty()) {
                    throw new UsageException("raw: missing command (usage: raw CMD [ARG...])");
                }
                yield new Request(args, this::printReply);
            }
            default -> new Request(words, this::printReply);
        };
    }

    /**
     * {@code gossipkey list | install|use|remove [KEY | -]}: GOSSIPKEY, the key (base64) read from the first line of
     * standard input when it is {@code -} or left out, so that it shows neither in the shell's history nor in the
     * process list.
     */
    private Request gossipKey(List<String> args) {
        String usage = " (usage: gossipkey list | gossipkey install|use|remove [KEY | -], the key read from standard"
                + " input when - or left out)";
        String sub = args.isEmpty() ? "" : args.get(0).toLowerCase(Locale.ROOT);
        if (sub.equals("list") && args.size() == 1) {
            return new Request(List.of("GOSSIPKEY", "LIST"), this::printReply);
        }
        if (!List.of("install", "use", "remove").contains(sub) || args.size() > 2) {
            throw new UsageException("gossipkey: " + (sub.isEmpty() ? "missing subcommand" : "unexpected arguments")
                    + usage);
        }
        String key = args.size() == 2 && !args.get(1).equals("-") ? args.get(1) : firstLineOfInput();
        if (key.isBlank()) {
            throw new UsageException("gossipkey " + sub + ": no key on standard input" + usage);
        }
        return new Request(List.of("GOSSIPKEY", sub.toUpperCase(Locale.ROOT), key.strip()), this::printOk);
    }

    /** The first line of standard input, without its line end; empty if there is none. */
    private String firstLineOfInput() {
        try {
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(streams.in(),
                    java.nio.charset.StandardCharsets.US_ASCII));
            String line = in.readLine();
            return line == null ? "" : line;
        } catch (java.io.IOException e) {
            throw new UsageException("gossipkey: cannot read the key from standard input: " + e.getMessage());
        }
    }

    /** {@code put KEY VALUE [--ttl DURATION]}; KEY and VALUE are taken as they are, even if they start with '-'. */
    private static List<String> put(List<String> args) {
        String usage = " (usage: put KEY VALUE [--ttl DURATION])";
        if (args.size() < 2) {
            throw new UsageException("put: missing " + (args.isEmpty() ? "KEY and VALUE" : "VALUE") + usage);
        }
        List<String> command = new ArrayList<>(List.of("SET", args.get(0), args.get(1)));
        List<String> rest = args.subList(2, args.size());
        String ttl = null;
        int used = 0;
        if (!rest.isEmpty() && rest.get(0).equals("--ttl")) {
            if (rest.size() < 2) {
                throw new UsageException("put: --ttl needs a DURATION" + usage);
            }
            ttl = rest.get(1);
            used = 2;
        } else if (!rest.isEmpty() && rest.get(0).startsWith("--ttl=")) {
            ttl = rest.get(0).substring("--ttl=".length());
            used = 1;
        }
        if (used < rest.size()) {
            throw new UsageException("put: unexpected argument '" + rest.get(used) + "'" + usage);
        }
        if (ttl != null) {
            try {
                command.addAll(List.of("PX", Long.toString(Durations.parse(ttl).toMillis())));
            } catch (ParseException e) {
                throw new UsageException("put: --ttl: " + e.getMessage());
            }
        }
        return command;
    }

    private Request info(List<String> args) {
        if (args.size() > 1) {
            throw new UsageException("info: unexpected argument '" + args.get(1) + "' (usage: info [SECTION])");
        }
        List<String> command = new ArrayList<>(List.of("INFO"));
        command.addAll(args);
        return new Request(command, this::printText);
    }

    private static String oneKey(String name, List<String> args) {
        if (args.size() != 1) {
            throw new UsageException(name + ": " + (args.isEmpty() ? "missing KEY" : "unexpected argument '"
                    + args.get(1) + "'") + " (usage: " + name + " KEY)");
        }
        return args.get(0);
    }

    private static List<byte[]> toBytes(List<String> command) {
        return command.stream().map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
    }

    private int printOk(RespValue reply) {
        if (reply instanceof RespValue.SimpleString ok) {
            streams.out().println(ok.value());
            return ExitCode.OK;
        }
        return printReply(reply);
    }

    private int printValue(RespValue reply) {
        if (reply instanceof RespValue.Null) {
            streams.err().println("(nil)");
            return ExitCode.NOT_FOUND;
        }
        if (reply instanceof RespValue.BulkString value) {
            streams.out().writeBytes(value.value());
            streams.out().println();
            return ExitCode.OK;
        }
        return printReply(reply);
    }

    private int printDeleted(RespValue reply) {
        if (reply instanceof RespValue.Integer deleted) {
            if (deleted.value() == 0) {
                streams.err().println("not found");
                return ExitCode.NOT_FOUND;
            }
            streams.out().println("deleted");
            return ExitCode.OK;
        }
        return printReply(reply);
    }

    /** PTTL's reply: -2 for a missing key, -1 for a key without expiry, else milliseconds left. */
    private int printTtl(RespValue reply) {
        if (reply instanceof RespValue.Integer ttl) {
            long millis = ttl.value();
            if (millis == -2) {
                streams.err().println("not found");
                return ExitCode.NOT_FOUND;
            }
            if (raw) {
                streams.out().println(millis);
            } else {
                streams.out().println(millis == -1 ? "no expiry" : Durations.formatMillis(millis));
            }
            return ExitCode.OK;
        }
        return printReply(reply);
    }

    /** INFO's text (a bulk string, or a verbatim string in RESP3), with Unix line ends. */
    private int printText(RespValue reply) {
        String text;
        if (reply instanceof RespValue.BulkString bulk) {
            text = new String(bulk.value(), StandardCharsets.UTF_8);
        } else if (reply instanceof RespValue.Verbatim verbatim) {
            text = verbatim.text();
        } else {
            return printReply(reply);
        }
        text = text.replace("\r\n", "\n");
        streams.out().print(text.endsWith("\n") ? text : text + "\n");
        return ExitCode.OK;
    }

    private int printReply(RespValue reply) {
        streams.out().writeBytes(raw ? RespFormatter.formatRaw(reply)
                : RespFormatter.format(reply).getBytes(StandardCharsets.UTF_8));
        return ExitCode.OK;
    }
}
