package io.trelliskv.cli;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Blocking streams over a non-blocking {@link SocketChannel} that give up after a timeout, the way a
 * {@link java.net.Socket} with {@code SO_TIMEOUT} does.
 *
 * <p>Why not {@code Channels.newInputStream}: a channel in blocking mode ignores socket timeouts, so
 * a Unix domain socket read would wait forever on a server that stopped answering and
 * {@code --timeout} would mean nothing. Instead the channel stays non-blocking and each read or write
 * that cannot make progress waits on a selector for at most the timeout, then throws
 * {@link SocketTimeoutException}.
 *
 * <p>Not thread-safe: one reader and one writer, taking turns, as a request/reply client does.
 */
final class SelectingChannelStreams implements Closeable {

    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    /** How long one read or write may wait for the socket, in milliseconds; > 0. */
    private final long timeoutMillis;

    SelectingChannelStreams(SocketChannel channel, Duration timeout) throws IOException {
        this.channel = channel;
        this.timeoutMillis = timeout.toMillis();
        channel.configureBlocking(false);
        this.selector = Selector.open();
        this.key = channel.register(selector, 0);
    }

    InputStream input() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                int n;
                while ((n = channel.read(buf)) == 0) {
                    await(SelectionKey.OP_READ, "Read timed out");
                }
                return n;
            }
        };
    }

    OutputStream output() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                while (buf.hasRemaining()) {
                    if (channel.write(buf) == 0) {
                        await(SelectionKey.OP_WRITE, "Write timed out");
                    }
                }
            }
        };
    }

    /** Waits until the channel is ready for {@code op}; select may wake early, so it loops to a deadline. */
    private void await(int op, String timeoutMessage) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        key.interestOps(op);
        try {
            while (selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))) == 0) {
                if (System.nanoTime() - deadline >= 0) {
                    throw new SocketTimeoutException(timeoutMessage);
                }
            }
            selector.selectedKeys().clear();
        } finally {
            key.interestOps(0);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            selector.close();
        } finally {
            channel.close();
        }
    }
}
