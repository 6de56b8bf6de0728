package io.trelliskv.testing;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.command.CommandFlag;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.common.ManualClock;
import io.trelliskv.common.OffsetClock;
import io.trelliskv.net.ClientPipeline;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.node.Node;
import io.trelliskv.node.NodeConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node without sockets: the whole command path (decoder, client handler, dispatcher, commands,
 * engine) on an embedded channel, driven by a manual clock. {@link #call} sends one command and
 * returns the exact RESP bytes of the reply as a string. {@link #connect} opens another client
 * connection to the same node, for what one client sees of another's commands.
 */
public final class CommandHarness implements AutoCloseable {

    public static final long START_MILLIS = 1_700_000_000_000L;

    public final ManualClock clock = new ManualClock(START_MILLIS);
    public final Node node;
    private final NetConfig net;
    private final ClientRegistry registry = new ClientRegistry(100);
    /** The first connection, which {@link #call} and {@link #send} use. */
    private final Client first;
    /** Every connection opened, the first included; closed with the harness. */
    private final List<Client> clients = new ArrayList<>();

    public CommandHarness() {
        this(EngineConfig.unbounded());
    }

    public CommandHarness(EngineConfig engineConfig) {
        this(engineConfig, RespLimits.DEFAULTS);
    }

    public CommandHarness(EngineConfig engineConfig, RespLimits limits) {
        this(engineConfig, limits, false);
    }

    /** With {@code clockControl}, the node runs on an {@link OffsetClock} over {@link #clock}, as with --test-clock-control. */
    public CommandHarness(EngineConfig engineConfig, RespLimits limits, boolean clockControl) {
        net = new NetConfig("127.0.0.1", 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, limits);
        node = new Node(new NodeConfig(net, engineConfig, ClusterConfig.standalone()),
                clockControl ? new OffsetClock(clock) : clock);
        first = connect();
    }

    /** Opens another client connection to the node (its own session, its own transaction). */
    public Client connect() {
        Client client = new Client();
        clients.add(client);
        return client;
    }

    /** Sends one command on the first connection as a RESP multibulk and returns the raw reply. */
    public String call(String... args) {
        return first.call(args);
    }

    /** Sends raw bytes (one or more requests, inline or multibulk) on the first connection; all replies. */
    public String send(String raw) {
        return first.send(raw);
    }

    /**
     * Asserts a command's registration as Redis has it: arity, flags (space-separated
     * {@link CommandFlag} names) and key positions.
     */
    public void assertRegistered(String name, int arity, String flags, int first, int last, int step) {
        CommandSpec spec = node.dispatcher().table().find(name.getBytes(StandardCharsets.US_ASCII));
        assertThat(spec).as("command %s", name).isNotNull();
        assertThat(spec.arity()).isEqualTo(arity);
        Set<CommandFlag> expected = EnumSet.noneOf(CommandFlag.class);
        for (String n : flags.trim().split("\\s+")) {
            expected.add(CommandFlag.valueOf(n));
        }
        assertThat(spec.flags()).isEqualTo(expected);
        assertThat(new int[] {spec.firstKey(), spec.lastKey(), spec.step()}).containsExactly(first, last, step);
    }

    /** Whether the first connection is open. */
    public boolean isOpen() {
        return first.isOpen();
    }

    @Override
    public void close() {
        clients.forEach(Client::close);
        node.close();
    }

    /** One client connection: an embedded channel with the client pipeline in front of the node. */
    public final class Client {

        private final EmbeddedChannel channel = new EmbeddedChannel();

        private Client() {
            ClientPipeline.configure(channel, net, node.dispatcher(), registry, clock, null);
            channel.pipeline().fireChannelActive();
        }

        /** Sends one command as a RESP multibulk and returns the raw reply. */
        public String call(String... args) {
            StringBuilder sb = new StringBuilder().append('*').append(args.length).append("\r\n");
            for (String a : args) {
                sb.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a)
                        .append("\r\n");
            }
            return send(sb.toString());
        }

        /** Sends raw bytes (one or more requests, inline or multibulk) and returns all replies. */
        public String send(String raw) {
            channel.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.UTF_8));
            return EmbeddedOutput.drain(channel);
        }

        public boolean isOpen() {
            return channel.isOpen();
        }

        private void close() {
            channel.finishAndReleaseAll();
        }
    }
}
