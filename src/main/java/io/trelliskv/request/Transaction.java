package io.trelliskv.request;

import io.trelliskv.command.CommandSpec;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.Key;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.version.Version;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A connection's transaction: the commands queued between MULTI and EXEC, whether queuing failed, and
 * the keys it WATCHes with the version each had when watched. Touched on the connection's event loop
 * only (WATCH's versions arrive on any thread and are handed to its {@link Watches}).
 *
 * <p>At EXEC the queued commands and the watched versions become a {@link Unit}: what the keys'
 * coordinator runs as one, atomically, and what travels to it when that is another node.
 */
final class Transaction {

    /** Between MULTI and EXEC/DISCARD. */
    private boolean queuing;
    /** A command was refused while queuing: EXEC will abort (EXECABORT). */
    private boolean dirty;
    private final List<byte[][]> queued = new ArrayList<>();
    /** The keys watched since the last EXEC, DISCARD or UNWATCH. */
    private Watches watches = new Watches();

    /**
     * The keys one connection watches, with the version each had at its coordinator when watched
     * (null: absent), in the order watched. WATCH's answers arrive later, on any thread, for a WATCH
     * pipelined ahead of EXEC; EXEC waits for {@link #answered} before it takes the versions. EXEC,
     * DISCARD and UNWATCH start a new set, so an answer that arrives after them changes nothing.
     */
    static final class Watches {
        private final Map<Key, Version> versions = new LinkedHashMap<>();
        private final List<CompletableFuture<Void>> pending = new ArrayList<>();
        /** A WATCH failed (its answer was an error): EXEC must not run on state it could not check. */
        private boolean failed;

        /** A WATCH sent; complete the returned future once its versions are {@link #record}ed. */
        synchronized CompletableFuture<Void> expect() {
            CompletableFuture<Void> answered = new CompletableFuture<>();
            pending.add(answered);
            return answered;
        }

        synchronized void record(byte[] key, Version version) {
            versions.putIfAbsent(Key.of(key), version);
        }

        synchronized void fail() {
            failed = true;
        }

        synchronized boolean failed() {
            return failed;
        }

        /** Completes once every WATCH sent so far has been answered. */
        synchronized CompletableFuture<Void> answered() {
            return CompletableFuture.allOf(pending.toArray(new CompletableFuture<?>[0]));
        }

        /** The transaction to run: {@code commands} with the versions watched. */
        synchronized Unit unit(List<byte[][]> commands) {
            List<byte[]> keys = new ArrayList<>(versions.size());
            List<Version> vs = new ArrayList<>(versions.size());
            for (Map.Entry<Key, Version> e : versions.entrySet()) {
                keys.add(e.getKey().bytes());
                vs.add(e.getValue());
            }
            return new Unit(keys, vs, commands);
        }
    }

    boolean queuing() {
        return queuing;
    }

    void begin() {
        queuing = true;
        dirty = false;
        queued.clear();
    }

    void queue(byte[][] args) {
        queued.add(args);
    }

    /** A queuing error: EXEC will refuse the whole transaction. */
    void markDirty() {
        dirty = true;
    }

    boolean dirty() {
        return dirty;
    }

    /** The commands queued since MULTI. */
    List<byte[][]> queued() {
        return List.copyOf(queued);
    }

    /** Ends the transaction (EXEC, DISCARD) and forgets the watched keys, as Redis does after either. */
    void end() {
        queuing = false;
        dirty = false;
        queued.clear();
        unwatch();
    }

    /** The keys watched now; WATCH adds to them. */
    Watches watches() {
        return watches;
    }

    void unwatch() {
        watches = new Watches();
    }

    /**
     * A transaction as its coordinator runs it.
     *
     * @param watchedKeys the keys WATCHed, each with the version it had then in {@code watchedVersions}
     *                    (null: absent); if any differs now, nothing runs and EXEC replies a null array
     * @param commands    the queued commands, each already found and arity-checked where queued
     */
    record Unit(List<byte[]> watchedKeys, List<Version> watchedVersions, List<byte[][]> commands) {

        /** The first argument of a forwarded transaction, which no client can send (EXEC is never queued). */
        static final byte[] MARK = "exec".getBytes(StandardCharsets.US_ASCII);

        /**
         * The transaction as the arguments of one forwarded command:
         * {@code exec <watches> (<key> <hlc:node or empty>)* <commands> (<argc> <arg>*)*}.
         */
        byte[][] encode() {
            List<byte[]> out = new ArrayList<>();
            out.add(MARK);
            out.add(ascii(watchedKeys.size()));
            for (int i = 0; i < watchedKeys.size(); i++) {
                Version v = watchedVersions.get(i);
                out.add(watchedKeys.get(i));
                out.add(v == null ? new byte[0] : ascii(v.hlc() + ":" + v.nodeId()));
            }
            out.add(ascii(commands.size()));
            for (byte[][] c : commands) {
                out.add(ascii(c.length));
                out.addAll(Arrays.asList(c));
            }
            return out.toArray(new byte[0][]);
        }

        /** @throws MalformedMessageException if {@code args} is not an encoded transaction */
        static Unit decode(byte[][] args) {
            try {
                int at = 1;
                int watches = count(args, at++);
                List<byte[]> keys = new ArrayList<>(watches);
                List<Version> versions = new ArrayList<>(watches);
                for (int i = 0; i < watches; i++) {
                    keys.add(args[at++]);
                    String v = new String(args[at++], StandardCharsets.US_ASCII);
                    int colon = v.indexOf(':');
                    versions.add(v.isEmpty() ? null
                            : new Version(Long.parseLong(v.substring(0, colon)), Long.parseLong(v.substring(colon + 1))));
                }
                int n = count(args, at++);
                List<byte[][]> commands = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    int argc = count(args, at++);
                    if (argc < 1) {
                        throw new MalformedMessageException("command " + i + " has no arguments");
                    }
                    commands.add(Arrays.copyOfRange(args, at, at + argc));
                    at += argc;
                }
                if (at != args.length) {
                    throw new MalformedMessageException((args.length - at) + " trailing arguments");
                }
                return new Unit(keys, versions, commands);
            } catch (ArrayIndexOutOfBoundsException | NumberFormatException | StringIndexOutOfBoundsException e) {
                throw new MalformedMessageException("malformed forwarded transaction: " + e.getMessage(), e);
            }
        }

        /** A count read at {@code at}: at most the arguments left after it, as each counted thing takes one. */
        private static int count(byte[][] args, int at) {
            int n = Integer.parseInt(new String(args[at], StandardCharsets.US_ASCII));
            if (n < 0 || n > args.length - at - 1) {
                throw new MalformedMessageException("count " + n + " at argument " + at + " of " + args.length);
            }
            return n;
        }

        private static byte[] ascii(Object o) {
            return String.valueOf(o).getBytes(StandardCharsets.US_ASCII);
        }

        /** Every key the transaction touches or watches, each once, in order of first use. */
        List<Key> keys(CommandTable table) {
            Set<Key> out = new LinkedHashSet<>();
            for (byte[] k : watchedKeys) {
                out.add(Key.of(k));
            }
            for (byte[][] c : commands) {
                CommandSpec spec = table.find(c[0]);
                if (spec != null && spec.firstKey() > 0 && spec.arityAccepts(c.length)) {
                    out.addAll(Coordination.keys(spec, c));
                }
            }
            return new ArrayList<>(out);
        }
    }
}
