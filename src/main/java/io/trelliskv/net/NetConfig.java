package io.trelliskv.net;

import io.trelliskv.resp.RespLimits;

import java.util.Objects;

import static io.trelliskv.common.ConfigException.require;

/**
 * Network settings of the client-facing server; every component is checked when the value is built, and
 * a bad one is refused with a {@link io.trelliskv.common.ConfigException} naming it.
 *
 * @param host                    address to bind for TCP
 * @param port                    TCP port
 * @param unixSocket              path of a Unix domain socket to serve as well, or null
 * @param ioThreads               number of event-loop threads (0: {@link #defaultIoThreads(int)} of the cores)
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
        require(host != null && !host.isEmpty(), "host", host, "an address to bind");
        require(port >= 0 && port <= 65535, "port", port, "0..65535");
        require(ioThreads >= 0 && ioThreads <= 1024, "ioThreads", ioThreads, "0..1024");
        require(maxClients >= 1, "maxClients", maxClients, ">= 1");
        require(outputBufferSoftBytes >= 1024, "outputBufferSoftBytes", outputBufferSoftBytes, ">= 1024");
        require(outputBufferHardBytes >= 0, "outputBufferHardBytes", outputBufferHardBytes, ">= 0");
        Objects.requireNonNull(limits, "limits");
    }

    /** The event-loop threads to run: {@link #ioThreads} where given, else the default for this machine's cores. */
    public int eventLoopThreads() {
        return ioThreads > 0 ? ioThreads : defaultIoThreads(Runtime.getRuntime().availableProcessors());
    }

    /**
     * One event loop per core but one, and at least one. The core left over is for what else a node's
     * requests need CPU for: the kernel's network stack, the collector's concurrent threads, the JIT and
     * the node's background work, and on a small machine the clients themselves. Measured on 2 cores with
     * redis-benchmark beside the node, one loop served pipelined requests faster than two and cut the
     * tail at one request in flight (docs/BENCHMARKS.md, "One I/O thread on two cores").
     */
    public static int defaultIoThreads(int cores) {
        return Math.max(1, cores - 1);
    }
}
