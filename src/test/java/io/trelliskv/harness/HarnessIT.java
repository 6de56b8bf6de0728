package io.trelliskv.harness;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The short fault-injection run that CI makes: five real nodes in network namespaces, every nemesis
 * combined, 75 s of workload with a fixed seed (the six clients of the four workloads and the two
 * pipelined clients, the defaults), ended by a kill-all of every node while the last operations are
 * answered, with {@code --appendfsync always}, so no acknowledged write may be lost to it; then the
 * restart of all five on their data and the checks (docs/TESTING.md). Needs root (for
 * {@code ip netns} and iptables, which .ci/run installs); skipped elsewhere. Run id 1, so it never
 * meets a long run (run id 2 by default) on the same machine.
 */
class HarnessIT {

    /** Fixed so a failure can be replayed with bin/trellis-harness --seed. */
    private static final String SEED = "20261124";

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void shortRunKeepsEveryPromise() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "the harness needs root for network namespaces");
        String jar = System.getProperty("trellis.jar");
        assertThat(jar).as("system property trellis.jar (set by failsafe)").isNotNull();
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);
        Harness.Options options = Harness.Options.parse("--duration", "75s", "--seed", SEED, "--run-id", "1",
                "--appendfsync", "always", "--final-killall", "yes",
                "--jar", jar, "--run-dir", Path.of("target", "harness", "it").toString());
        Checker.Summary summary = new Harness(options, new PrintStream(new TeeStream(System.out, buffer), true,
                StandardCharsets.UTF_8)).run();
        assertThat(summary.violations()).as("failed checks; the run printed:%n%s", buffer.toString(StandardCharsets.UTF_8))
                .isZero();
        assertThat(summary.acknowledged()).as("acknowledged operations").isGreaterThan(1_000);
        assertThat(summary.cutLosses().cuts()).as("the kill-all at the deadline").isEqualTo(1);
    }

    /** Prints to the test output and keeps a copy for the failure message. */
    private static final class TeeStream extends java.io.OutputStream {
        private final java.io.OutputStream a;
        private final java.io.OutputStream b;

        TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }
    }
}
