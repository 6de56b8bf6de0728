package io.trelliskv.command;

import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.testing.CommandHarness;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** DEBUG CLOCK-OFFSET exists only on a node whose clock is an OffsetClock (--test-clock-control). */
class DebugCommandsTest {

    @Test
    void debugIsUnknownWithoutClockControl() {
        try (CommandHarness h = new CommandHarness()) {
            assertThat(h.call("DEBUG", "CLOCK-OFFSET", "1000")).startsWith("-ERR unknown command 'DEBUG'");
        }
    }

    @Test
    void clockOffsetShiftsTimeAndTtls() {
        try (CommandHarness h = new CommandHarness(EngineConfig.unbounded(), RespLimits.DEFAULTS, true)) {
            assertThat(h.call("DEBUG", "CLOCK-OFFSET")).isEqualTo(":0\r\n");
            assertThat(h.call("SET", "k", "v", "PX", "5000")).isEqualTo("+OK\r\n");
            assertThat(h.call("DEBUG", "CLOCK-OFFSET", "6000")).isEqualTo("+OK\r\n");
            assertThat(h.call("DEBUG", "CLOCK-OFFSET")).isEqualTo(":6000\r\n");
            assertThat(h.call("GET", "k")).isEqualTo("$-1\r\n");
            assertThat(h.call("DEBUG", "CLOCK-OFFSET", "-250")).isEqualTo("+OK\r\n");
            assertThat(h.call("TIME")).startsWith("*2\r\n$10\r\n" + (CommandHarness.START_MILLIS - 250) / 1000 + "\r\n");
        }
    }

    @Test
    void badArgumentsAreRefused() {
        try (CommandHarness h = new CommandHarness(EngineConfig.unbounded(), RespLimits.DEFAULTS, true)) {
            assertThat(h.call("DEBUG", "SLEEP", "1")).startsWith("-ERR DEBUG subcommand must be CLOCK-OFFSET");
            assertThat(h.call("DEBUG", "CLOCK-OFFSET", "x")).startsWith("-ERR value is not an integer");
        }
    }
}
