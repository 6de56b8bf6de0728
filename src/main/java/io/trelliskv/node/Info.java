package io.trelliskv.node;

import io.trelliskv.cluster.ClusterInfo;
import io.trelliskv.cluster.ClusterState;
import io.trelliskv.command.Args;
import io.trelliskv.command.CommandSpec;
import io.trelliskv.command.CommandTable;
import io.trelliskv.common.Clock;
import io.trelliskv.common.Sizes;
import io.trelliskv.membership.MemberState;
import io.trelliskv.net.ClientRegistry;
import io.trelliskv.net.peer.PeerTls;
import io.trelliskv.persist.Persistence;
import io.trelliskv.persist.Recovery;
import io.trelliskv.persist.WriteAheadLog;
import io.trelliskv.repair.AntiEntropy;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.repair.AntiEntropyService;
import io.trelliskv.replication.Coordinator;
import io.trelliskv.replication.HintStats;
import io.trelliskv.replication.ReplicaService;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.request.RequestStats;
import io.trelliskv.request.Router;
import io.trelliskv.security.Acl;
import io.trelliskv.security.AuthThrottle;
import io.trelliskv.security.PeerAuthenticator;
import io.trelliskv.security.GossipKeyring;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.EngineStats;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The INFO command's report, in Redis's format: {@code # Section} headers and {@code field:value}
 * lines. Sections: server, clients, memory, persistence, stats, cluster, replication, anti_entropy, keyspace (the default set)
 * and commandstats
 * ({@code all} / {@code everything}). Section names are case-insensitive; unknown ones print nothing.
 */
public final class Info {

    private static final List<String> DEFAULT_SECTIONS = List.of("server", "clients", "memory", "persistence", "stats",
            "cluster", "replication", "anti_entropy", "keyspace");
    private static final List<String> ALL_SECTIONS = List.of("server", "clients", "memory", "persistence", "stats",
            "commandstats", "cluster", "replication", "anti_entropy", "keyspace");

    /**
     * What INFO reads, and nothing else of the node: settings, counters and read-only views. The engine
     * is read for its sizes and statistics only.
     */
    record Sources(Clock clock, long startMillis, NodeConfig config, long nodeId, IntSupplier port,
                   BooleanSupplier nativeTransport, ClientRegistry clients, Engine engine, OpsSampler ops,
                   RequestStats requests, CommandTable table, Supplier<Router> router, ClusterState state,
                   ClusterInfo cluster, Persistence persistence, Acl acl, GossipKeyring gossipKeyring,
                   AuthThrottle authThrottle, BooleanSupplier joining, LongSupplier siblingLimitRefused,
                   PeerTls peerTls, PeerAuthenticator peerAuth) {
    }

    private final Sources source;

    Info(Sources sources) {
        this.source = sources;
    }

    /** Renders the sections named by {@code args[1..]} (INFO's arguments). */
    String render(byte[][] args) {
        Set<String> sections = new LinkedHashSet<>();
        if (args.length == 1) {
            sections.addAll(DEFAULT_SECTIONS);
        }
        for (int i = 1; i < args.length; i++) {
            String s = Args.str(args[i]).toLowerCase(Locale.ROOT);
            switch (s) {
                case "default" -> sections.addAll(DEFAULT_SECTIONS);
                case "all", "everything" -> sections.addAll(ALL_SECTIONS);
                default -> sections.add(s);
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String s : ALL_SECTIONS) {
            if (sections.contains(s)) {
                if (sb.length() > 0) {
                    sb.append("\r\n");
                }
                section(s, sb);
            }
        }
        return sb.toString();
    }

    private void section(String name, StringBuilder sb) {
        switch (name) {
            case "server" -> server(sb);
            case "clients" -> clients(sb);
            case "memory" -> memory(sb);
            case "persistence" -> persistence(sb);
            case "stats" -> stats(sb);
            case "commandstats" -> commandstats(sb);
            case "cluster" -> cluster(sb);
            case "replication" -> replication(sb);
            case "anti_entropy" -> antiEntropy(sb);
            case "keyspace" -> keyspace(sb);
            default -> throw new IllegalStateException("no section " + name);
        }
    }

    private static void line(StringBuilder sb, String field, Object value) {
        sb.append(field).append(':').append(value).append("\r\n");
    }

    private void server(StringBuilder sb) {
        sb.append("# Server\r\n");
        long uptime = Math.max(0, (source.clock().millis() - source.startMillis()) / 1000);
        NodeConfig cfg = source.config();
        line(sb, "redis_version", ServerCommands.REDIS_COMPAT_VERSION);
        line(sb, "trellis_version", BuildInfo.version());
        line(sb, "redis_mode", "standalone");
        line(sb, "node_id", Long.toHexString(source.nodeId()));
        line(sb, "os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        line(sb, "arch_bits", "64");
        line(sb, "java_version", Runtime.version());
        line(sb, "process_id", ProcessHandle.current().pid());
        line(sb, "tcp_port", source.port().getAsInt());
        line(sb, "unix_socket", cfg.net().unixSocket() == null ? "" : cfg.net().unixSocket());
        line(sb, "transport", source.nativeTransport().getAsBoolean() ? "epoll" : "nio");
        line(sb, "io_threads", cfg.net().eventLoopThreads());
        line(sb, "uptime_in_seconds", uptime);
        line(sb, "uptime_in_days", uptime / 86400);
        line(sb, "hz", Node.HZ);
    }

    private void clients(StringBuilder sb) {
        sb.append("# Clients\r\n");
        line(sb, "connected_clients", source.clients().connected());
        // peer connections accepted by this node: they count against maxclients with the clients
        line(sb, "connected_peers", source.clients().connectedPeers());
        line(sb, "maxclients", source.clients().maxClients());
        // yes when the plain port serves peers only and clients must use the TLS port (--tls-clients-only)
        var tls = source.config().security().tls();
        line(sb, "tls_clients_only", tls != null && tls.clientsOnly() ? "yes" : "no");
    }

    private void memory(StringBuilder sb) {
        sb.append("# Memory\r\n");
        Engine engine = source.engine();
        long used = engine.usedMemory();
        long max = source.config().engine().maxMemoryBytes();
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        long rss = residentSetBytes();
        line(sb, "used_memory", used);
        line(sb, "used_memory_human", Sizes.human(used));
        line(sb, "used_memory_rss", rss);
        line(sb, "used_memory_rss_human", Sizes.human(rss));
        line(sb, "used_memory_heap", heap.getUsed());
        line(sb, "used_memory_heap_human", Sizes.human(heap.getUsed()));
        line(sb, "heap_committed", heap.getCommitted());
        line(sb, "heap_max", heap.getMax());
        line(sb, "maxmemory", max);
        line(sb, "maxmemory_human", Sizes.human(max));
        line(sb, "maxmemory_policy", source.config().engine().policy().configName());
        line(sb, "memory_accounting", "per record: its slab chunk (size-class bytes) + average index slot and expiry-heap element");
    }

    /**
     * Redis's fields where they mean the same here — the log is the AOF, a snapshot is both an RDB (it can be
     * loaded on its own) and the AOF's rewritten base — and ours: the data directory, the log's bytes, forces
     * and their latency, and what the last start loaded.
     */
    private void persistence(StringBuilder sb) {
        sb.append("# Persistence\r\n");
        Persistence p = source.persistence();
        line(sb, "loading", 0);
        line(sb, "aof_enabled", p == null ? 0 : 1);
        if (p == null) {
            line(sb, "rdb_changes_since_last_save", 0);
            line(sb, "rdb_bgsave_in_progress", 0);
            line(sb, "rdb_last_save_time", source.startMillis() / 1000);
            line(sb, "aof_rewrite_in_progress", 0);
            line(sb, "aof_last_write_status", "ok");
            return;
        }
        Persistence.Stats st = p.stats();
        WriteAheadLog.Stats log = st.log();
        String saveStatus = st.lastSaveStatus() == Persistence.SaveStatus.OK ? "ok" : "err";
        line(sb, "rdb_changes_since_last_save", st.changesSinceLastSave());
        line(sb, "rdb_bgsave_in_progress", st.snapshotInProgress() ? 1 : 0);
        line(sb, "rdb_last_save_time", st.lastSaveMillis() / 1000);
        line(sb, "rdb_last_bgsave_status", saveStatus);
        line(sb, "rdb_last_bgsave_time_sec", st.snapshots() == 0 ? -1 : st.lastSaveNanos() / 1_000_000_000);
        line(sb, "rdb_saves", st.snapshots());
        line(sb, "aof_rewrite_in_progress", st.snapshotInProgress() ? 1 : 0);
        line(sb, "aof_last_bgrewrite_status", saveStatus);
        line(sb, "aof_last_write_status", log.state() == WriteAheadLog.State.OK ? "ok" : "err");
        if (log.lastError() != null) {
            line(sb, "aof_last_write_error", log.lastError().replace('\r', ' ').replace('\n', ' '));
        }
        line(sb, "aof_fsync", st.fsync().redisName());
        line(sb, "aof_current_size", st.diskBytes());
        line(sb, "aof_base_size", st.lastSnapshotBytes());
        line(sb, "aof_log_bytes_since_snapshot", st.logBytesSinceSnapshot());
        line(sb, "aof_records_written", log.recordsWritten());
        line(sb, "aof_group_commits", log.batches());
        line(sb, "aof_fsyncs", log.forces());
        line(sb, "aof_fsync_last_us", log.lastForceMicros());
        line(sb, "aof_fsync_avg_us", log.forces() == 0 ? 0 : log.totalForceMicros() / log.forces());
        line(sb, "aof_fsync_max_us", log.maxForceMicros());
        line(sb, "aof_write_errors", log.writeErrors());
        line(sb, "aof_segment", log.segment());
        line(sb, "data_dir", p.dir().getParent() == null ? p.dir() : p.dir().getParent());
        Recovery.Report r = st.recovered();
        line(sb, "loaded_records", r.records());
        line(sb, "loaded_snapshot_records", r.snapshotRecords());
        line(sb, "loaded_log_records", r.logRecords());
        line(sb, "loaded_time_ms", r.nanos() / 1_000_000);
        line(sb, "loaded_torn_bytes_dropped", r.tornTail() == null ? 0 : r.tornTail().droppedBytes());
    }

    /** Resident set size from /proc (Linux); 0 where unavailable. */
    private static long residentSetBytes() {
        try {
            String[] statm = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
            return Long.parseLong(statm[1]) * 4096;
        } catch (IOException | NumberFormatException | ArrayIndexOutOfBoundsException e) {
            return 0;
        }
    }

    private void stats(StringBuilder sb) {
        sb.append("# Stats\r\n");
        EngineStats es = source.engine().stats();
        line(sb, "total_connections_received", source.clients().totalConnections());
        line(sb, "total_commands_processed", source.requests().commandsProcessed());
        line(sb, "instantaneous_ops_per_sec", source.ops().opsPerSecond());
        line(sb, "rejected_connections", source.clients().rejectedConnections());
        line(sb, "rejected_peer_connections", source.clients().rejectedPeerConnections());
        line(sb, "plaintext_clients_refused", source.clients().refusedPlaintextClients());
        line(sb, "expired_keys", es.expiredKeys());
        line(sb, "evicted_keys", es.evictedKeys());
        line(sb, "keyspace_hits", es.keyspaceHits());
        line(sb, "keyspace_misses", es.keyspaceMisses());
        line(sb, "tombstones", es.tombstones());
        sb.append("flush_floor:").append(source.engine().flushFloor().describe()).append("\r\n");
        line(sb, "flush_dropped_entries", source.engine().flushDroppedEntries());
        line(sb, "flush_refused_entries", source.engine().refusedBelowFlushFloor());
        line(sb, "total_error_replies", source.requests().errorReplies());
        line(sb, "unknown_commands", source.requests().unknownCommands());
        line(sb, "versioned_sibling_limit_refused", source.siblingLimitRefused().getAsLong());
        line(sb, "acl_access_denied_auth", source.acl().denied(Acl.Denial.AUTH));
        line(sb, "acl_access_denied_cmd", source.acl().denied(Acl.Denial.COMMAND));
        line(sb, "acl_access_denied_key", source.acl().denied(Acl.Denial.KEY));
        line(sb, "acl_auth_throttled", source.authThrottle().throttled());
        GossipKeyring keys = source.gossipKeyring();
        if (keys != null) {
            line(sb, "gossip_packets_unauthenticated", keys.dropped(GossipKeyring.Drop.UNAUTHENTICATED));
            line(sb, "gossip_packets_replayed", keys.dropped(GossipKeyring.Drop.REPLAYED));
            line(sb, "gossip_packets_malformed", keys.dropped(GossipKeyring.Drop.MALFORMED));
        }
    }

    private void commandstats(StringBuilder sb) {
        sb.append("# Commandstats\r\n");
        for (CommandSpec spec : source.table().all()) {
            CommandSpec.Stats s = spec.stats();
            long calls = s.calls();
            if (calls == 0 && s.rejected() == 0) {
                continue;
            }
            double perCall = calls == 0 ? 0 : (double) s.micros() / calls;
            sb.append("cmdstat_").append(spec.name()).append(":calls=").append(calls)
                    .append(",usec=").append(s.micros())
                    .append(",usec_per_call=").append(String.format(Locale.ROOT, "%.2f", perCall))
                    .append(",rejected_calls=").append(s.rejected())
                    .append(",failed_calls=").append(s.failed()).append("\r\n");
        }
    }

    private void cluster(StringBuilder sb) {
        sb.append("# Cluster\r\n");
        ClusterState state = source.state();
        ClusterInfo cluster = source.cluster();
        line(sb, "cluster_name", source.config().cluster().name());
        line(sb, "cluster_enabled", cluster.started() ? 1 : 0);
        line(sb, "cluster_seeds", source.config().cluster().seeds().stream().map(Object::toString).collect(java.util.stream.Collectors.joining(",")));
        line(sb, "members_alive", state.count(MemberState.ALIVE));
        line(sb, "members_suspect", state.count(MemberState.SUSPECT));
        line(sb, "members_dead", state.count(MemberState.DEAD));
        line(sb, "members_left", state.count(MemberState.LEFT));
        line(sb, "ring_version", state.ring().version());
        line(sb, "ring_nodes", state.ring().nodes().size());
        line(sb, "ring_tokens", state.ring().tokenCount());
        line(sb, "local_tokens", state.ring().tokensOf(source.nodeId()).size());
        line(sb, "ring_future_nodes", state.futureRing().nodes().size());
        line(sb, "node_status", cluster.nodeStatus());
        // 0 while a node started with seeds (or known members) has heard from none: keyed commands get TRYAGAIN.
        line(sb, "cluster_joined", source.joining().getAsBoolean() ? 0 : 1);
        line(sb, "streams_running", cluster.streamsRunning());
        line(sb, "rejoin_unsourced_ranges", cluster.rejoinUnsourcedRanges());
        Router router = source.router().get();
        line(sb, "forwarded_requests", router == null ? 0 : router.forwarded());
        line(sb, "forward_failures", router == null ? 0 : router.forwardFailures());
        line(sb, "forwards_retried_elsewhere", router == null ? 0 : router.retriedElsewhere());
        // forwards that carried the connection's own writes held here ahead of them (read-your-writes)
        line(sb, "forwards_carrying_writes", router == null ? 0 : router.carriedAhead());
        // forwards from peers answered without being run: their sender's deadline had passed
        line(sb, "expired_forwards_dropped", source.requests().expiredForwardsDropped());
        if (cluster.started()) {
            var peers = cluster.peers();
            line(sb, "peer_connections", peers.openConnections());
            line(sb, "peer_requests_in_flight", peers.inFlight());
            line(sb, "peer_request_failures", peers.failures());
            line(sb, "peer_request_timeouts", peers.timeouts());
        }
        // whether peer connections are under mutual TLS (--tls-cluster yes|no|optional), and the plaintext peers refused for it
        sb.append("peer_tls:").append(source.peerTls() == null ? "no"
                : source.peerTls().config().optional() ? "optional" : "yes").append("\r\n");
        line(sb, "peer_plaintext_refused", source.peerTls() != null ? source.peerTls().plaintextPeersRefused() : 0);
        // peer connections whose TLS handshake failed here (no certificate, or one the cluster's CA did not sign)
        line(sb, "peer_tls_handshake_failures", source.peerTls() != null ? source.peerTls().handshakesFailed() : 0);
        // peer hellos whose proof of the cluster secret failed, and those refused unchecked after too many
        line(sb, "peer_auth_failures", source.peerAuth() != null ? source.peerAuth().failures() : 0);
        line(sb, "peer_auth_throttled", source.peerAuth() != null ? source.peerAuth().throttled() : 0);
    }

    /**
     * Coordination factor and default levels, coordinator and replica counters, and hints: pending in
     * total and per peer ({@code hints_peer_<node id>:<count>}).
     */
    private void replication(StringBuilder sb) {
        sb.append("# Replication\r\n");
        ReplicationConfig rc = source.config().cluster().replication();
        line(sb, "replication_factor", rc.replicationFactor());
        line(sb, "effective_replicas", Math.max(1, Math.min(rc.replicationFactor(),
                source.state().ring().nodes().size())));
        line(sb, "read_consistency", rc.readLevel());
        line(sb, "write_consistency", rc.writeLevel());
        line(sb, "sloppy_quorum", rc.sloppyQuorum() ? 1 : 0);
        line(sb, "max_clock_drift_ms", rc.maxClockDriftMillis());
        line(sb, "read_repair_chance", rc.readRepairChance());
        line(sb, "read_speculative_retry_ms", rc.readSpeculativeRetryMillis());
        ClusterInfo cluster = source.cluster();
        if (!cluster.started()) {
            return;
        }
        Coordinator.Stats c = cluster.coordinator();
        line(sb, "coordinated_remote_reads", c.remoteReads());
        line(sb, "coordinated_remote_writes", c.remoteWrites());
        line(sb, "read_repairs", c.readRepairs());
        line(sb, "background_read_checks", c.backgroundChecks());
        line(sb, "speculative_reads", c.speculativeReads());
        line(sb, "unavailable_errors", c.unavailable());
        line(sb, "timeout_errors", c.timeouts());
        line(sb, "refused_errors", c.refusals());
        line(sb, "clock_drift_rejections", c.driftRejected() + cluster.replica().refusedBatches());
        line(sb, "pending_replica_writes", c.pendingWrites());
        ReplicaService.Stats r = cluster.replica();
        line(sb, "replica_entries_applied", r.applied());
        line(sb, "replica_entries_stale", r.stale());
        line(sb, "replica_reads", r.reads());
        // write batches not applied: their coordinator's deadline had passed
        line(sb, "expired_replica_writes_dropped", r.expiredWritesDropped());
        HintStats h = cluster.hints();
        line(sb, "hints_pending", h.pending());
        line(sb, "hints_pending_bytes", h.pendingBytes());
        line(sb, "hints_stored", h.stored());
        line(sb, "hints_replayed", h.replayed());
        line(sb, "hints_dropped", h.dropped());
        line(sb, "hints_expired", h.expired());
        line(sb, "hints_refused", h.refused());
        cluster.hintsByTarget().forEach((peer, count) ->
                line(sb, "hints_peer_" + Long.toHexString(peer), count));
    }

    /**
     * Anti-entropy: the interval, totals since start over all rounds (this node's own rounds), and the
     * trees and key lists this node answered for its peers' rounds.
     */
    private void antiEntropy(StringBuilder sb) {
        sb.append("# Anti_entropy\r\n");
        AntiEntropyConfig config = source.config().cluster().antiEntropy();
        line(sb, "anti_entropy_interval_ms", config.intervalMillis());
        line(sb, "anti_entropy_cpu_fraction", config.cpuFraction());
        ClusterInfo cluster = source.cluster();
        if (!cluster.started()) {
            return;
        }
        AntiEntropy.Stats s = cluster.antiEntropy();
        line(sb, "anti_entropy_running", s.running() ? 1 : 0);
        line(sb, "anti_entropy_rounds", s.roundsCompleted());
        line(sb, "anti_entropy_last_round_ms", s.lastRoundMillis());
        line(sb, "anti_entropy_keys_compared", s.keysCompared());
        line(sb, "anti_entropy_keys_streamed_in", s.keysStreamedIn());
        line(sb, "anti_entropy_keys_streamed_out", s.keysStreamedOut());
        line(sb, "anti_entropy_bytes_sent", s.bytesSent());
        line(sb, "anti_entropy_bytes_received", s.bytesReceived());
        line(sb, "anti_entropy_failed_exchanges", s.failures());
        AntiEntropyService.Stats answered = cluster.antiEntropyAnswered();
        line(sb, "anti_entropy_trees_answered", answered.treesAnswered());
        line(sb, "anti_entropy_keys_listed", answered.keysListed());
    }

    private void keyspace(StringBuilder sb) {
        sb.append("# Keyspace\r\n");
        long keys = source.engine().size();
        if (keys > 0) {
            sb.append("db0:keys=").append(keys).append(",expires=").append(source.engine().volatileSize())
                    .append(",avg_ttl=0\r\n");
        }
    }
}
