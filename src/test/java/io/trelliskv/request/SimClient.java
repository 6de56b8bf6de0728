package io.trelliskv.request;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.NetConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.resp.RespReplyReader;
import io.trelliskv.resp.RespValue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A pipelining client connected to one node of a {@link SimRoutedCluster}: the node's real client
 * pipeline (protocol detection, RESP decoder, {@code ClientHandler}) on an {@link EmbeddedChannel}.
 * It sends commands without waiting for replies and collects every byte the node writes back.
 */
final class SimClient implements AutoCloseable {

    private static final NetConfig NET = new NetConfig("127.0.0.1", 0, null, 1, 100,
            NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT, NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);

    final int index;
    final SimRoutedCluster.SimNode node;
    /** The keys only this client writes. */
    final List<String> keys;
    /** Every command sent, in order. */
    final List<String[]> sent = new ArrayList<>();
    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();

    SimClient(int index, SimRoutedCluster.SimNode node, List<String> keys) {
        this.index = index;
        this.node = node;
        this.keys = keys;
        ClientPipeline.configure(channel, NET, node.dispatcher, node.clients, node.clock, null);
        channel.pipeline().fireChannelActive();
    }

    /** Sends commands as one read of the connection, without waiting for their replies. */
    void send(List<String[]> commands) {
        StringBuilder sb = new StringBuilder();
        for (String[] args : commands) {
            sent.add(args);
            sb.append('*').append(args.length).append("\r\n");
            for (String a : args) {
                sb.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
            }
        }
        channel.writeInbound(Unpooled.copiedBuffer(sb, StandardCharsets.UTF_8));
        drain();
    }

    /** Runs the connection's event loop and keeps what was written to the client. */
    void drain() {
        channel.runPendingTasks();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            received.writeBytes(ByteBufUtil.getBytes(b));
            b.release();
        }
    }

    /** The replies received so far, in order. */
    List<RespValue> replies() {
        drain();
        RespReplyReader reader = new RespReplyReader(new ByteArrayInputStream(received.toByteArray()));
        List<RespValue> out = new ArrayList<>();
        try {
            while (true) {
                out.add(reader.read());
            }
        } catch (EOFException end) {
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("client " + index + ": malformed reply stream: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
    }
}
