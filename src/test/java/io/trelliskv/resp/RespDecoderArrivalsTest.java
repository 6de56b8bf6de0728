package io.trelliskv.resp;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The decoder tells its {@link RespDecoder.Arrivals} of the requests each read held, before passing them on. */
class RespDecoderArrivalsTest {

    /** What happened, in order: "arriving N" for a hint of N requests, the command's name for each passed on. */
    private final List<String> events = new ArrayList<>();
    private final EmbeddedChannel channel = new EmbeddedChannel(
            new RespDecoder(RespLimits.DEFAULTS, (out, from) -> {
                StringBuilder sb = new StringBuilder("arriving");
                for (int i = from; i < out.size(); i++) {
                    sb.append(' ').append(new String(((byte[][]) out.get(i))[0], StandardCharsets.UTF_8));
                }
                events.add(sb.toString());
            }),
            new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    events.add(new String(((byte[][]) msg)[0], StandardCharsets.UTF_8));
                }
            });

    private void read(String raw) {
        channel.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.UTF_8));
    }

    @Test
    void aReadOfSeveralRequestsIsAnnouncedBeforeAnyIsPassedOn() {
        read("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nECHO x\r\n");

        assertThat(events).containsExactly("arriving PING GET ECHO", "PING", "GET", "ECHO");
    }

    @Test
    void aRequestSplitAcrossReadsIsAnnouncedWithTheReadThatCompletesIt() {
        read("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nG");
        read("ET\r\n$1\r\nk\r\n*1\r\n$4\r\nP");
        read("ING");

        assertThat(events).containsExactly("arriving PING", "PING", "arriving GET", "GET");
    }

    @Test
    void aReadThatEndsInAProtocolErrorPassesOnWhatCameBeforeWithoutAnnouncingIt() {
        assertThatThrownBy(() -> read("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*1\r\n!bad\r\n"))
                .isInstanceOf(RespProtocolException.class);

        assertThat(events).containsExactly("PING", "PING"); // what the handler gets before it sees the error
    }
}
