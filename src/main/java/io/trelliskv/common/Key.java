package io.trelliskv.common;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A binary-safe key together with its ring token (Murmur3 x64 128, first 64 bits). The token is
 * computed once, when the key enters the node, and serves three purposes: placement on the ring, the
 * storage engine's segment (its high bits, so a token range maps to a run of segments), and the hash
 * code of in-memory tables (its low bits).
 *
 * <p>The byte array is owned by the key: callers must not modify it after construction.
 */
public final class Key implements Comparable<Key> {

    private final byte[] bytes;
    /** Signed 64-bit Murmur3 token; the ring orders tokens as signed longs. */
    private final long token;

    private Key(byte[] bytes, long token) {
        this.bytes = bytes;
        this.token = token;
    }

    /** Wraps {@code bytes} (not copied). */
    public static Key of(byte[] bytes) {
        return new Key(bytes, tokenOf(bytes));
    }

    /** The ring token of the key {@code bytes}: {@code Key.of(bytes).token()}, without the object. */
    public static long tokenOf(byte[] bytes) {
        return Murmur3.hash64(bytes, 0, bytes.length);
    }

    public static Key of(String s) {
        return of(s.getBytes(StandardCharsets.UTF_8));
    }

    public byte[] bytes() {
        return bytes;
    }

    public int length() {
        return bytes.length;
    }

    public long token() {
        return token;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Key other && other.token == token && Arrays.equals(other.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return (int) token;
    }

    /** Orders by token, then bytes: the order of the ring. */
    @Override
    public int compareTo(Key o) {
        int c = Long.compare(token, o.token);
        return c != 0 ? c : Arrays.compare(bytes, o.bytes);
    }

    @Override
    public String toString() {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
