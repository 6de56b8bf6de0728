package io.trelliskv.net.peer;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.trelliskv.common.Address;
import io.trelliskv.common.Clock;
import io.trelliskv.membership.Scheduler;
import io.trelliskv.membership.Transport;
import io.trelliskv.security.GossipKeyring;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;

/**
 * The membership {@link Transport} of a real node: datagrams over UDP on the node's port number, and
 * push-pull exchanges as {@link PeerMessageType#SWIM_STREAM} requests through {@link PeerClient} to
 * the peer's TCP port.
 *
 * <h2>Addresses</h2>
 * The UDP socket is bound to the node's host and the same port number as its TCP port, and every
 * datagram is sent from it, so the source address a receiver sees is the sender's listening address:
 * Swim answers a ping to the address it came from. Received datagrams are reported with the sender's
 * IP literal and port.
 *
 * <h2>Threads</h2>
 * This class makes the hop onto the Swim thread: received datagrams and {@link #exchange} callbacks are
 * handed to the membership {@link Scheduler} with {@link Scheduler#execute}, so the receiver given to
 * {@link #start} and the callbacks run on the Swim thread. {@link #sendPacket} may be called from any
 * thread and never blocks on the network (a host name is resolved on the calling thread; IP literals,
 * as Swim reports them, need no lookup). For the other direction of the stream, a node's
 * {@link PeerService} answers SWIM_STREAM requests with {@link #serveStream}.
 *
 * <h2>Limits</h2>
 * A datagram over {@link PeerConfig#maxDatagramBytes()} is dropped and counted, on sending and on
 * receiving; a send that fails is counted, never thrown.
 */
public final class GossipTransport implements Transport, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(GossipTransport.class);
    /** Most received datagrams waiting for the membership thread; more are dropped, as the network might. */
    static final int MAX_QUEUED_DATAGRAMS = 10_000;

    /** Largest datagram sent or accepted, sealing overhead included. */
    private final int maxDatagramBytes;
    /** Seals and opens datagrams; null when gossip is in the clear. */
    private final GossipKeyring keyring;
    private final Clock clock;
    private final PeerClient peers;
    private final Scheduler scheduler;
    private final Duration streamTimeout;
    private final EventLoopGroup group;
    private final boolean epoll;
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong oversize = new AtomicLong();
    private final AtomicLong sendFailures = new AtomicLong();
    /** Datagrams dropped because too many were already waiting for the membership thread. */
    private final AtomicLong dropped = new AtomicLong();
    /** Datagrams handed to the membership thread and not yet processed. */
    private final AtomicInteger queued = new AtomicInteger();
    private volatile Channel channel;

    /**
     * @param config        its {@link PeerConfig#maxDatagramBytes()} bounds datagrams
     * @param peers         carries push-pull exchanges
     * @param scheduler     the Swim thread, where received datagrams and exchange callbacks are handed
     * @param streamTimeout how long an exchange waits for its reply before failing (Swim may give up sooner)
     */
    public GossipTransport(PeerConfig config, PeerClient peers, Scheduler scheduler, Duration streamTimeout) {
        this(config, peers, scheduler, streamTimeout, null, null);
    }

    /**
     * @param keyring seals every datagram sent and opens every one received (AES-GCM, see {@link GossipKeyring});
     *                null sends them in the clear
     * @param clock   the time sealed into packets and checked against the replay window; unused without a keyring
     */
    public GossipTransport(PeerConfig config, PeerClient peers, Scheduler scheduler, Duration streamTimeout,
                           GossipKeyring keyring, Clock clock) {
        this.keyring = keyring;
        this.clock = keyring == null ? null : Objects.requireNonNull(clock, "clock");
        this.maxDatagramBytes = config.maxDatagramBytes() + (keyring == null ? 0 : GossipKeyring.OVERHEAD);
        this.peers = Objects.requireNonNull(peers, "peers");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.streamTimeout = Objects.requireNonNull(streamTimeout, "streamTimeout");
        this.epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("trellis-gossip", true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    }

    /**
     * Binds the UDP socket and starts delivering datagrams to {@code receiver}, on the Swim thread
     * (typically {@code swim::onPacket}). Bind to the node's host and TCP port number.
     */
    public void start(InetSocketAddress bindAddress, BiConsumer<Address, byte[]> receiver) throws IOException {
        Objects.requireNonNull(receiver, "receiver");
        Bootstrap b = new Bootstrap().group(group)
                .channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
                // one byte over the limit, so an oversize datagram is seen as such rather than truncated
                .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(maxDatagramBytes + 1))
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
                        onDatagram(packet, receiver);
                    }
                });
        try {
            channel = b.bind(bindAddress).sync().channel();
        } catch (Exception e) { // sync() rethrows the bind's failure, checked or not
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            close();
            throw new IOException("cannot listen for gossip on UDP " + bindAddress + ": " + e.getMessage(), e);
        }
        log.info("Gossip on UDP {} ({})", channel.localAddress(), epoll ? "epoll" : "nio");
    }

    private void onDatagram(DatagramPacket packet, BiConsumer<Address, byte[]> receiver) {
        if (packet.content().readableBytes() > maxDatagramBytes) {
            oversize.incrementAndGet();
            return;
        }
        InetSocketAddress sender = packet.sender();
        Address from = new Address(sender.getAddress().getHostAddress(), sender.getPort());
        if (queued.get() >= MAX_QUEUED_DATAGRAMS) {
            dropped.incrementAndGet(); // a flood must not grow the membership thread's queue without bound
            return;
        }
        byte[] bytes = ByteBufUtil.getBytes(packet.content());
        byte[] data;
        if (keyring == null) {
            data = bytes;
        } else {
            try {
                data = keyring.open(bytes, clock.millis());
            } catch (GossipKeyring.DroppedPacket e) {
                return; // counted by the keyring, per reason; one forged packet must not cost a log line
            }
        }
        received.incrementAndGet();
        queued.incrementAndGet();
        scheduler.execute(() -> {
            queued.decrementAndGet();
            receiver.accept(from, data);
        });
    }

    /** The bound UDP address; null before {@link #start}. */
    public InetSocketAddress address() {
        Channel ch = channel;
        return ch == null ? null : (InetSocketAddress) ch.localAddress();
    }

    @Override
    public void sendPacket(Address to, byte[] payload) {
        Channel ch = channel;
        byte[] packet = keyring == null ? payload : keyring.seal(payload, clock.millis());
        if (packet.length > maxDatagramBytes) {
            oversize.incrementAndGet();
            return;
        }
        InetSocketAddress target = new InetSocketAddress(to.host(), to.port());
        if (ch == null || target.isUnresolved()) {
            sendFailures.incrementAndGet();
            return;
        }
        ch.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(packet), target)).addListener(f -> {
            if (f.isSuccess()) {
                sent.incrementAndGet();
            } else {
                sendFailures.incrementAndGet();
            }
        });
    }

    @Override
    public void exchange(Address to, byte[] request, StreamCallback callback) {
        InetSocketAddress target = new InetSocketAddress(to.host(), to.port());
        // A request over the peer frame limit throws here; Swim counts it as a failed exchange.
        CompletableFuture<byte[]> reply = target.isUnresolved()
                ? CompletableFuture.failedFuture(new PeerUnavailableException(target, "unknown host", null))
                : peers.call(target, PeerMessageType.SWIM_STREAM, request, streamTimeout);
        reply.whenComplete((answer, failure) -> scheduler.execute(() -> {
            if (failure == null) {
                callback.onReply(answer);
            } else {
                callback.onFailure(failure instanceof Exception e ? e : new IllegalStateException(failure));
            }
        }));
    }

    /**
     * Answers a SWIM_STREAM request in a node's {@link PeerService}: runs {@code handler} (typically
     * {@code swim::onStreamRequest}) on the Swim thread with the caller's listening address from its
     * hello, and completes with its answer; a null answer (Swim refuses) fails the future, which the
     * caller sees as an error reply.
     */
    public static CompletableFuture<byte[]> serveStream(Scheduler scheduler, PeerHello from, byte[] request,
                                                        BiFunction<Address, byte[], byte[]> handler) {
        CompletableFuture<byte[]> answer = new CompletableFuture<>();
        Address caller = new Address(from.host(), from.port());
        scheduler.execute(() -> {
            try {
                byte[] reply = handler.apply(caller, request);
                if (reply != null) {
                    answer.complete(reply);
                } else {
                    answer.completeExceptionally(new IllegalStateException("membership refused the exchange"));
                }
            } catch (RuntimeException e) {
                answer.completeExceptionally(e);
            }
        });
        return answer;
    }

    public GossipStats stats() {
        return new GossipStats(sent.get(), received.get(), oversize.get(), sendFailures.get());
    }

    /** Closes the UDP socket and stops its thread. The {@link PeerClient} is the caller's to close. */
    @Override
    public void close() {
        Channel ch = channel;
        if (ch != null) {
            ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
