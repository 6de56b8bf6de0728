package io.trelliskv.persist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

class LogChannelTest {

    @TempDir
    Path dir;

    private static void write(LogChannel ch, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    @Test
    void writesGoToTheEndWhichPreallocationDoesNotMove() throws IOException {
        Path file = dir.resolve("f");
        try (LogChannel ch = LogChannel.open(file)) {
            write(ch, "abc");
            ch.preallocate(16, (byte) 'x');
            assertThat(ch.size()).isEqualTo(3);
            assertThat(Files.readString(file)).isEqualTo("abc" + "x".repeat(13));

            write(ch, "de");
            assertThat(ch.size()).isEqualTo(5);
            assertThat(Files.readString(file)).as("written over the space").isEqualTo("abcde" + "x".repeat(11));

            ch.preallocate(10, (byte) 'y');
            assertThat(Files.size(file)).as("already that long").isEqualTo(16);

            ch.truncate(4);
            assertThat(Files.readString(file)).as("the space goes with a cut").isEqualTo("abcd");
            write(ch, "Z");
            assertThat(Files.readString(file)).isEqualTo("abcdZ");
        }
    }

    @Test
    void aFileOpenedAgainAppendsAtItsLength() throws IOException {
        Path file = dir.resolve("g");
        try (LogChannel ch = LogChannel.open(file)) {
            write(ch, "one");
        }
        try (LogChannel ch = LogChannel.open(file)) {
            assertThat(ch.size()).isEqualTo(3);
            write(ch, "two");
        }
        assertThat(Files.readString(file)).isEqualTo("onetwo");
    }

    @Test
    void largePreallocationsAreFilledThroughout() throws IOException {
        Path file = dir.resolve("h");
        try (LogChannel ch = LogChannel.open(file)) {
            ch.preallocate(1_000_003, LogFormat.PREALLOCATED);
        }
        byte[] all = Files.readAllBytes(file);
        byte[] expected = new byte[1_000_003];
        Arrays.fill(expected, LogFormat.PREALLOCATED);
        assertThat(all).isEqualTo(expected);
    }
}
