package io.trelliskv.net;

import io.netty.channel.Channel;
import io.trelliskv.resp.RespWriter;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * The state of one client connection: what CLIENT LIST shows, the negotiated protocol (held by the
 * reply writer) and the flags that change how the connection is served. Touched only on the
 * connection's event loop, except for the read-only fields listed by CLIENT LIST, which other loops may
 * read slightly stale.
 */
public final class ClientConnection {

    private final long id;
    private final Channel channel;
    private final RespWriter writer = new RespWriter();
    /** Epoch ms when the connection was accepted. */
    private final long createdMillis;
    private volatile String name = "";
    private volatile String libName = "";
    private volatile String libVersion = "";
    /** Epoch ms of the last command. */
    private volatile long lastCommandMillis;
    private volatile String lastCommand = "NULL";
    /** Set by QUIT: close once the pending replies are flushed. */
    private boolean closeAfterReply;

    ClientConnection(long id, Channel channel, long createdMillis) {
        this.id = id;
        this.channel = channel;
        this.createdMillis = createdMillis;
        this.lastCommandMillis = createdMillis;
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
        return lastCommandMillis;
    }

    public String lastCommand() {
        return lastCommand;
    }

    /** Records the command about to run, for CLIENT LIST's idle and cmd fields. */
    public void commandStarted(String command, long nowMillis) {
        this.lastCommand = command;
        this.lastCommandMillis = nowMillis;
    }

    public void closeAfterReply() {
        this.closeAfterReply = true;
    }

    boolean closeAfterReplyRequested() {
        return closeAfterReply;
    }

    /** "ip:port" of the peer, or "path:0" on a Unix domain socket, as Redis prints it. */
    public String remoteAddress() {
        return format(channel.remoteAddress(), channel.localAddress());
    }

    public String localAddress() {
        return format(channel.localAddress(), channel.localAddress());
    }

    private static String format(SocketAddress a, SocketAddress local) {
        if (a instanceof InetSocketAddress inet) {
            return inet.getAddress().getHostAddress() + ":" + inet.getPort();
        }
        SocketAddress s = a != null ? a : local;
        return (s == null ? "" : s.toString()) + ":0";
    }

    /** Bytes of replies written but not yet taken by the client's socket. */
    public long pendingOutputBytes() {
        return channel.unsafe().outboundBuffer() == null ? 0
                : channel.unsafe().outboundBuffer().totalPendingWriteBytes();
    }
}
