package io.trelliskv.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A RESP2 connection that hands back each reply as the exact bytes the server sent, for comparing two
 * servers byte for byte. Commands go out as RESP arrays of bulk strings, a batch in one write, and
 * the replies are then read one by one: only their framing is parsed (to know where each ends), never
 * their content, so no client library's decoding can hide a difference.
 */
public final class RawResp implements AutoCloseable {

    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    private RawResp(Socket socket) throws IOException {
        this.socket = socket;
        this.out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
        this.in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
    }

    /** Connects to {@code host:port}; every read waits at most {@code timeoutMillis}. */
    public static RawResp connect(String host, int port, int timeoutMillis) throws IOException {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(host, port), timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            socket.setTcpNoDelay(true);
            return new RawResp(socket);
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    /** Sends every command in one write, without waiting, then reads one reply for each, in order. */
    public List<byte[]> pipeline(List<byte[][]> commands) throws IOException {
        for (byte[][] command : commands) {
            out.write(encode(command));
        }
        out.flush();
        List<byte[]> replies = new ArrayList<>(commands.size());
        for (int i = 0; i < commands.size(); i++) {
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            readReply(reply);
            replies.add(reply.toByteArray());
        }
        return replies;
    }

    /** A command as a RESP array of bulk strings. */
    public static byte[] encode(byte[][] args) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        for (byte[] a : args) {
            b.writeBytes(("$" + a.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            b.writeBytes(a);
            b.writeBytes(new byte[] {'\r', '\n'});
        }
        return b.toByteArray();
    }

    /** Copies one RESP2 reply, nested arrays included, from the stream into {@code reply}. */
    private void readReply(ByteArrayOutputStream reply) throws IOException {
        String line = readLine(reply);
        char type = line.charAt(0);
        switch (type) {
            case '+', '-', ':' -> {
                // the line is the whole reply
            }
            case '$' -> {
                int length = Integer.parseInt(line.substring(1));
                if (length >= 0) {
                    byte[] body = in.readNBytes(length + 2);
                    if (body.length < length + 2) {
                        throw new EOFException("connection closed inside a bulk reply of " + length + " bytes");
                    }
                    reply.writeBytes(body);
                }
            }
            case '*' -> {
                int count = Integer.parseInt(line.substring(1));
                for (int i = 0; i < count; i++) {
                    readReply(reply);
                }
            }
            default -> throw new IOException("not a RESP2 reply: "
                    + printable(line.getBytes(StandardCharsets.ISO_8859_1)));
        }
    }

    /** Reads up to and including CRLF into {@code reply}; returns the line without it. */
    private String readLine(ByteArrayOutputStream reply) throws IOException {
        StringBuilder line = new StringBuilder();
        int previous = -1;
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("connection closed after " + printable(
                        line.toString().getBytes(StandardCharsets.ISO_8859_1)));
            }
            reply.write(c);
            if (previous == '\r' && c == '\n') {
                line.setLength(line.length() - 1);
                if (line.isEmpty()) {
                    throw new IOException("empty RESP line");
                }
                return line.toString();
            }
            line.append((char) c);
            previous = c;
        }
    }

    /** Bytes as a readable string: printable ASCII as is, CR and LF as \r and \n, others as \xNN. */
    public static String printable(byte[] bytes) {
        StringBuilder s = new StringBuilder();
        for (byte b : bytes) {
            int c = b & 0xff;
            if (c == '\r') {
                s.append("\\r");
            } else if (c == '\n') {
                s.append("\\n");
            } else if (c == '\\') {
                s.append("\\\\");
            } else if (c >= 0x20 && c < 0x7f) {
                s.append((char) c);
            } else {
                s.append(String.format("\\x%02x", c));
            }
        }
        return s.toString();
    }

    /** A command's arguments, printable and separated by spaces (an empty argument as ""). */
    public static String printable(byte[][] command) {
        StringBuilder s = new StringBuilder();
        for (byte[] a : command) {
            if (!s.isEmpty()) {
                s.append(' ');
            }
            s.append(a.length == 0 ? "\"\"" : printable(a));
        }
        return s.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
