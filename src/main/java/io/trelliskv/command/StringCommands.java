package io.trelliskv.command;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.net.ClientConnection;
import io.trelliskv.resp.RespWriter;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.ValueKind;
import io.trelliskv.version.CausalCodec;
import io.trelliskv.version.CounterState;
import io.trelliskv.version.DvvSet;
import io.trelliskv.version.Version;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;

import static io.trelliskv.command.Args.is;
import static io.trelliskv.command.CommandFlag.DENYOOM;
import static io.trelliskv.command.CommandFlag.FAST;
import static io.trelliskv.command.CommandFlag.READONLY;
import static io.trelliskv.command.CommandFlag.WRITE;

/**
 * The string commands: GET and SET with its family (SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX), the
 * multi-key MGET, MSET and MSETNX, the counters (INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT) and the
 * in-place edits (STRLEN, APPEND, GETRANGE, SETRANGE), with Redis 7.0's arities, flags, replies and
 * error texts.
 *
 * <h2>Kinds of value</h2>
 * A key holds a plain string, a convergent counter or a versioned value (siblings, {@code VSET}); see
 * {@link ValueKind}. Every command here reads a key as a string ({@link #stringOf}): a counter reads as
 * its value in decimal, a versioned value as its one sibling (nil when it has none, an error naming
 * VGET when it has several; MGET answers nil for a key it cannot read so, as Redis's MGET does for a
 * non-string).
 * Every command that writes a value writes a plain string under a new version, replacing whatever the
 * key held (last writer wins): SET, GETSET, MSET, APPEND, SETRANGE and INCRBYFLOAT replace a counter, or
 * every sibling this node knows of, with a plain string. The counters are the exception:
 *
 * <h2>Counters</h2>
 * INCR, DECR, INCRBY and DECRBY make the key a convergent counter ({@link CounterState}) and add to this
 * node's own share of it, so increments coordinated by different replicas, also during a partition,
 * join instead of overwriting each other. A counter counts from the state it was made from, its epoch:
 * a missing key or tombstone (base 0) or a plain integer string, or a versioned value with one integer
 * sibling (base that integer), whose version it keeps in its bytes, so that every replica counting from
 * the same state joins, and any newer SET or DEL resets it: increments concurrent with a reset that the
 * reset had not seen are dropped ({@link ValueKind} has the order). A counter made from a key nothing
 * was ever stored for has the epoch {@link Version#ZERO}, or the flush floor after a FLUSHALL. A node's
 * share is at most 2^63 - 1 in each direction; an increment that would carry it past starts a new
 * epoch at the counter's current state (as a SET of its value would), which keeps Redis's results for
 * any sequence of increments whose running value fits in 64 bits. The EXPIRE family, PERSIST and GETEX
 * rewrite a counter as it is (same epoch, new version and TTL); RENAME makes a new counter of the value
 * at the new name.
 *
 * <h2>Atomicity</h2>
 * A plain SET (no NX, XX, GET or KEEPTTL) and a GET are single engine operations. Every command that
 * reads a key to decide what to write — the counters, APPEND, SETRANGE, GETSET, GETDEL, GETEX and SET
 * with a condition, GET or KEEPTTL — runs inside {@code engine.atomically} on its key, so no other
 * write to the key can come between its read and its write. MSET and MSETNX lock all their keys at
 * once, so no reader sees half of them written. Errors found inside an atomic body are thrown from
 * it; the engine releases its locks and nothing has been written.
 *
 * <h2>Expiry</h2>
 * Expiry times are absolute epoch milliseconds from the injected clock, read once per command that gives
 * a time relative to now (EX, PX; a plain SET reads none). As in Redis, a write that replaces a value
 * (SET without KEEPTTL, GETSET, MSET) drops the key's TTL, while an edit of the value (INCR and friends,
 * APPEND, SETRANGE) keeps it. Entries are immutable, so keeping a TTL means writing the new value with
 * the old entry's {@code expireAt}.
 *
 * <h2>INCRBYFLOAT</h2>
 * Redis adds two {@code long double}s (64-bit mantissa) and prints the sum with {@code "%.17Lf"}: 17
 * digits after the point — not 17 significant digits — with trailing zeros removed, so {@code 1e-18}
 * prints as {@code 0}. Here both operands are read as exact decimals ({@link BigDecimal}) and the exact
 * sum is printed the same way (rounded half to even, as printf rounds), so the digits a user typed come
 * back as typed ({@code 10.5 + 0.1 = 10.6}, {@code 0.1 + 0.2 = 0.3}), as they do from Redis. The two
 * differ only where Redis's binary rounding shows through its 17 decimals, which happens once the
 * integer part is large enough for them to exceed a long double's ~19 significant digits: Redis
 * prints {@code 1000 + 0.1} as {@code 1000.09999999999999998}, this prints {@code 1000.1}. Hexadecimal
 * floats, which strtold also reads, are refused as not a valid float.
 */
public final class StringCommands {

    /** Longest float argument Redis's {@code string2ld} accepts, exclusive ({@code MAX_LONG_DOUBLE_CHARS}). */
    private static final int MAX_FLOAT_CHARS = 5 * 1024;
    /** Digits after the decimal point in INCRBYFLOAT's result, as Redis's {@code "%.17Lf"}. */
    private static final int FLOAT_FRACTION_DIGITS = 17;
    /** Largest finite x87 {@code long double} (LDBL_MAX); beyond it strtold overflows to infinity. */
    private static final BigDecimal LONG_DOUBLE_MAX = new BigDecimal("1.18973149535723176502e4932");
    /** Smallest positive x87 {@code long double} (a denormal); below it strtold underflows to zero. */
    private static final BigDecimal LONG_DOUBLE_MIN = new BigDecimal("3.64519953188247460253e-4951");
    private static final byte[] EMPTY = {};

    /** GET's value, from the engine's memory into the reply. */
    private static final Engine.ValueSink<RespWriter> BULK = RespWriter::bulk;

    private final Engine engine;
    private final Clock clock;
    /**
     * Largest value a command may create (APPEND, SETRANGE), in bytes: the protocol's bulk limit
     * ({@code proto-max-bulk-len}), which {@link io.trelliskv.resp.RespLimits} keeps within one Java array.
     */
    private final long maxValueLength;

    public StringCommands(Engine engine, Clock clock, long maxValueLength) {
        this.engine = engine;
        this.clock = clock;
        this.maxValueLength = maxValueLength;
    }

    public void registerInto(CommandTable t) {
        t.register("get", 2, EnumSet.of(READONLY, FAST), 1, 1, 1, this::get);
        t.register("set", -3, EnumSet.of(WRITE, DENYOOM), 1, 1, 1, this::set);
        t.register("setnx", 3, EnumSet.of(WRITE, DENYOOM, FAST), 1, 1, 1, this::setnx);
        t.register("setex", 4, EnumSet.of(WRITE, DENYOOM), 1, 1, 1,
                (c, a, out) -> setWithExpiry(a, Options.EX, "setex", out));
        t.register("psetex", 4, EnumSet.of(WRITE, DENYOOM), 1, 1, 1,
                (c, a, out) -> setWithExpiry(a, Options.PX, "psetex", out));
        t.register("getset", 3, EnumSet.of(WRITE, DENYOOM, FAST), 1, 1, 1, this::getset);
        t.register("getdel", 2, EnumSet.of(WRITE, FAST), 1, 1, 1, this::getdel);
        t.register("getex", -2, EnumSet.of(WRITE, FAST), 1, 1, 1, this::getex);
        t.register("mget", -2, EnumSet.of(READONLY, FAST), 1, -1, 1, this::mget);
        t.register("mset", -3, EnumSet.of(WRITE, DENYOOM), 1, -1, 2, this::mset);
        t.register("msetnx", -3, EnumSet.of(WRITE, DENYOOM), 1, -1, 2, this::msetnx);
        t.register("strlen", 2, EnumSet.of(READONLY, FAST), 1, 1, 1, this::strlen);
        t.register("append", 3, EnumSet.of(WRITE, DENYOOM, FAST), 1, 1, 1, this::append);
        t.register("incr", 2, EnumSet.of(WRITE, DENYOOM, FAST), 1, 1, 1,
                (c, a, out) -> out.integer(incrBy(a[1], 1)));
        t.register("decr", 2, EnumSet.of(WRITE, DENYOOM, FAST), 1, 1, 1,
                (c, a, out) -> out.integer(incrBy(a[1], -1)));
        t.register("incrby", 3, EnumSet.of(WRITE, DENYOOM, FAST), 1, 1, 1,
                (c, a, out) -> out.integer(incrBy(a[1], Args.parseLong(a[2]))));
        t.register("decrby", 3, EnumSet.of(WRITE, DENYOOM, FAST), 1, 1, 1, this::decrby);
        t.register("incrbyfloat", 3, EnumSet.of(WRITE, DENYOOM, FAST), 1, 1, 1, this::incrbyfloat);
        t.register("getrange", 4, EnumSet.of(READONLY), 1, 1, 1, this::getrange);
        t.register("setrange", 4, EnumSet.of(WRITE, DENYOOM), 1, 1, 1, this::setrange);
    }

    // ---- get and set ----

    private void get(ClientConnection c, byte[][] a, RespWriter out) {
        Key key = c.key(a[1]);
        switch (engine.readPlain(key, BULK, out)) {
            case WRITTEN -> { }
            case ABSENT -> out.nullBulk();
            case OTHER_KIND -> out.bulk(stringOf(engine.get(key))); // a counter's or siblings' reading
        }
    }

    /** SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms-ts | KEEPTTL]. */
    private void set(ClientConnection c, byte[][] a, RespWriter out) {
        Options o = Options.parse(a, 3, true);
        long expireAt = o.expireAt(clock, "set");
        Key key = c.key(a[1]);
        byte[] value = a[2];
        if (!o.has(Options.NX | Options.XX | Options.GET | Options.KEEPTTL)) {
            engine.put(key, value, expireAt);
            out.ok();
            return;
        }
        Entry[] previous = new Entry[1];
        byte[] old = engine.atomically(key, txn -> {
            Entry current = txn.get(key);
            byte[] read = o.has(Options.GET) ? stringOf(current) : null; // refuses before anything is written
            if (!o.blocks(current)) {
                long keptOrNew = o.has(Options.KEEPTTL) ? (current == null ? 0 : current.expireAt()) : expireAt;
                txn.put(key, value, keptOrNew);
            }
            previous[0] = current;
            return read;
        });
        if (o.has(Options.GET)) {
            out.bulk(old);
        } else if (o.blocks(previous[0])) {
            out.nullBulk();
        } else {
            out.ok();
        }
    }

    private void setnx(ClientConnection c, byte[][] a, RespWriter out) {
        Key key = Key.of(a[1]);
        boolean written = engine.atomically(key, txn -> {
            if (txn.get(key) != null) {
                return false;
            }
            txn.put(key, a[2], 0);
            return true;
        });
        out.integer(written ? 1 : 0);
    }

    /** SETEX key seconds value, PSETEX key ms value: {@code unit} is {@link Options#EX} or {@link Options#PX}. */
    private void setWithExpiry(byte[][] a, int unit, String command, RespWriter out) {
        long expireAt = new Options(unit, a[2]).expireAt(clock.millis(), command);
        engine.put(Key.of(a[1]), a[3], expireAt);
        out.ok();
    }

    private void getset(ClientConnection c, byte[][] a, RespWriter out) {
        Key key = Key.of(a[1]);
        byte[] previous = engine.atomically(key, txn -> {
            byte[] current = stringOf(txn.get(key));
            txn.put(key, a[2], 0);
            return current;
        });
        out.bulk(previous);
    }

    private void getdel(ClientConnection c, byte[][] a, RespWriter out) {
        Key key = Key.of(a[1]);
        byte[] previous = engine.atomically(key, txn -> {
            Entry current = txn.get(key);
            byte[] read = stringOf(current);
            if (current != null) {
                txn.delete(key);
            }
            return read;
        });
        out.bulk(previous);
    }

    /**
     * GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST]. As in Redis, a missing key answers nil
     * before the expiry time is validated, and an absolute time not in the future deletes the key.
     */
    private void getex(ClientConnection c, byte[][] a, RespWriter out) {
        Options o = Options.parse(a, 2, false);
        long now = clock.millis();
        Key key = Key.of(a[1]);
        byte[] found = engine.atomically(key, txn -> {
            Entry current = txn.get(key);
            if (current == null) {
                return null;
            }
            long expireAt = o.expireAt(now, "getex");
            byte[] read = stringOf(current);
            if (o.has(Options.EXAT | Options.PXAT) && expireAt <= now) {
                txn.delete(key);
            } else if (expireAt != 0) {
                txn.put(key, current.value(), current.kind(), expireAt);
            } else if (o.has(Options.PERSIST) && current.hasExpiry()) {
                txn.put(key, current.value(), current.kind(), 0);
            }
            return read;
        });
        out.bulk(found);
    }

    // ---- several keys ----

    private void mget(ClientConnection c, byte[][] a, RespWriter out) {
        out.array(a.length - 1);
        for (int i = 1; i < a.length; i++) {
            Key key = Key.of(a[i]);
            switch (engine.readPlain(key, BULK, out)) {
                case WRITTEN -> { }
                case ABSENT -> out.nullBulk();
                case OTHER_KIND -> {
                    byte[] value;
                    // siblings, or a counter out of range: nil, as Redis answers for a value that is not a string
                    try {
                        value = stringOf(engine.get(key));
                    } catch (CommandException noString) {
                        value = null;
                    }
                    out.bulk(value);
                }
            }
        }
    }

    private void mset(ClientConnection c, byte[][] a, RespWriter out) {
        List<Key> keys = pairKeys(a, "mset");
        engine.atomically(keys, txn -> {
            for (int i = 0; i < keys.size(); i++) {
                txn.put(keys.get(i), a[2 + 2 * i], 0);
            }
            return null;
        });
        out.ok();
    }

    /** MSETNX: sets every pair, or none if any of the keys exists. */
    private void msetnx(ClientConnection c, byte[][] a, RespWriter out) {
        List<Key> keys = pairKeys(a, "msetnx");
        boolean written = engine.atomically(keys, txn -> {
            for (Key key : keys) {
                if (txn.get(key) != null) {
                    return false;
                }
            }
            for (int i = 0; i < keys.size(); i++) {
                txn.put(keys.get(i), a[2 + 2 * i], 0);
            }
            return true;
        });
        out.integer(written ? 1 : 0);
    }

    /** The keys of {@code cmd key value [key value ...]}; an unpaired key is an arity error, as in Redis. */
    private static List<Key> pairKeys(byte[][] a, String command) {
        if (a.length % 2 == 0) {
            throw CommandException.wrongArity(command);
        }
        List<Key> keys = new ArrayList<>(a.length / 2);
        for (int i = 1; i < a.length; i += 2) {
            keys.add(Key.of(a[i]));
        }
        return keys;
    }

    // ---- edits ----

    private void strlen(ClientConnection c, byte[][] a, RespWriter out) {
        byte[] value = stringOf(engine.get(Key.of(a[1])));
        out.integer(value == null ? 0 : value.length);
    }

    private void append(ClientConnection c, byte[][] a, RespWriter out) {
        Key key = Key.of(a[1]);
        byte[] tail = a[2];
        int length = engine.atomically(key, txn -> {
            Entry current = txn.get(key);
            byte[] head = stringOf(current);
            if (head == null) {
                txn.put(key, tail, current == null ? 0 : current.expireAt());
                return tail.length;
            }
            checkLength(head.length, tail.length);
            byte[] joined = Arrays.copyOf(head, head.length + tail.length);
            System.arraycopy(tail, 0, joined, head.length, tail.length);
            txn.put(key, joined, current.expireAt());
            return joined.length;
        });
        out.integer(length);
    }

    /**
     * GETRANGE key start end, both inclusive; negative indexes count from the end. A missing key is an
     * empty string, as are ranges that select nothing.
     */
    private void getrange(ClientConnection c, byte[][] a, RespWriter out) {
        long start = Args.parseLong(a[2]);
        long end = Args.parseLong(a[3]);
        byte[] value = stringOf(engine.get(Key.of(a[1])));
        long length = value == null ? 0 : value.length;
        if (start < 0 && end < 0 && start > end) {
            out.bulk(EMPTY);
            return;
        }
        if (start < 0) {
            start = Math.max(0, length + start);
        }
        if (end < 0) {
            end = Math.max(0, length + end);
        }
        end = Math.min(end, length - 1);
        if (start > end || length == 0) {
            out.bulk(EMPTY);
        } else {
            out.bulk(value, (int) start, (int) (end - start + 1));
        }
    }

    /**
     * SETRANGE key offset value: overwrites from {@code offset}, zero-padding a shorter string. An empty
     * value changes nothing and creates nothing; the reply is the resulting length.
     */
    private void setrange(ClientConnection c, byte[][] a, RespWriter out) {
        long offset = Args.parseLong(a[2]);
        if (offset < 0) {
            throw new CommandException("ERR offset is out of range");
        }
        Key key = Key.of(a[1]);
        byte[] patch = a[3];
        int length = engine.atomically(key, txn -> {
            Entry current = txn.get(key);
            byte[] read = stringOf(current);
            byte[] old = read == null ? EMPTY : read;
            if (patch.length == 0) {
                return old.length;
            }
            checkLength(offset, patch.length);
            int end = (int) offset + patch.length;
            byte[] updated = Arrays.copyOf(old, Math.max(old.length, end));
            System.arraycopy(patch, 0, updated, (int) offset, patch.length);
            txn.put(key, updated, current == null ? 0 : current.expireAt());
            return updated.length;
        });
        out.integer(length);
    }

    /** Redis's checkStringLength: refuses a result of {@code size + added} bytes over the value limit. */
    private void checkLength(long size, long added) {
        if (size > maxValueLength - added) {
            throw new CommandException("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        }
    }

    // ---- counters ----

    private void decrby(ClientConnection c, byte[][] a, RespWriter out) {
        long decrement = Args.parseLong(a[2]);
        if (decrement == Long.MIN_VALUE) {
            throw new CommandException("ERR decrement would overflow");
        }
        out.integer(incrBy(a[1], -decrement));
    }

    /**
     * Adds {@code delta} to the counter at {@code rawKey}, keeping its TTL; returns the sum. A key that is
     * not a counter yet becomes one counting from its integer value (0 if missing); a counter gets
     * {@code delta} added to this node's share (see the class comment).
     */
    private long incrBy(byte[] rawKey, long delta) {
        Key key = Key.of(rawKey);
        return engine.atomically(key, txn -> {
            Entry current = txn.get(key);
            CounterState counter;
            if (current != null && current.kind() == ValueKind.COUNTER) {
                counter = decodeCounter(current);
            } else {
                byte[] read = stringOf(current);
                counter = CounterState.from(epochOf(engine, txn, key), read == null ? 0 : Args.parseLong(read));
            }
            long old = counterValue(counter);
            if ((delta < 0 && old < 0 && delta < Long.MIN_VALUE - old)
                    || (delta > 0 && old > 0 && delta > Long.MAX_VALUE - old)) {
                throw new CommandException("ERR increment or decrement would overflow");
            }
            long sum = old + delta;
            CounterState next;
            try {
                next = counter.add(engine.nodeId(), delta);
            } catch (ArithmeticException shareFull) {
                // This node's share cannot grow: a new epoch counting from the sum, as a SET of it would.
                next = CounterState.from(epochOf(engine, txn, key), sum);
            }
            txn.put(key, CausalCodec.encode(next), ValueKind.COUNTER, current == null ? 0 : current.expireAt());
            return sum;
        });
    }

    /**
     * The epoch of a counter made now from what {@code key} holds: the version stored for it (a value, an
     * expired one, a tombstone), or if nothing is, the flush floor ({@link Version#ZERO} if none).
     */
    static Version epochOf(Engine engine, Engine.Txn txn, Key key) {
        Entry stored = txn.stored(key);
        return stored != null ? stored.version() : engine.flushFloor();
    }

    private void incrbyfloat(ClientConnection c, byte[][] a, RespWriter out) {
        Key key = Key.of(a[1]);
        byte[] result = engine.atomically(key, txn -> {
            Entry current = txn.get(key);
            byte[] read = stringOf(current);
            BigDecimal value = read == null ? BigDecimal.ZERO : parseLongDouble(read);
            BigDecimal increment = parseLongDouble(a[2]);
            BigDecimal sum = value == null || increment == null ? null : value.add(increment);
            if (sum == null || sum.abs().compareTo(LONG_DOUBLE_MAX) > 0) {
                throw new CommandException("ERR increment would produce NaN or Infinity");
            }
            byte[] formatted = formatLongDouble(sum);
            txn.put(key, formatted, current == null ? 0 : current.expireAt());
            return formatted;
        });
        out.bulk(result);
    }

    /**
     * Reads a float as Redis's {@code string2ld} does with {@code strtold}: optional sign, decimal digits
     * with an optional point and exponent, or {@code inf}/{@code infinity} in any case; no spaces, no
     * NaN, nothing that overflows or underflows a {@code long double}. Returns the exact value, or null
     * for an infinity (valid to read, but no sum with it is finite).
     *
     * @throws CommandException {@code ERR value is not a valid float} otherwise
     */
    static BigDecimal parseLongDouble(byte[] arg) {
        if (arg.length == 0 || arg.length >= MAX_FLOAT_CHARS) {
            throw CommandException.notFloat();
        }
        String s = new String(arg, StandardCharsets.ISO_8859_1);
        int unsigned = s.charAt(0) == '+' || s.charAt(0) == '-' ? 1 : 0;
        String magnitude = s.substring(unsigned);
        if (magnitude.equalsIgnoreCase("inf") || magnitude.equalsIgnoreCase("infinity")) {
            return null;
        }
        if (!isDecimal(magnitude)) {
            throw CommandException.notFloat();
        }
        BigDecimal value;
        try {
            value = new BigDecimal(s);
        } catch (NumberFormatException | ArithmeticException e) { // exponent beyond int range
            throw CommandException.notFloat();
        }
        BigDecimal abs = value.abs();
        if (abs.compareTo(LONG_DOUBLE_MAX) > 0 || (value.signum() != 0 && abs.compareTo(LONG_DOUBLE_MIN) < 0)) {
            throw CommandException.notFloat();
        }
        return value;
    }

    /** {@code digits [. digits] [e|E [+|-] digits]} with at least one mantissa digit; ASCII only. */
    private static boolean isDecimal(String s) {
        int i = 0;
        int n = s.length();
        int mantissaDigits = 0;
        while (i < n && isDigit(s.charAt(i))) {
            i++;
            mantissaDigits++;
        }
        if (i < n && s.charAt(i) == '.') {
            i++;
            while (i < n && isDigit(s.charAt(i))) {
                i++;
                mantissaDigits++;
            }
        }
        if (mantissaDigits == 0) {
            return false;
        }
        if (i < n && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            i++;
            if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                i++;
            }
            int exponentStart = i;
            while (i < n && isDigit(s.charAt(i))) {
                i++;
            }
            if (i == exponentStart) {
                return false;
            }
        }
        return i == n;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /**
     * Formats as Redis's {@code ld2string(LD_STR_HUMAN)}: fixed point with 17 digits after the point
     * (rounded half to even, as printf rounds), then trailing zeros and a bare point removed; never
     * {@code -0}, never an exponent.
     */
    static byte[] formatLongDouble(BigDecimal value) {
        BigDecimal rounded = value.setScale(FLOAT_FRACTION_DIGITS, RoundingMode.HALF_EVEN).stripTrailingZeros();
        return rounded.toPlainString().getBytes(StandardCharsets.US_ASCII);
    }

    // ---- helpers ----

    /**
     * The string a client reads for an entry: a plain value as stored, a counter's value in decimal, a
     * versioned value's one sibling (null if it has none); null for no entry.
     *
     * @throws CommandException if the entry is a versioned value with several siblings (which VGET reads),
     *                          or a counter whose value does not fit in 64 bits or does not decode
     */
    public static byte[] stringOf(Entry e) {
        if (e == null) {
            return null;
        }
        switch (e.kind()) {
            case ValueKind.COUNTER:
                return Long.toString(counterValue(decodeCounter(e))).getBytes(StandardCharsets.US_ASCII);
            case ValueKind.VERSIONED:
                List<byte[]> siblings = decodeSiblings(e).values();
                if (siblings.size() > 1) {
                    throw siblingsError(siblings.size());
                }
                return siblings.isEmpty() ? null : siblings.get(0);
            default:
                return e.value();
        }
    }

    /** The error of a string command on a key with {@code count} concurrent values. */
    static CommandException siblingsError(int count) {
        return new CommandException("ERR the key has " + count
                + " concurrent values (siblings): read them with VGET, or replace them with SET");
    }

    private static DvvSet<byte[]> decodeSiblings(Entry e) {
        try {
            return CausalCodec.decodeDvv(e.value());
        } catch (IllegalArgumentException damaged) {
            throw new CommandException("ERR the key's versioned value does not decode: " + damaged.getMessage());
        }
    }

    static CounterState decodeCounter(Entry e) {
        try {
            return CausalCodec.decodeCounterState(e.value());
        } catch (IllegalArgumentException damaged) {
            throw new CommandException("ERR the key's counter does not decode: " + damaged.getMessage());
        }
    }

    /** A counter's value, or an error if increments through several nodes carried it out of range. */
    static long counterValue(CounterState c) {
        try {
            return c.value();
        } catch (ArithmeticException e) {
            throw new CommandException("ERR counter value is out of the 64-bit range (concurrent increments"
                    + " added up past it); SET or DEL resets it");
        }
    }

    /**
     * The options of SET (from argument 3) and GETEX (from argument 2), accepted in any order and
     * repeatable, with the exclusions of Redis's {@code parseExtendedStringArgumentsOrReply}: anything
     * else, or a conflicting pair, is {@code ERR syntax error}.
     */
    private static final class Options {
        static final int NX = 1;
        static final int XX = 1 << 1;
        static final int GET = 1 << 2;
        static final int KEEPTTL = 1 << 3;
        static final int PERSIST = 1 << 4;
        static final int EX = 1 << 5;
        static final int PX = 1 << 6;
        static final int EXAT = 1 << 7;
        static final int PXAT = 1 << 8;
        /** The options that take a time argument; at most one kind of them may be given. */
        static final int EXPIRY = EX | PX | EXAT | PXAT;

        final int flags;
        /** The time argument of the expiry option, or null if none was given. */
        final byte[] time;

        Options(int flags, byte[] time) {
            this.flags = flags;
            this.time = time;
        }

        static Options parse(byte[][] a, int from, boolean set) {
            int flags = 0;
            byte[] time = null;
            for (int i = from; i < a.length; i++) {
                byte[] opt = a[i];
                int expiry = expiryOption(opt);
                if (set && is(opt, "NX") && (flags & XX) == 0) {
                    flags |= NX;
                } else if (set && is(opt, "XX") && (flags & NX) == 0) {
                    flags |= XX;
                } else if (set && is(opt, "GET")) {
                    flags |= GET;
                } else if (set && is(opt, "KEEPTTL") && (flags & EXPIRY) == 0) {
                    flags |= KEEPTTL;
                } else if (!set && is(opt, "PERSIST") && (flags & EXPIRY) == 0) {
                    flags |= PERSIST;
                } else if (expiry != 0 && i + 1 < a.length
                        && (flags & (KEEPTTL | PERSIST | (EXPIRY & ~expiry))) == 0) {
                    flags |= expiry;
                    time = a[++i];
                } else {
                    throw CommandException.syntax();
                }
            }
            return new Options(flags, time);
        }

        private static int expiryOption(byte[] opt) {
            if (is(opt, "EX")) {
                return EX;
            } else if (is(opt, "PX")) {
                return PX;
            } else if (is(opt, "EXAT")) {
                return EXAT;
            } else if (is(opt, "PXAT")) {
                return PXAT;
            }
            return 0;
        }

        boolean has(int anyOf) {
            return (flags & anyOf) != 0;
        }

        /** True if NX or XX forbids the write given the key's current entry. */
        boolean blocks(Entry current) {
            return has(NX) && current != null || has(XX) && current == null;
        }

        /**
         * The absolute expiry time in epoch ms, or 0 if no expiry option was given. As Redis's
         * getExpireMillisecondsOrReply: the time must be positive and must not overflow once converted
         * to ms and, for EX and PX, added to {@code now}.
         */
        long expireAt(long now, String command) {
            if (time == null) {
                return 0;
            }
            long t = Args.parseLong(time);
            boolean seconds = has(EX | EXAT);
            if (t <= 0 || seconds && t > Long.MAX_VALUE / 1000) {
                throw Args.invalidExpireTime(command);
            }
            if (seconds) {
                t *= 1000;
            }
            if (has(EX | PX)) {
                if (t > Long.MAX_VALUE - now) {
                    throw Args.invalidExpireTime(command);
                }
                t += now;
            }
            return t;
        }

        /** {@link #expireAt(long, String)}, reading the clock only for a time relative to now (EX, PX). */
        long expireAt(Clock clock, String command) {
            return expireAt(has(EX | PX) ? clock.millis() : 0, command);
        }
    }

}
