package io.trelliskv.common;

/**
 * Glob-style pattern matching with exactly Redis's rules ({@code stringmatchlen} in {@code util.c}),
 * for KEYS, SCAN MATCH and CONFIG GET. Binary-safe: pattern and subject are byte arrays and every byte
 * is an ordinary character except the five below.
 *
 * <ul>
 *   <li>{@code *} matches any run of bytes, the empty run included ({@code a*} matches {@code a}).</li>
 *   <li>{@code ?} matches exactly one byte.</li>
 *   <li>{@code [abc]} matches one byte of the set, {@code [^abc]} one byte not in it; {@code [a-z]} is
 *       a range (reversed bounds are swapped, so {@code [z-a]} is {@code [a-z]}); {@code \x} in a set
 *       is a literal {@code x}. A set left open at the end of the pattern ends there: {@code [ab}
 *       is {@code [ab]}.</li>
 *   <li>{@code \x} is a literal {@code x}; a backslash that ends the pattern matches a backslash.</li>
 * </ul>
 *
 * <p>Quirks kept on purpose, because clients see them through Redis:
 * <ul>
 *   <li>An empty subject matches only the empty pattern, so {@code *} does not match the empty key.
 *       KEYS and SCAN answer the pattern {@code *} without calling the matcher, which is how they
 *       still return an empty key.</li>
 *   <li>Range bounds compare bytes as signed values, as C's {@code char} does on x86-64, where Redis
 *       runs: {@code [a-\xff]} is the bytes from -1 to 'a', not 'a' and above.</li>
 *   <li>A {@code -} right before the closing bracket still makes a range with the bracket as its upper
 *       bound ({@code [a-]} is {@code ]} to {@code a}).</li>
 * </ul>
 *
 * <p>Backtracking is bounded as in Redis 7: when the rest of the pattern after a {@code *} matches at
 * no position of the rest of the subject, no earlier {@code *} can do better by taking more bytes, so
 * the whole search stops ({@code skipLongerMatches}); and a pattern that nests more than
 * {@link #MAX_NESTING} stars simply does not match, so no pattern can exhaust the stack.
 */
public final class Glob {

    /** Deepest recursion (one level per {@code *} group) before the match is given up as failed. */
    static final int MAX_NESTING = 1000;

    private final byte[] pattern;
    private final byte[] subject;
    /** Set once the pattern after some {@code *} has failed at every remaining position of the subject. */
    private boolean skipLongerMatches;

    private Glob(byte[] pattern, byte[] subject) {
        this.pattern = pattern;
        this.subject = subject;
    }

    /** True if {@code subject} matches the glob {@code pattern}, case-sensitively. */
    public static boolean matches(byte[] pattern, byte[] subject) {
        int prefix = literalPrefix(pattern);
        return prefix >= 0 ? startsWith(pattern, prefix, subject) : backtracking(pattern, subject);
    }

    /**
     * The length of {@code pattern}'s literal prefix when it is that prefix and one final '*' ("user:*"), the common
     * ACL and SCAN pattern, else -1. A caller that matches one pattern against many subjects finds it once and
     * matches with {@link #matches(byte[], int, byte[])}.
     */
    public static int literalPrefix(byte[] pattern) {
        int prefix = pattern.length - 1;
        return prefix >= 0 && pattern[prefix] == '*' && literal(pattern, prefix) ? prefix : -1;
    }

    /** {@link #matches(byte[], byte[])}, given {@code pattern}'s {@link #literalPrefix}. */
    public static boolean matches(byte[] pattern, int literalPrefix, byte[] subject) {
        return literalPrefix >= 0 ? startsWith(pattern, literalPrefix, subject) : backtracking(pattern, subject);
    }

    /**
     * A literal prefix and '*', compared in place: a subject shorter than the prefix runs out against a literal; an
     * empty one never matches (see the quirks above). A loop, not {@code Arrays.equals}: prefixes are a few bytes,
     * and this runs for every key of every command of a restricted ACL user.
     */
    private static boolean startsWith(byte[] pattern, int prefix, byte[] subject) {
        if (subject.length == 0 || subject.length < prefix) {
            return false;
        }
        for (int i = 0; i < prefix; i++) {
            if (pattern[i] != subject[i]) {
                return false;
            }
        }
        return true;
    }

    /** {@link #matches} by the general matcher alone, without the literal-prefix shortcut. */
    static boolean backtracking(byte[] pattern, byte[] subject) {
        return new Glob(pattern, subject).match(0, 0, 0);
    }

    /** True if {@code pattern[0..end)} has none of the special bytes: each matches only itself. */
    private static boolean literal(byte[] pattern, int end) {
        for (int i = 0; i < end; i++) {
            byte b = pattern[i];
            if (b == '*' || b == '?' || b == '[' || b == '\\') {
                return false;
            }
        }
        return true;
    }

    /** Matches {@code pattern[p..]} against {@code subject[s..]}. */
    private boolean match(int p, int s, int nesting) {
        if (nesting > MAX_NESTING) {
            return false;
        }
        int pEnd = pattern.length;
        int sEnd = subject.length;
        while (p < pEnd && s < sEnd) {
            switch (pattern[p]) {
                case '*' -> {
                    while (p + 1 < pEnd && pattern[p + 1] == '*') {
                        p++;
                    }
                    if (p + 1 == pEnd) {
                        return true;
                    }
                    for (; s < sEnd; s++) {
                        if (match(p + 1, s, nesting + 1)) {
                            return true;
                        }
                        if (skipLongerMatches) {
                            return false;
                        }
                    }
                    skipLongerMatches = true;
                    return false;
                }
                case '?' -> s++;
                case '[' -> {
                    p = matchSet(p + 1, subject[s]);
                    if (p < 0) {
                        return false;
                    }
                    s++;
                }
                case '\\' -> {
                    if (p + 1 < pEnd) {
                        p++;
                    }
                    if (pattern[p] != subject[s]) {
                        return false;
                    }
                    s++;
                }
                default -> {
                    if (pattern[p] != subject[s]) {
                        return false;
                    }
                    s++;
                }
            }
            p++;
            if (s == sEnd) {
                while (p < pEnd && pattern[p] == '*') {
                    p++;
                }
                break;
            }
        }
        return p == pEnd && s == sEnd;
    }

    /**
     * Matches byte {@code c} against the set that starts at {@code pattern[p]} (just after its
     * {@code [}). Returns the index of the set's last byte (its {@code ]}, or the pattern's last byte
     * if the set is left open), or -1 if {@code c} is not matched.
     */
    private int matchSet(int p, byte c) {
        int pEnd = pattern.length;
        boolean negated = p < pEnd && pattern[p] == '^';
        if (negated) {
            p++;
        }
        boolean found = false;
        while (true) {
            if (p == pEnd) {
                p--;
                break;
            }
            byte b = pattern[p];
            if (b == '\\' && p + 1 < pEnd) {
                p++;
                found |= pattern[p] == c;
            } else if (b == ']') {
                break;
            } else if (p + 2 < pEnd && pattern[p + 1] == '-') {
                int low = Math.min(b, pattern[p + 2]);
                int high = Math.max(b, pattern[p + 2]);
                p += 2;
                found |= c >= low && c <= high;
            } else {
                found |= b == c;
            }
            p++;
        }
        return found != negated ? p : -1;
    }
}
