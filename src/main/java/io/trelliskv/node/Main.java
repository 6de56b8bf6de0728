package io.trelliskv.node;

import io.netty.util.ResourceLeakDetector;
import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.cluster.RebalanceConfig;
import io.trelliskv.command.VersionedCommands;
import io.trelliskv.common.Address;
import io.trelliskv.common.Clock;
import io.trelliskv.common.ConfigException;
import io.trelliskv.common.DaemonThreads;
import io.trelliskv.common.Durations;
import io.trelliskv.common.OffsetClock;
import io.trelliskv.common.ParseException;
import io.trelliskv.common.Sizes;
import io.trelliskv.membership.SwimConfig;
import io.trelliskv.net.NetConfig;
import io.trelliskv.net.RespServer;
import io.trelliskv.net.TlsConfig;
import io.trelliskv.net.TlsFiles;
import io.trelliskv.net.peer.PeerTlsConfig;
import io.trelliskv.persist.AppendFsync;
import io.trelliskv.persist.PersistConfig;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.HintConfig;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.ring.TokenAllocator;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.EvictionPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryManagerMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

/**
 * {@code trellis <port> [seed_host:seed_port] [options]}: starts a node and serves until SIGTERM or
 * SIGINT, then shuts down cleanly. Bad flags or values print one line and exit with status 2.
 */
@Command(name = "trellis", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        sortOptions = false, usageHelpWidth = 100,
        description = "Starts a TrellisKV node: a Redis-protocol key-value store.",
        footer = {"", "Sizes accept Redis units: 100mb, 2gb, 512kb (and k, m, g for powers of 1000).",
                "Example: trellis 5000 --maxmemory 1gb --maxmemory-policy allkeys-lru"})
public final class Main implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(Main.class);
    /** Membership defaults (memberlist's LAN profile) that the options start from. */
    private static final SwimConfig LAN = SwimConfig.lan(ClusterConfig.DEFAULT_NAME);

    @Parameters(index = "0", paramLabel = "PORT", description = "TCP port for clients (0 picks a free one).")
    int port;

    @Parameters(index = "1", arity = "0..1", paramLabel = "SEED",
            description = "host:port of a node of the cluster to join.")
    Address seed;

    @Option(names = "--seeds", paramLabel = "HOST:PORT,...", split = ",",
            description = "More nodes to join through (any that answers will do).")
    List<Address> moreSeeds = new ArrayList<>();

    @Option(names = "--cluster-name", paramLabel = "NAME",
            description = "Name of the cluster; peers with another name are refused (default: ${DEFAULT-VALUE}).")
    String clusterName = ClusterConfig.DEFAULT_NAME;

    @Option(names = "--advertise", paramLabel = "ADDR",
            description = "Address other nodes use to reach this one (default: the --host address).")
    String advertise;

    @Option(names = "--vnodes", paramLabel = "N",
            description = "Ring tokens this node takes when it first joins (default: ${DEFAULT-VALUE}).")
    int vnodes = TokenAllocator.DEFAULT_VNODES;

    @Option(names = "--probe-interval-ms", paramLabel = "MS",
            description = "Membership: how often a member is probed (default: ${DEFAULT-VALUE}).")
    long probeInterval = LAN.probeIntervalMillis();

    @Option(names = "--probe-timeout-ms", paramLabel = "MS",
            description = "Membership: wait for a direct ack before probing indirectly (default: ${DEFAULT-VALUE}).")
    long probeTimeout = LAN.probeTimeoutMillis();

    @Option(names = "--indirect-checks", paramLabel = "K",
            description = "Membership: members asked to probe indirectly (default: ${DEFAULT-VALUE}).")
    int indirectChecks = LAN.indirectChecks();

    @Option(names = "--suspicion-mult", paramLabel = "N",
            description = "Membership: suspicion timeout multiplier (default: ${DEFAULT-VALUE}).")
    int suspicionMult = LAN.suspicionMult();

    @Option(names = "--gossip-interval-ms", paramLabel = "MS",
            description = "Membership: how often updates are gossiped (default: ${DEFAULT-VALUE}).")
    long gossipInterval = LAN.gossipIntervalMillis();

    @Option(names = "--push-pull-interval-ms", paramLabel = "MS",
            description = "Membership: how often full state is exchanged with a random member (default: ${DEFAULT-VALUE}).")
    long pushPullInterval = LAN.pushPullIntervalMillis();

    @Option(names = "--replication-factor", paramLabel = "N",
            description = "Copies of each key, on distinct nodes (default: ${DEFAULT-VALUE}).")
    int replicationFactor = ReplicationConfig.DEFAULT_REPLICATION_FACTOR;

    @Option(names = "--read-consistency", paramLabel = "LEVEL",
            description = "Replicas a read waits for by default: ONE, QUORUM or ALL (default: ${DEFAULT-VALUE}).")
    String readConsistency = "QUORUM";

    @Option(names = "--write-consistency", paramLabel = "LEVEL",
            description = "Replicas a write waits for by default: ONE, QUORUM or ALL (default: ${DEFAULT-VALUE}).")
    String writeConsistency = "QUORUM";

    @Option(names = "--sloppy-quorum",
            description = "Count writes kept as hints toward the write consistency level.")
    boolean sloppyQuorum;

    @Option(names = "--max-clock-drift", paramLabel = "DURATION",
            description = "Refuse versions further ahead of this node's clock (default: 500ms).")
    String maxClockDrift = "500ms";

    @Option(names = "--read-repair-chance", paramLabel = "P",
            description = "Chance that a read at ONE checks the other replicas in the background (default: ${DEFAULT-VALUE}).")
    double readRepairChance = ReplicationConfig.DEFAULT_READ_REPAIR_CHANCE;

    @Option(names = "--replica-timeout", paramLabel = "DURATION",
            description = "How long a coordinator waits for a replica (default: 2s).")
    String replicaTimeout = "2s";

    @Option(names = "--read-speculative-retry", paramLabel = "DURATION",
            description = "The least time a read waits for a replica it asked before also asking the next one"
                    + " (longer while the 99th percentile of recent replica reads is longer);"
                    + " 0: only when one fails (default: 5ms; at most --replica-timeout).")
    String readSpeculativeRetry = ReplicationConfig.DEFAULT_READ_SPECULATIVE_RETRY_MILLIS + "ms";

    @Option(names = "--hint-window", paramLabel = "DURATION",
            description = "How long a write for a down replica is kept for replay (default: 3h).")
    String hintWindow = "3h";

    @Option(names = "--max-hints", paramLabel = "N",
            description = "Most hints kept, for all replicas together (default: ${DEFAULT-VALUE}).")
    int maxHints = HintConfig.defaults().maxHints();

    @Option(names = "--max-hint-bytes", paramLabel = "SIZE",
            description = "Most memory for hints (default: 64mb).")
    String maxHintBytes = Long.toString(HintConfig.defaults().maxBytes());

    @Option(names = "--hint-replay-rate", paramLabel = "N",
            description = "Hints replayed per second to one replica (default: ${DEFAULT-VALUE}).")
    int hintReplayRate = HintConfig.defaults().replayRatePerSecond();

    @Option(names = "--tombstone-grace", paramLabel = "DURATION",
            description = "How long a delete's tombstone is kept; longer than the hint window and the anti-entropy"
                    + " interval (default: 4h).")
    String tombstoneGrace = "4h";

    @Option(names = "--anti-entropy-interval", paramLabel = "DURATION",
            description = "Mean time between anti-entropy rounds (jittered by 10%%); 0 = only on REPAIR (default: 10m).")
    String antiEntropyInterval = "10m";

    @Option(names = "--anti-entropy-cpu", paramLabel = "FRACTION",
            description = "Share of one core anti-entropy's scans may use, above 0 up to 1 (default: ${DEFAULT-VALUE}).")
    double antiEntropyCpu = AntiEntropyConfig.DEFAULT_CPU_FRACTION;

    @Option(names = "--stream-throughput", paramLabel = "MB/S",
            description = "Most MiB per second one range stream (bootstrap, decommission, removal) moves; 0 = no limit"
                    + " (default: ${DEFAULT-VALUE}).")
    double streamThroughput = RebalanceConfig.DEFAULT_STREAM_BYTES_PER_SECOND / (double) (1 << 20);

    @Option(names = "--auto-remove-after", paramLabel = "DURATION",
            description = "Remove a member from the ring once it has been DEAD this long; 0 = never (default: 0).")
    String autoRemoveAfter = "0";

    @Option(names = "--rejoin-timeout", paramLabel = "DURATION",
            description = "How long a restarted node waits for a NORMAL replica of each of its ranges before it goes"
                    + " NORMAL without those that have none; 0 = wait for BOOTSTRAP FORCE (default: 0).")
    String rejoinTimeout = "0";

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Directory keeping the node's data, id, tokens and known members across restarts"
                    + " (default: data/PORT under the working directory).")
    Path dataDir;

    @Option(names = "--appendonly", paramLabel = "yes|no",
            description = "Keep the data on disk: a write-ahead log and snapshots in the data directory; no keeps"
                    + " it in memory only, for cache use (default: ${DEFAULT-VALUE}).")
    String appendOnly = "yes";

    @Option(names = "--appendfsync", paramLabel = "always|everysec|no",
            description = "When a write counts as durable: always (forced to disk before it is acknowledged),"
                    + " everysec (forced every second) or no (the OS decides) (default: ${DEFAULT-VALUE}).")
    String appendFsync = "everysec";

    @Option(names = "--repair-log",
            description = "Start even if the log is damaged in its middle, cutting it at the damage and dropping"
                    + " what follows (as redis-check-aof --fix).")
    boolean repairLog;

    @Option(names = "--host", paramLabel = "ADDR", description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host = "127.0.0.1";

    @Option(names = "--unix-socket", paramLabel = "PATH", description = "Also serve on this Unix domain socket.")
    String unixSocket;

    @Option(names = "--maxmemory", paramLabel = "SIZE",
            description = "Memory bound for data; 0 = unbounded (default: ${DEFAULT-VALUE}).")
    String maxMemory = "0";

    @Option(names = "--maxmemory-policy", paramLabel = "POLICY",
            description = "noeviction, allkeys-lru, volatile-lru or volatile-ttl (default: ${DEFAULT-VALUE}).")
    String policy = "noeviction";

    @Option(names = "--maxmemory-samples", paramLabel = "N",
            description = "Keys compared per eviction, 1..64 (default: ${DEFAULT-VALUE}).")
    int samples = EngineConfig.DEFAULT_EVICTION_SAMPLES;

    @Option(names = "--max-siblings", paramLabel = "N",
            description = "Most siblings a versioned key may hold after a VSET, >= 1 (default: ${DEFAULT-VALUE}).")
    int maxSiblings = VersionedCommands.DEFAULT_MAX_SIBLINGS;

    @Option(names = "--io-threads", paramLabel = "N",
            description = "Event-loop threads; 0 = one per core but one, at least one (default: ${DEFAULT-VALUE}).")
    int ioThreads = 0;

    @Option(names = "--maxclients", paramLabel = "N", description = "Most clients at once (default: ${DEFAULT-VALUE}).")
    int maxClients = NetConfig.DEFAULT_MAX_CLIENTS;

    @Option(names = "--proto-max-bulk-len", paramLabel = "SIZE",
            description = "Largest bulk string (value) accepted (default: 64mb).")
    String maxBulk = Long.toString(RespLimits.DEFAULTS.maxBulkLength());

    @Option(names = "--max-multibulk-len", paramLabel = "N",
            description = "Most arguments in one command (default: ${DEFAULT-VALUE}).")
    int maxMultibulk = RespLimits.DEFAULTS.maxMultibulkLength();

    @Option(names = "--max-inline-len", paramLabel = "SIZE",
            description = "Longest inline command (default: 64kb).")
    String maxInline = Integer.toString(RespLimits.DEFAULTS.maxInlineLength());

    @Option(names = "--client-output-buffer-limit", paramLabel = "SIZE",
            description = "Pending reply bytes past which a client is disconnected; 0 = none (default: 256mb).")
    String outputHard = Long.toString(NetConfig.DEFAULT_OUTPUT_BUFFER_HARD);

    @Option(names = "--client-output-buffer-soft", paramLabel = "SIZE",
            description = "Pending reply bytes past which the node stops reading from a client (default: 1mb).")
    String outputSoft = Integer.toString(NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT);

    @Option(names = "--requirepass", paramLabel = "PASSWORD",
            description = "Password of the default user: clients must AUTH before anything else. Visible to other"
                    + " users of this machine in the process list; prefer --requirepass-file.")
    String requirePass;

    @Option(names = "--requirepass-file", paramLabel = "FILE",
            description = "Read the default user's password from FILE (its first line).")
    Path requirePassFile;

    @Option(names = "--aclfile", paramLabel = "FILE",
            description = "Users and their permissions, in Redis's ACL file format; loaded at start, ACL LOAD"
                    + " reloads it and ACL SAVE writes it.")
    Path aclFile;

    @Option(names = "--protected-mode", paramLabel = "yes|no",
            description = "While the default user has no password and the node listens beyond loopback,"
                    + " refuse clients from other hosts (default: ${DEFAULT-VALUE}).")
    String protectedMode = "yes";

    @Option(names = "--tls-port", paramLabel = "PORT", description = "Also serve clients over TLS on this port.")
    Integer tlsPort;

    @Option(names = "--tls-cert-file", paramLabel = "FILE", description = "The node's TLS certificate (PEM).")
    Path tlsCertFile;

    @Option(names = "--tls-key-file", paramLabel = "FILE", description = "The private key of --tls-cert-file (PEM, PKCS#8).")
    Path tlsKeyFile;

    @Option(names = "--tls-ca-cert-file", paramLabel = "FILE",
            description = "CA certificates that sign the clients' certificates (PEM).")
    Path tlsCaCertFile;

    @Option(names = "--tls-auth-clients", paramLabel = "yes|no|optional",
            description = "Whether clients must present a certificate signed by --tls-ca-cert-file (default: ${DEFAULT-VALUE}).")
    String tlsAuthClients = "yes";

    @Option(names = "--tls-protocols", paramLabel = "LIST",
            description = "TLS versions allowed, space-separated, e.g. \"TLSv1.2 TLSv1.3\" (default: the engine's).")
    String tlsProtocols;

    @Option(names = "--tls-ciphers", paramLabel = "LIST",
            description = "TLS 1.2 ciphers allowed, colon-separated, as Redis's tls-ciphers (default: the engine's).")
    String tlsCiphers;

    @Option(names = "--tls-ciphersuites", paramLabel = "LIST",
            description = "TLS 1.3 cipher suites allowed, colon-separated, as Redis's tls-ciphersuites (default: the"
                    + " engine's; BoringSSL's cannot be chosen).")
    String tlsCiphersuites;

    @Option(names = "--tls-clients-only", paramLabel = "yes|no",
            description = "Serve clients on --tls-port only: the plain port then serves peers, and answers a client"
                    + " with an error naming the TLS port (default: ${DEFAULT-VALUE}).")
    String tlsClientsOnly = "no";

    @Option(names = "--tls-cluster", paramLabel = "yes|no|optional",
            description = "Encrypt peer connections with mutual TLS: the node's --tls-cert-file and --tls-key-file,"
                    + " peers' certificates signed by --tls-ca-cert-file; plaintext peers are refused. 'optional', only"
                    + " while switching a running cluster: accept both, dial TLS, fall back to plaintext"
                    + " (default: ${DEFAULT-VALUE}).")
    String tlsCluster = "no";

    @Option(names = "--gossip-key-file", paramLabel = "FILE",
            description = "Encrypt and authenticate gossip with AES-GCM keys from FILE (base64, one a line, the"
                    + " primary first; 16, 24 or 32 bytes each); rotate them with GOSSIPKEY.")
    Path gossipKeyFile;

    @Option(names = "--cluster-secret-file", paramLabel = "FILE",
            description = "Peers must prove they know the secret in FILE (at least 16 bytes) before they are served;"
                    + " the secret itself never crosses the network.")
    Path clusterSecretFile;

    @Option(names = "--test-clock-control", hidden = true,
            description = "Testing only: run on an offset clock and accept DEBUG CLOCK-OFFSET ms.")
    boolean testClockControl;

    /**
     * The configuration options' flags, by the names the configuration records give them, so that a value
     * the records refuse is reported with the flag the user typed.
     */
    private static final Map<String, String> FLAGS = Map.ofEntries(
            Map.entry("port", "PORT"),
            Map.entry("host", "--host"),
            Map.entry("net.host", "--host"),
            Map.entry("ioThreads", "--io-threads"),
            Map.entry("maxClients", "--maxclients"),
            Map.entry("outputBufferSoftBytes", "--client-output-buffer-soft"),
            Map.entry("outputBufferHardBytes", "--client-output-buffer-limit"),
            Map.entry("maxMemoryBytes", "--maxmemory"),
            Map.entry("evictionSamples", "--maxmemory-samples"),
            Map.entry("tombstoneGraceMillis", "--tombstone-grace"),
            Map.entry("engine.tombstoneGraceMillis", "--tombstone-grace"),
            Map.entry("windowMillis", "--hint-window"),
            Map.entry("hints.windowMillis", "--hint-window"),
            Map.entry("maxHints", "--max-hints"),
            Map.entry("maxBytes", "--max-hint-bytes"),
            Map.entry("replayRatePerSecond", "--hint-replay-rate"),
            Map.entry("intervalMillis", "--anti-entropy-interval"),
            Map.entry("antiEntropy.intervalMillis", "--anti-entropy-interval"),
            Map.entry("cpuFraction", "--anti-entropy-cpu"),
            Map.entry("replicationFactor", "--replication-factor"),
            Map.entry("maxClockDriftMillis", "--max-clock-drift"),
            Map.entry("readRepairChance", "--read-repair-chance"),
            Map.entry("replicaTimeoutMillis", "--replica-timeout"),
            Map.entry("readSpeculativeRetryMillis", "--read-speculative-retry"),
            Map.entry("clusterName", "--cluster-name"),
            Map.entry("name", "--cluster-name"),
            Map.entry("probeIntervalMillis", "--probe-interval-ms"),
            Map.entry("probeTimeoutMillis", "--probe-timeout-ms"),
            Map.entry("indirectChecks", "--indirect-checks"),
            Map.entry("suspicionMult", "--suspicion-mult"),
            Map.entry("gossipIntervalMillis", "--gossip-interval-ms"),
            Map.entry("pushPullIntervalMillis", "--push-pull-interval-ms"),
            Map.entry("streamBytesPerSecond", "--stream-throughput"),
            Map.entry("autoRemoveAfterMillis", "--auto-remove-after"),
            Map.entry("rejoinTimeoutMillis", "--rejoin-timeout"),
            Map.entry("seeds", "--seeds"),
            Map.entry("vnodes", "--vnodes"),
            Map.entry("advertise", "--advertise"),
            Map.entry("cluster.advertise", "--advertise"));

    /**
     * Builds the configuration; throws {@link ConfigException} or {@link ParseException} with a message
     * naming the bad value and its flag. The rules themselves are the configuration records'; this only turns text into values.
     */
    NodeConfig config() {
        try {
            return buildConfig();
        } catch (ConfigException e) {
            throw e.renamed(option -> FLAGS.getOrDefault(option, option));
        }
    }

    private NodeConfig buildConfig() {
        List<Address> seeds = new ArrayList<>();
        if (seed != null) {
            seeds.add(seed);
        }
        seeds.addAll(moreSeeds);
        long maxInlineBytes = Sizes.parseBytes(maxInline);
        long softBytes = Sizes.parseBytes(outputSoft);
        ConfigException.require(maxInlineBytes <= Integer.MAX_VALUE, "--max-inline-len", maxInline, "below 2gb");
        ConfigException.require(softBytes <= Integer.MAX_VALUE, "--client-output-buffer-soft", outputSoft, "below 2gb");
        RespLimits limits = new RespLimits(Sizes.parseBytes(maxBulk), maxMultibulk, (int) maxInlineBytes);
        NetConfig net = new NetConfig(host, port, unixSocket, ioThreads, maxClients, (int) softBytes,
                Sizes.parseBytes(outputHard), limits);
        HintConfig hints = new HintConfig(millis("--hint-window", hintWindow), maxHints,
                Sizes.parseBytes(maxHintBytes), hintReplayRate, HintConfig.defaults().replayBatch());
        long antiEntropyMillis = "0".equals(antiEntropyInterval) ? 0 : millis("--anti-entropy-interval", antiEntropyInterval);
        AntiEntropyConfig antiEntropy = AntiEntropyConfig.defaults().withInterval(antiEntropyMillis)
                .withCpuFraction(antiEntropyCpu);
        ReplicationConfig replication = new ReplicationConfig(replicationFactor, level("--read-consistency", readConsistency),
                level("--write-consistency", writeConsistency), sloppyQuorum, millis("--max-clock-drift", maxClockDrift),
                readRepairChance, millis("--replica-timeout", replicaTimeout),
                "0".equals(readSpeculativeRetry) ? 0 : millis("--read-speculative-retry", readSpeculativeRetry));
        EngineConfig engine = new EngineConfig(Sizes.parseBytes(maxMemory), EvictionPolicy.parse(policy),
                millis("--tombstone-grace", tombstoneGrace), samples);
        SwimConfig membership = SwimConfig.lan(clusterName).toBuilder()
                .probeIntervalMillis(probeInterval)
                .probeTimeoutMillis(probeTimeout)
                .indirectChecks(indirectChecks)
                .suspicionMult(suspicionMult)
                .gossipIntervalMillis(gossipInterval)
                .pushPullIntervalMillis(pushPullInterval)
                .build();
        ConfigException.require(maxSiblings >= 1, "--max-siblings", maxSiblings, ">= 1");
        ConfigException.require(streamThroughput >= 0 && !Double.isInfinite(streamThroughput), "--stream-throughput",
                streamThroughput, ">= 0 MiB/s");
        RebalanceConfig rebalance = new RebalanceConfig((long) (streamThroughput * (1 << 20)),
                "0".equals(autoRemoveAfter) ? 0 : millis("--auto-remove-after", autoRemoveAfter),
                RebalanceConfig.DEFAULT_SETTLE_MILLIS,
                "0".equals(rejoinTimeout) ? 0 : millis("--rejoin-timeout", rejoinTimeout));
        PersistConfig persist = yesNo("--appendonly", appendOnly)
                ? PersistConfig.of(fsync(appendFsync)).withTruncateCorrupt(repairLog) : PersistConfig.inMemory();
        Path dir = dataDir;
        if (dir == null && port != 0) {
            dir = Path.of(DEFAULT_DATA_DIR, Integer.toString(port));
        } else if (dir == null) {
            persist = PersistConfig.inMemory(); // a port picked at start has no directory of its own to come back to
        }
        return new NodeConfig(net, engine,
                new ClusterConfig(clusterName, seeds, advertise, vnodes, dir, membership, replication, hints,
                        antiEntropy, rebalance), persist, security(), maxSiblings);
    }

    private SecurityConfig security() {
        String password = requirePass;
        if (requirePassFile != null) {
            if (password != null) {
                throw new ParseException("--requirepass and --requirepass-file: give the password one way only");
            }
            try {
                List<String> lines = Files.readAllLines(requirePassFile);
                password = lines.isEmpty() ? "" : lines.get(0);
            } catch (IOException e) {
                throw new ParseException("--requirepass-file: cannot read " + requirePassFile + ": "
                        + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
            }
            if (password.isEmpty()) {
                throw new ParseException("--requirepass-file: " + requirePassFile + " has no password on its first line");
            }
        }
        if (password != null && aclFile != null) {
            throw new ParseException("--requirepass and --aclfile: set the default user's password in the ACL file instead");
        }
        return new SecurityConfig(password, aclFile, yesNo("--protected-mode", protectedMode), tls(), gossipKeyFile, clusterSecretFile,
                clusterTls());
    }

    private TlsConfig tls() {
        boolean clientsOnly = yesNo("--tls-clients-only", tlsClientsOnly);
        if (tlsPort == null) {
            if (clientsOnly) {
                throw new ParseException("--tls-clients-only yes needs --tls-port (the port that then serves clients)");
            }
            if ((tlsCertFile != null || tlsKeyFile != null || tlsCaCertFile != null)
                    && clusterTlsMode().equals("no")) {
                throw new ParseException("--tls-cert-file, --tls-key-file and --tls-ca-cert-file need --tls-port"
                        + " or --tls-cluster yes|optional");
            }
            return null;
        }
        if (tlsPort != 0 && tlsPort == port) {
            throw new ParseException("--tls-port " + tlsPort + " is the port that serves plaintext clients: give TLS a"
                    + " port of its own (0 picks a free one)");
        }
        try {
            return new TlsConfig(tlsPort, tlsCertFile, tlsKeyFile, tlsCaCertFile,
                    TlsConfig.ClientAuth.parse(tlsAuthClients), TlsFiles.protocols(tlsProtocols), engineCiphers(),
                    clientsOnly);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new ParseException(e.getMessage());
        }
    }

    /** The one cipher list the TLS engine takes, from {@code --tls-ciphers} and {@code --tls-ciphersuites}. */
    private List<String> engineCiphers() {
        if (tlsCiphers == null && tlsCiphersuites == null) {
            return List.of(); // the engine's defaults, without loading it to ask which it is
        }
        return TlsFiles.ciphers(tlsCiphers, tlsCiphersuites,
                io.netty.handler.ssl.OpenSsl.isAvailable(), Main::jdkTls12Ciphers);
    }

    /** The JDK TLS engine's default ciphers but TLS 1.3's. */
    private static List<String> jdkTls12Ciphers() {
        try {
            return java.util.Arrays.stream(javax.net.ssl.SSLContext.getDefault().getDefaultSSLParameters()
                    .getCipherSuites()).filter(c -> !TlsFiles.TLS13_SUITES.contains(c)).toList();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no default TLS context", e);
        }
    }

    /** {@code --tls-cluster}, checked: "yes", "no" or "optional". */
    private String clusterTlsMode() {
        String mode = tlsCluster.toLowerCase(java.util.Locale.ROOT);
        if (!mode.equals("yes") && !mode.equals("no") && !mode.equals("optional")) {
            throw new ParseException("--tls-cluster: '" + tlsCluster + "' is not yes, no or optional");
        }
        return mode;
    }

    /** Peer TLS from the node's TLS files with {@code --tls-cluster yes} or {@code optional}; null with {@code no}. */
    private PeerTlsConfig clusterTls() {
        String mode = clusterTlsMode();
        if (mode.equals("no")) {
            return null;
        }
        try {
            return new PeerTlsConfig(tlsCertFile, tlsKeyFile, tlsCaCertFile, TlsFiles.protocols(tlsProtocols),
                    engineCiphers(),
                    mode.equals("optional"));
        } catch (IllegalArgumentException e) {
            throw new ParseException(e.getMessage());
        }
    }

    /** Where a node keeps its data without {@code --data-dir}: {@code data/PORT} under the working directory. */
    static final String DEFAULT_DATA_DIR = "data";

    private static boolean yesNo(String option, String text) {
        return switch (text.toLowerCase(java.util.Locale.ROOT)) {
            case "yes" -> true;
            case "no" -> false;
            default -> throw new ParseException(option + ": '" + text + "' is not yes or no");
        };
    }

    private static AppendFsync fsync(String text) {
        for (AppendFsync f : AppendFsync.values()) {
            if (f.redisName().equalsIgnoreCase(text)) {
                return f;
            }
        }
        throw new ParseException("--appendfsync: '" + text + "' is not always, everysec or no");
    }

    private static long millis(String option, String text) {
        try {
            return Durations.parse(text).toMillis();
        } catch (ParseException e) {
            throw new ParseException(option + ": " + e.getMessage());
        }
    }

    private static ConsistencyLevel level(String option, String text) {
        try {
            return ConsistencyLevel.parse(text);
        } catch (ParseException e) {
            throw new ParseException(option + ": " + e.getMessage());
        }
    }

    @Override
    public Integer call() throws Exception {
        NodeConfig config = config();
        quietLeakDetection();
        Clock clock = testClockControl ? new OffsetClock(Clock.SYSTEM) : Clock.SYSTEM;
        // Beside recovery, which keeps one core busy for as long as the data directory takes to load, what
        // the start needs that does not depend on it: the JVM's management classes (the startup line reads
        // them, and the soft heap bound below) and the native transport's library. The bound itself is set
        // after recovery, which makes garbage faster than a node serving does.
        CompletableFuture<String> beside = new CompletableFuture<>();
        DaemonThreads.start("trellis-start", () -> {
            try {
                RespServer.loadTransport();
                beside.complete(jvmSummary());
            } catch (RuntimeException | Error e) {
                beside.completeExceptionally(e);
            }
        });
        Node node = new Node(config, clock); // ConfigException: bad data directory
        log.info("JVM: {}", beside.join());
        String soft = softenHeap(config.engine());
        if (soft != null) {
            log.info("Heap: {}", soft);
        }
        node.onDecommissioned(() -> new Thread(() -> {
            log.info("Decommissioned: every range handed over; exiting");
            System.exit(0); // the shutdown hook closes the node, which announces LEFT
        }, "trellis-decommissioned").start());
        try {
            node.start();
        } catch (IOException e) {
            node.close();
            System.err.println("trellis: " + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("Shutting down");
            node.close();
            log.info("Stopped");
            stopped.countDown();
        }, "trellis-shutdown"));
        stopped.await();
        return 0;
    }

    /** The JVM the node runs on, for its startup log: "Temurin 25.0.3, ZGC (generational), max heap 2.0 GiB". */
    static String jvmSummary() {
        String vendorVersion = System.getProperty("java.vendor.version"); // "Temurin-25.0.3+9"; unset in some builds
        String vendor = vendorVersion != null && vendorVersion.indexOf('-') > 0
                ? vendorVersion.substring(0, vendorVersion.indexOf('-')) : System.getProperty("java.vendor");
        List<String> gcs = ManagementFactory.getGarbageCollectorMXBeans().stream()
                .map(MemoryManagerMXBean::getName).toList();
        String gc = gcs.stream().anyMatch(n -> n.startsWith("ZGC Minor")) ? "ZGC (generational)"
                : gcs.stream().anyMatch(n -> n.startsWith("ZGC")) ? "ZGC"
                : gcs.stream().anyMatch(n -> n.startsWith("G1")) ? "G1"
                : gcs.stream().anyMatch(n -> n.startsWith("PS ")) ? "Parallel"
                : gcs.stream().anyMatch(n -> n.startsWith("Shenandoah")) ? "Shenandoah"
                : gcs.contains("MarkSweepCompact") ? "Serial" : String.join("/", gcs);
        long maxHeap = Runtime.getRuntime().maxMemory();
        try {
            maxHeap = Long.parseLong(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .getVMOption("MaxHeapSize").getValue()); // exact -Xmx; maxMemory() leaves out a survivor space
        } catch (RuntimeException e) {
            // not HotSpot: keep maxMemory()
        }
        String heap = maxHeap >= (1L << 30) ? String.format(Locale.ROOT, "%.1f GiB", maxHeap / (double) (1L << 30))
                : (maxHeap >> 20) + " MiB";
        return vendor + " " + System.getProperty("java.version") + ", " + gc + ", max heap " + heap
                + (classDataArchive() ? ", class-data archive" : "");
    }

    /** True when the JVM maps the classes from an archive of the application's (bin/trellis makes one). */
    private static boolean classDataArchive() {
        try {
            String archive = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .getVMOption("SharedArchiveFile").getValue();
            return !archive.isEmpty() && System.getProperty("java.vm.info", "").contains("sharing");
        } catch (RuntimeException e) {
            return false; // not HotSpot
        }
    }

    /**
     * Turns Netty's buffer leak detection off unless {@code -Dio.netty.leakDetection.level} asks for a level.
     * By default Netty tracks one buffer in 128, each with a stack trace taken when it is allocated: on the
     * node that coordinates a replicated write, which allocates a buffer per peer batch and per burst of
     * replies, that was 1.6 % of its CPU, and garbage besides (docs/BENCHMARKS.md, "Leak detection and
     * proactive collections"). The test suite runs with Netty's default, where a leak is reported; an
     * operator chasing one sets the property in {@code TRELLIS_JAVA_OPTS}.
     */
    static void quietLeakDetection() {
        if (System.getProperty("io.netty.leakDetection.level") == null
                && System.getProperty("io.netty.leakDetectionLevel") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
    }

    /**
     * Heap the JVM may keep committed beyond the engine's needs, below which a soft bound is not set. It was
     * 128 MiB while the node ran from one shaded jar: the JVM holds that jar's central directory (340 KB)
     * as one array, over ZGC's 256 KB limit for small objects, so a 32 MB medium page, almost all of it
     * never touched, sat in the old generation and counted against the bound. 96 MiB of real pages is
     * what those 128 MiB were (bytes per key unchanged: docs/BENCHMARKS.md, "One jar per library").
     */
    private static final long SOFT_HEAP_BASE = 96L << 20;

    /**
     * With off-heap slabs the heap holds only the engine's index (about a ninth of the accounted memory)
     * and short-lived request garbage. Left alone, ZGC lets the heap grow toward the maximum before it
     * collects, and the uncollected garbage is resident memory: loading 1,000,000 keys of 100 bytes cost
     * about 440 bytes of RSS a key, against about 170 with a soft bound (docs/BENCHMARKS.md). So, unless
     * the command line set it, {@code SoftMaxHeapSize} becomes 96 MiB + a quarter of {@code --maxmemory}
     * (just 96 MiB without a bound), never above the maximum heap. A soft bound: the collector works
     * harder to stay under it but lets the heap grow past it when the live data needs more. Collectors
     * that ignore the flag (G1, Parallel, Serial) are unaffected. Returns what was done, or null.
     */
    static String softenHeap(EngineConfig engine) {
        if (!engine.offHeapSlabs()) {
            return null;
        }
        try {
            HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            com.sun.management.VMOption.Origin origin = hotspot.getVMOption("SoftMaxHeapSize").getOrigin();
            if (origin != com.sun.management.VMOption.Origin.DEFAULT
                    && origin != com.sun.management.VMOption.Origin.ERGONOMIC) {
                return null; // set on the command line (or by a tool): theirs
            }
            long maxHeap = Long.parseLong(hotspot.getVMOption("MaxHeapSize").getValue());
            long soft = Math.min(maxHeap, SOFT_HEAP_BASE + engine.maxMemoryBytes() / 4);
            hotspot.setVMOption("SoftMaxHeapSize", Long.toString(soft));
            return "off-heap slabs; SoftMaxHeapSize " + (soft >> 20) + " MiB (max heap " + (maxHeap >> 20) + " MiB)";
        } catch (RuntimeException e) { // not HotSpot, or a JVM without the flag
            return null;
        }
    }

    public static void main(String[] args) {
        CommandLine cli = commandLine(new Main());
        cli.setParameterExceptionHandler((ex, a) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("trellis: " + ex.getMessage() + " (see trellis --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (ex instanceof ConfigException || ex instanceof ParseException) {
                c.getErr().println("trellis: " + ex.getMessage());
                return 2;
            }
            log.error("Node failed", ex);
            c.getErr().println("trellis: " + ex);
            return 1;
        });
        System.exit(cli.execute(args));
    }

    /** The command line of {@code main}, reading seeds as {@link Address}es. */
    static CommandLine commandLine(Main main) {
        return new CommandLine(main).registerConverter(Address.class, text -> {
            try {
                return Address.parse(text);
            } catch (ParseException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        });
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"trellis " + BuildInfo.version()};
        }
    }
}
