package io.trelliskv.node;

import io.trelliskv.cluster.Cluster;
import io.trelliskv.cluster.ClusterCommands;
import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.cluster.ClusterState;
import io.trelliskv.cluster.RebalanceCommands;
import io.trelliskv.cluster.RepairCommands;
import io.trelliskv.cluster.ReplicationCommands;
import io.trelliskv.command.CommandCategories;
import io.trelliskv.command.CommandTable;
import io.trelliskv.command.DebugCommands;
import io.trelliskv.command.KeyCommands;
import io.trelliskv.command.StringCommands;
import io.trelliskv.command.VersionedCommands;
import io.trelliskv.common.Clock;
import io.trelliskv.common.ConfigException;
import io.trelliskv.common.DaemonThreads;
import io.trelliskv.common.OffsetClock;
import io.trelliskv.datadir.DataDirectory;
import io.trelliskv.datadir.KnownMembers;
import io.trelliskv.datadir.NodeIdentity;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.NetConfig;
import io.trelliskv.net.RespServer;
import io.trelliskv.net.ServerTls;
import io.trelliskv.net.peer.PeerConfig;
import io.trelliskv.net.peer.PeerTls;
import io.trelliskv.persist.CorruptLogException;
import io.trelliskv.persist.Durability;
import io.trelliskv.persist.Persistence;
import io.trelliskv.persist.Recovery;
import io.trelliskv.request.Dispatcher;
import io.trelliskv.security.Acl;
import io.trelliskv.security.AclException;
import io.trelliskv.security.AuthThrottle;
import io.trelliskv.security.GossipKeyring;
import io.trelliskv.security.PeerAuthenticator;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One TrellisKV node: wires the clock, the hybrid logical clock, the storage engine and its data on disk
 * ({@link Persistence}: recovered before anything else is built, so the node never serves a half-loaded
 * engine), the command table, the network server and the node's part in the cluster ({@link Cluster}:
 * membership, ring tokens, request routing), and runs the node's periodic background work (active
 * expiry, statistics sampling, the snapshot check) on one small scheduler thread of its own — never on
 * an event loop.
 *
 * <p>Constructing a node builds everything but binds nothing, so tests can drive the command layer
 * through an embedded channel (every command then runs locally); {@link #start()} opens the ports and
 * joins the cluster.
 */
public final class Node implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Node.class);

    /** Background cycles per second, as Redis's {@code hz}. */
    static final int HZ = 10;
    /** Share of each background cycle that active expiry may spend, as Redis's slow expire cycle. */
    private static final int EXPIRE_CYCLE_PERCENT = 25;

    private final NodeConfig config;
    private final Clock clock;
    private final long nodeId;
    /** The versioned-key commands, for their INFO counter. */
    private final VersionedCommands versioned;
    private final long startMillis;
    private final Engine engine;
    private final Hlc hlc;
    private final ClientRegistry clients;
    private final Dispatcher dispatcher;
    /** {@code --protected-mode}, or what {@code CONFIG SET protected-mode} set since: what {@code CONFIG GET} answers. */
    private volatile boolean protectedMode;
    /** The node's users (AUTH, ACL); the default user alone, open to all, unless configured otherwise. */
    private final Acl acl;
    /** TLS for clients on the TLS port, or null without one. */
    private final ServerTls tls;
    /** Mutual TLS on peer connections ({@code --tls-cluster yes}); null for plaintext peers. */
    private final PeerTls peerTls;
    /** Failed logins per client host (INFO acl_auth_throttled). */
    private final AuthThrottle authThrottle = new AuthThrottle();
    /** The gossip keyring and its file, or null for gossip in the clear. */
    private final GossipKeys gossipKeys;
    private final OpsSampler opsSampler;
    private final ClusterState clusterState;
    private final NodeIdentity identity;
    /** What the node kept in its data directory, and the directory's lock (a no-op without one). */
    private final Restored restored;
    private final Cluster cluster;
    /** The node's data on disk; null with {@code --appendonly no}. */
    private final Persistence persistence;
    private ScheduledExecutorService background;
    private RespServer server;
    private volatile Runnable onDecommissioned = () -> {
        Thread t = new Thread(this::close, "trellis-decommissioned");
        t.start();
    };

    /**
     * Builds a node; nothing is bound until {@link #start()}.
     *
     * @throws ConfigException if the data directory cannot be read or belongs to another cluster
     */
    public Node(NodeConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
        this.restored = restore(config.cluster());
        this.identity = restored.identity();
        this.nodeId = identity.nodeId();
        this.clusterState = new ClusterState(nodeId, config.cluster().replication().replicationFactor());
        this.startMillis = clock.millis();
        this.hlc = new Hlc(clock);
        Persistence.Deferred journal = Persistence.deferred();
        this.engine = new MemoryEngine(config.engine(), clock, hlc, nodeId, journal);
        try {
            this.persistence = openPersistence(config, clock, engine, journal);
        } catch (RuntimeException e) {
            restored.release().run();
            throw e;
        }
        Durability durability = persistence != null ? persistence : Durability.NONE;
        this.clients = new ClientRegistry(config.net().maxClients());
        CommandTable table = new CommandTable();
        this.acl = new Acl(new CommandCategories(table));
        this.tls = openTls(config.security());
        this.peerTls = openPeerTls(config.security());
        this.gossipKeys = config.security().gossipKeyFile() == null ? null : GossipKeys.load(config.security().gossipKeyFile());
        this.protectedMode = config.security().protectedMode();
        this.dispatcher = new Dispatcher(table, engine, clock, config.engine().maxMemoryBytes() > 0, durability, acl,
                protectedMode && !listensOnLoopbackOnly(config.net().host()));
        this.opsSampler = new OpsSampler(clock);
        new StringCommands(engine, clock, config.net().limits().maxBulkLength()).registerInto(table);
        new KeyCommands(engine, clock).registerInto(table);
        this.versioned = new VersionedCommands(engine, clock, nodeId, config.maxSiblings(), config.engine().tombstoneGraceMillis());
        versioned.registerInto(table);
        NetConfig net = config.net();
        this.cluster = new Cluster(config.cluster(), identity, restored.known(), net.host(), net.port(),
                PeerConfig.defaults(config.cluster().name())
                        .withMaxFrameLength(PeerConfig.frameLengthFor(net.limits()))
                        .withAuthenticator(peerAuthenticator(config.security(), clock))
                        .withTls(peerTls),
                clock, dispatcher, clusterState, engine, hlc, durability,
                persistence != null && persistence.keptData(), () -> onDecommissioned.run(),
                gossipKeys == null ? null : gossipKeys.keyring());
        AclCommands aclCommands = new AclCommands(acl, table, config.security(), clock, authThrottle, clients);
        aclCommands.registerInto(table);
        new ServerCommands(this, aclCommands).registerInto(table);
        if (gossipKeys != null) {
            gossipKeys.registerInto(table);
        }
        new PersistenceCommands(persistence, startMillis).registerInto(table);
        new ClusterCommands(clusterState).registerInto(table);
        new ReplicationCommands(config.cluster().replication(), clusterState, cluster).registerInto(table);
        new RepairCommands(cluster).registerInto(table);
        new RebalanceCommands(cluster).registerInto(table);
        if (clock instanceof OffsetClock offsetClock) {
            new DebugCommands(offsetClock, engine).registerInto(table);
        }
        // Last: an ACL file's command rules (+get, -acl|setuser) name commands, known only once registered.
        loadUsers(acl, config.security());
    }

    /**
     * What to do when a decommission has handed every range over; by default the node closes (which
     * announces LEFT). The server's main exits the process instead.
     */
    public void onDecommissioned(Runnable action) {
        this.onDecommissioned = action;
    }

    /**
     * What a node keeps across restarts, read from its data directory at start.
     *
     * @param identity its id, cluster and tokens
     * @param known    the members it knew, to rejoin through without seeds
     * @param release  releases the data directory's lock
     */
    private record Restored(NodeIdentity identity, KnownMembers known, Runnable release) {
    }

    private static Restored restore(ClusterConfig cluster) {
        if (cluster.dataDir() == null) {
            return new Restored(NodeIdentity.fresh(cluster.name()), KnownMembers.none(), () -> { });
        }
        DataDirectory dir;
        try {
            dir = DataDirectory.open(cluster.dataDir());
        } catch (IOException e) {
            throw ConfigException.unusable("--data-dir", cluster.dataDir(), e.getMessage());
        }
        try {
            NodeIdentity id = NodeIdentity.loadOrCreate(dir.path(), cluster.name());
            id.save(dir.path());
            return new Restored(id, KnownMembers.load(dir.path()), dir::close);
        } catch (IOException e) {
            dir.close();
            throw ConfigException.unusable("--data-dir", cluster.dataDir(), e.getMessage());
        }
    }

    /** The directory under the data directory that holds the log and the snapshots. */
    public static final String LOG_DIR = "log";

    /**
     * Recovers the node's data into the engine and opens its log, or returns null for a node that keeps
     * its data in memory only. Says where the data is and what was loaded.
     *
     * @throws ConfigException if the log is damaged (naming the file and offset) or cannot be read or written
     */
    private static Persistence openPersistence(NodeConfig config, Clock clock, Engine engine,
                                               Persistence.Deferred journal) {
        if (!config.persist().appendOnly()) {
            if (config.cluster().dataDir() != null) {
                log.info("Data directory {}: the node's identity and members only (--appendonly no: data in memory)",
                        config.cluster().dataDir());
            }
            return null;
        }
        Path dir = config.cluster().dataDir().resolve(LOG_DIR);
        Persistence p;
        try {
            p = Persistence.open(dir, config.persist(), clock, engine, journal);
        } catch (CorruptLogException e) {
            throw ConfigException.unusable("--data-dir", config.cluster().dataDir(), "the log is damaged: "
                    + e.getMessage() + "; start with --repair-log to cut it there, dropping what follows");
        } catch (IOException | UncheckedIOException e) {
            throw ConfigException.unusable("--data-dir", config.cluster().dataDir(), e.getMessage());
        }
        Recovery.Report r = p.recovered();
        log.info("Data directory {} (appendonly yes, appendfsync {}): loaded {} records ({} from {}, {} from {} log"
                        + " segments) in {} ms; {} keys", config.cluster().dataDir(), config.persist().fsync().redisName(),
                r.records(), r.snapshotRecords(), r.snapshot() == null ? "no snapshot" : r.snapshot().getFileName(),
                r.logRecords(), r.segmentsReplayed(), TimeUnit.NANOSECONDS.toMillis(r.nanos()), engine.size());
        return p;
    }

    /** Binds the ports and starts background work. */
    public void start() throws IOException {
        NetConfig net = config.net();
        server = new RespServer(net, dispatcher, clients, clock, cluster.acceptor(), tls);
        if (!restored.known().joinTargets(config.cluster().seeds()).isEmpty()) {
            dispatcher.joining(true); // cleared by the cluster once a seed (or a member known) has answered
        }
        server.bind(); // clients wait in the backlog until membership lists this node: MEMBERS shows it from the first
        try {
            cluster.start(server.address(), server.ioGroup());
        } catch (IOException e) {
            close();
            throw e;
        }
        server.accept();
        background = Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("trellis-background"));
        long periodMillis = 1000 / HZ;
        long budgetNanos = TimeUnit.MILLISECONDS.toNanos(periodMillis) * EXPIRE_CYCLE_PERCENT / 100;
        // One timer for the two tasks of every cycle, as Redis's serverCron: each wake-up of an idle node's
        // thread costs more than either task, and the sampler times its own intervals.
        background.scheduleWithFixedDelay(() -> {
            runSafely("active expiry", () -> engine.expireCycle(budgetNanos));
            runSafely("stats sampling", () -> opsSampler.sample(dispatcher.stats().commandsProcessed()));
        }, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
        if (persistence != null) {
            background.scheduleWithFixedDelay(() -> runSafely("snapshot check", persistence::maybeSnapshot),
                    1, 1, TimeUnit.SECONDS);
        }
        log.info("Node {} ready on port {}", Long.toHexString(nodeId), server.address().getPort());
        if (dispatcher.protectedMode() && !acl.authRequired()) {
            log.warn("Protected mode: listening on {} with no password for the default user, so clients from other"
                    + " hosts are refused; set one (--requirepass-file) or start with --protected-mode no",
                    config.net().host());
        }
        if (gossipKeys != null && config.security().clusterSecretFile() == null) {
            // Gossip's datagrams are sealed, but membership also travels in the periodic push-pull, over a peer
            // connection: without the secret anyone who reaches the port could read or join it there.
            log.warn("--gossip-key-file without --cluster-secret-file: gossip datagrams are sealed, but peer"
                    + " connections, the membership push-pull among them, are open to any node that reaches this port;"
                    + " give both");
        }
    }

    private static void runSafely(String what, Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            log.error("Background task '{}' failed; it will run again next cycle", what, e);
        }
    }

    /** Stops serving: closes the ports and connections, then stops background work. */
    @Override
    public void close() {
        cluster.close(); // announce LEFT first, so peers stop routing here
        if (server != null) {
            server.close();
        }
        if (background != null) {
            background.shutdownNow();
        }
        if (persistence != null) {
            persistence.close(); // writes and forces what is queued
        }
        engine.close();
        restored.release().run();
    }

    public NodeConfig config() {
        return config;
    }

    public Clock clock() {
        return clock;
    }

    public long nodeId() {
        return nodeId;
    }

    public long startMillis() {
        return startMillis;
    }

    public Engine engine() {
        return engine;
    }

    /** The node's data on disk, or null with {@code --appendonly no}. */
    public Persistence persistence() {
        return persistence;
    }

    public ClientRegistry clients() {
        return clients;
    }

    /**
     * Sets up the users a node starts with: the ACL file's, or the default user with {@code --requirepass}'s
     * password, or (nothing to do) the default user open to all.
     */
    private static void loadUsers(Acl acl, SecurityConfig security) {
        if (security.aclFile() != null) {
            try {
                acl.load(security.aclFile().toString(), Files.readAllLines(security.aclFile()));
            } catch (IOException e) {
                throw ConfigException.unusable("--aclfile", security.aclFile(),
                        e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
            } catch (AclException e) {
                throw ConfigException.unusable("--aclfile", security.aclFile(), e.getMessage());
            }
        } else if (security.requirePass() != null) {
            acl.requirePassword(security.requirePass());
        }
    }

    /** The cluster secret's prover and checker, or null without {@code --cluster-secret-file}. */
    private static PeerAuthenticator peerAuthenticator(SecurityConfig security, Clock clock) {
        Path file = security.clusterSecretFile();
        if (file == null) {
            return null;
        }
        byte[] secret;
        try {
            secret = Files.readString(file).strip().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw ConfigException.unusable("--cluster-secret-file", file, e.getMessage() == null ? e.toString() : e.getMessage());
        }
        try {
            return new PeerAuthenticator(secret, clock);
        } catch (IllegalArgumentException e) {
            throw ConfigException.unusable("--cluster-secret-file", file, e.getMessage());
        }
    }

    private static ServerTls openTls(SecurityConfig security) {
        if (security.tls() == null) {
            return null;
        }
        try {
            return new ServerTls(security.tls());
        } catch (IllegalArgumentException e) {
            throw ConfigException.unusable("--tls-cert-file", security.tls().certFile(), e.getMessage());
        }
    }

    private static PeerTls openPeerTls(SecurityConfig security) {
        if (security.clusterTls() == null) {
            return null;
        }
        try {
            PeerTls peerTls = new PeerTls(security.clusterTls());
            log.info("Peer connections under mutual TLS ({}; peers' certificates must be signed by {})",
                    ServerTls.engine(), security.clusterTls().caCertFile());
            return peerTls;
        } catch (IllegalArgumentException e) {
            throw ConfigException.unusable("--tls-cluster", security.clusterTls().optional() ? "optional" : "yes",
                    e.getMessage());
        }
    }

    /** Mutual TLS on peer connections, for INFO; null with {@code --tls-cluster no}. */
    public PeerTls peerTls() {
        return peerTls;
    }

    /** The gossip keyring, or null for gossip in the clear (INFO's drop counters). */
    public GossipKeyring gossipKeyring() {
        return gossipKeys == null ? null : gossipKeys.keyring();
    }

    /** TLS for clients, for certificate rotation (CONFIG SET tls-cert-file ...); null without a TLS port. */
    public ServerTls tls() {
        return tls;
    }

    /** The bound TLS address, or null without a TLS port or before start. */
    public InetSocketAddress tlsAddress() {
        return server == null ? null : server.tlsAddress();
    }

    /**
     * Sets protected mode ({@code CONFIG SET protected-mode}): in force while set and the node listens beyond
     * loopback, as at start.
     */
    public void protectedMode(boolean on) {
        protectedMode = on;
        dispatcher.protectedMode(on && !listensOnLoopbackOnly(config.net().host()));
    }

    /** Protected mode as set, at start or since by {@code CONFIG SET}, whether or not the address puts it in force. */
    public boolean protectedMode() {
        return protectedMode;
    }

    /** True for an address only this host can reach: a loopback address or name. */
    static boolean listensOnLoopbackOnly(String host) {
        if (host.equals("localhost")) {
            return true;
        }
        try {
            return java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    public Acl acl() {
        return acl;
    }

    public Dispatcher dispatcher() {
        return dispatcher;
    }

    ClusterState clusterState() {
        return clusterState;
    }

    Hlc hlc() {
        return hlc;
    }

    /** The node's part in the cluster; its member exists once {@link #start()} has run. */
    Cluster cluster() {
        return cluster;
    }

    OpsSampler opsSampler() {
        return opsSampler;
    }

    /** What INFO reads of this node: its settings, counters and read-only views, not the node itself. */
    Info.Sources infoSources() {
        return new Info.Sources(clock, startMillis, config, nodeId,
                () -> address() == null ? config.net().port() : address().getPort(), this::nativeTransport, clients,
                engine, opsSampler, dispatcher.stats(), dispatcher.table(), dispatcher::router, clusterState, cluster,
                persistence, acl, gossipKeyring(), authThrottle, dispatcher::joining, versioned::siblingLimitRefused,
                peerTls, cluster.acceptor().config().authenticator());
    }

    /** The bound TCP address; null before {@link #start()}. */
    public InetSocketAddress address() {
        return server == null ? null : server.address();
    }

    /** Whether the native epoll transport is in use; false before start. */
    public boolean nativeTransport() {
        return server != null && server.nativeTransport();
    }
}
