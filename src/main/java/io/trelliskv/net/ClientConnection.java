package io.trelliskv.net;

import io.netty.channel.Channel;
import io.trelliskv.common.Key;
import io.trelliskv.resp.RespWriter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * The state of one client connection: what CLIENT LIST shows, the negotiated protocol (held by the
 * reply writer) and the flags that change how the connection is served. Touched only on the
 * connection's event loop, except for the read-only fields listed by CLIENT LIST, which other loops may
 * read slightly stale.
 *
 * <p>A command whose reply comes later (forwarded to another node) reserves its place in the reply
 * stream with {@link #deferReply()}. A {@linkplain #detached() detached} connection has no channel: it
 * gives the command handlers their context when a command received from a peer runs on this node.
 */
public final class ClientConnection {

    private static final VarHandle LAST_COMMAND;
    private static final VarHandle LAST_COMMAND_MILLIS;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            LAST_COMMAND = lookup.findVarHandle(ClientConnection.class, "lastCommand", String.class);
            LAST_COMMAND_MILLIS = lookup.findVarHandle(ClientConnection.class, "lastCommandMillis", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long id;
    private final Channel channel;
    private final RespWriter writer = new RespWriter();
    /** Epoch ms when the connection was accepted. */
    private final long createdMillis;
    private volatile String name = "";
    private volatile String libName = "";
    private volatile String libVersion = "";
    /**
     * Epoch ms of the last command, and its name: written on the event loop for every command, read by
     * CLIENT LIST anywhere. Stored opaquely ({@link #commandStarted}): a reader sees whole and recent values,
     * and a command costs no fence (two volatile stores did).
     */
    private long lastCommandMillis;
    private String lastCommand = "NULL";
    /** What the layers above keep per connection (the request path's session), or null. */
    private volatile Object attachment;
    /**
     * The ACL user this connection acts as; null while it has not logged in. Set when its first command
     * is admitted (to {@code default} if the default user needs no password, as Redis does on connect)
     * and by AUTH / HELLO AUTH.
     */
    private volatile String user;
    /** Written before {@link #user}, read after it. */
    private volatile long userId;
    /** Whether admission has looked at this connection yet (decided its initial user). */
    private volatile boolean greeted;
    /** Set by QUIT: close once the pending replies are flushed. */
    private boolean closeAfterReply;
    /** Serves the channel and orders its replies; null on a detached connection. */
    private ClientHandler handler;
    /**
     * The key the running command was routed by, already hashed, or null ({@link #key}); set and read on the
     * thread that runs the command.
     */
    private Key routedKey;

    ClientConnection(long id, Channel channel, long createdMillis) {
        this.id = id;
        this.channel = channel;
        this.createdMillis = createdMillis;
        this.lastCommandMillis = createdMillis;
    }

    /**
     * A connection without a channel, for running a command on behalf of a peer: its writer has no
     * target until the caller gives it one, it cannot defer replies, and nothing lists it.
     */
    public static ClientConnection detached(long createdMillis) {
        return new ClientConnection(0, null, createdMillis);
    }

    void handler(ClientHandler handler) {
        this.handler = handler;
    }

    /**
     * Reserves the place of the current command's reply, to be filled later from any thread; the
     * command then writes nothing to {@link #writer()}. Replies of later commands are held back until
     * this one is complete. Called on the connection's event loop while the command runs.
     *
     * @throws IllegalStateException on a detached connection
     */
    public DeferredReply deferReply() {
        if (handler == null) {
            throw new IllegalStateException("a detached connection cannot defer replies");
        }
        return handler.deferReply();
    }

    /**
     * Holds back the replies written to {@link #writer()} from now on until {@code release} runs: the connection
     * runs it before anything could send them or put another reply before them, that is before it reserves a
     * reply's place ({@link #deferReply()}), flushes its output (at the end of a read, or at the output's soft
     * limit) or closes. {@code release} runs on the event loop, and may cut the held replies out of the output and
     * reserve their place with {@link #deferReply()}. One hold at a time; called on the event loop.
     *
     * @return false on a detached connection, which holds nothing ({@code release} is not kept)
     * @throws IllegalStateException if replies are held already
     */
    public boolean holdReplies(Runnable release) {
        if (handler == null) {
            return false;
        }
        handler.holdReplies(release);
        return true;
    }

    /**
     * Runs the release of the replies held ({@link #holdReplies}) now, if any are, from a running command, which
     * then writes its own reply to {@link #writer()} after them. Event loop only.
     */
    public void releaseReplies() {
        if (handler != null) {
            handler.releaseReplies();
        }
    }

    /**
     * Tells the handler about to run the key its command was routed by ({@link #key}); null when it has run.
     * A cluster node hashes a command's key to route it, and the handler needs the same {@link Key}.
     */
    public void routedKey(Key key) {
        routedKey = key;
    }

    /**
     * The key of the running command's argument {@code arg}: the one it was routed by when {@code arg} is
     * that key's very array, else hashed now.
     */
    public Key key(byte[] arg) {
        Key k = routedKey;
        return k != null && k.bytes() == arg ? k : Key.of(arg);
    }

    /** True for a connection without a channel ({@link #detached}), which cannot defer replies. */
    public boolean isDetached() {
        return handler == null;
    }

    /** What the layers above keep for this connection, or null. */
    public Object attachment() {
        return attachment;
    }

    public void attachment(Object attachment) {
        this.attachment = attachment;
    }

    /** The ACL user this connection acts as, or null before it has logged in. */
    public String user() {
        return user;
    }

    /** The ACL user's identity ({@code AclUser.id}) the connection logged in as; meaningless while {@link #user} is null. */
    public long userId() {
        return userId;
    }

    /** Logs the connection in as the user {@code user} with identity {@code id}, or out (null). */
    public void user(String user, long id) {
        this.userId = id;
        this.user = user;
    }

    /** Closes the connection now, from any thread (ACL DELUSER of the user it is logged in as). */
    public void close() {
        if (channel != null) {
            channel.close();
        }
    }

    /** True once admission has decided the connection's initial user (see {@link #user}). */
    public boolean greeted() {
        return greeted;
    }

    public void greeted(boolean greeted) {
        this.greeted = greeted;
    }

    public long id() {
        return id;
    }

    public RespWriter writer() {
        return writer;
    }

    public long createdMillis() {
        return createdMillis;
    }

    public String name() {
        return name;
    }

    public void name(String name) {
        this.name = name;
    }

    public String libName() {
        return libName;
    }

    public void libName(String libName) {
        this.libName = libName;
    }

    public String libVersion() {
        return libVersion;
    }

    public void libVersion(String libVersion) {
        this.libVersion = libVersion;
    }

    public long lastCommandMillis() {
        return (long) LAST_COMMAND_MILLIS.getOpaque(this);
    }

    public String lastCommand() {
        return (String) LAST_COMMAND.getOpaque(this);
    }

    /** Records the command about to run, for CLIENT LIST's idle and cmd fields. */
    public void commandStarted(String command, long nowMillis) {
        LAST_COMMAND.setOpaque(this, command);
        LAST_COMMAND_MILLIS.setOpaque(this, nowMillis);
    }

    public void closeAfterReply() {
        this.closeAfterReply = true;
    }

    boolean closeAfterReplyRequested() {
        return closeAfterReply;
    }

    /**
     * True if the client is on this host: a loopback address, a Unix socket, or a peer's forwarded command
     * (detached). Protected mode lets only these in.
     */
    public boolean fromLoopback() {
        if (channel == null) {
            return true;
        }
        return !(channel.remoteAddress() instanceof InetSocketAddress inet)
                || (inet.getAddress() != null && inet.getAddress().isLoopbackAddress());
    }

    /** The connection as one line of CLIENT LIST and CLIENT INFO, and as ACL LOG's {@code client-info}, at {@code nowMillis}. */
    public String info(long nowMillis) {
        String u = user;
        return "id=" + id + " addr=" + remoteAddress() + " laddr=" + localAddress()
                + " name=" + name() + " age=" + Math.max(0, (nowMillis - createdMillis()) / 1000)
                + " idle=" + Math.max(0, (nowMillis - lastCommandMillis()) / 1000)
                + " flags=N db=0 omem=" + pendingOutputBytes() + " cmd=" + lastCommand()
                + " user=" + (u == null ? "default" : u) + " resp=" + writer().protocol()
                + " lib-name=" + libName() + " lib-ver=" + libVersion();
    }

    /** "ip:port" of the peer, or "path:0" on a Unix domain socket, as Redis prints it; "peer:0" if detached. */
    public String remoteAddress() {
        return channel == null ? "peer:0" : format(channel.remoteAddress(), channel.localAddress());
    }

    public String localAddress() {
        return channel == null ? "peer:0" : format(channel.localAddress(), channel.localAddress());
    }

    private static String format(SocketAddress a, SocketAddress local) {
        if (a instanceof InetSocketAddress inet) {
            return inet.getAddress().getHostAddress() + ":" + inet.getPort();
        }
        SocketAddress s = a != null ? a : local;
        return (s == null ? "" : s.toString()) + ":0";
    }

    /**
     * Bytes of replies not yet taken by the client's socket: written to the channel, or held back
     * behind a deferred reply.
     */
    public long pendingOutputBytes() {
        if (channel == null) {
            return 0;
        }
        long held = handler == null ? 0 : handler.heldBytes();
        var outbound = channel.unsafe().outboundBuffer(); // read once: another loop may close it meanwhile
        return held + (outbound == null ? 0 : outbound.totalPendingWriteBytes());
    }
}
