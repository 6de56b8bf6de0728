package io.trelliskv.cli;

import io.trelliskv.common.Durations;
import io.trelliskv.resp.RespReplyReader;
import io.trelliskv.resp.RespRequestEncoder;
import io.trelliskv.resp.RespValue;
import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * One blocking client connection to a TrellisKV node, over TCP or a Unix domain socket: send a
 * command, wait for its reply.
 *
 * <p>Every failure surfaces as a {@link ConnectionException} whose message is a single line for the
 * user naming the address. After any such failure the reply stream may be out of step with the
 * requests, so the connection must be closed, never reused.
 *
 * <p>TCP uses a plain {@link Socket} with {@code TCP_NODELAY} (a command is one write, and waiting for
 * Nagle would only add latency) and {@code SO_TIMEOUT}; Unix sockets use {@link SelectingChannelStreams}
 * to honour the same timeout.
 */
final class Connection implements AutoCloseable {

    private final Address address;
    /** Bound on connecting and on each wait for reply bytes. */
    private final Duration timeout;
    private final Closeable socket;
    private final InputStream in;
    private final OutputStream out;
    private final RespReplyReader reader;

    private Connection(Address address, Duration timeout, Closeable socket, InputStream in, OutputStream out) {
        this.address = address;
        this.timeout = timeout;
        this.socket = socket;
        this.in = new BufferedInputStream(in);
        this.out = out;
        this.reader = new RespReplyReader(this.in);
    }

    /**
     * Connects and, if {@code consistency} is not null, sets the connection's consistency level for
     * reads and writes ({@code CONSISTENCY LEVEL}).
     */
    static Connection open(Address address, Duration timeout, String consistency) throws ConnectionException {
        return open(address, timeout, ClientSecurity.NONE, consistency);
    }

    /**
     * Connects (over TLS if {@code security} says so), logs in if it has a password ({@code AUTH}), and
     * sets the consistency level if {@code consistency} is not null.
     */
    static Connection open(Address address, Duration timeout, ClientSecurity security, String consistency)
            throws ConnectionException {
        Connection c = open(address, timeout, security);
        if (security.password() != null) {
            List<byte[]> auth = new java.util.ArrayList<>();
            auth.add("AUTH".getBytes(StandardCharsets.UTF_8));
            if (security.user() != null) {
                auth.add(security.user().getBytes(StandardCharsets.UTF_8));
            }
            auth.add(security.password().getBytes(StandardCharsets.UTF_8));
            RespValue reply;
            try {
                reply = c.call(auth);
            } catch (ConnectionException e) {
                c.close();
                throw e;
            }
            if (reply instanceof RespValue.Error error) {
                c.close();
                throw new ConnectionException(address + " refused the login: " + error.message());
            }
        }
        if (consistency == null) {
            return c;
        }
        RespValue reply;
        try {
            reply = c.call(List.of("CONSISTENCY".getBytes(StandardCharsets.UTF_8),
                    consistency.getBytes(StandardCharsets.UTF_8)));
        } catch (ConnectionException e) {
            c.close();
            throw e;
        }
        if (reply instanceof RespValue.Error error) {
            c.close();
            throw new ConnectionException(address + " refused consistency level " + consistency + ": " + error.message());
        }
        return c;
    }

    /** Connects to {@code address}, waiting at most {@code timeout}. */
    static Connection open(Address address, Duration timeout) throws ConnectionException {
        return open(address, timeout, ClientSecurity.NONE);
    }

    private static Connection open(Address address, Duration timeout, ClientSecurity security) throws ConnectionException {
        try {
            return address instanceof Address.Unix unix ? openUnix(unix, timeout)
                    : openTcp((Address.Tcp) address, timeout, security.tls());
        } catch (UnknownHostException e) {
            throw new ConnectionException("cannot connect to " + address + ": unknown host", e);
        } catch (SocketTimeoutException e) {
            throw new ConnectionException("cannot connect to " + address + ": timed out after "
                    + Durations.formatMillis(timeout.toMillis()), e);
        } catch (IOException e) {
            throw new ConnectionException("cannot connect to " + address + ": " + reason(e), e);
        }
    }

    private static Connection openTcp(Address.Tcp tcp, Duration timeout, javax.net.ssl.SSLSocketFactory tls)
            throws IOException {
        InetSocketAddress target = new InetSocketAddress(tcp.host(), tcp.port());
        if (target.isUnresolved()) {
            throw new UnknownHostException(tcp.host());
        }
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(target, Math.toIntExact(Math.min(timeout.toMillis(), Integer.MAX_VALUE)));
            socket.setSoTimeout(Math.toIntExact(Math.min(timeout.toMillis(), Integer.MAX_VALUE)));
            if (tls != null) {
                javax.net.ssl.SSLSocket secure = (javax.net.ssl.SSLSocket) tls.createSocket(socket, tcp.host(), tcp.port(), true);
                javax.net.ssl.SSLParameters params = secure.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS"); // the node's certificate must name the host
                secure.setSSLParameters(params);
                secure.startHandshake();
                socket = secure;
            }
            return new Connection(tcp, timeout, socket, socket.getInputStream(), socket.getOutputStream());
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private static Connection openUnix(Address.Unix unix, Duration timeout) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(unix.path()));
            SelectingChannelStreams streams = new SelectingChannelStreams(channel, timeout);
            return new Connection(unix, timeout, streams, streams.input(), streams.output());
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Sends {@code command} (name first) and waits for its reply, which may be an error reply.
     *
     * @throws ConnectionException if the command cannot be sent or no complete reply arrives in time
     */
    RespValue call(List<byte[]> command) throws ConnectionException {
        try {
            out.write(RespRequestEncoder.encode(command));
            out.flush();
            return reader.read();
        } catch (SocketTimeoutException e) {
            throw new ConnectionException("no reply from " + address + " within "
                    + Durations.formatMillis(timeout.toMillis()), e);
        } catch (EOFException e) {
            throw new ConnectionException("connection to " + address + " closed by the server", e);
        } catch (IOException e) {
            throw new ConnectionException("connection to " + address + " failed: " + reason(e), e);
        }
    }

    /** The exception's own words, or its type when it has none ("Connection refused"). */
    private static String reason(IOException e) {
        if (e instanceof ConnectException && e.getMessage() == null) {
            return "Connection refused";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // Nothing was pending on this connection; a failed close cannot lose anything.
        }
    }
}
