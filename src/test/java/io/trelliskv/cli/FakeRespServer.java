package io.trelliskv.cli;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import io.trelliskv.common.DaemonThreads;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A tiny RESP server for tests, on a loopback port or a Unix socket: it reads commands (RESP arrays of
 * bulk strings), records each one's exact bytes, and answers with canned raw replies chosen by a
 * function of the command's words. The function may return {@link #CLOSE} to drop the connection
 * without replying, or {@link #SILENCE} to never reply.
 *
 * <p>Commands are recorded before they are answered, so once a client has its reply the command is
 * in {@link #received()}: tests need no sleeps.
 */
final class FakeRespServer implements AutoCloseable {

    /** Reply marker: close the connection instead of replying. */
    static final String CLOSE = "<close>";
    /** Reply marker: keep the connection open and never reply. */
    static final String SILENCE = "<silence>";

    /** Something that accepts connections: a TCP server socket or a Unix server channel. */
    private interface Acceptor extends AutoCloseable {
        Socketish accept() throws IOException;

        @Override
        void close() throws IOException;
    }

    private record Socketish(InputStream in, OutputStream out, Closeable closer) {
    }

    private final Acceptor acceptor;
    private final String address;
    private final Function<List<String>, String> replies;
    private final List<String> received = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final List<Closeable> open = new CopyOnWriteArrayList<>();
    private final Thread acceptThread;

    private FakeRespServer(Acceptor acceptor, String address, Function<List<String>, String> replies) {
        this.acceptor = acceptor;
        this.address = address;
        this.replies = replies;
        this.acceptThread = DaemonThreads.start("fake-resp-server", this::acceptLoop);
    }

    /** A server on an ephemeral loopback TCP port. */
    static FakeRespServer tcp(Function<List<String>, String> replies) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Acceptor acceptor = new Acceptor() {
            @Override
            public Socketish accept() throws IOException {
                Socket s = server.accept();
                return new Socketish(s.getInputStream(), s.getOutputStream(), s);
            }

            @Override
            public void close() throws IOException {
                server.close();
            }
        };
        InetSocketAddress local = (InetSocketAddress) server.getLocalSocketAddress();
        return new FakeRespServer(acceptor, "127.0.0.1:" + local.getPort(), replies);
    }

    /** A server on a Unix domain socket at {@code path}. */
    static FakeRespServer unix(Path path, Function<List<String>, String> replies) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Acceptor acceptor = new Acceptor() {
            @Override
            public Socketish accept() throws IOException {
                SocketChannel ch = server.accept();
                return new Socketish(Channels.newInputStream(ch), Channels.newOutputStream(ch), ch);
            }

            @Override
            public void close() throws IOException {
                server.close();
            }
        };
        return new FakeRespServer(acceptor, "unix:" + path, replies);
    }

    /** The address as trellis-cli takes it. */
    String address() {
        return address;
    }

    /** Every command received so far, as its exact RESP bytes (ISO-8859-1, so bytes map to chars). */
    List<String> received() {
        return List.copyOf(received);
    }

    /** Connections accepted so far. */
    int connections() {
        return connections.get();
    }

    /** Stops accepting connections (new ones are refused); open connections are left alone. */
    void stopAccepting() {
        try {
            acceptor.close();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Encodes words as a RESP array of bulk strings, the form a client sends. */
    static String command(String... words) {
        StringBuilder sb = new StringBuilder("*" + words.length + "\r\n");
        for (String w : words) {
            sb.append('$').append(w.getBytes(ISO_8859_1).length).append("\r\n").append(w).append("\r\n");
        }
        return sb.toString();
    }

    private void acceptLoop() {
        while (true) {
            Socketish s;
            try {
                s = acceptor.accept();
            } catch (IOException e) {
                return;
            }
            connections.incrementAndGet();
            open.add(s.closer());
            DaemonThreads.start("fake-resp-connection", () -> serve(s));
        }
    }

    private void serve(Socketish s) {
        try {
            InputStream in = new BufferedInputStream(s.in());
            OutputStream out = s.out();
            while (true) {
                ByteArrayOutputStream raw = new ByteArrayOutputStream();
                List<String> words = readCommand(in, raw);
                if (words == null) {
                    return;
                }
                received.add(raw.toString(ISO_8859_1));
                String reply = replies.apply(words);
                if (CLOSE.equals(reply)) {
                    return;
                }
                if (!SILENCE.equals(reply)) {
                    out.write(reply.getBytes(ISO_8859_1));
                    out.flush();
                }
            }
        } catch (IOException | RuntimeException e) {
            // The client went away; nothing to do for a fake.
        } finally {
            closeQuietly(s.closer());
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // Already gone.
        }
    }

    /** Reads one array-of-bulk-strings command, copying its bytes to {@code raw}; null at end of stream. */
    private static List<String> readCommand(InputStream in, ByteArrayOutputStream raw) throws IOException {
        String header = readLine(in, raw);
        if (header == null) {
            return null;
        }
        if (!header.startsWith("*")) {
            throw new IOException("fake server expects RESP arrays, got: " + header);
        }
        int n = Integer.parseInt(header.substring(1));
        List<String> words = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String len = readLine(in, raw);
            if (len == null || !len.startsWith("$")) {
                throw new IOException("fake server expects bulk strings, got: " + len);
            }
            byte[] data = in.readNBytes(Integer.parseInt(len.substring(1)) + 2);
            raw.write(data);
            words.add(new String(data, 0, data.length - 2, ISO_8859_1));
        }
        return words;
    }

    private static String readLine(InputStream in, ByteArrayOutputStream raw) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = in.read()) != '\n') {
            if (b < 0) {
                if (sb.length() == 0) {
                    return null;
                }
                throw new EOFException();
            }
            raw.write(b);
            sb.append((char) b);
        }
        raw.write(b);
        return sb.substring(0, sb.length() - 1);
    }

    @Override
    public void close() throws IOException {
        acceptor.close();
        for (Closeable c : open) {
            c.close();
        }
    }
}
