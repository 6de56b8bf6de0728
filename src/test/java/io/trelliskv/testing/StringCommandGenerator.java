package io.trelliskv.testing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A seeded random stream of string and key commands over a few keys, for sending the same stream to
 * Redis and to TrellisKV and comparing the replies. Few keys, so commands on one key follow each other
 * closely and each one's reply depends on the ones before it; values that are integers, words, empty,
 * at the edges of a 64-bit integer, almost integers ({@code 007}, {@code 1.5}, {@code " 1"}) and
 * binary (CR, LF, NUL, bytes above 0x7f), so counters and errors are exercised as well as strings.
 *
 * <p>Only commands TrellisKV implements (its {@code StringCommands} and {@code KeyCommands} tables),
 * and only replies that do not depend on time: SET's EX and PX are long enough that nothing expires
 * during a run, and no command reads a TTL.
 */
public final class StringCommandGenerator {

    /** Values that are not plain small integers or words, each picked now and then. */
    private static final List<byte[]> EDGE_VALUES = List.of(bytes(""), bytes("0"), bytes("-0"),
            bytes("9223372036854775807"), bytes("9223372036854775806"), bytes("-9223372036854775808"),
            bytes("007"), bytes("1.5"), bytes(" 1"), bytes("+1"), bytes("a\r\nb"),
            new byte[] {0, 'x', (byte) 0xff, '\r'}, bytes("\u00e9t\u00e9"));

    private final Random random;
    private final List<byte[]> keys = new ArrayList<>();

    /** Commands over {@code keyCount} keys named {@code prefix:0} … */
    public StringCommandGenerator(long seed, String prefix, int keyCount) {
        this.random = new Random(seed);
        for (int i = 0; i < keyCount; i++) {
            keys.add(bytes(prefix + ":" + i));
        }
    }

    /** The next {@code n} commands. */
    public List<byte[][]> next(int n) {
        List<byte[][]> commands = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            commands.add(next());
        }
        return commands;
    }

    /** The next command, as its arguments. */
    public byte[][] next() {
        int op = random.nextInt(100);
        if (op < 18) {
            return set();
        } else if (op < 26) {
            return args("GET", key());
        } else if (op < 31) {
            return args("INCR", key());
        } else if (op < 35) {
            return args("DECR", key());
        } else if (op < 40) {
            return args("INCRBY", key(), increment());
        } else if (op < 45) {
            return args("APPEND", key(), value());
        } else if (op < 48) {
            return args("STRLEN", key());
        } else if (op < 53) {
            return withKeys("DEL", 1 + random.nextInt(3));
        } else if (op < 58) {
            return withKeys("EXISTS", 1 + random.nextInt(3));
        } else if (op < 63) {
            return withKeys("MGET", 1 + random.nextInt(4));
        } else if (op < 68) {
            return mset();
        } else if (op < 72) {
            return args("GETSET", key(), value());
        } else if (op < 76) {
            return args("SETNX", key(), value());
        } else if (op < 80) {
            return args("GETDEL", key());
        } else if (op < 87) {
            return args("SETRANGE", key(), bytes(Integer.toString(random.nextInt(16))), value());
        } else if (op < 94) {
            return args("GETRANGE", key(), bytes(Integer.toString(random.nextInt(25) - 12)),
                    bytes(Integer.toString(random.nextInt(25) - 12)));
        } else {
            return args("TYPE", key());
        }
    }

    /** SET with any of NX or XX, GET, EX or PX; now and then a combination Redis refuses. */
    private byte[][] set() {
        List<byte[]> a = new ArrayList<>(List.of(bytes("SET"), key(), value()));
        int condition = random.nextInt(10);
        if (condition < 2) {
            a.add(bytes("NX"));
        } else if (condition < 4) {
            a.add(bytes("XX"));
        }
        if (random.nextInt(4) == 0) {
            a.add(bytes("GET"));
        }
        int expiry = random.nextInt(10);
        if (expiry < 2) {
            a.addAll(List.of(bytes("EX"), bytes("1000")));
        } else if (expiry < 3) {
            a.addAll(List.of(bytes("PX"), bytes("1000000")));
        }
        int refused = random.nextInt(40);
        if (refused == 0) {
            a.addAll(List.of(bytes("EX"), bytes("0")));
        } else if (refused == 1) {
            a.addAll(List.of(bytes("NX"), bytes("XX")));
        } else if (refused == 2) {
            a.add(bytes("EX"));
        }
        return a.toArray(byte[][]::new);
    }

    private byte[][] mset() {
        int pairs = 1 + random.nextInt(3);
        byte[][] a = new byte[1 + 2 * pairs][];
        a[0] = bytes("MSET");
        for (int i = 0; i < pairs; i++) {
            a[1 + 2 * i] = key();
            a[2 + 2 * i] = value();
        }
        return a;
    }

    private byte[][] withKeys(String name, int n) {
        byte[][] a = new byte[1 + n][];
        a[0] = bytes(name);
        for (int i = 1; i <= n; i++) {
            a[i] = key();
        }
        return a;
    }

    private byte[] key() {
        return keys.get(random.nextInt(keys.size()));
    }

    /** Mostly small integers and words; sometimes one of {@link #EDGE_VALUES}. */
    private byte[] value() {
        int kind = random.nextInt(10);
        if (kind < 5) {
            return bytes(Integer.toString(random.nextInt(551) - 50));
        } else if (kind < 8) {
            StringBuilder word = new StringBuilder();
            for (int i = random.nextInt(6); i >= 0; i--) {
                word.append((char) ('a' + random.nextInt(26)));
            }
            return bytes(word.toString());
        }
        return EDGE_VALUES.get(random.nextInt(EDGE_VALUES.size()));
    }

    /** INCRBY's increment: mostly small, sometimes at the edges of a long or not a number. */
    private byte[] increment() {
        return switch (random.nextInt(20)) {
            case 0 -> bytes(Long.toString(Long.MAX_VALUE));
            case 1 -> bytes(Long.toString(Long.MIN_VALUE));
            case 2 -> bytes("x1");
            default -> bytes(Integer.toString(random.nextInt(201) - 100));
        };
    }

    private static byte[][] args(Object... parts) {
        byte[][] a = new byte[parts.length][];
        for (int i = 0; i < parts.length; i++) {
            a[i] = parts[i] instanceof byte[] b ? b : bytes((String) parts[i]);
        }
        return a;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
