package io.trelliskv.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback TCP relay that records every byte it carries, both ways: what a wire tap between two nodes
 * would see. Each accepted connection is joined to a new connection to the target by two copying
 * threads, which end when either side closes; {@link #close()} closes everything it opened.
 */
public final class RecordingRelay implements AutoCloseable {

    private final ServerSocket listener;
    private final InetSocketAddress target;
    private final ByteArrayOutputStream seen = new ByteArrayOutputStream();
    private final List<Socket> sockets = new ArrayList<>();
    private final Thread acceptor;

    public RecordingRelay(InetSocketAddress target) throws IOException {
        this.target = target;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptLoop, "recording-relay-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Where to dial to go through the relay. */
    public InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", listener.getLocalPort());
    }

    /** Every byte carried so far, in either direction (interleaved as it came). */
    public byte[] seen() {
        synchronized (seen) {
            return seen.toByteArray();
        }
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket in = listener.accept();
                Socket out = new Socket(target.getAddress(), target.getPort());
                synchronized (sockets) {
                    sockets.add(in);
                    sockets.add(out);
                }
                pipe(in, out);
                pipe(out, in);
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void pipe(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (InputStream i = from.getInputStream(); OutputStream o = to.getOutputStream()) {
                for (int n = i.read(buf); n >= 0; n = i.read(buf)) {
                    synchronized (seen) {
                        seen.write(buf, 0, n);
                    }
                    o.write(buf, 0, n);
                }
            } catch (IOException e) {
                // one side closed: the other is closed below
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "recording-relay-pipe");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        synchronized (sockets) {
            sockets.forEach(RecordingRelay::closeQuietly);
        }
    }
}
