package io.trelliskv.net.peer;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.trelliskv.security.PeerAuthenticator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Calls peers: persistent, multiplexed TCP connections to other nodes' shared ports.
 *
 * <h2>Connections</h2>
 * Each peer address has a small pool ({@link PeerConfig#connectionsPerPeer()}) used round-robin, so one
 * large frame does not hold up every request to that peer. A connection is opened on first use, sends
 * this node's {@link PeerHello} and carries requests at once, without waiting for the peer's hello;
 * many requests are in flight on one connection at a time, each with its own id, and answers are
 * matched by id in whatever order they come.
 *
 * <h2>Calls made on an event loop</h2>
 * A call that names no stream, made on an event loop of the client's group (on a node, the client
 * connections' and peer connections' I/O threads, which this client shares), takes a connection of the
 * pool that belongs to that loop: the request is written and its answer read on the calling thread, its
 * timeout is scheduled there, and the requests a loop makes while it handles one batch of reads leave in
 * one write and one flush when the batch ends. No thread hand-off on the way out or back: replicating a
 * client's command costs no wake-up of another thread, and replication scales with the I/O threads
 * instead of queueing behind one.
 *
 * <h2>Ordered streams</h2>
 * A call may name a <em>stream</em> ({@link #call(InetSocketAddress, PeerMessageType, byte[], Duration, long)}):
 * every call of one stream to one peer takes the same connection of the pool, and leaves on it in the
 * order the calls were made, also while that connection is still being opened (calls made meanwhile
 * wait in its outbox, in order). With TCP's own order, the peer reads a stream's requests in the order
 * they were made; this is what keeps one client's forwarded commands in order. Calls that fail before
 * leaving this node (cannot connect, connection lost before writing) fail in the order they were made,
 * so a caller that retries them elsewhere retries them in order too.
 *
 * <h2>Failures</h2>
 * Every call has its own timeout, which covers connecting as well ({@link TimeoutException} naming the
 * peer). When a connection drops, the calls waiting on it fail at once with
 * {@link PeerUnavailableException}. A connect that fails (or a connection closed before the peer's
 * hello, as a peer of another cluster does) starts a backoff for the whole peer: the wait doubles per
 * consecutive failure from {@link PeerConfig#backoffMin()} to {@link PeerConfig#backoffMax()}, calls
 * during it fail fast without touching the network, and the first call after it tries again. A peer
 * hello resets the backoff. A connection that closes after a good hello is reopened by the next call.
 *
 * <h2>Deadlines</h2>
 * A call may carry a deadline ({@link #call(InetSocketAddress, PeerMessageType, byte[], Duration, long, long)}),
 * after which the peer must not start the request. It travels in a {@link PeerMessageType#DEADLINE}
 * envelope, and only once the peer's hello has said it reads them ({@link PeerCodec#VERSION_WITH_DEADLINES}):
 * a request written before that hello arrives, or to a peer of an earlier build, goes without it, and
 * the peer never drops a request for its age.
 *
 * <h2>Versions</h2>
 * Each connection's hello offers this build's version ({@link PeerCodec#VERSION_WITH_FEATURES}) unless the
 * peer closed a connection before answering such a hello, as an earlier build does; then the next ones offer
 * the version before (4 with a cluster secret, else 3; then 1 or 2), one step per refused connection, until a
 * connect to the peer fails (it may come back upgraded). A forward's payload names the client's user only
 * on a connection whose hello offered it ({@link PeerRequest#forPeer}).
 *
 * <h2>Threads</h2>
 * {@link #call} may be called from any thread and never blocks; futures complete on an event loop, so
 * their callbacks must not block either.
 */
public final class PeerClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PeerClient.class);

    private final PeerConfig config;
    private final PeerHello self;
    private final EventLoopGroup group;
    private final boolean ownsGroup;
    private final Class<? extends SocketChannel> channelClass;
    private final Map<InetSocketAddress, Peer> peers = new ConcurrentHashMap<>();
    private final ChannelGroup channels = new DefaultChannelGroup("peer-client", GlobalEventExecutor.INSTANCE);
    /** Request ids, unique per client (so per connection); never reused while the client lives. */
    private final AtomicLong requestIds = new AtomicLong();
    private final AtomicInteger openConnections = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong timeouts = new AtomicLong();
    private volatile boolean closed;

    /**
     * Connections in a row a peer may close before its hello, while offered a version it has answered in, before it is
     * spoken to in the version before ({@link Peer#fallBack}).
     */
    static final int REFUSALS_BEFORE_FALLBACK = 3;

    /** The stream of calls that need no order among themselves: they take the pool's connections in turn. */
    public static final long NO_STREAM = Long.MIN_VALUE;

    /** The calling thread's event loop and its timeouts, if it is one of {@link #group}'s; else null (per thread). */
    private final ThreadLocal<LoopTimeouts> callingLoop = ThreadLocal.withInitial(this::findCallingLoop);

    /** A client with an event loop thread of its own (epoll if available, else NIO), stopped by {@link #close()}. */
    public PeerClient(PeerConfig config, PeerHello self) {
        this(config, self, new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("trellis-peer-client", true),
                Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory()), true);
    }

    /** A client on a shared group, which {@link #close()} leaves running. */
    public PeerClient(PeerConfig config, PeerHello self, EventLoopGroup group) {
        this(config, self, group, false);
    }

    private PeerClient(PeerConfig config, PeerHello self, EventLoopGroup group, boolean ownsGroup) {
        this.config = Objects.requireNonNull(config, "config");
        this.self = Objects.requireNonNull(self, "self");
        this.group = Objects.requireNonNull(group, "group");
        this.ownsGroup = ownsGroup;
        if (!config.clusterName().equals(self.clusterName())) {
            throw new IllegalArgumentException("hello cluster: '" + self.clusterName() + "' (expected: the config's '"
                    + config.clusterName() + "')");
        }
        boolean epoll = group instanceof IoEventLoopGroup g && g.isIoType(EpollIoHandler.class);
        this.channelClass = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /**
     * Sends one request to {@code peer} and completes with its reply payload; or exceptionally with
     * {@link TimeoutException} (no answer within {@code timeout}), {@link PeerUnavailableException}
     * (cannot connect, backing off, connection lost, client closed) or {@link PeerRequestFailedException}
     * (the peer answered with an error). Never blocks and never throws for network trouble.
     *
     * @param payload the request body; must not change until the future completes
     */
    public CompletableFuture<byte[]> call(InetSocketAddress peer, PeerMessageType type, byte[] payload,
                                          Duration timeout) {
        return call(peer, type, payload, timeout, NO_STREAM);
    }

    /**
     * Like {@link #call(InetSocketAddress, PeerMessageType, byte[], Duration)}, as part of an ordered
     * stream: calls with the same {@code stream} to the same peer are written in the order made.
     *
     * @param stream any value naming the stream (a client connection's id), or {@link #NO_STREAM}
     */
    public CompletableFuture<byte[]> call(InetSocketAddress peer, PeerMessageType type, byte[] payload,
                                          Duration timeout, long stream) {
        return call(peer, type, payload, timeout, stream, PeerFrame.NO_DEADLINE);
    }

    /**
     * Like {@link #call(InetSocketAddress, PeerMessageType, byte[], Duration, long)}, telling the peer
     * when this node stops waiting, so that it does not start the request later (a client's forwarded
     * command or replicated write must not be applied after its client was told it failed). The deadline
     * goes only to a peer whose hello said it reads deadlines; to others, and on a connection whose peer
     * hello has not arrived yet, the request goes without it.
     *
     * @param deadlineMillis epoch ms of this node's wall clock, normally now plus {@code timeout}; or
     *                       {@link PeerFrame#NO_DEADLINE}
     */
    public CompletableFuture<byte[]> call(InetSocketAddress peer, PeerMessageType type, byte[] payload,
                                          Duration timeout, long stream, long deadlineMillis) {
        return call(peer, type, PeerPayload.of(payload), timeout, stream, deadlineMillis);
    }

    /**
     * Like {@link #call(InetSocketAddress, PeerMessageType, byte[], Duration, long, long)}, with a body that is
     * written into the frame's buffer when the frame leaves ({@link PeerPayload}), on the connection's event
     * loop.
     */
    public CompletableFuture<byte[]> call(InetSocketAddress peer, PeerMessageType type, PeerPayload payload,
                                          Duration timeout, long stream, long deadlineMillis) {
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(payload, "payload");
        if (!type.isRequest() || type == PeerMessageType.DEADLINE) {
            throw new IllegalArgumentException("type: " + type + " (expected: a request type)");
        }
        int maxPayload = config.maxFrameLength() - PeerCodec.FRAME_OVERHEAD
                - (deadlineMillis != PeerFrame.NO_DEADLINE ? PeerCodec.DEADLINE_HEADER : 0);
        int length = payload.length();
        if (length > maxPayload) {
            throw new IllegalArgumentException("payload: " + length + " bytes (expected: <= " + maxPayload + ")");
        }
        long timeoutMillis = Math.max(1, timeout.toMillis());
        Call call = new Call(new PeerRequest(type, requestIds.incrementAndGet(), payload, deadlineMillis), peer,
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis), timeoutMillis);
        inFlight.incrementAndGet();
        if (closed) {
            call.completeExceptionally(new PeerUnavailableException(peer, "peer client closed", null));
            return call;
        }
        LoopTimeouts loopTimeouts = callingLoop.get();
        EventLoop here = loopTimeouts == null ? null : loopTimeouts.loop;
        if (loopTimeouts == null || !loopTimeouts.add(call)) {
            ScheduledFuture<?> timer = (here != null ? here : group.next()).schedule(call::expire, timeoutMillis,
                    TimeUnit.MILLISECONDS);
            call.whenComplete((reply, failure) -> timer.cancel(false));
        }

        Connection connection;
        try {
            Peer p = peers.computeIfAbsent(peer, Peer::new);
            connection = stream == NO_STREAM && here != null ? p.loopConnection(here) : null;
            if (connection == null) {
                connection = p.acquire(stream, here);
            }
        } catch (PeerUnavailableException e) {
            call.completeExceptionally(e);
            return call;
        }
        connection.send(call);
        return call;
    }

    private LoopTimeouts findCallingLoop() {
        for (EventExecutor e : group) {
            if (e.inEventLoop() && e instanceof EventLoop loop) {
                return new LoopTimeouts(loop);
            }
        }
        return null;
    }

    /**
     * One call: the future its caller gets, and also its request on the way out, its timeout and the
     * listener of its write, so that a call is one object besides its request. Completing it, however
     * that happens (answer, failure, timeout), updates the client's counts and takes it off its
     * connection's pending calls.
     */
    private final class Call extends CompletableFuture<byte[]> implements ChannelFutureListener {
        final PeerRequest request;
        final InetSocketAddress peer;
        final long deadlineNanos;
        final long timeoutMillis;
        /** The connection the call was sent on, whose pending calls it leaves when completed; null until sent. */
        volatile Connection connection;

        Call(PeerRequest request, InetSocketAddress peer, long deadlineNanos, long timeoutMillis) {
            this.request = request;
            this.peer = peer;
            this.deadlineNanos = deadlineNanos;
            this.timeoutMillis = timeoutMillis;
        }

        @Override
        public boolean complete(byte[] reply) {
            if (!super.complete(reply)) {
                return false;
            }
            finished(false);
            return true;
        }

        @Override
        public boolean completeExceptionally(Throwable failure) {
            if (!super.completeExceptionally(failure)) {
                return false;
            }
            finished(true);
            return true;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (!super.cancel(mayInterruptIfRunning)) {
                return false;
            }
            finished(true);
            return true;
        }

        /** Once, when the call completes. */
        private void finished(boolean failed) {
            inFlight.decrementAndGet();
            if (failed) {
                failures.incrementAndGet();
            }
            Connection c = connection;
            if (c != null) {
                c.pending.remove(request.requestId());
            }
        }

        /** The call's timeout: fails it unless it completed first. */
        void expire() {
            if (completeExceptionally(new TimeoutException("peer " + describe(peer) + " did not answer "
                    + request.type() + " request " + request.requestId() + " within " + timeoutMillis + " ms"))) {
                timeouts.incrementAndGet();
            }
        }

        /** The request's write: a failed one fails the call. */
        @Override
        public void operationComplete(ChannelFuture f) {
            if (!f.isSuccess()) {
                completeExceptionally(new PeerUnavailableException(peer, "write failed: " + f.cause(), f.cause()));
            }
        }
    }

    /**
     * The timeouts of the calls one event loop makes, confined to it: in a queue by deadline, with one
     * scheduled task for the earliest, instead of a scheduled task per call (a priority-queue insert and
     * a cancellation for every replica message). Calls mostly share one timeout, so deadlines arrive in
     * order; a call whose deadline would come before the last one queued gets a task of its own.
     */
    private static final class LoopTimeouts {
        final EventLoop loop;
        private final ArrayDeque<Call> queue = new ArrayDeque<>();
        private boolean scheduled;

        LoopTimeouts(EventLoop loop) {
            this.loop = loop;
        }

        /** Queues a call's timeout; false if it must be scheduled on its own. On {@link #loop} only. */
        boolean add(Call t) {
            Call last = queue.peekLast();
            if (last != null && t.deadlineNanos < last.deadlineNanos) {
                return false;
            }
            for (Call head; (head = queue.peekFirst()) != null && head.isDone(); ) {
                queue.pollFirst(); // answered: keep the queue as short as the calls in flight
            }
            queue.addLast(t);
            if (!scheduled) {
                scheduled = true;
                loop.schedule(this::sweep, Math.max(0, t.deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
            return true;
        }

        private void sweep() {
            scheduled = false;
            long now = System.nanoTime();
            for (Call head; (head = queue.peekFirst()) != null; ) {
                if (head.isDone()) {
                    queue.pollFirst();
                } else if (head.deadlineNanos - now <= 0) {
                    queue.pollFirst();
                    head.expire();
                } else {
                    scheduled = true;
                    loop.schedule(this::sweep, head.deadlineNanos - now, TimeUnit.NANOSECONDS);
                    return;
                }
            }
        }
    }

    public PeerClientStats stats() {
        return new PeerClientStats(openConnections.get(), inFlight.get(), failures.get(), timeouts.get());
    }

    /** Closes every connection (failing the calls waiting on them) and, if it owns them, its threads. */
    @Override
    public void close() {
        closed = true;
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        if (ownsGroup) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    /**
     * The wait before the next connect after {@code consecutiveFailures} failed ones (at least 1):
     * {@code min * 2^(failures - 1)}, capped at {@code max}.
     */
    static long backoffMillis(int consecutiveFailures, long minMillis, long maxMillis) {
        long wait = minMillis;
        for (int i = 1; i < consecutiveFailures && wait < maxMillis; i++) {
            wait *= 2;
        }
        return Math.min(wait, maxMillis);
    }

    static String describe(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    /** The pool of one peer address, and its connect backoff. */
    private final class Peer {

        private final InetSocketAddress address;
        /** Each slot's connection, open or opening; null before first use. Guarded by this. */
        private final Connection[] slots;
        /** Per event loop of the group, the connection its stream-less calls take; changed under this. */
        private final Map<EventLoop, Connection> loopSlots = new ConcurrentHashMap<>();
        private int nextSlot;
        /** Connects that failed in a row; 0 after a peer hello. Guarded by this. */
        private int consecutiveFailures;
        /** No connect before this System.nanoTime(); guarded by this. */
        private long retryAtNanos;
        /** Why the last connect failed, for the fail-fast message; guarded by this. */
        private String lastFailure;
        /**
         * Whether the next connection's hello offers deadlines ({@link PeerCodec#VERSION_WITH_DEADLINES}):
         * false once the peer closed a connection before answering such a hello, as a node of an earlier
         * build does; true again after a connect to it fails (it may come back upgraded).
         */
        private volatile boolean offerDeadlines = true;
        /**
         * With a cluster secret: whether the next connection proves it by challenge and response
         * ({@link PeerCodec#VERSION_WITH_CHALLENGE}): false once the peer closed a connection before answering such a
         * hello, as a node of an earlier build does; true again after a connect to it fails.
         */
        private volatile boolean offerChallenge = true;
        /**
         * Whether the next connection's hello offers forwards that name the client's user
         * ({@link PeerCodec#VERSION_WITH_FEATURES}): false once the peer closed a connection before answering such a
         * hello, as a node of an earlier build does; true again after a connect to it fails.
         */
        private volatile boolean offerUsers = true;
        /**
         * The newest hello version the peer has answered in since a connect to it last failed (it may have come back
         * as another build); 0 if none. A peer that answered a version is not taken for an earlier build at the first
         * connection it closes before its hello: a throttled or reset connection looks the same, and falling back would
         * turn off what the version adds (the client's user on forwards, challenge and response). Guarded by this.
         */
        private int answeredVersion;
        /** Connections closed before the hello in a row while offering a version the peer has answered in. Guarded by this. */
        private int refusedInRow;
        /**
         * {@code --tls-cluster optional} only: whether connections to this peer are dialed in plaintext, set when a
         * TLS handshake with it failed (a node with {@code --tls-cluster no}, or a downgrade on the path), cleared
         * when a plaintext connection is closed before the peer's hello (it may have switched to {@code yes}).
         */
        private volatile boolean plaintextFallback;
        /** Whether the fallback to plaintext was logged: once per peer address. */
        private final AtomicBoolean fallbackLogged = new AtomicBoolean();

        Peer(InetSocketAddress address) {
            this.address = address;
            this.slots = new Connection[config.connectionsPerPeer()];
        }

        /**
         * The connection for a call of {@code stream}: the stream's own slot, or the next slot in turn
         * for {@link #NO_STREAM}; opened if the slot has none that is open or opening.
         *
         * @throws PeerUnavailableException while backing off after failed connects
         */
        /** The open (or opening) connection of {@code loop}, without locking; null if it has none. */
        Connection loopConnection(EventLoop loop) {
            Connection c = loopSlots.get(loop);
            return c != null && !c.inactive ? c : null;
        }

        synchronized Connection acquire(long stream, EventLoop loop) {
            if (stream == NO_STREAM && loop != null) {
                Connection slot = loopSlots.get(loop);
                if (slot != null && !slot.inactive) {
                    return slot;
                }
                PeerUnavailableException backingOff = backingOff();
                if (backingOff != null) {
                    if (slot != null) {
                        return slot;
                    }
                    throw backingOff;
                }
                slot = connect(loop);
                loopSlots.put(loop, slot);
                return slot;
            }
            int i;
            if (stream == NO_STREAM) {
                i = nextSlot;
                nextSlot = (nextSlot + 1) % slots.length;
            } else {
                i = (int) Math.floorMod(stream, (long) slots.length);
            }
            Connection slot = slots[i];
            if (slot != null && !slot.inactive) {
                return slot;
            }
            PeerUnavailableException backingOff = backingOff();
            if (backingOff != null) {
                if (slot != null) {
                    return slot; // closed: it fails the call after the calls made before it, in order
                }
                throw backingOff;
            }
            slot = connect(group);
            slots[i] = slot;
            return slot;
        }

        /**
         * Opens a connection on {@code on} (an event loop, or the group: any of its loops); calls may be
         * sent on it at once and wait in its outbox until it is open.
         */
        private Connection connect(EventLoopGroup on) {
            boolean plaintext = plaintextFallback;
            Connection connection = new Connection(this, plaintext);
            Bootstrap b = new Bootstrap().group(on).channel(channelClass)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis())
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            if (config.tls() != null && !plaintext) {
                                // --tls-cluster yes (or optional, unless fallen back): everything below, the
                                // hello included, goes encrypted; the hello written at connect waits in the
                                // handler for the handshake.
                                ch.pipeline().addLast(config.tls().clientHandler(ch.alloc(), address));
                            }
                            ch.pipeline().addLast(new PeerDecoder(config.maxFrameLength()), PeerEncoder.INSTANCE,
                                    connection);
                        }
                    });
            b.connect(address).addListener((ChannelFuture f) -> {
                if (f.isSuccess()) {
                    channels.add(f.channel());
                    PeerAuthenticator auth = config.authenticator();
                    PeerHello hello = self.withDeadlines(offerDeadlines).withUsers(self.namesUsers() && offerUsers
                            && offerDeadlines);
                    if (auth != null && offerChallenge && offerDeadlines) {
                        // Nothing but the hello leaves until the peer has proved the secret: the calls wait in
                        // the outbox, and the connection opens to them once this side has answered its challenge.
                        hello = hello.withChallenge(true).withProof(auth.dialerChallenge());
                    } else if (auth != null) {
                        hello = hello.withProof(auth.dialerProof(self.clusterName(), self.nodeId()));
                    }
                    connection.offeredDeadlines = hello.readsDeadlines();
                    connection.offeredChallenge = hello.challenge();
                    connection.offeredUsers = hello.namesUsers();
                    connection.offeredVersion = hello.version();
                    connection.sentProof = hello.proof();
                    f.channel().writeAndFlush(hello);
                    if (!hello.challenge()) {
                        connection.opened(f.channel());
                    }
                } else {
                    String reason = f.cause().getMessage() != null ? f.cause().getMessage() : f.cause().toString();
                    failed(reason);
                    offerDeadlines = true;
                    offerChallenge = true;
                    offerUsers = true;
                    synchronized (Peer.this) {
                        answeredVersion = 0;
                        refusedInRow = 0;
                    }
                    connection.failedToOpen("cannot connect: " + reason, f.cause());
                }
            });
            return connection;
        }

        /** The failure of a call made while backing off after failed connects; null when not backing off. */
        synchronized PeerUnavailableException backingOff() {
            long waitNanos = retryAtNanos - System.nanoTime();
            if (consecutiveFailures > 0 && waitNanos > 0) {
                return new PeerUnavailableException(address, "reconnecting in "
                        + Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNanos)) + " ms after: " + lastFailure, null);
            }
            return null;
        }

        synchronized void failed(String reason) {
            consecutiveFailures++;
            long wait = backoffMillis(consecutiveFailures, config.backoffMin().toMillis(),
                    config.backoffMax().toMillis());
            retryAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
            lastFailure = reason;
            if (consecutiveFailures == 1) {
                log.warn("Cannot reach peer {}: {}; retrying with backoff from {} ms", describe(address), reason,
                        wait);
            }
        }

        /** {@code --tls-cluster optional}: a TLS handshake with the peer failed; the next connections are plaintext. */
        void tlsHandshakeFailed(Throwable cause) {
            plaintextFallback = true;
            if (fallbackLogged.compareAndSet(false, true)) {
                log.warn("TLS handshake with peer {} failed ({}): dialing it in plaintext, as --tls-cluster optional"
                        + " allows while a cluster switches to TLS", describe(address),
                        cause == null ? "closed" : cause.getMessage() != null ? cause.getMessage() : cause.toString());
            }
        }

        /** A plaintext connection was closed before the peer's hello: the peer may require TLS now, try it again. */
        void plaintextRefused() {
            plaintextFallback = false;
        }

        /** The peer closed a connection before answering a hello that offered forwards naming users. */
        void refusedUsers() {
            if (offerUsers) {
                offerUsers = false;
                log.info("Peer {} closed the connection before its hello: the next connections to it speak the"
                        + " version before, as a node of an earlier build expects; commands forwarded to it run without"
                        + " the client's user until it is upgraded", describe(address));
            }
        }

        /** The peer closed a connection before answering a hello with a challenge. */
        void refusedChallenge() {
            if (offerChallenge) {
                offerChallenge = false;
                log.info("Peer {} closed the connection before its hello: the next connections to it prove the cluster"
                        + " secret in the hello alone, as a node of an earlier build expects", describe(address));
            }
        }

        /** The peer closed a connection before answering a hello that offered deadlines. */
        void refusedDeadlines() {
            if (offerDeadlines) {
                offerDeadlines = false;
                log.info("Peer {} closed the connection before its hello: the next connections to it offer no "
                        + "deadlines, as a node of an earlier build expects", describe(address));
            }
        }

        /**
         * A connection offering {@code version} was closed before the peer's hello: whether the next connections are
         * to offer the version before, as for a node of an earlier build. Not at once for a version the peer has
         * answered in: only after {@value #REFUSALS_BEFORE_FALLBACK} such connections in a row (it may have been
         * replaced by an earlier build without a connect failing), with a WARN; then it counts as answering none.
         */
        synchronized boolean fallBack(int version) {
            if (version > answeredVersion) {
                return true;
            }
            if (++refusedInRow < REFUSALS_BEFORE_FALLBACK) {
                return false;
            }
            log.warn("Peer {} closed {} connections in a row before its hello, though it answered version {} before:"
                    + " speaking the version before to it, as to a node of an earlier build. If it is not one,"
                    + " something on the way closes its connections (what the version adds — the client's user on"
                    + " forwarded commands, challenge and response — is off until a connect to it fails)",
                    describe(address), refusedInRow, answeredVersion);
            refusedInRow = 0;
            answeredVersion = 0; // taken for another build now: each step below goes at its first refusal
            return true;
        }

        synchronized void greeted(PeerHello hello) {
            answeredVersion = Math.max(answeredVersion, hello.version());
            refusedInRow = 0;
            if (consecutiveFailures > 0) {
                log.info("Reached peer {} (node {}) again after {} failed connects", describe(address),
                        Long.toHexString(hello.nodeId()), consecutiveFailures);
            }
            consecutiveFailures = 0;
        }
    }

    /** A request that never left, and why. */
    private record Failure(CompletableFuture<byte[]> result, PeerUnavailableException why) {
    }

    /** One connection's handler: the requests waiting on it, by id, and the peer's hello check. */
    private final class Connection extends ChannelInboundHandlerAdapter {

        private final Peer peer;
        private final Map<Long, CompletableFuture<byte[]>> pending = new ConcurrentHashMap<>();
        /** The open channel; null while connecting. */
        private volatile Channel channel;
        /** Requests not yet written, in the order they were sent. */
        private final Queue<Call> outbox = new ConcurrentLinkedQueue<>();
        /** A drain task is queued on the channel's event loop and has not started yet. */
        private final AtomicBoolean flushScheduled = new AtomicBoolean();
        /** Set once the connect failed or the channel is inactive; a request sent after it fails. Written under this. */
        private volatile boolean inactive;
        /** Requests that never left, to be failed in order; guarded by this. */
        private final ArrayDeque<Failure> failing = new ArrayDeque<>();
        /** A thread is failing the requests in {@link #failing}; guarded by this. */
        private boolean failingNow;
        private boolean greeted;
        /** The proof of the cluster secret this side's hello carried (the acceptor's answer must cover it); null without a secret. */
        private volatile byte[] sentProof;
        /** Whether this side's hello offered deadlines. */
        private volatile boolean offeredDeadlines;
        /** Whether this side's hello carried a challenge: the connection opens to calls once it is answered. */
        private volatile boolean offeredChallenge;
        /**
         * Whether this side's hello offered forwards that name the client's user: then they do from the first frame
         * on, since the peer either speaks that version or refuses the hello before reading any frame.
         */
        private volatile boolean offeredUsers;
        /** The version of this side's hello. */
        private volatile int offeredVersion;
        /** Whether the peer's hello said it reads deadlines; until it arrives, requests go without them. */
        private volatile boolean peerReadsDeadlines;
        /** Why this side closed the connection, for the failed requests' message; null if the peer did. */
        private String closeReason;
        /** Whether this connection was dialed in plaintext as a fallback from TLS ({@code --tls-cluster optional}). */
        private final boolean plaintextFallback;

        Connection(Peer peer, boolean plaintextFallback) {
            this.peer = peer;
            this.plaintextFallback = plaintextFallback;
        }

        /** {@code --tls-cluster optional}: a TLS handshake that failed makes the next connections to the peer plaintext. */
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof SslHandshakeCompletionEvent done && !done.isSuccess() && config.tls() != null
                    && config.tls().config().optional()) {
                closeReason = "TLS handshake failed: " + done.cause();
                peer.tlsHandshakeFailed(done.cause());
            }
            super.userEventTriggered(ctx, evt);
        }

        void send(Call call) {
            long id = call.request.requestId();
            call.connection = this;
            pending.put(id, call);
            if (call.isDone()) {
                pending.remove(id); // completed (timed out) before it was put: it did not see itself there
            }
            boolean closed;
            synchronized (this) {
                closed = inactive;
                if (!closed) {
                    outbox.add(call);
                }
            }
            if (closed) {
                PeerUnavailableException backingOff = peer.backingOff();
                failInOrder(call, backingOff != null ? backingOff : lost(false));
                return;
            }
            scheduleDrain();
        }

        /**
         * Fails a request that never left this node, after every request of this connection that failed
         * before it: failures complete in the order the requests were made, whichever threads fail them,
         * so a caller that retries them elsewhere retries them in that order.
         */
        private void failInOrder(Call call, PeerUnavailableException why) {
            synchronized (this) {
                failing.add(new Failure(call, why));
                if (failingNow) {
                    return; // the thread failing the earlier ones fails this one after them
                }
                failingNow = true;
            }
            completeFailures();
        }

        /** Completes the queued failures in order; the caller has set {@code failingNow}. */
        private void completeFailures() {
            while (true) {
                Failure f;
                synchronized (this) {
                    f = failing.poll();
                    if (f == null) {
                        failingNow = false;
                        return;
                    }
                }
                f.result().completeExceptionally(f.why());
            }
        }

        /**
         * One task writes every request queued before it runs and flushes once: a client's pipeline of
         * forwarded commands leaves in one system call, not one each. Nothing is written before the
         * channel is open (and this node's hello written on it).
         */
        private void scheduleDrain() {
            Channel ch = channel;
            if (ch != null && flushScheduled.compareAndSet(false, true)) {
                ch.eventLoop().execute(this::drainOutbox);
            }
        }

        /** On the channel's event loop, once connected and the hello is written: sends what waited. */
        void opened(Channel ch) {
            channel = ch;
            scheduleDrain();
        }

        /** The connect failed: every request waiting for it fails, in the order sent; none left this node. */
        void failedToOpen(String reason, Throwable cause) {
            closeReason = reason;
            failUnsent();
        }

        /** Closes the connection to new requests and fails those still in the outbox, oldest first: they never left. */
        private void failUnsent() {
            PeerUnavailableException never = lost(false);
            synchronized (this) {
                inactive = true;
                // Queued for failing in the same step that closes the connection: a request sent after it
                // (failed at once by its sender) then fails after these, never before.
                Call o;
                while ((o = outbox.poll()) != null) {
                    failing.add(new Failure(o, never));
                }
                if (failingNow) {
                    return;
                }
                failingNow = true;
            }
            completeFailures();
        }

        /** On the channel's event loop: writes the queued requests, then flushes. */
        private void drainOutbox() {
            flushScheduled.set(false);
            if (inactive) {
                return; // what was queued has been failed
            }
            Call o;
            while ((o = outbox.poll()) != null) {
                if (o.isDone()) {
                    continue; // timed out while waiting to be written
                }
                channel.write(o.request.forPeer(peerReadsDeadlines, offeredUsers)).addListener(o);
            }
            channel.flush();
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            openConnections.incrementAndGet();
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof PeerHello hello) {
                if (!hello.clusterName().equals(self.clusterName())) {
                    closeReason = "it is in cluster '" + hello.clusterName() + "', this node in '"
                            + self.clusterName() + "'";
                    ctx.close();
                    return;
                }
                PeerAuthenticator auth = config.authenticator();
                if (auth != null && !auth.acceptAcceptor(hello.clusterName(), hello.nodeId(), sentProof, hello.proof())) {
                    closeReason = hello.proof() == null ? "it has no cluster secret"
                            : "its proof of the cluster secret is wrong";
                    ctx.close();
                    return;
                }
                if (offeredChallenge && !hello.challenge()) {
                    closeReason = "it did not answer the challenge of this node's hello";
                    ctx.close();
                    return;
                }
                greeted = true;
                peerReadsDeadlines = offeredDeadlines && hello.readsDeadlines();
                peer.greeted(hello);
                if (offeredChallenge) {
                    // The response goes first; then the calls that waited, and those to come.
                    ctx.writeAndFlush(new PeerFrame(PeerMessageType.AUTH_RESPONSE, 0, auth.dialerResponse(
                            self.clusterName(), self.nodeId(), hello.nodeId(), sentProof, hello.proof())));
                    opened(ctx.channel());
                }
            } else if (msg instanceof PeerFrame frame) {
                if (!greeted) {
                    // Frames behind a hello this side refused (decoded in the same read, before the close
                    // takes effect) are not answers: the requests fail with the connection.
                    return;
                }
                if (frame.type().isRequest()) {
                    closeReason = "unexpected " + frame.type() + " request on a calling connection";
                    log.warn("Closing connection to peer {}: {}", describe(peer.address), closeReason);
                    ctx.close();
                    return;
                }
                CompletableFuture<byte[]> result = pending.remove(frame.requestId());
                if (result == null) {
                    return; // timed out already
                }
                if (frame.type() == PeerMessageType.REPLY) {
                    result.complete(frame.payload());
                } else {
                    result.completeExceptionally(new PeerRequestFailedException(peer.address, frame.type(),
                            new String(frame.payload(), StandardCharsets.UTF_8)));
                }
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            openConnections.decrementAndGet();
            if (!greeted) {
                if (closeReason == null && plaintextFallback) {
                    peer.plaintextRefused();
                }
                boolean refused = closeReason == null && peer.fallBack(offeredVersion);
                if (refused && offeredUsers) {
                    peer.refusedUsers();
                } else if (refused && offeredChallenge) {
                    peer.refusedChallenge();
                } else if (refused && offeredDeadlines) {
                    peer.refusedDeadlines();
                }
                peer.failed(closeReason != null ? closeReason : "connection closed before the peer's hello");
            }
            failUnsent();
            PeerUnavailableException lost = lost(true);
            pending.values().forEach(f -> f.completeExceptionally(lost));
            ctx.fireChannelInactive();
        }

        /** @param sent whether the failed requests may have been sent (and acted on) before the loss */
        private PeerUnavailableException lost(boolean sent) {
            return new PeerUnavailableException(peer.address,
                    closeReason != null ? closeReason : closed ? "peer client closed" : "connection lost", null, sent);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            closeReason = cause.toString();
            log.warn("Closing connection to peer {}: {}", describe(peer.address), closeReason);
            ctx.close();
        }
    }
}
