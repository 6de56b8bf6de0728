package io.trelliskv.command;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Glob;
import io.trelliskv.common.Key;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.CounterState;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.function.Predicate;

import static io.trelliskv.command.Args.is;
import static io.trelliskv.command.Args.str;
import static io.trelliskv.command.CommandFlag.FAST;
import static io.trelliskv.command.CommandFlag.READONLY;
import static io.trelliskv.command.CommandFlag.WRITE;

/**
 * The keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, the EXPIRE
 * family with its NX/XX/GT/LT conditions, TTL, PTTL, EXPIRETIME, PEXPIRETIME and PERSIST, with Redis
 * 7.0's arities, flags, replies and error texts.
 *
 * <p>Commands that only look at a key's metadata (EXISTS, TYPE, the TTL family) use
 * {@code engine.peek}, so they do not make a key look recently used. Commands that change a TTL read
 * and rewrite the key inside {@code engine.atomically}: entries are immutable, so a new TTL is a new
 * entry with the same value. As in Redis, an expiry time that is not in the future deletes the key
 * instead. Times are absolute epoch milliseconds from the injected clock, read once per command.
 *
 * <p>TYPE answers {@code string} for a plain value and for a counter (every string command reads a
 * counter as its integer, as Redis Enterprise's active-active counters are strings), and
 * {@code versioned} for a versioned value, which GET cannot read once it has several siblings (so a
 * tool that reads every "string" with GET is not misled); SCAN's TYPE filter uses the same names.
 * The commands that rewrite a key under a new version keep its kind: the EXPIRE family and PERSIST
 * rewrite a counter as it is (a new TTL, the same epoch), RENAME makes the new name a counter of the
 * value, counting from what that name held (see {@link StringCommands}).
 *
 * <p>KEYS and SCAN MATCH use Redis's glob ({@link Glob}); the pattern {@code *} is answered without
 * matching, as Redis does, which is what makes it include the empty key.
 */
public final class KeyCommands {

    /** Keys SCAN examines per call when no COUNT is given, as in Redis. */
    private static final int DEFAULT_SCAN_COUNT = 10;

    private static final int EXPIRE_NX = 1;
    private static final int EXPIRE_XX = 1 << 1;
    private static final int EXPIRE_GT = 1 << 2;
    private static final int EXPIRE_LT = 1 << 3;

    private final Engine engine;
    private final Clock clock;

    public KeyCommands(Engine engine, Clock clock) {
        this.engine = engine;
        this.clock = clock;
    }

    public void registerInto(CommandTable t) {
        t.register("del", -2, EnumSet.of(WRITE), 1, -1, 1, this::del);
        t.register("unlink", -2, EnumSet.of(WRITE, FAST), 1, -1, 1, this::del);
        t.register("exists", -2, EnumSet.of(READONLY, FAST), 1, -1, 1, this::exists);
        t.register("type", 2, EnumSet.of(READONLY, FAST), 1, 1, 1, this::type);
        t.register("keys", 2, EnumSet.of(READONLY), this::keys);
        t.register("scan", -2, EnumSet.of(READONLY), this::scan);
        t.register("randomkey", 1, EnumSet.of(READONLY), this::randomkey);
        t.register("rename", 3, EnumSet.of(WRITE), 1, 2, 1, (c, a, out) -> rename(a, false, out));
        t.register("renamenx", 3, EnumSet.of(WRITE, FAST), 1, 2, 1, (c, a, out) -> rename(a, true, out));
        t.register("expire", -3, EnumSet.of(WRITE, FAST), 1, 1, 1,
                (c, a, out) -> expire(a, true, true, "expire", out));
        t.register("pexpire", -3, EnumSet.of(WRITE, FAST), 1, 1, 1,
                (c, a, out) -> expire(a, false, true, "pexpire", out));
        t.register("expireat", -3, EnumSet.of(WRITE, FAST), 1, 1, 1,
                (c, a, out) -> expire(a, true, false, "expireat", out));
        t.register("pexpireat", -3, EnumSet.of(WRITE, FAST), 1, 1, 1,
                (c, a, out) -> expire(a, false, false, "pexpireat", out));
        t.register("ttl", 2, EnumSet.of(READONLY, FAST), 1, 1, 1, (c, a, out) -> ttl(a, false, false, out));
        t.register("pttl", 2, EnumSet.of(READONLY, FAST), 1, 1, 1, (c, a, out) -> ttl(a, true, false, out));
        t.register("expiretime", 2, EnumSet.of(READONLY, FAST), 1, 1, 1, (c, a, out) -> ttl(a, false, true, out));
        t.register("pexpiretime", 2, EnumSet.of(READONLY, FAST), 1, 1, 1, (c, a, out) -> ttl(a, true, true, out));
        t.register("persist", 2, EnumSet.of(WRITE, FAST), 1, 1, 1, this::persist);
    }

    // ---- existence ----

    /** DEL and UNLINK (the engine frees memory at once either way): the number of keys removed. */
    private void del(ClientConnection c, byte[][] a, RespWriter out) {
        int removed = 0;
        for (int i = 1; i < a.length; i++) {
            if (engine.delete(Key.of(a[i]))) {
                removed++;
            }
        }
        out.integer(removed);
    }

    /** EXISTS: how many of the arguments name a live key; a key given twice counts twice. */
    private void exists(ClientConnection c, byte[][] a, RespWriter out) {
        int found = 0;
        for (int i = 1; i < a.length; i++) {
            if (engine.peek(Key.of(a[i])) != null) {
                found++;
            }
        }
        out.integer(found);
    }

    private void type(ClientConnection c, byte[][] a, RespWriter out) {
        Entry e = engine.peek(Key.of(a[1]));
        out.simple(e == null ? "none" : typeName(e.kind()));
    }

    /** The name TYPE and SCAN's TYPE filter give a kind of value: a counter is a string to clients. */
    static String typeName(byte kind) {
        return kind == ValueKind.COUNTER ? "string" : ValueKind.name(kind);
    }

    // ---- iteration ----

    private void keys(ClientConnection c, byte[][] a, RespWriter out) {
        List<Key> keys = engine.keys(matcher(a[1]));
        out.array(keys.size());
        keys.forEach(k -> out.bulk(k.bytes()));
    }

    /**
     * SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: a two-element array of the next cursor (a
     * bulk string, "0" when done) and the keys found. Options may repeat, the last one counting. TYPE
     * keeps the keys whose {@link #typeName} it names (any case), checked after the step, as Redis does;
     * a type no key has filters out every key, but the scan still walks the keyspace.
     */
    private void scan(ClientConnection c, byte[][] a, RespWriter out) {
        long cursor = parseCursor(a[1]);
        long count = DEFAULT_SCAN_COUNT;
        byte[] pattern = null;
        byte[] type = null;
        for (int i = 2; i < a.length; i++) {
            boolean hasValue = i + 1 < a.length;
            if (is(a[i], "COUNT") && hasValue) {
                count = Args.parseLong(a[++i]);
                if (count < 1) {
                    throw CommandException.syntax();
                }
            } else if (is(a[i], "MATCH") && hasValue) {
                pattern = a[++i];
            } else if (is(a[i], "TYPE") && hasValue) {
                type = a[++i];
            } else {
                throw CommandException.syntax();
            }
        }
        boolean knownType = type == null || is(type, "string") || is(type, ValueKind.name(ValueKind.VERSIONED));
        Predicate<Key> filter = !knownType ? k -> false : pattern == null ? null : matcher(pattern);
        Engine.ScanResult step = engine.scan(cursor, (int) Math.min(count, Integer.MAX_VALUE), filter);
        List<Key> found = step.keys();
        if (type != null && knownType) {
            found = new ArrayList<>(found.size());
            for (Key k : step.keys()) {
                Entry e = engine.peek(k);
                if (e != null && is(type, typeName(e.kind()))) {
                    found.add(k);
                }
            }
        }
        out.array(2);
        out.bulk(Long.toUnsignedString(step.nextCursor()));
        out.array(found.size());
        found.forEach(k -> out.bulk(k.bytes()));
    }

    /** A filter for {@code pattern}; null (every key) for {@code *}, which Redis does not run through its glob. */
    private static Predicate<Key> matcher(byte[] pattern) {
        if (pattern.length == 1 && pattern[0] == '*') {
            return null;
        }
        return k -> Glob.matches(pattern, k.bytes());
    }

    /**
     * Reads a SCAN cursor as Redis does with {@code strtoul(s, &end, 10)}: an unsigned 64-bit decimal
     * with an optional sign ({@code -n} wraps around, as in C), no spaces; the empty string reads as 0.
     * Anything else, or a value over 2^64 - 1, is {@code ERR invalid cursor}.
     */
    static long parseCursor(byte[] arg) {
        int i = 0;
        boolean negative = false;
        if (arg.length > 0 && (arg[0] == '+' || arg[0] == '-')) {
            negative = arg[0] == '-';
            i = 1;
            if (arg.length == 1) {
                throw invalidCursor();
            }
        }
        long value = 0;
        for (; i < arg.length; i++) {
            int digit = arg[i] - '0';
            if (digit < 0 || digit > 9 || Long.compareUnsigned(value, Long.divideUnsigned(-1L - digit, 10)) > 0) {
                throw invalidCursor();
            }
            value = value * 10 + digit;
        }
        return negative ? -value : value;
    }

    private static CommandException invalidCursor() {
        return new CommandException("ERR invalid cursor");
    }

    private void randomkey(ClientConnection c, byte[][] a, RespWriter out) {
        Entry e = engine.randomEntry();
        out.bulk(e == null ? null : e.key().bytes());
    }

    // ---- renaming ----

    /**
     * RENAME and RENAMENX: moves the value and its TTL to the new name, replacing whatever was there
     * (RENAMENX: unless something was there). A missing source is {@code ERR no such key}, even when
     * both names are the same.
     */
    private void rename(byte[][] a, boolean onlyIfAbsent, RespWriter out) {
        Key from = Key.of(a[1]);
        Key to = Key.of(a[2]);
        boolean sameKey = Arrays.equals(a[1], a[2]);
        boolean renamed = engine.atomically(sameKey ? List.of(from) : List.of(from, to), txn -> {
            Entry source = txn.get(from);
            if (source == null) {
                throw new CommandException("ERR no such key");
            }
            if (sameKey) {
                return !onlyIfAbsent;
            }
            if (onlyIfAbsent && txn.get(to) != null) {
                return false;
            }
            byte[] value = source.value();
            if (source.kind() == ValueKind.COUNTER) {
                // A counter of the new name's own history: it counts from what that name holds now.
                long sum = StringCommands.counterValue(StringCommands.decodeCounter(source));
                value = CausalCodec.encode(CounterState.from(StringCommands.epochOf(engine, txn, to), sum));
            }
            txn.put(to, value, source.kind(), source.expireAt());
            txn.delete(from);
            return true;
        });
        if (onlyIfAbsent) {
            out.integer(renamed ? 1 : 0);
        } else {
            out.ok();
        }
    }

    // ---- expiry ----

    /**
     * EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT key time [NX | XX | GT | LT], following Redis 7.0's
     * expireGenericCommand: options are checked first, then the time (negative is allowed; overflow
     * is not); a missing key or a failed condition answers 0; a time not in the future deletes the key.
     * GT and LT treat a key without TTL as expiring never.
     *
     * @param seconds  whether the time is in seconds (else ms)
     * @param relative whether the time counts from now (else it is a Unix time)
     */
    private void expire(byte[][] a, boolean seconds, boolean relative, String command, RespWriter out) {
        int conditions = parseExpireConditions(a);
        long when = Args.parseLong(a[2]);
        if (seconds) {
            if (when > Long.MAX_VALUE / 1000 || when < Long.MIN_VALUE / 1000) {
                throw Args.invalidExpireTime(command);
            }
            when *= 1000;
        }
        long now = clock.millis();
        if (relative) {
            if (when > Long.MAX_VALUE - now) {
                throw Args.invalidExpireTime(command);
            }
            when += now;
        }
        long expireAt = when;
        Key key = Key.of(a[1]);
        boolean changed = engine.atomically(key, txn -> {
            Entry current = txn.get(key);
            if (current == null || !conditionsHold(conditions, current, expireAt)) {
                return false;
            }
            if (expireAt <= now) {
                txn.delete(key);
            } else {
                txn.put(key, current.value(), current.kind(), expireAt);
            }
            return true;
        });
        out.integer(changed ? 1 : 0);
    }

    private static int parseExpireConditions(byte[][] a) {
        int conditions = 0;
        for (int i = 3; i < a.length; i++) {
            if (is(a[i], "NX")) {
                conditions |= EXPIRE_NX;
            } else if (is(a[i], "XX")) {
                conditions |= EXPIRE_XX;
            } else if (is(a[i], "GT")) {
                conditions |= EXPIRE_GT;
            } else if (is(a[i], "LT")) {
                conditions |= EXPIRE_LT;
            } else {
                throw new CommandException("ERR Unsupported option " + str(a[i]));
            }
        }
        if ((conditions & EXPIRE_NX) != 0 && (conditions & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT)) != 0) {
            throw new CommandException("ERR NX and XX, GT or LT options at the same time are not compatible");
        }
        if ((conditions & EXPIRE_GT) != 0 && (conditions & EXPIRE_LT) != 0) {
            throw new CommandException("ERR GT and LT options at the same time are not compatible");
        }
        return conditions;
    }

    /** Whether NX/XX/GT/LT allow setting {@code expireAt} on {@code current}; no TTL counts as infinite. */
    private static boolean conditionsHold(int conditions, Entry current, long expireAt) {
        boolean volatileKey = current.hasExpiry();
        if ((conditions & EXPIRE_NX) != 0 && volatileKey) {
            return false;
        }
        if ((conditions & EXPIRE_XX) != 0 && !volatileKey) {
            return false;
        }
        if ((conditions & EXPIRE_GT) != 0 && (!volatileKey || expireAt <= current.expireAt())) {
            return false;
        }
        return (conditions & EXPIRE_LT) == 0 || !volatileKey || expireAt < current.expireAt();
    }

    /**
     * TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing key, -1 for a key without TTL, else the
     * time left (or the absolute time) — in seconds rounded to nearest as Redis does ({@code (ms + 500)
     * / 1000}), or in ms.
     */
    private void ttl(byte[][] a, boolean millis, boolean absolute, RespWriter out) {
        long now = clock.millis();
        Entry e = engine.peek(Key.of(a[1]));
        if (e == null) {
            out.integer(-2);
        } else if (!e.hasExpiry()) {
            out.integer(-1);
        } else {
            long t = Math.max(0, absolute ? e.expireAt() : e.expireAt() - now);
            out.integer(millis ? t : t / 1000 + (t % 1000 >= 500 ? 1 : 0)); // (t + 500) / 1000 without overflow
        }
    }

    /** PERSIST: 1 if a TTL was removed, 0 if the key is missing or had none. */
    private void persist(ClientConnection c, byte[][] a, RespWriter out) {
        Key key = Key.of(a[1]);
        boolean removed = engine.atomically(key, txn -> {
            Entry current = txn.get(key);
            if (current == null || !current.hasExpiry()) {
                return false;
            }
            txn.put(key, current.value(), current.kind(), 0);
            return true;
        });
        out.integer(removed ? 1 : 0);
    }
}
