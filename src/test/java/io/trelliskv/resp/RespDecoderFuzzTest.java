package io.trelliskv.resp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random request streams against {@link RespDecoder}: generated valid pipelines (multibulk and inline
 * in every quoting style), the same pipelines mutated, and byte soup. Each stream is decoded whole,
 * split at random points and, now and then, byte by byte. The decoder must
 * <ul>
 *   <li>decode a valid pipeline to exactly the commands it was generated from;</li>
 *   <li>on any input, fail only with {@link RespProtocolException}, at most once, and produce the
 *       same commands and the same error however the stream is split;</li>
 *   <li>never pass on a command beyond the limits;</li>
 *   <li>finish (each test has a timeout).</li>
 * </ul>
 * The seed is random per run and printed with any failure; replay with {@code -Dresp.fuzz.seed=N}.
 */
class RespDecoderFuzzTest {

    private static final long SEED = Long.getLong("resp.fuzz.seed", System.nanoTime());
    private static final int STREAMS = 400;
    /** Small enough that generated and mutated streams cross every limit often. */
    private static final RespLimits LIMITS = new RespLimits(300, 40, 200);
    /** Bytes that steer the decoder: mutations favour them over arbitrary bytes. */
    private static final byte[] SIGNIFICANT = "*$\r\n0123456789-+ \t\"'\\x\0".getBytes(StandardCharsets.ISO_8859_1);

    @Test
    @Timeout(60)
    void validPipelinesDecodeToTheirCommandsHoweverSplit() {
        Random random = new Random(SEED);
        for (int i = 0; i < STREAMS; i++) {
            List<List<String>> commands = new ArrayList<>();
            byte[] stream = pipeline(random, commands);
            DecoderRun expected = new DecoderRun(commands, null);
            boolean byteByByte = i % 10 == 0;
            replayable(i, stream, () -> assertSplitInvariant(random, stream, expected, byteByByte));
        }
    }

    @Test
    @Timeout(60)
    void mutatedPipelinesFailOnlyWithProtocolErrorsAndAlikeHoweverSplit() {
        Random random = new Random(SEED + 1);
        for (int i = 0; i < STREAMS; i++) {
            byte[] stream = mutate(random, pipeline(random, new ArrayList<>()));
            boolean byteByByte = i % 10 == 0;
            replayable(i, stream, () -> {
                DecoderRun whole = DecoderRun.whole(LIMITS, stream);
                assertWithinLimits(whole);
                assertSplitInvariant(random, stream, whole, byteByByte);
            });
        }
    }

    @Test
    @Timeout(60)
    void byteSoupFailsOnlyWithProtocolErrorsAndAlikeHoweverSplit() {
        Random random = new Random(SEED + 2);
        for (int i = 0; i < STREAMS; i++) {
            byte[] stream = new byte[random.nextInt(400)];
            for (int j = 0; j < stream.length; j++) {
                stream[j] = randomByte(random);
            }
            boolean byteByByte = i % 10 == 0;
            replayable(i, stream, () -> {
                DecoderRun whole = DecoderRun.whole(LIMITS, stream);
                assertWithinLimits(whole);
                assertSplitInvariant(random, stream, whole, byteByByte);
            });
        }
    }

    private static void replayable(int iteration, byte[] stream, Runnable check) {
        try {
            check.run();
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("fuzz failure (replay with -Dresp.fuzz.seed=" + SEED + "), stream #"
                    + iteration + " " + escape(stream) + ": " + e, e);
        }
    }

    private static void assertSplitInvariant(Random random, byte[] stream, DecoderRun expected, boolean byteByByte) {
        assertThat(DecoderRun.whole(LIMITS, stream)).as("whole").isEqualTo(expected);
        for (int n = 0; n < 3; n++) {
            List<byte[]> chunks = randomChunks(random, stream);
            assertThat(DecoderRun.of(LIMITS, chunks)).as("in %d chunks", chunks.size()).isEqualTo(expected);
        }
        if (byteByByte) {
            assertThat(DecoderRun.byteByByte(LIMITS, stream)).as("byte by byte").isEqualTo(expected);
        }
    }

    /** A decoded command is never larger than a multibulk or an inline line may make it. */
    private static void assertWithinLimits(DecoderRun run) {
        long maxArg = Math.max(LIMITS.maxBulkLength(), LIMITS.maxInlineLength());
        int maxArgs = Math.max(LIMITS.maxMultibulkLength(), LIMITS.maxInlineLength());
        for (List<String> command : run.commands()) {
            assertThat(command).isNotEmpty().hasSizeLessThanOrEqualTo(maxArgs);
            assertThat(command).allSatisfy(arg -> assertThat((long) arg.length()).isLessThanOrEqualTo(maxArg));
        }
    }

    /** A valid pipeline of 1 to 10 requests; the commands it carries are added to {@code commands}. */
    private static byte[] pipeline(Random random, List<List<String>> commands) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int requests = 1 + random.nextInt(10);
        for (int r = 0; r < requests; r++) {
            switch (random.nextInt(12)) {
                case 0 -> out.writeBytes(DecoderRun.bytes(random.nextBoolean() ? "*0\r\n" : "*-1\r\n"));
                case 1 -> out.writeBytes(DecoderRun.bytes(random.nextBoolean() ? "\r\n" : " \t\n"));
                default -> {
                    List<byte[]> args = randomArgs(random);
                    byte[] inline = random.nextInt(3) == 0 ? inline(random, args) : null;
                    out.writeBytes(inline != null ? inline : RespRequestEncoder.encode(args));
                    commands.add(args.stream().map(a -> new String(a, StandardCharsets.ISO_8859_1)).toList());
                }
            }
        }
        return out.toByteArray();
    }

    private static List<byte[]> randomArgs(Random random) {
        int count = 1 + (random.nextInt(10) == 0 ? random.nextInt(LIMITS.maxMultibulkLength()) : random.nextInt(5));
        List<byte[]> args = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int length = random.nextInt(10) == 0 ? random.nextInt((int) LIMITS.maxBulkLength() + 1) : random.nextInt(12);
            byte[] arg = new byte[length];
            for (int j = 0; j < length; j++) {
                arg[j] = random.nextBoolean() ? (byte) ('a' + random.nextInt(26)) : randomByte(random);
            }
            args.add(arg);
        }
        return args;
    }

    /** {@code args} as an inline request with random blanks and quoting, or null if it would be too long. */
    private static byte[] inline(Random random, List<byte[]> args) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int i = 0; i < args.size(); i++) {
            if (i > 0 || random.nextInt(4) == 0) {
                for (int blanks = 1 + random.nextInt(3); blanks > 0; blanks--) {
                    line.write(random.nextBoolean() ? ' ' : '\t');
                }
            }
            byte[] arg = args.get(i);
            if (isBare(arg) && !(line.size() == 0 && arg[0] == '*') && random.nextBoolean()) {
                line.writeBytes(arg);
            } else if (isSingleQuotable(arg) && random.nextBoolean()) {
                singleQuoted(line, arg);
            } else {
                doubleQuoted(line, arg);
            }
        }
        line.writeBytes(DecoderRun.bytes(random.nextBoolean() ? "\r\n" : "\n"));
        return line.size() - 1 <= LIMITS.maxInlineLength() ? line.toByteArray() : null;
    }

    /** Written as is, an argument must not start a quote, hold a blank or NUL, or be empty. */
    private static boolean isBare(byte[] arg) {
        for (byte b : arg) {
            if (b == '"' || b == '\'' || b == 0 || b == ' ' || b == '\t' || b == '\r' || b == '\n'
                    || b == 0x0B || b == '\f') {
                return false;
            }
        }
        return arg.length > 0;
    }

    /** Single quotes take any byte but the line's end, NUL and backslash ({@code \'} escapes the quote). */
    private static boolean isSingleQuotable(byte[] arg) {
        for (byte b : arg) {
            if (b == '\n' || b == 0 || b == '\\') {
                return false;
            }
        }
        return true;
    }

    private static void singleQuoted(ByteArrayOutputStream line, byte[] arg) {
        line.write('\'');
        for (byte b : arg) {
            if (b == '\'') {
                line.write('\\');
            }
            line.write(b);
        }
        line.write('\'');
    }

    private static void doubleQuoted(ByteArrayOutputStream line, byte[] arg) {
        line.write('"');
        for (byte b : arg) {
            if (b == '\\' || b == '"') {
                line.write('\\');
                line.write(b);
            } else if (b >= 0x20 && b < 0x7F) {
                line.write(b);
            } else {
                line.writeBytes(DecoderRun.bytes(String.format("\\x%02X", b & 0xFF)));
            }
        }
        line.write('"');
    }

    /** One to three flips, insertions, deletions, duplications or a truncation. */
    private static byte[] mutate(Random random, byte[] stream) {
        byte[] s = stream;
        for (int n = 1 + random.nextInt(3); n > 0 && s.length > 0; n--) {
            int at = random.nextInt(s.length);
            s = switch (random.nextInt(5)) {
                case 0 -> {
                    byte[] copy = s.clone();
                    copy[at] = randomByte(random);
                    yield copy;
                }
                case 1 -> concat(Arrays.copyOfRange(s, 0, at), new byte[] {randomByte(random)},
                        Arrays.copyOfRange(s, at, s.length));
                case 2 -> concat(Arrays.copyOfRange(s, 0, at),
                        Arrays.copyOfRange(s, Math.min(s.length, at + 1 + random.nextInt(4)), s.length));
                case 3 -> {
                    int end = Math.min(s.length, at + 1 + random.nextInt(20));
                    yield concat(Arrays.copyOfRange(s, 0, end), Arrays.copyOfRange(s, at, s.length));
                }
                default -> Arrays.copyOf(s, at);
            };
        }
        return s;
    }

    private static byte randomByte(Random random) {
        return random.nextBoolean() ? SIGNIFICANT[random.nextInt(SIGNIFICANT.length)] : (byte) random.nextInt(256);
    }

    /** {@code stream} cut at 1 to 8 random points. */
    private static List<byte[]> randomChunks(Random random, byte[] stream) {
        TreeSet<Integer> cuts = new TreeSet<>();
        for (int n = 1 + random.nextInt(8); n > 0 && stream.length > 1; n--) {
            cuts.add(1 + random.nextInt(stream.length - 1));
        }
        cuts.add(stream.length);
        List<byte[]> chunks = new ArrayList<>();
        int from = 0;
        for (int cut : cuts) {
            chunks.add(Arrays.copyOfRange(stream, from, cut));
            from = cut;
        }
        return chunks;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /** The stream as a Java string literal body, cut at 2000 characters. */
    private static String escape(byte[] stream) {
        StringBuilder sb = new StringBuilder("\"");
        for (byte b : stream) {
            if (sb.length() > 2000) {
                return sb.append("...\" (").append(stream.length).append(" bytes)").toString();
            }
            switch (b) {
                case '\r' -> sb.append("\\r");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> sb.append(b >= 0x20 && b < 0x7F ? String.valueOf((char) b) : String.format("\\u%04x", b & 0xFF));
            }
        }
        return sb.append('"').toString();
    }
}
