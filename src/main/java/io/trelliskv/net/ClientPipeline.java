package io.trelliskv.net;

import io.netty.channel.Channel;
import io.trelliskv.common.Clock;
import io.trelliskv.resp.RespDecoder;

/**
 * Assembles a client connection's pipeline, in order: the RESP request decoder (bytes to commands,
 * enforcing the protocol limits), then the client handler (commands to the sink, replies batched per
 * read). Used by {@link RespServer} for every accepted connection and by tests on an embedded channel.
 */
public final class ClientPipeline {

    private ClientPipeline() {
    }

    public static void configure(Channel ch, NetConfig config, CommandSink sink, ClientRegistry registry,
                                 Clock clock) {
        ch.pipeline().addLast("resp-decoder", new RespDecoder(config.limits()));
        ch.pipeline().addLast("client", new ClientHandler(sink, registry, config, clock));
    }
}
