package io.trelliskv.net;

import io.trelliskv.resp.RespLimits;

/**
 * Network settings of the client-facing server.
 *
 * @param host                    address to bind for TCP
 * @param port                    TCP port
 * @param unixSocket              path of a Unix domain socket to serve as well, or null
 * @param ioThreads               number of event-loop threads (0: one per core)
 * @param maxClients              connections accepted at once; more are refused with an error
 * @param outputBufferSoftBytes   pending reply bytes past which the server stops reading from the
 *                                client until it has read its replies
 * @param outputBufferHardBytes   pending reply bytes past which the client is disconnected (0: none)
 * @param limits                  protocol limits of the request decoder
 */
public record NetConfig(String host, int port, String unixSocket, int ioThreads, int maxClients,
                        int outputBufferSoftBytes, long outputBufferHardBytes, RespLimits limits) {

    public static final int DEFAULT_MAX_CLIENTS = 10_000;
    public static final int DEFAULT_OUTPUT_BUFFER_SOFT = 1 << 20;
    public static final long DEFAULT_OUTPUT_BUFFER_HARD = 256L << 20;

    public NetConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        if (ioThreads < 0 || ioThreads > 1024) {
            throw new IllegalArgumentException("io-threads: " + ioThreads + " (expected: 0..1024)");
        }
        if (maxClients < 1) {
            throw new IllegalArgumentException("maxclients: " + maxClients + " (expected: >= 1)");
        }
        if (outputBufferSoftBytes < 1024) {
            throw new IllegalArgumentException("output buffer soft limit: " + outputBufferSoftBytes
                    + " (expected: >= 1024)");
        }
        if (outputBufferHardBytes < 0) {
            throw new IllegalArgumentException("client-output-buffer-limit: " + outputBufferHardBytes
                    + " (expected: >= 0)");
        }
    }
}
