package io.trelliskv.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.trelliskv.common.Durations;
import io.netty.resolver.DefaultAddressResolverGroup;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * A load generator for what redis-benchmark cannot do (run by {@code bench/loadgen.sh}, not a test):
 * GET/SET in a chosen ratio over a Zipf or uniform key distribution, on several targets at once, at a
 * fixed request rate with latency measured from each request's intended send time, percentiles from
 * HdrHistogram, reproducible with a seed. Built on Lettuce's async API (one connection per
 * {@code --connections}, round-robin over the targets; up to {@code --pipeline} commands in flight on
 * each).
 *
 * <p><b>Open loop</b> ({@code --rate R}): every connection's schedule is fixed before the run starts:
 * connection c of N sends its i-th request at t0 + c/R + i*N/R, so together they send evenly at R per
 * second. A request that cannot be sent on time (its connection already has {@code --pipeline}
 * requests in flight, or this process fell behind) is sent as soon as it can, and its latency is still
 * counted from when it should have been sent. A server that stalls for 200 ms therefore shows up as
 * 200 ms worth of requests each waiting up to 200 ms, not as one slow request (coordinated omission).
 * The time from the actual send is reported beside it as the service time. A connection that falls
 * more than {@code --timeout} behind its schedule stops and reports the rest as never sent. Throughput is
 * the replies counted over the time they took to come: the measured window, or longer when the server fell
 * behind and the last replies came after it, so a server slower than {@code --rate} shows its own rate.
 *
 * <p><b>Closed loop</b> ({@code --rate 0}): each connection keeps {@code --pipeline} requests in flight,
 * sending the next as a reply comes back; latency is then the service time.
 *
 * <p>Requests whose intended send time falls in the warm-up are sent but not counted; the run then
 * measures {@code --duration}, and waits for the requests still in flight (up to {@code --timeout}).
 * Key i (0 the most frequent under Zipf) is {@code <prefix>i}; values are {@code --value-size} bytes
 * drawn from the seed. Connection c draws its operations and keys from its own random stream split in
 * order from {@code --seed}, so the same options give the same sequence of commands on each connection.
 */
@Command(name = "loadgen", mixinStandardHelpOptions = true, sortOptions = false,
        description = "GET/SET load on one or more Redis-protocol servers: Zipf or uniform keys, a read ratio,"
                + " open loop at a fixed rate (latency from the intended send time) or closed loop.")
public final class LoadGen implements Callable<Integer> {

    /** Histograms count microseconds up to an hour, to 3 significant digits. */
    private static final long MAX_MICROS = TimeUnit.HOURS.toMicros(1);
    /** A send later than this behind its schedule counts as late. */
    private static final long LATE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    @Option(names = "--targets", split = ",", defaultValue = "127.0.0.1:6379",
            description = "host:port,... (default ${DEFAULT-VALUE}); connections are spread round-robin")
    List<String> targets;

    @Option(names = "--connections", defaultValue = "4", description = "connections in all (default ${DEFAULT-VALUE})")
    int connections;

    @Option(names = "--pipeline", defaultValue = "1",
            description = "requests in flight per connection at most (default ${DEFAULT-VALUE})")
    int pipeline;

    @Option(names = "--rate", defaultValue = "0",
            description = "requests per second in all, open loop; 0 = closed loop, as fast as replies come (default ${DEFAULT-VALUE})")
    double rate;

    @Option(names = "--duration", defaultValue = "10s", converter = DurationConverter.class,
            description = "measured time, e.g. 500ms, 10s, 2m (default ${DEFAULT-VALUE})")
    Duration duration;

    @Option(names = "--warmup", defaultValue = "2s", converter = DurationConverter.class,
            description = "load before the measured time, not counted; 0 for none (default ${DEFAULT-VALUE})")
    Duration warmup;

    @Option(names = "--keys", defaultValue = "100000", description = "distinct keys (default ${DEFAULT-VALUE})")
    int keys;

    @Option(names = "--zipf", defaultValue = "0",
            description = "Zipf exponent of the key popularity; 0 = uniform (default ${DEFAULT-VALUE})")
    double zipf;

    @Option(names = "--read-ratio", defaultValue = "0.9",
            description = "fraction of requests that are GET, the rest SET (default ${DEFAULT-VALUE})")
    double readRatio;

    @Option(names = "--value-size", defaultValue = "100", description = "SET value bytes (default ${DEFAULT-VALUE})")
    int valueSize;

    @Option(names = "--key-prefix", defaultValue = "key:", description = "key names (default ${DEFAULT-VALUE})")
    String keyPrefix;

    @Option(names = "--seed", defaultValue = "1", description = "random seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--preload", description = "SET every key once before the warm-up, so that GETs hit")
    boolean preload;

    @Option(names = "--timeout", defaultValue = "10s", converter = DurationConverter.class,
            description = "a request without a reply by then counts as an error (default ${DEFAULT-VALUE})")
    Duration timeout;

    @Option(names = "--io-threads", defaultValue = "2",
            description = "Lettuce's I/O threads, at least 2 (default ${DEFAULT-VALUE})")
    int ioThreads;

    @Option(names = "--json", description = "one JSON object instead of the table")
    boolean json;

    public static void main(String[] args) {
        System.exit(new CommandLine(new LoadGen()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Config config = new Config(targets, connections, pipeline, rate, duration, warmup, keys, zipf, readRatio,
                valueSize, keyPrefix, seed, preload, timeout, ioThreads);
        Report report;
        try {
            report = run(config);
        } catch (RedisConnectionException e) {
            System.err.println("loadgen: " + e.getMessage()
                    + (e.getCause() != null ? ": " + e.getCause().getMessage() : ""));
            return 2;
        }
        System.out.print(json ? report.json() : report.table());
        return 0;
    }

    /** Converts "0" to no time at all, anything else as {@link Durations#parse}. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            if (value.matches("0+(ms|s|m|h|d)?")) {
                return Duration.ZERO;
            }
            try {
                return Durations.parse(value);
            } catch (RuntimeException e) {
                throw new CommandLine.TypeConversionException(
                        "'" + value + "': " + Durations.EXPECTED);
            }
        }
    }

    /** What to run. */
    public record Config(List<String> targets, int connections, int pipeline, double rate, Duration duration,
                         Duration warmup, int keys, double zipf, double readRatio, int valueSize, String keyPrefix,
                         long seed, boolean preload, Duration timeout, int ioThreads) {
        public Config {
            targets = List.copyOf(targets);
            if (targets.isEmpty()) {
                throw new IllegalArgumentException("no targets");
            }
            require(connections >= 1, "--connections must be at least 1");
            require(pipeline >= 1, "--pipeline must be at least 1");
            require(rate >= 0 && Double.isFinite(rate), "--rate must be 0 or more");
            require(!duration.isNegative() && !duration.isZero(), "--duration must be positive");
            require(!warmup.isNegative(), "--warmup must not be negative");
            require(keys >= 1, "--keys must be at least 1");
            require(readRatio >= 0 && readRatio <= 1, "--read-ratio must be between 0 and 1");
            require(valueSize >= 0, "--value-size must not be negative");
            require(!timeout.isNegative() && !timeout.isZero(), "--timeout must be positive");
            require(ioThreads >= 2, "--io-threads must be at least 2 (Lettuce's least)");
            // Connections go round-robin over the targets: a count that is not a multiple of theirs would load
            // the first targets more than the others, or leave some without any load.
            require(connections % targets.size() == 0, "--connections " + connections + " does not spread evenly over "
                    + targets.size() + " targets: give a multiple of " + targets.size());
        }

        /** Defaults as on the command line, for tests: one target, the given rate and duration. */
        public static Config of(String target, double rate, Duration duration) {
            return new Config(List.of(target), 1, 1, rate, duration, Duration.ZERO, 1000, 0, 0.9, 100, "key:", 1,
                    false, Duration.ofSeconds(10), 2);
        }

        public Config withConnections(int n, int p) {
            return new Config(targets, n, p, rate, duration, warmup, keys, zipf, readRatio, valueSize, keyPrefix,
                    seed, preload, timeout, ioThreads);
        }

        public Config withWorkload(int k, double s, double reads, long newSeed) {
            return new Config(targets, connections, pipeline, rate, duration, warmup, k, s, reads, valueSize,
                    keyPrefix, newSeed, preload, timeout, ioThreads);
        }

        private static void require(boolean ok, String message) {
            if (!ok) {
                throw new IllegalArgumentException(message);
            }
        }
    }

    /** Latency and service-time histograms (microseconds) with a count of requests, for one kind. */
    static final class Recorders {
        final Recorder latency = new Recorder(MAX_MICROS, 3);
        final Recorder service = new Recorder(MAX_MICROS, 3);

        void record(long latencyNanos, long serviceNanos) {
            latency.recordValue(Math.min(MAX_MICROS, Math.max(0, latencyNanos / 1000)));
            service.recordValue(Math.min(MAX_MICROS, Math.max(0, serviceNanos / 1000)));
        }
    }

    /** Counters shared by the connections. */
    private static final class Totals {
        final Recorders all = new Recorders();
        final Recorders gets = new Recorders();
        final Recorders sets = new Recorders();
        final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        final LongAdder misses = new LongAdder();
        final LongAdder late = new LongAdder();
        final LongAdder unanswered = new LongAdder();
        final LongAdder unsent = new LongAdder();
        /** When the last counted reply (or error) came, System.nanoTime(); 0 before the first. */
        final java.util.concurrent.atomic.AtomicLong lastCounted = new java.util.concurrent.atomic.AtomicLong();
    }

    /** Runs the load and returns its figures. */
    public static Report run(Config config) throws InterruptedException {
        ClientResources resources = DefaultClientResources.builder()
                .ioThreadPoolSize(config.ioThreads())
                .computationThreadPoolSize(2)
                .addressResolverGroup(DefaultAddressResolverGroup.INSTANCE) // the JDK's, not Netty's DNS client
                .build();
        RedisClient client = RedisClient.create(resources);
        client.setOptions(ClientOptions.builder()
                .protocolVersion(ProtocolVersion.RESP2)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(config.timeout()))
                .build());
        List<StatefulRedisConnection<byte[], byte[]>> conns = new ArrayList<>();
        try {
            for (int c = 0; c < config.connections(); c++) {
                String target = config.targets().get(c % config.targets().size());
                RedisURI uri = uri(target);
                uri.setTimeout(config.timeout());
                conns.add(client.connect(ByteArrayCodec.INSTANCE, uri));
            }
            long preloadNanos = config.preload() ? preload(config, conns) : 0;

            Totals totals = new Totals();
            byte[] value = value(config);
            ZipfSampler sampler = new ZipfSampler(config.keys(), config.zipf());
            SplittableRandom root = new SplittableRandom(config.seed());
            long t0 = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(5);
            long measureStart = t0 + config.warmup().toNanos();
            long end = measureStart + config.duration().toNanos();
            List<Thread> workers = new ArrayList<>();
            for (int c = 0; c < config.connections(); c++) {
                Worker w = new Worker(config, c, conns.get(c).async(), root.split(), sampler, value, totals,
                        t0, measureStart, end);
                Thread t = new Thread(w, "loadgen-" + c);
                t.setDaemon(true);
                workers.add(t);
                t.start();
            }
            for (Thread t : workers) {
                t.join();
            }
            long elapsed = Math.max(config.duration().toNanos(), totals.lastCounted.get() - measureStart);
            return new Report(config, preloadNanos, elapsed,
                    totals.all.latency.getIntervalHistogram(), totals.all.service.getIntervalHistogram(),
                    totals.gets.latency.getIntervalHistogram(), totals.sets.latency.getIntervalHistogram(),
                    new TreeMap<>(sums(totals.errors)), totals.misses.sum(), totals.late.sum(),
                    totals.unanswered.sum(), totals.unsent.sum());
        } finally {
            for (StatefulRedisConnection<byte[], byte[]> c : conns) {
                c.close();
            }
            client.shutdown(0, 2, TimeUnit.SECONDS);
            resources.shutdown(0, 2, TimeUnit.SECONDS);
        }
    }

    private static Map<String, Long> sums(Map<String, LongAdder> adders) {
        Map<String, Long> out = new TreeMap<>();
        adders.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    static RedisURI uri(String target) {
        int colon = target.lastIndexOf(':');
        if (colon <= 0 || colon == target.length() - 1) {
            throw new IllegalArgumentException("a target is host:port, not '" + target + "'");
        }
        return RedisURI.create(target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)));
    }

    private static byte[] value(Config config) {
        SplittableRandom random = new SplittableRandom(config.seed() ^ 0x5DEECE66DL);
        byte[] value = new byte[config.valueSize()];
        for (int i = 0; i < value.length; i++) {
            value[i] = (byte) ('a' + random.nextInt(26));
        }
        return value;
    }

    static byte[] key(Config config, int index) {
        return (config.keyPrefix() + index).getBytes(UTF_8);
    }

    /** SETs every key once, connection c taking keys c, c + N, ...; returns the time taken. */
    private static long preload(Config config, List<StatefulRedisConnection<byte[], byte[]>> conns)
            throws InterruptedException {
        long start = System.nanoTime();
        byte[] value = value(config);
        int n = conns.size();
        int inFlight = Math.max(config.pipeline(), 64);
        List<Thread> loaders = new ArrayList<>();
        LongAdder failures = new LongAdder();
        for (int c = 0; c < n; c++) {
            int first = c;
            RedisAsyncCommands<byte[], byte[]> async = conns.get(c).async();
            Thread t = new Thread(() -> {
                Semaphore permits = new Semaphore(inFlight);
                try {
                    for (int k = first; k < config.keys(); k += n) {
                        permits.acquire();
                        async.set(key(config, k), value).whenComplete((r, e) -> {
                            if (e != null) {
                                failures.increment();
                            }
                            permits.release();
                        });
                    }
                    if (!permits.tryAcquire(inFlight, config.timeout().toNanos(), TimeUnit.NANOSECONDS)) {
                        failures.increment();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "loadgen-preload-" + c);
            t.setDaemon(true);
            loaders.add(t);
            t.start();
        }
        for (Thread t : loaders) {
            t.join();
        }
        if (failures.sum() > 0) {
            throw new IllegalStateException("preload: " + failures.sum() + " SETs failed or went unanswered");
        }
        return System.nanoTime() - start;
    }

    /** One connection's sender: its schedule, its random stream, its in-flight limit. */
    private static final class Worker implements Runnable {
        private final Config config;
        private final RedisAsyncCommands<byte[], byte[]> async;
        private final SplittableRandom random;
        private final ZipfSampler sampler;
        private final byte[] value;
        private final Totals totals;
        private final long firstSend;
        private final double intervalNanos;
        private final long measureStart;
        private final long end;
        private final Semaphore permits;

        Worker(Config config, int index, RedisAsyncCommands<byte[], byte[]> async, SplittableRandom random,
               ZipfSampler sampler, byte[] value, Totals totals, long t0, long measureStart, long end) {
            this.config = config;
            this.async = async;
            this.random = random;
            this.sampler = sampler;
            this.value = value;
            this.totals = totals;
            this.measureStart = measureStart;
            this.end = end;
            this.permits = new Semaphore(config.pipeline());
            if (config.rate() > 0) {
                double aggregate = 1e9 / config.rate();
                this.intervalNanos = aggregate * config.connections();
                this.firstSend = t0 + (long) (aggregate * index);
            } else {
                this.intervalNanos = 0;
                this.firstSend = t0;
            }
        }

        @Override
        public void run() {
            try {
                if (config.rate() > 0) {
                    openLoop();
                } else {
                    closedLoop();
                }
                if (!permits.tryAcquire(config.pipeline(), config.timeout().toNanos() + TimeUnit.SECONDS.toNanos(1),
                        TimeUnit.NANOSECONDS)) {
                    totals.unanswered.add(config.pipeline() - permits.availablePermits());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private void openLoop() throws InterruptedException {
            long now = System.nanoTime();
            while (now < firstSend) {
                LockSupport.parkNanos(firstSend - now);
                now = System.nanoTime();
            }
            long giveUpAfter = config.timeout().toNanos();
            for (long i = 0; ; i++) {
                long intended = firstSend + (long) (i * intervalNanos);
                if (intended >= end) {
                    return;
                }
                now = System.nanoTime();
                while (now < intended) {
                    LockSupport.parkNanos(intended - now);
                    now = System.nanoTime();
                }
                if (now - intended > giveUpAfter) { // hopelessly behind: stop rather than run on for ever
                    long scheduled = (long) Math.ceil((end - firstSend) / intervalNanos);
                    totals.unsent.add(Math.max(0, scheduled - i));
                    return;
                }
                permits.acquire(); // blocks while the connection has --pipeline requests in flight
                send(intended);
            }
        }

        private void closedLoop() throws InterruptedException {
            long now = System.nanoTime();
            while (now < firstSend) {
                LockSupport.parkNanos(firstSend - now);
                now = System.nanoTime();
            }
            while (true) {
                permits.acquire();
                long t = System.nanoTime();
                if (t >= end) {
                    permits.release();
                    return;
                }
                send(t);
            }
        }

        private void send(long due) {
            boolean read = random.nextDouble() < config.readRatio();
            byte[] key = key(config, sampler.sample(random));
            long sent = System.nanoTime();
            long intended = config.rate() > 0 ? due : sent; // closed loop: latency is the service time
            boolean counted = intended >= measureStart;
            if (counted && sent - intended > LATE_NANOS) {
                totals.late.increment();
            }
            RedisFuture<?> future;
            try {
                future = read ? async.get(key) : async.set(key, value);
            } catch (RuntimeException e) {
                done(intended, sent, read, counted, null, e);
                return;
            }
            future.whenComplete((reply, error) -> done(intended, sent, read, counted, reply, error));
        }

        private void done(long intended, long sent, boolean read, boolean counted, Object reply, Throwable error) {
            long now = System.nanoTime();
            try {
                if (!counted) {
                    return;
                }
                totals.lastCounted.accumulateAndGet(now, Math::max);
                if (error != null) {
                    totals.errors.computeIfAbsent(errorPrefix(error), k -> new LongAdder()).increment();
                    return;
                }
                if (read && reply == null) {
                    totals.misses.increment();
                }
                totals.all.record(now - intended, now - sent);
                (read ? totals.gets : totals.sets).record(now - intended, now - sent);
            } finally {
                permits.release();
            }
        }
    }

    /** An error's first word as the server sent it (ERR, MOVED, TIMEOUT...), or what went wrong here. */
    static String errorPrefix(Throwable error) {
        Throwable e = error;
        while (e instanceof CompletionException && e.getCause() != null) {
            e = e.getCause();
        }
        if (e instanceof RedisCommandTimeoutException) {
            return "(no reply in time)";
        }
        if (e instanceof RedisCommandExecutionException && e.getMessage() != null && !e.getMessage().isBlank()) {
            String message = e.getMessage().strip();
            int space = message.indexOf(' ');
            return space < 0 ? message : message.substring(0, space);
        }
        return "(" + e.getClass().getSimpleName() + ")";
    }

    /**
     * The figures of one run. Latency histograms are in microseconds. {@code elapsedNanos}: from the start of the
     * measured window to the last counted reply, at least the window.
     */
    public record Report(Config config, long preloadNanos, long elapsedNanos, Histogram latency, Histogram service, Histogram gets,
                         Histogram sets, Map<String, Long> errors, long misses, long lateSends, long unanswered,
                         long unsent) {

        private static final double[] PERCENTILES = {50, 90, 99, 99.9};

        /** Replies counted: successes and errors. */
        public long requests() {
            return latency.getTotalCount() + errorCount();
        }

        public long errorCount() {
            return errors.values().stream().mapToLong(Long::longValue).sum();
        }

        /** Replies counted per second of the time they took to come ({@code elapsedNanos}). */
        public double throughput() {
            return requests() / (elapsedNanos / 1e9);
        }

        /** Requests the percentiles leave out: errors (timeouts among them), never sent, unanswered at the end. */
        public long notInPercentiles() {
            return errorCount() + unsent + unanswered;
        }

        /** The latency at a percentile, in milliseconds. */
        public static double ms(Histogram h, double percentile) {
            return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
        }

        public static double maxMs(Histogram h) {
            return h.getTotalCount() == 0 ? 0 : h.getMaxValue() / 1000.0;
        }

        private String mode() {
            return config.rate() > 0
                    ? String.format(Locale.ROOT, "open loop at %s requests/s", number(config.rate()))
                    : "closed loop";
        }

        public String table() {
            StringBuilder out = new StringBuilder();
            Config c = config;
            out.append(String.format(Locale.ROOT,
                    "# loadgen: %s; %d connection%s over %s, pipeline %d; %s measured after %s warm-up%n",
                    mode(), c.connections(), c.connections() == 1 ? "" : "s", String.join(",", c.targets()),
                    c.pipeline(), Durations.formatMillis(c.duration().toMillis()),
                    c.warmup().isZero() ? "no" : Durations.formatMillis(c.warmup().toMillis())));
            out.append(String.format(Locale.ROOT,
                    "# %d keys, %s, %.0f%% GET, %d-byte values, seed %d%s%n", c.keys(),
                    c.zipf() > 0 ? "zipf " + number(c.zipf()) : "uniform", c.readRatio() * 100, c.valueSize(),
                    c.seed(), c.preload() ? String.format(Locale.ROOT, "; preloaded in %.2f s", preloadNanos / 1e9) : ""));
            out.append(String.format(Locale.ROOT, "throughput: %.0f requests/s (%d in %.1f s%s)%n", throughput(),
                    requests(), elapsedNanos / 1e9, elapsedNanos > c.duration().toNanos()
                            ? ": the last replies came after the measured window, the server behind the rate" : ""));
            out.append(c.rate() > 0 ? "latency in ms from the intended send time:\n" : "latency in ms:\n");
            out.append(String.format(Locale.ROOT, "%-8s %10s %9s %9s %9s %9s %9s%n",
                    "", "count", "p50", "p90", "p99", "p99.9", "max"));
            row(out, "all", latency);
            row(out, "GET", gets);
            row(out, "SET", sets);
            if (c.rate() > 0) {
                row(out, "service", service);
                out.append(String.format(Locale.ROOT,
                        "(service: from the actual send; sends more than 1 ms behind schedule: %d)%n", lateSends));
            }
            out.append("errors: ").append(errors.isEmpty() ? "none" : errorList()).append('\n');
            out.append(String.format(Locale.ROOT, "GET misses: %d%s%s%n", misses,
                    unanswered > 0 ? "; unanswered at the end: " + unanswered : "",
                    unsent > 0 ? "; scheduled but never sent (a connection fell more than --timeout behind): " + unsent
                            : ""));
            if (notInPercentiles() > 0) {
                out.append(String.format(Locale.ROOT,
                        "the percentiles leave out %d requests: the errors, those never sent and those unanswered%n",
                        notInPercentiles()));
            }
            return out.toString();
        }

        private String errorList() {
            StringBuilder s = new StringBuilder();
            errors.forEach((k, v) -> s.append(s.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
            return s.toString();
        }

        private static void row(StringBuilder out, String name, Histogram h) {
            out.append(String.format(Locale.ROOT, "%-8s %10d", name, h.getTotalCount()));
            for (double p : PERCENTILES) {
                out.append(String.format(Locale.ROOT, " %9.3f", ms(h, p)));
            }
            out.append(String.format(Locale.ROOT, " %9.3f%n", maxMs(h)));
        }

        public String json() {
            Config c = config;
            StringBuilder out = new StringBuilder("{");
            out.append("\"targets\":[");
            for (int i = 0; i < c.targets().size(); i++) {
                out.append(i == 0 ? "" : ",").append(quote(c.targets().get(i)));
            }
            out.append("],\"connections\":").append(c.connections())
                    .append(",\"pipeline\":").append(c.pipeline())
                    .append(",\"rate\":").append(number(c.rate()))
                    .append(",\"duration_s\":").append(number(c.duration().toMillis() / 1000.0))
                    .append(",\"warmup_s\":").append(number(c.warmup().toMillis() / 1000.0))
                    .append(",\"keys\":").append(c.keys())
                    .append(",\"zipf\":").append(number(c.zipf()))
                    .append(",\"read_ratio\":").append(number(c.readRatio()))
                    .append(",\"value_size\":").append(c.valueSize())
                    .append(",\"seed\":").append(c.seed())
                    .append(",\"requests\":").append(requests())
                    .append(",\"elapsed_s\":").append(String.format(Locale.ROOT, "%.3f", elapsedNanos / 1e9))
                    .append(",\"throughput\":").append(String.format(Locale.ROOT, "%.1f", throughput()))
                    .append(",\"latency_from\":").append(quote(c.rate() > 0 ? "intended" : "sent"))
                    .append(",\"latency_ms\":").append(jsonHistogram(latency))
                    .append(",\"get_ms\":").append(jsonHistogram(gets))
                    .append(",\"set_ms\":").append(jsonHistogram(sets))
                    .append(",\"service_ms\":").append(jsonHistogram(service))
                    .append(",\"late_sends\":").append(lateSends)
                    .append(",\"get_misses\":").append(misses)
                    .append(",\"unanswered\":").append(unanswered)
                    .append(",\"unsent\":").append(unsent)
                    .append(",\"errors\":{");
            boolean first = true;
            for (Map.Entry<String, Long> e : errors.entrySet()) {
                out.append(first ? "" : ",").append(quote(e.getKey())).append(':').append(e.getValue());
                first = false;
            }
            return out.append("}}\n").toString();
        }

        private static String jsonHistogram(Histogram h) {
            return String.format(Locale.ROOT,
                    "{\"count\":%d,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p99.9\":%.3f,\"max\":%.3f}",
                    h.getTotalCount(), ms(h, 50), ms(h, 90), ms(h, 99), ms(h, 99.9), maxMs(h));
        }

        private static String quote(String s) {
            StringBuilder out = new StringBuilder("\"");
            for (char ch : s.toCharArray()) {
                switch (ch) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    default -> {
                        if (ch < 0x20) {
                            out.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
                        } else {
                            out.append(ch);
                        }
                    }
                }
            }
            return out.append('"').toString();
        }

        private static String number(double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
        }
    }
}
