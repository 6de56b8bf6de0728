package io.trelliskv.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.trelliskv.common.Clock;
import io.trelliskv.net.peer.PeerAcceptor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The client-facing server: Netty event loops serving RESP on a TCP port and, optionally, a Unix
 * domain socket. Uses the native epoll transport on Linux and falls back to NIO elsewhere (Unix
 * sockets need epoll).
 *
 * <p>Each connection's pipeline is assembled by {@link ClientPipeline}.
 */
public final class RespServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RespServer.class);

    private final NetConfig config;
    private final CommandSink sink;
    private final Clock clock;
    private final ClientRegistry registry;
    private final PeerAcceptor peers;
    private final boolean epoll;
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup ioGroup;
    private final List<Channel> serverChannels = new ArrayList<>();
    private InetSocketAddress boundAddress;
    /** TLS for the TLS port, or null when there is none. */
    private final ServerTls tls;
    private volatile InetSocketAddress tlsAddress;

    /**
     * Loads the native transport (Epoll's library, extracted from the jar) and says whether it is there:
     * what {@link #RespServer} does first, callable ahead of it, beside other work of the start.
     */
    public static boolean loadTransport() {
        return Epoll.isAvailable();
    }

    public RespServer(NetConfig config, CommandSink sink, ClientRegistry registry, Clock clock) {
        this(config, sink, registry, clock, null);
    }

    /** @param peers how to accept peer connections on the same port, or null to close them */
    public RespServer(NetConfig config, CommandSink sink, ClientRegistry registry, Clock clock, PeerAcceptor peers) {
        this(config, sink, registry, clock, peers, null);
    }

    /**
     * @param peers how to accept peer connections on the same port, or null to close them
     * @param tls   TLS for a second port of its own ({@link TlsConfig#port()}), or null for none
     */
    public RespServer(NetConfig config, CommandSink sink, ClientRegistry registry, Clock clock, PeerAcceptor peers,
                      ServerTls tls) {
        this.config = config;
        this.tls = tls;
        this.peers = peers;
        this.sink = sink;
        this.clock = clock;
        this.registry = registry;
        this.epoll = Epoll.isAvailable();
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        int threads = config.eventLoopThreads();
        this.bossGroup = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("trellis-accept"), factory);
        this.ioGroup = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("trellis-io"), factory);
    }

    /** The I/O threads serving connections, which the node's peer client shares. */
    public EventLoopGroup ioGroup() {
        return ioGroup;
    }

    /**
     * Binds the TCP port (and the Unix socket if configured) and accepts connections: {@link #bind} then
     * {@link #accept}. Throws {@link IOException} with a clear message if an address cannot be bound.
     */
    public void start() throws IOException {
        bind();
        accept();
    }

    /**
     * Starts accepting connections on the ports {@link #bind} bound. Until then a client's connection waits in
     * the listen backlog, unanswered: a node binds first, to know its port, and starts what its commands need
     * before it takes any (its membership, which must list it from the first MEMBERS on).
     */
    public void accept() {
        for (Channel ch : serverChannels) {
            ch.config().setAutoRead(true);
        }
    }

    /**
     * Binds the TCP port (and the Unix socket if configured) without accepting connections yet
     * ({@link #accept}). Throws {@link IOException} with a clear message if an address cannot be bound.
     */
    public void bind() throws IOException {
        Class<? extends ServerChannel> tcpChannel =
                epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        Channel tcp = bindOne(tcpChannel, new InetSocketAddress(config.host(), config.port()),
                config.host() + ":" + config.port(), false);
        boundAddress = (InetSocketAddress) tcp.localAddress();
        if (tls != null) {
            Channel secure = bindOne(tcpChannel, new InetSocketAddress(config.host(), tls.config().port()),
                    "TLS port " + config.host() + ":" + tls.config().port(), true);
            tlsAddress = (InetSocketAddress) secure.localAddress();
            log.info("Serving RESP over TLS on {} ({}; client certificates: {})", tlsAddress, ServerTls.engine(),
                    tls.config().authClients().name().toLowerCase(java.util.Locale.ROOT));
        }
        if (config.unixSocket() != null) {
            if (!epoll) {
                close();
                throw new IOException("unix sockets need the native epoll transport, which is not available here ("
                        + Epoll.unavailabilityCause() + ")");
            }
            Path path = Path.of(config.unixSocket());
            Files.deleteIfExists(path); // a socket file left by an earlier run
            bindOne(EpollServerDomainSocketChannel.class, new DomainSocketAddress(path.toFile()),
                    "unix socket " + path, false);
        }
        int loops = ((MultiThreadIoEventLoopGroup) ioGroup).executorCount();
        log.info("Serving RESP on {}{} with {} I/O thread{} ({})", boundAddress,
                config.unixSocket() != null ? " and " + config.unixSocket() : "", loops, loops == 1 ? "" : "s",
                epoll ? "epoll" : "nio");
    }

    private Channel bindOne(Class<? extends ServerChannel> channelClass, java.net.SocketAddress address,
                         String description, boolean secure) throws IOException {
        // --tls-clients-only yes: the plain TCP port serves peers only (the Unix socket is local, it still serves)
        boolean servesNoClients = !secure && tls != null && tls.config().clientsOnly()
                && channelClass != EpollServerDomainSocketChannel.class;
        ServerBootstrap b = new ServerBootstrap()
                .group(bossGroup, ioGroup)
                .channel(channelClass)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.AUTO_READ, false) // accepting starts with accept()
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(config.outputBufferSoftBytes() / 2, config.outputBufferSoftBytes()))
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (secure) {
                            ch.pipeline().addLast(ClientPipeline.TLS, tls.newHandler(ch.alloc()));
                        }
                        ClientPipeline.configure(ch, config, sink, registry, clock, peers,
                                servesNoClients ? plaintextRefusal() : null);
                    }
                });
        if (channelClass != EpollServerDomainSocketChannel.class) {
            b.option(ChannelOption.SO_REUSEADDR, true).childOption(ChannelOption.TCP_NODELAY, true);
        }
        try {
            Channel ch = b.bind(address).sync().channel();
            serverChannels.add(ch);
            return ch;
        } catch (Exception e) { // sync() rethrows the bind's failure, checked or not
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            close();
            throw new IOException("cannot listen on " + description + ": " + e.getMessage(), e);
        }
    }

    /** What a RESP client on the plain port is told under {@code --tls-clients-only yes}. */
    private String plaintextRefusal() {
        InetSocketAddress secure = tlsAddress;
        return "this port serves no plaintext clients (--tls-clients-only yes): connect with TLS to port "
                + (secure != null ? secure.getPort() : tls.config().port());
    }

    /** The bound TCP address (useful when started on port 0). */
    public InetSocketAddress address() {
        return boundAddress;
    }

    /** The bound TLS address, or null without a TLS port. */
    public InetSocketAddress tlsAddress() {
        return tlsAddress;
    }

    /** The TLS settings in force, for certificate rotation; null without a TLS port. */
    public ServerTls tls() {
        return tls;
    }

    public ClientRegistry clients() {
        return registry;
    }

    public boolean nativeTransport() {
        return epoll;
    }

    /** Stops accepting, closes every connection and stops the event loops. */
    @Override
    public void close() {
        for (Channel ch : serverChannels) {
            ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        serverChannels.clear();
        bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        ioGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        if (config.unixSocket() != null) {
            try {
                Files.deleteIfExists(Path.of(config.unixSocket()));
            } catch (IOException e) {
                log.warn("Could not remove unix socket {}: {}", config.unixSocket(), e.toString());
            }
        }
    }
}
