package io.trelliskv.request;

import io.trelliskv.command.CommandSpec;
import io.trelliskv.common.Key;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.common.Murmur3;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.net.peer.PeerUnavailableException;
import io.trelliskv.resp.RawReply;
import io.trelliskv.storage.Entry;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The second stage of a request's path: sends each keyed command to the node that coordinates its keys,
 * at most one hop away, and hands the commands this node coordinates to {@link Coordination}, the next
 * stage.
 *
 * <h2>Where a command runs</h2>
 * A key's owners are {@link Placement#owners} (its replicas in preference order). Its coordinator for a
 * read or a blind write ({@link Coordination#anyReplica}) is this node when it is one of the owners, and
 * otherwise, as for every read-modify-write command, the first owner that is alive, where those
 * commands serialize while that node lives. A command whose keys this node coordinates — or
 * any keyed command while there is no ring yet — runs here exactly as on a standalone node. A command
 * whose keys all belong to one other node is forwarded to it unchanged through the {@link Forwarder},
 * as part of the client connection's stream (its id travels with the request, and the forwarder keeps
 * a stream's requests in order), and {@link #route} returns the reply to come; the dispatcher defers
 * the client's reply slot, so the client reads replies in request order. The owner runs what it receives
 * with {@link Dispatcher#executeForwarded}, which never routes: a request is forwarded once, even while
 * the ring is changing under it. One connection's commands on one key can so go to two coordinators
 * (a SET here, an INCR at the first replica); a command whose key has an earlier command of the
 * connection outstanding at another coordinator waits for its reply before it goes
 * ({@link Session#conflicting}), so it starts after it and reads what it wrote. Keyless commands (PING, INFO, DBSIZE, KEYS, SCAN, ...) never reach the
 * router: they run on the node the client is connected to, so DBSIZE, KEYS, SCAN and RANDOMKEY see only
 * that node's keys. FLUSHALL goes to every live member ({@link #flushAll}).
 *
 * <h2>Commands over keys of several owners</h2>
 * MGET, MSET, DEL, UNLINK and EXISTS are split by owner: each owner gets the same command over its own
 * keys (MGET k1 k3 to one node, MGET k2 to another; MSET with each key's value), the local share runs
 * here, and the replies are merged in the order the keys were given (MGET's array), summed (DEL,
 * UNLINK, EXISTS), or reduced to one OK (MSET). A share whose owner cannot be connected to (the request
 * never left) is split again among its keys' next live owners. If a share still fails, the reply is
 * the first failing share's error, in key order (Redis's reply shapes have no place for a per-key
 * error); the shares that succeeded stay done, so MSET across owners is not atomic (within one owner
 * it still is). Every other command over several keys (MSETNX, RENAME,
 * RENAMENX) needs all its keys on one node, and is refused otherwise, as Redis Cluster refuses keys of
 * different slots.
 *
 * <h2>Error replies</h2>
 * <ul>
 * <li>{@code -CLUSTERDOWN no reachable owner for key 'k' (owners: 3f2a@10.0.0.1:7000)}: none of the
 *     key's owners is alive; sent at once, nothing is forwarded.</li>
 * <li>{@code -TRYAGAIN owner 3f2a@10.0.0.1:7000 of key 'k' did not answer: timed out}: the owner was
 *     believed alive but the forward failed or timed out; the command may or may not have run there.</li>
 * <li>{@code -CROSSSLOT Keys in request don't hash to the same node}: MSETNX, RENAME or RENAMENX over
 *     keys of different owners.</li>
 * </ul>
 * Keys are quoted as UTF-8 and cut to {@value #MAX_KEY_CHARS} characters.
 *
 * <p>Thread-safety: {@link #route} may run on any thread (a command held back by a change of
 * coordinators is routed where the wait ended); it touches only the session and the placement's
 * snapshots. Forwards complete on any thread.
 */
public final class Router {

    /** Redis's code and text for keys of one request in different places, with "node" for "slot". */
    static final String CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same node";
    /** Every member is rejoining after a restart and none holds a copy yet; see {@link Placement#awaitingOwners}. */
    static final String NO_MEMBER_SERVES = "CLUSTERDOWN no member serves keys yet: every member is rejoining after "
            + "a restart with its ranges unsourced (BOOTSTRAP FORCE on a member lets it serve without them)";
    /** Longest quotation of a key in an error text, in characters. */
    static final int MAX_KEY_CHARS = 128;

    /** How the replies of a command's shares combine into the client's reply. */
    private enum Merge { ARRAY, SUM, OK }

    /** The commands that may be split across owners, and how their shares' replies merge. */
    private static final Map<String, Merge> SPLITTABLE = Map.of(
            "mget", Merge.ARRAY, "mset", Merge.OK, "del", Merge.SUM, "unlink", Merge.SUM, "exists", Merge.SUM,
            "watch", Merge.ARRAY);

    private final Placement placement;
    private final Forwarder forwarder;
    /** Flushes every live member: completes once all applied it, else fails with the reply (see FLUSHALL). */
    private final Supplier<CompletableFuture<Void>> clusterFlush;
    /** The next stage: commands whose keys this node coordinates. */
    private final Coordination coordination;
    private final RequestStats stats;
    /** Requests sent to another node, counting each share of a split command. */
    private final LongAdder forwarded = new LongAdder();
    /** Forwarded requests that failed or timed out. */
    private final LongAdder forwardFailures = new LongAdder();
    /** Forwards that could not reach the key's first live owner and went to the next one instead. */
    private final LongAdder retriedElsewhere = new LongAdder();
    /** Forwards that carried this node's copies of their floored keys ahead of them ({@link Forwarder#forward}). */
    private final LongAdder carriedAhead = new LongAdder();

    /**
     * Whether reads and blind writes may be coordinated by the entry node when it is one of their replicas
     * ({@link Coordination#anyReplica}), saving a hop. On unless {@code -Dtrelliskv.localCoordination=false},
     * which sends every keyed command to its key's first live replica, as before this mode (an off switch
     * should a deployment want one coordinator per key).
     */
    static final boolean LOCAL_COORDINATION =
            Boolean.parseBoolean(System.getProperty("trelliskv.localCoordination", "true"));

    Router(Placement placement, Forwarder forwarder, Supplier<CompletableFuture<Void>> clusterFlush,
           Coordination coordination, RequestStats stats) {
        this.placement = placement;
        this.forwarder = forwarder;
        this.clusterFlush = clusterFlush;
        this.coordination = coordination;
        this.stats = stats;
    }

    /** Requests sent to another node (each share of a split command counts). */
    public long forwarded() {
        return forwarded.sum();
    }

    /** Forwards that went to the key's next live owner because the first could not be reached. */
    public long retriedElsewhere() {
        return retriedElsewhere.sum();
    }

    /** Forwards that carried the connection's own writes, held here, ahead of them to their owner. */
    public long carriedAhead() {
        return carriedAhead.sum();
    }

    /** Forwarded requests that failed or timed out. */
    public long forwardFailures() {
        return forwardFailures.sum();
    }

    /** See {@link Placement#epoch}. */
    long epoch() {
        return placement.epoch();
    }

    /** Flushes every live member; see FLUSHALL. Fails with a ReplicationException whose message is the reply. */
    CompletableFuture<Void> flushAll() {
        return clusterFlush.get();
    }

    /**
     * Routes a client's keyed command whose arity has been checked, on the connection's event loop. A
     * command this node coordinates goes to {@link Coordination#runForClient}, which may answer straight
     * into the connection.
     *
     * @return null if the reply was written to the client at once; otherwise the reply to come, which
     *         completes (never exceptionally) once the command has run here or its owner has answered
     */
    CompletableFuture<byte[]> routeForClient(ClientConnection client, Session session, CommandSpec spec,
                                             byte[][] args) {
        return routeKeyed(client, session, client.writer().protocol(), client.user(), spec, args);
    }

    /**
     * Routes a keyed command whose arity has been checked, away from its client's connection: on any
     * thread (a command held back by a change of coordinators is routed where the wait ended). It
     * touches only the session (thread-safe) and the placement's snapshots.
     *
     * @return its reply, which completes (never exceptionally) once the command has run here or its
     *         owner has answered, or at once for a refusal
     */
    CompletableFuture<byte[]> route(Session session, int protocol, String user, CommandSpec spec, byte[][] args) {
        return routeKeyed(null, session, protocol, user, spec, args);
    }

    /**
     * Finds each key's coordinator ({@link #coordinatorAt}), waits if the connection has an earlier
     * command outstanding on one of the keys at another coordinator ({@link Session#conflicting}), and
     * sends the command: here, to one other node, or split.
     *
     * @param client the connection, when called on its event loop (a command coordinated here may then
     *               answer straight into it); null otherwise
     * @return null if the reply was written to {@code client} at once; otherwise the reply to come
     */
    private CompletableFuture<byte[]> routeKeyed(ClientConnection client, Session session, int protocol, String user,
                                                 CommandSpec spec, byte[][] args) {
        if (placement.awaitingOwners()) {
            return refuse(NO_MEMBER_SERVES);
        }
        if (placement.ownsEverything()) {
            return here(client, session, protocol, spec, args, null, null);
        }
        int first = spec.firstKey();
        int last = spec.lastKey() < 0 ? args.length + spec.lastKey() : spec.lastKey();
        int step = spec.step();
        int keys = last < first ? 0 : (last - first) / step + 1;
        int lastKeyAt = first + (keys - 1) * step;
        if (keys == 0 || lastKeyAt + step > args.length) {
            return here(client, session, protocol, spec, args, null, null); // a key without its value: the handler replies with its arity error
        }
        boolean anywhere = LOCAL_COORDINATION && Coordination.anyReplica(spec, args);
        long self = placement.localNodeId();
        Key only = null; // the key of a one-key command
        Key[] keyed = keys > 1 ? new Key[keys] : null;
        long[] tokens = new long[keys];
        long[] targets = new long[keys];
        boolean sameTarget = true;
        for (int i = 0; i < keys; i++) {
            byte[] key = args[first + i * step];
            Key k = Key.of(key);
            if (keyed != null) {
                keyed[i] = k;
            } else {
                only = k;
            }
            tokens[i] = k.token();
            List<Long> owners = placement.owners(tokens[i]);
            if (owners.isEmpty()) {
                return here(client, session, protocol, spec, args, null, null); // no ring yet
            }
            int at = coordinatorAt(owners, anywhere, self);
            if (at < 0) {
                return refuse(noOwner(key, owners));
            }
            targets[i] = owners.get(at);
            sameTarget &= targets[i] == targets[0];
        }
        Merge merge = null;
        if (!sameTarget) {
            merge = SPLITTABLE.get(spec.name());
            if (merge == null || first != 1 || lastKeyAt + step != args.length) {
                return refuse(CROSSSLOT);
            }
        }
        CompletableFuture<Void> conflict = session.conflicting(tokens, targets);
        if (conflict != null) {
            Merge m = merge;
            CompletableFuture<byte[]> reply = conflict.thenCompose(v -> {
                CompletableFuture<byte[]> r = send(null, session, protocol, user, spec, args, first, lastKeyAt,
                        step, targets, m);
                return r != null ? r : CompletableFuture.completedFuture(new byte[0]);
            });
            session.routed(tokens, targets, reply, true);
            return reply;
        }
        CompletableFuture<byte[]> reply = merge == null && targets[0] == self
                ? here(client, session, protocol, spec, args, keyed == null ? List.of(only) : Arrays.asList(keyed),
                        tokens)
                : send(client, session, protocol, user, spec, args, first, lastKeyAt, step, targets, merge);
        if (reply != null) {
            session.routed(tokens, targets, reply, false);
        }
        return reply;
    }

    /** Sends a command whose keys' coordinators are {@code targets}; merge is null unless they differ. */
    private CompletableFuture<byte[]> send(ClientConnection client, Session session, int protocol, String user,
                                           CommandSpec spec, byte[][] args, int first, int last, int step,
                                           long[] targets, Merge merge) {
        if (merge != null) {
            return split(session, protocol, user, spec, args, step, targets, merge);
        }
        long target = targets[0];
        if (target == placement.localNodeId()) {
            return here(client, session, protocol, spec, args, null, null);
        }
        // One owner for all the keys; if it cannot be reached, each key goes to its own next owner.
        Merge splitMerge = SPLITTABLE.get(spec.name());
        boolean splittable = targets.length > 1 && splitMerge != null && first == 1 && last + step == args.length;
        return countErrors(splittable
                ? share(session, protocol, user, spec, args, step, target, splitMerge, Set.of())
                : forwardWhole(session, protocol, user, spec, args, first, last, step, target, Set.of()));
    }

    /**
     * Runs a command here: straight into the client's connection when on its loop, else detached.
     * {@code keys} and {@code tokens} are the command's keys and their tokens when known, else null.
     */
    private CompletableFuture<byte[]> here(ClientConnection client, Session session, int protocol, CommandSpec spec,
                                           byte[][] args, List<Key> keys, long[] tokens) {
        return client != null ? coordination.runForClient(client, session, spec, args, keys, tokens)
                : executeHere(session, protocol, spec, args);
    }

    /**
     * The node that coordinates a key with these owners: this node when it is one of them and the command
     * may run on any replica ({@link Coordination#anyReplica}: reads and blind writes, which last-writer-wins
     * versions make safe wherever they run), else the first live owner; as its index in {@code owners}, -1 if
     * none is alive. An index, not the node: the ring's lists hold boxed ids, and answering this node's id as a
     * {@code Long} boxed it again for every command.
     */
    private int coordinatorAt(List<Long> owners, boolean anywhere, long self) {
        int n = owners.size();
        if (anywhere) {
            for (int i = 0; i < n; i++) {
                if (owners.get(i) == self) {
                    return i;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            long owner = owners.get(i);
            if (owner == self || placement.isAlive(owner)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Routes a transaction ({@link Transactions}): all its keys must have one coordinator. No fallback
     * to another replica: the keys' next replicas need not be the same node.
     *
     * @param keys every key the transaction touches or watches
     * @return EXEC's reply, from here or from the keys' coordinator
     */
    CompletableFuture<byte[]> routeTransaction(Session session, int protocol, String user, List<Key> keys,
                                               Transaction.Unit unit) {
        long[] target = {placement.localNodeId()};
        CompletableFuture<byte[]> refused = transactionTarget(keys, target);
        if (refused != null) {
            return refused;
        }
        if (keys.isEmpty() || placement.ownsEverything()) {
            return transactionTo(target[0], session, protocol, user, keys, unit);
        }
        // In the connection's order with its other commands on the keys, like a keyed command (see routeKeyed).
        long[] tokens = new long[keys.size()];
        long[] targets = new long[keys.size()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = keys.get(i).token();
            targets[i] = target[0];
        }
        CompletableFuture<Void> conflict = session.conflicting(tokens, targets);
        if (conflict != null) {
            CompletableFuture<byte[]> reply = conflict.thenCompose(v -> transactionTo(target[0], session, protocol,
                    user, keys, unit));
            session.routed(tokens, targets, reply, true);
            return reply;
        }
        CompletableFuture<byte[]> reply = transactionTo(target[0], session, protocol, user, keys, unit);
        session.routed(tokens, targets, reply, false);
        return reply;
    }

    /** Runs a transaction here ({@code target} is this node) or forwards it to its keys' coordinator. */
    private CompletableFuture<byte[]> transactionTo(long target, Session session, int protocol, String user,
                                                    List<Key> keys, Transaction.Unit unit) {
        if (target == placement.localNodeId()) {
            return coordination.transaction(session, protocol, unit).thenApply(reply -> {
                reply.recordInto(session);
                return reply.resp();
            });
        }
        ForwardCodec.Request request = new ForwardCodec.Request(protocol, session.readLevel(), session.writeLevel(),
                session.stream(), session.floors(keys), unit.encode(), user);
        return countErrors(send(target, request, coordination.holding(keys, request.floors()), keys.get(0).bytes(),
                session, null));
    }

    /**
     * Finds the one coordinator of a transaction's keys, their first live owner, into {@code target}
     * (left as this node when it runs here: no keys, no ring, a cluster of one).
     *
     * @return null if found; else the refusal (CROSSSLOT, CLUSTERDOWN)
     */
    private CompletableFuture<byte[]> transactionTarget(List<Key> keys, long[] target) {
        if (placement.awaitingOwners() && !keys.isEmpty()) {
            return refuse(NO_MEMBER_SERVES);
        }
        if (placement.ownsEverything() || keys.isEmpty()) {
            return null;
        }
        Long found = null;
        for (Key key : keys) {
            List<Long> owners = placement.owners(key.token());
            if (owners.isEmpty()) {
                return null;
            }
            Long t = firstAlive(owners);
            if (t == null) {
                return refuse(noOwner(key.bytes(), owners));
            }
            if (found != null && !found.equals(t)) {
                return refuse(CROSSSLOT);
            }
            found = t;
        }
        target[0] = found;
        return null;
    }

    /**
     * Forwards the whole command, whose keys are at {@code first..last} by {@code step}, to
     * {@code target}. If that node cannot be reached and the request never left this node, the command
     * goes to the next live owner of its keys instead (which may be this node) — so a replica that died
     * a moment ago and is not yet known to be dead does not fail the command — but only when that is
     * the same node for every key: each key must go where the connection's other commands on it go,
     * or a later command could overtake an earlier one. Otherwise it fails with TRYAGAIN, nothing run.
     * Still one hop: each node runs it without forwarding.
     */
    private CompletableFuture<byte[]> forwardWhole(Session session, int protocol, String user, CommandSpec spec,
                                                   byte[][] args, int first, int last, int step, long target,
                                                   Set<Long> unreachable) {
        if (target == placement.localNodeId()) {
            return executeHere(session, protocol, spec, args);
        }
        List<Key> keys = keys(args, first, last, step);
        ForwardCodec.Request request = request(session, protocol, user, args, keys);
        return send(target, request, coordination.holding(keys, request.floors()), args[first], session, failure -> {
            Set<Long> without = new HashSet<>(unreachable);
            without.add(target);
            Long next = null;
            for (int i = first; i <= last; i += step) {
                Long owner = firstAliveExcept(placement.owners(token(args[i])), without);
                if (owner == null || (next != null && !next.equals(owner))) {
                    forwardFailures.increment();
                    return CompletableFuture.completedFuture(tryAgain(target, args[i], failure));
                }
                next = owner;
            }
            retriedElsewhere.increment();
            session.rerouted();
            return forwardWhole(session, protocol, user, spec, args, first, last, step, next, without);
        });
    }

    /** Counts an error reply of a routed command in the node's error statistics. */
    private CompletableFuture<byte[]> countErrors(CompletableFuture<byte[]> reply) {
        return reply.thenApply(resp -> {
            if (ErrorReplies.isError(resp)) {
                stats.errorReplied();
            }
            return resp;
        });
    }

    /** The keys of {@code args} at {@code first..last} by {@code step}. */
    private static List<Key> keys(byte[][] args, int first, int last, int step) {
        List<Key> keys = new ArrayList<>();
        for (int i = first; i <= last; i += step) {
            keys.add(Key.of(args[i]));
        }
        return keys;
    }

    /** The forward of a command with the client's protocol, levels, stream, floors for its keys and user. */
    private static ForwardCodec.Request request(Session session, int protocol, String user, byte[][] args,
                                                List<Key> keys) {
        return new ForwardCodec.Request(protocol, session.readLevel(), session.writeLevel(), session.stream(),
                session.floors(keys), args, user);
    }

    /**
     * Sends to {@code target}, with this node's copies of the request's floored keys ahead of it ({@code ahead},
     * null if none: {@link Forwarder#forward}); completes with its RESP reply, having recorded the versions it
     * wrote in the session, or with a TRYAGAIN error reply naming {@code key} if the forward fails (never
     * exceptionally). A request that never left this node goes to {@code elsewhere} instead, if given.
     */
    private CompletableFuture<byte[]> send(long target, ForwardCodec.Request request, List<Entry> ahead, byte[] key,
                                           Session session, Function<Throwable, CompletableFuture<byte[]>> elsewhere) {
        return attempt(target, request, ahead).handle((r, failure) -> {
            if (failure == null && r != null && r.resp().length > 0) {
                r.recordInto(session);
                return CompletableFuture.completedFuture(r.resp());
            }
            if (elsewhere != null && ErrorReplies.unwrap(failure) instanceof PeerUnavailableException p && !p.mayHaveArrived()) {
                return elsewhere.apply(failure);
            }
            forwardFailures.increment();
            return CompletableFuture.completedFuture(tryAgain(target, key, failure));
        }).thenCompose(f -> f);
    }

    private CompletableFuture<ForwardCodec.Reply> attempt(long target, ForwardCodec.Request request,
                                                          List<Entry> ahead) {
        forwarded.increment();
        if (ahead != null) {
            carriedAhead.increment();
        }
        try {
            return forwarder.forward(target, request, ahead);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private byte[] tryAgain(long target, byte[] key, Throwable failure) {
        String reason = failure == null ? "empty reply" : ErrorReplies.reason(failure);
        return ErrorReplies.errorReply("TRYAGAIN owner " + placement.describe(target) + " of key '" + quote(key)
                + "' did not answer: " + reason);
    }

    /** Runs each owner's share of the keys (here or there) and merges the replies in key order. */
    private CompletableFuture<byte[]> split(Session session, int protocol, String user, CommandSpec spec,
                                            byte[][] args, int step, long[] targets, Merge merge) {
        return countErrors(splitAmong(session, protocol, user, spec, args, step, targets, merge, Set.of()));
    }

    /**
     * Sends each share to its target; a share whose target cannot be reached (the request never left
     * this node) is split again among its keys' next live owners, leaving out the nodes found
     * unreachable, so a multi-key command fails only when some key has no reachable owner at all.
     */
    private CompletableFuture<byte[]> splitAmong(Session session, int protocol, String user, CommandSpec spec,
                                                 byte[][] args, int step, long[] targets, Merge merge,
                                                 Set<Long> unreachable) {
        // Shares in order of their first key, so the first failing share is the first in key order.
        List<Long> shareTargets = new ArrayList<>();
        List<List<Integer>> shareKeys = new ArrayList<>();
        for (int i = 0; i < targets.length; i++) {
            int share = shareTargets.indexOf(targets[i]);
            if (share < 0) {
                share = shareTargets.size();
                shareTargets.add(targets[i]);
                shareKeys.add(new ArrayList<>());
            }
            shareKeys.get(share).add(i);
        }
        @SuppressWarnings("unchecked")
        CompletableFuture<byte[]>[] replies = new CompletableFuture[shareTargets.size()];
        for (int s = 0; s < replies.length; s++) {
            List<Integer> keys = shareKeys.get(s);
            byte[][] sub = new byte[1 + keys.size() * step][];
            sub[0] = args[0];
            for (int k = 0; k < keys.size(); k++) {
                System.arraycopy(args, 1 + keys.get(k) * step, sub, 1 + k * step, step);
            }
            replies[s] = share(session, protocol, user, spec, sub, step, shareTargets.get(s), merge, unreachable);
        }
        return CompletableFuture.allOf(replies).thenApply(v -> {
            try {
                return merge(merge, replies, shareKeys, targets.length);
            } catch (MalformedMessageException e) {
                return ErrorReplies.errorReply("ERR malformed reply from an owner: " + e.getMessage());
            }
        });
    }

    /** One share: every key of {@code sub} is coordinated by {@code target}. */
    private CompletableFuture<byte[]> share(Session session, int protocol, String user, CommandSpec spec,
                                            byte[][] sub, int step, long target, Merge merge, Set<Long> unreachable) {
        if (target == placement.localNodeId()) {
            return executeHere(session, protocol, spec, sub);
        }
        List<Key> keys = keys(sub, 1, sub.length - step, step);
        ForwardCodec.Request request = request(session, protocol, user, sub, keys);
        return send(target, request, coordination.holding(keys, request.floors()), sub[1], session, failure -> {
            Set<Long> without = new HashSet<>(unreachable);
            without.add(target);
            long[] next = new long[(sub.length - 1) / step];
            for (int i = 0; i < next.length; i++) {
                byte[] key = sub[1 + i * step];
                Long owner = firstAliveExcept(placement.owners(token(key)), without);
                if (owner == null) {
                    forwardFailures.increment();
                    return CompletableFuture.completedFuture(tryAgain(target, key, failure));
                }
                next[i] = owner;
            }
            retriedElsewhere.increment();
            session.rerouted();
            return splitAmong(session, protocol, user, spec, sub, step, next, merge, without);
        });
    }

    /** Runs a command here for the session, in the connection's order, recording what it wrote. */
    private CompletableFuture<byte[]> executeHere(Session session, int protocol, CommandSpec spec, byte[][] args) {
        return coordination.execute(session, protocol, spec, args).thenApply(r -> {
            r.recordInto(session);
            return r.resp();
        });
    }

    private static byte[] merge(Merge merge, CompletableFuture<byte[]>[] replies, List<List<Integer>> shareKeys,
                                int keyCount) {
        for (CompletableFuture<byte[]> r : replies) {
            if (ErrorReplies.isError(r.join())) {
                return r.join();
            }
        }
        switch (merge) {
            case OK -> {
                return replies[0].join();
            }
            case SUM -> {
                long sum = 0;
                for (CompletableFuture<byte[]> r : replies) {
                    sum += RawReply.integer(r.join());
                }
                return (":" + sum + "\r\n").getBytes(StandardCharsets.US_ASCII);
            }
            default -> {
                byte[][] elements = new byte[keyCount][];
                for (int s = 0; s < replies.length; s++) {
                    byte[][] share = RawReply.arrayElements(replies[s].join());
                    List<Integer> keys = shareKeys.get(s);
                    if (share.length != keys.size()) {
                        throw new MalformedMessageException(share.length + " elements for " + keys.size() + " keys");
                    }
                    for (int k = 0; k < share.length; k++) {
                        elements[keys.get(k)] = share[k];
                    }
                }
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.writeBytes(("*" + keyCount + "\r\n").getBytes(StandardCharsets.US_ASCII));
                for (byte[] e : elements) {
                    out.writeBytes(e);
                }
                return out.toByteArray();
            }
        }
    }

    private Long firstAlive(List<Long> owners) {
        return firstAliveExcept(owners, Set.of());
    }

    /** The first owner believed alive and not among {@code unreachable}; null if none. */
    private Long firstAliveExcept(List<Long> owners, Set<Long> unreachable) {
        long self = placement.localNodeId();
        for (Long owner : owners) {
            if (!unreachable.contains(owner) && (owner == self || placement.isAlive(owner))) {
                return owner;
            }
        }
        return null;
    }

    private String noOwner(byte[] key, List<Long> owners) {
        StringBuilder sb = new StringBuilder("CLUSTERDOWN no reachable owner for key '").append(quote(key))
                .append("' (owners: ");
        for (int i = 0; i < owners.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(placement.describe(owners.get(i)));
        }
        return sb.append(')').toString();
    }

    private CompletableFuture<byte[]> refuse(String error) {
        stats.errorReplied();
        return CompletableFuture.completedFuture(ErrorReplies.errorReply(error));
    }

    /** A key's ring token, as {@link io.trelliskv.common.Key#token()} computes it. */
    static long token(byte[] key) {
        return Murmur3.hash64(key, 0, key.length);
    }

    static String quote(byte[] key) {
        String s = new String(key, StandardCharsets.UTF_8);
        return s.length() <= MAX_KEY_CHARS ? s : s.substring(0, MAX_KEY_CHARS) + "...";
    }
}
