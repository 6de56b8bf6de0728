package io.trelliskv.testing;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;

import java.nio.charset.StandardCharsets;

/** What a server-side {@link EmbeddedChannel} has written to its client. */
public final class EmbeddedOutput {

    private EmbeddedOutput() {
    }

    /**
     * Runs the channel's pending tasks (deferred replies are written from tasks), then takes every buffer written
     * so far, in order, as one UTF-8 string, releasing each.
     */
    public static String drain(EmbeddedChannel channel) {
        channel.runPendingTasks();
        StringBuilder out = new StringBuilder();
        for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
            out.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        return out.toString();
    }
}
