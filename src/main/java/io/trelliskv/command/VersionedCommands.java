package io.trelliskv.command;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.VersionVector;

import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

import static io.trelliskv.command.Args.is;
import static io.trelliskv.command.CommandFlag.DENYOOM;
import static io.trelliskv.command.CommandFlag.FAST;
import static io.trelliskv.command.CommandFlag.READONLY;
import static io.trelliskv.command.CommandFlag.WRITE;

/**
 * The commands of versioned keys, whose concurrent writes are all kept as siblings instead of the last
 * one winning: {@code VGET key}, {@code VSET key context value [EX seconds | PX ms]} and
 * {@code VDEL key context}. A versioned key's value is a {@link DvvSet} of byte-string siblings, stored
 * encoded ({@link CausalCodec}) under {@link ValueKind#VERSIONED}; replicas join two such values with
 * {@link DvvSet#sync}, so writes that two coordinators accepted on either side of a partition both survive.
 *
 * <h2>The causal context</h2>
 * {@code VGET} answers the key's context — an opaque encoded {@link VersionVector} of what the state has
 * seen, in printable form (base64url of {@link VersionVector#encode()}, so it survives a terminal and a
 * shell: {@link #encodeContext}) — followed by its siblings. A client writes back with the context it read: {@code VSET} replaces
 * exactly the siblings that context covers and keeps the others, so a write never silently erases one it
 * did not see. The empty string is the context of a client that saw nothing: its write becomes one more
 * sibling. {@code VSET} answers the context of what its client has now seen (the context it sent plus its
 * own write), so a client that writes twice supersedes its own first write and nothing else.
 *
 * <h2>Deletes</h2>
 * {@code VDEL} drops the siblings the context covers and answers how many went; concurrent siblings stay.
 * When none is left the key reads as missing, but its history is kept as a versioned value without
 * siblings that expires after the tombstone grace period, like a tombstone, so an older replica's copy
 * cannot bring the deleted siblings back meanwhile. A node with no grace (a single node) removes the key.
 *
 * <h2>Where they run</h2>
 * Each command is one atomic read-modify-write of the local engine ({@link Engine#atomically}). In a
 * cluster, {@code VSET} and {@code VDEL} are writes that read first, so they run on the key's first live
 * replica after its read phase brought in (and joined) the other replicas' siblings at the read level,
 * and the whole new state is what replicates. The dots of new writes are this node's id and counter.
 */
public final class VersionedCommands {

    /** Default for the most siblings a key may hold after a write ({@code --max-siblings}). */
    public static final int DEFAULT_MAX_SIBLINGS = 64;

    static final String WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

    private final Engine engine;
    private final Clock clock;
    /** This node's id: the node part of the dots of the writes it coordinates. */
    private final long nodeId;
    /** Most siblings a VSET may leave; a write that would leave more is refused. */
    private final int maxSiblings;
    /** How long a versioned key's history outlives its last sibling, in ms; 0 removes it at once. */
    private final long graceMillis;
    private final LongAdder siblingLimitRefused = new LongAdder();

    public VersionedCommands(Engine engine, Clock clock, long nodeId, int maxSiblings, long graceMillis) {
        if (maxSiblings < 1) {
            throw new IllegalArgumentException("maxSiblings: " + maxSiblings + " (expected: >= 1)");
        }
        this.engine = engine;
        this.clock = clock;
        this.nodeId = nodeId;
        this.maxSiblings = maxSiblings;
        this.graceMillis = graceMillis;
    }

    public void registerInto(CommandTable t) {
        t.register("vget", 2, EnumSet.of(READONLY, FAST), 1, 1, 1, this::vget);
        t.register("vset", -4, EnumSet.of(WRITE, DENYOOM), 1, 1, 1, this::vset);
        t.register("vdel", 3, EnumSet.of(WRITE, FAST), 1, 1, 1, this::vdel);
    }

    /** VSETs refused because they would have left more than the sibling limit (INFO). */
    public long siblingLimitRefused() {
        return siblingLimitRefused.sum();
    }

    /** VGET key: [context, sibling...], or an empty array for a missing key. */
    private void vget(ClientConnection c, byte[][] a, RespWriter out) {
        DvvSet<byte[]> state = stateOf(engine.get(Key.of(a[1])));
        if (state.hasNoValues()) {
            out.array(0);
            return;
        }
        List<byte[]> values = state.values();
        out.array(1 + values.size());
        out.bulk(encodeContext(state.context()));
        for (byte[] v : values) {
            out.bulk(v);
        }
    }

    /** VSET key context value [EX seconds | PX ms]: the context this client has now seen. */
    private void vset(ClientConnection c, byte[][] a, RespWriter out) {
        if (a.length != 4 && a.length != 6) {
            throw CommandException.syntax();
        }
        long expireAt = a.length == 6 ? expireAt(a[4], a[5]) : 0;
        VersionVector context = context(a[2]);
        Key key = Key.of(a[1]);
        byte[] value = a[3];
        VersionVector seen = engine.atomically(key, txn -> {
            DvvSet<byte[]> next = stateOf(txn.get(key)).update(context, value, nodeId);
            int siblings = next.valueCount();
            if (siblings > maxSiblings) {
                siblingLimitRefused.increment();
                throw new CommandException("ERR too many siblings: the write would leave " + siblings
                        + " (max-siblings " + maxSiblings + "); VGET the key and write with its context to resolve them");
            }
            txn.put(key, CausalCodec.encode(next), ValueKind.VERSIONED, expireAt);
            return context.with(nodeId, next.context().counterOf(nodeId));
        });
        out.bulk(encodeContext(seen));
    }

    /** VDEL key context: the number of siblings removed. */
    private void vdel(ClientConnection c, byte[][] a, RespWriter out) {
        VersionVector context = context(a[2]);
        Key key = Key.of(a[1]);
        long removed = engine.atomically(key, txn -> {
            Entry current = txn.get(key);
            DvvSet<byte[]> state = stateOf(current);
            DvvSet<byte[]> next = state.discard(context);
            if (current == null || next.equals(state)) {
                return 0L;
            }
            if (!next.hasNoValues()) {
                txn.put(key, CausalCodec.encode(next), ValueKind.VERSIONED, current.expireAt());
            } else if (graceMillis == 0) {
                txn.delete(key);
            } else {
                txn.put(key, CausalCodec.encode(next), ValueKind.VERSIONED, saturatedAdd(clock.millis(), graceMillis));
            }
            return (long) (state.valueCount() - next.valueCount());
        });
        out.integer(removed);
    }

    /** The siblings and history a live entry holds: empty for none; WRONGTYPE for a value of another kind. */
    private static DvvSet<byte[]> stateOf(Entry e) {
        if (e == null) {
            return DvvSet.empty();
        }
        if (e.kind() != ValueKind.VERSIONED) {
            throw new CommandException(WRONGTYPE);
        }
        try {
            return CausalCodec.decodeDvv(e.value());
        } catch (IllegalArgumentException damaged) {
            throw new CommandException("ERR the stored versioned value does not decode: " + damaged.getMessage());
        }
    }

    /** The form of a context clients see and send back: base64url without padding; empty for the empty vector. */
    public static byte[] encodeContext(VersionVector context) {
        return Base64.getUrlEncoder().withoutPadding().encode(context.encode());
    }

    /**
     * A context from its client form ({@link #encodeContext}).
     *
     * @throws IllegalArgumentException naming what is wrong with it
     */
    public static VersionVector decodeContext(byte[] text) {
        byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not base64url (" + e.getMessage() + ")");
        }
        return VersionVector.decode(bytes);
    }

    /** A client's context, or a clear error naming what is wrong with it. */
    private static VersionVector context(byte[] text) {
        try {
            return decodeContext(text);
        } catch (IllegalArgumentException e) {
            throw new CommandException("ERR invalid causal context: " + e.getMessage());
        }
    }

    /** EX seconds or PX ms from now, as an absolute time; Redis's errors for a bad option or time. */
    private long expireAt(byte[] option, byte[] time) {
        boolean seconds = is(option, "EX");
        if (!seconds && !is(option, "PX")) {
            throw CommandException.syntax();
        }
        long t = Args.parseLong(time);
        if (t <= 0 || seconds && t > Long.MAX_VALUE / 1000) {
            throw Args.invalidExpireTime("vset");
        }
        t = seconds ? t * 1000 : t;
        long now = clock.millis();
        if (t > Long.MAX_VALUE - now) {
            throw Args.invalidExpireTime("vset");
        }
        return now + t;
    }

    private static long saturatedAdd(long a, long b) {
        long s = a + b;
        return ((a ^ s) & (b ^ s)) < 0 ? Long.MAX_VALUE : s;
    }
}
