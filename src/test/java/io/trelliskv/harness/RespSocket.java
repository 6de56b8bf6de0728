package io.trelliskv.harness;

import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A bare RESP2 client connection for pipelining: {@link #send} writes a whole batch of commands in
 * one socket write without waiting, {@link #read} then takes the replies one at a time, so a
 * connection lost half-way leaves the caller knowing exactly which commands were answered (a client
 * library's pipeline throws and forgets). Replies are simple strings, errors, integers and bulk
 * strings; anything else is a protocol error, reported as an {@link IOException}.
 */
public final class RespSocket implements AutoCloseable {

    /** Longest bulk reply accepted, in bytes: the workload's values are short. */
    private static final int MAX_BULK = 1 << 20;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    public RespSocket(String host, int port, int connectTimeoutMillis, int readTimeoutMillis) throws IOException {
        this(host, port, connectTimeoutMillis, readTimeoutMillis, null);
    }

    /**
     * A connection over TLS: {@code tls} makes the session (which CA it trusts, which certificate it shows);
     * the handshake is done before this returns.
     */
    public static RespSocket overTls(String host, int port, int connectTimeoutMillis, int readTimeoutMillis,
                                     SSLSocketFactory tls) throws IOException {
        return new RespSocket(host, port, connectTimeoutMillis, readTimeoutMillis, tls);
    }

    private RespSocket(String host, int port, int connectTimeoutMillis, int readTimeoutMillis, SSLSocketFactory tls)
            throws IOException {
        Socket plain = new Socket();
        Socket s = plain;
        try {
            plain.setTcpNoDelay(true);
            plain.connect(new InetSocketAddress(host, port), connectTimeoutMillis);
            plain.setSoTimeout(readTimeoutMillis);
            if (tls != null) {
                SSLSocket secured = (SSLSocket) tls.createSocket(plain, host, port, true);
                s = secured;
                secured.startHandshake();
            }
            in = new BufferedInputStream(s.getInputStream(), 64 * 1024);
            out = s.getOutputStream();
        } catch (IOException e) {
            s.close();
            throw e;
        }
        socket = s;
    }

    /** Writes every command, each a RESP array of bulk strings, in one write. */
    public void send(List<List<String>> commands) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(64 * commands.size());
        for (List<String> args : commands) {
            ascii(buf, "*" + args.size() + "\r\n");
            for (String a : args) {
                byte[] b = a.getBytes(StandardCharsets.UTF_8);
                ascii(buf, "$" + b.length + "\r\n");
                buf.write(b, 0, b.length);
                ascii(buf, "\r\n");
            }
        }
        out.write(buf.toByteArray());
        out.flush();
    }

    /** Reads the next reply; throws if the connection broke, timed out or sent something else. */
    public RespReply read() throws IOException {
        int type = in.read();
        if (type < 0) {
            throw new EOFException("connection closed by the node");
        }
        String line = line();
        return switch (type) {
            case '+' -> new RespReply(RespReply.Type.SIMPLE, line);
            case '-' -> RespReply.error(line);
            case ':' -> new RespReply(RespReply.Type.INTEGER, line);
            case '$' -> bulk(line);
            default -> throw new IOException("unexpected RESP type '" + (char) type + "' (expected: + - : $)");
        };
    }

    private RespReply bulk(String header) throws IOException {
        int n;
        try {
            n = Integer.parseInt(header);
        } catch (NumberFormatException e) {
            throw new IOException("bad bulk length: " + header);
        }
        if (n == -1) {
            return RespReply.NIL;
        }
        if (n < 0 || n > MAX_BULK) {
            throw new IOException("bulk length: " + n + " (expected: -1..." + MAX_BULK + ")");
        }
        byte[] b = in.readNBytes(n + 2);
        if (b.length != n + 2) {
            throw new EOFException("connection closed inside a bulk reply");
        }
        return RespReply.bulk(new String(b, 0, n, StandardCharsets.UTF_8));
    }

    private String line() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != '\r') {
            if (c < 0) {
                throw new EOFException("connection closed inside a reply");
            }
            buf.write(c);
        }
        if (in.read() != '\n') {
            throw new IOException("reply line not ended by CRLF");
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    private static void ascii(ByteArrayOutputStream buf, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        buf.write(b, 0, b.length);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing a broken socket
        }
    }
}
