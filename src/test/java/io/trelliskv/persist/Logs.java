package io.trelliskv.persist;

import io.trelliskv.common.Clock;
import io.trelliskv.version.Version;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Helpers of the persistence tests: records, and recovery into a list. */
final class Logs {

    private Logs() {
    }

    /** A write of key {@code k<key>} at hlc {@code hlc}: a value of {@code len} bytes, a tombstone if {@code len < 0}. */
    static LogRecord.Write write(int key, long hlc, long node, int len, long expireAt) {
        byte[] value = null;
        if (len >= 0) {
            value = new byte[len];
            new Random(hlc * 31 + key).nextBytes(value);
        }
        return new LogRecord.Write(("k" + key).getBytes(), value, hlc, node, expireAt);
    }

    static LogRecord.Write write(int i) {
        return write(i % 7, 1000 + i, 1 + i % 3, i % 5 == 4 ? -1 : i % 40, i % 3 == 0 ? 1_700_000_000_000L + i : 0);
    }

    static List<LogRecord> records(int n) {
        List<LogRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(i == n / 2 ? new LogRecord.Flush(new Version(1000 + i, 2)) : write(i));
        }
        return out;
    }

    record Recovered(List<LogRecord> records, Recovery.Report report) {
    }

    static Recovered recover(Path dir) throws IOException {
        return recover(dir, Recovery.Options.DEFAULT);
    }

    static Recovered recover(Path dir, Recovery.Options options) throws IOException {
        List<LogRecord> out = new ArrayList<>();
        Recovery.Report r = Recovery.run(dir, options, Clock.SYSTEM, out::add);
        return new Recovered(out, r);
    }
}
