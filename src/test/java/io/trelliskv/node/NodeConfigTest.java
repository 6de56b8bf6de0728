package io.trelliskv.node;

import io.trelliskv.cluster.ClusterConfig;
import io.trelliskv.cluster.RebalanceConfig;
import io.trelliskv.common.Address;
import io.trelliskv.common.ConfigException;
import io.trelliskv.common.ParseException;
import io.trelliskv.membership.SwimConfig;
import io.trelliskv.net.NetConfig;
import io.trelliskv.repair.AntiEntropyConfig;
import io.trelliskv.replication.HintConfig;
import io.trelliskv.replication.ReplicationConfig;
import io.trelliskv.resp.RespLimits;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.EvictionPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The rules each configuration record checks, and the rules between them that {@link NodeConfig} checks. */
class NodeConfigTest {

    private static final long HOUR = 3_600_000L;

    private static NetConfig net(String host) {
        return new NetConfig(host, 0, null, 1, 100, NetConfig.DEFAULT_OUTPUT_BUFFER_SOFT,
                NetConfig.DEFAULT_OUTPUT_BUFFER_HARD, RespLimits.DEFAULTS);
    }

    private static EngineConfig grace(long millis) {
        return new EngineConfig(0, EvictionPolicy.NOEVICTION, millis, EngineConfig.DEFAULT_EVICTION_SAMPLES);
    }

    private static ClusterConfig cluster(int replicationFactor, long hintWindowMillis, long antiEntropyMillis) {
        HintConfig d = HintConfig.defaults();
        return new ClusterConfig("t", List.of(), null, 16, null, SwimConfig.lan("t"),
                ReplicationConfig.defaults().withReplicationFactor(replicationFactor),
                new HintConfig(hintWindowMillis, d.maxHints(), d.maxBytes(), d.replayRatePerSecond(), d.replayBatch()),
                AntiEntropyConfig.defaults().withInterval(antiEntropyMillis));
    }

    static Stream<Arguments> crossRules() {
        return Stream.of(
                Arguments.of("grace equal to the hint window", 3 * HOUR, 3, 3 * HOUR, 0L,
                        "engine.tombstoneGraceMillis 3h must be longer than hints.windowMillis 3h,"
                                + " or a replayed hint could bring a deleted key back"),
                Arguments.of("grace 0 on a replicated node", 0L, 3, 3 * HOUR, 600_000L,
                        "engine.tombstoneGraceMillis 0ms must be longer than hints.windowMillis 3h,"
                                + " or a replayed hint could bring a deleted key back"),
                Arguments.of("grace shorter than the anti-entropy interval", 4 * HOUR, 2, HOUR, 5 * HOUR,
                        "engine.tombstoneGraceMillis 4h must be longer than antiEntropy.intervalMillis 5h,"
                                + " or a replica that missed a delete could bring the key back after the other"
                                + " replicas purged its tombstone"),
                Arguments.of("defaults", EngineConfig.DEFAULT_TOMBSTONE_GRACE_MILLIS, 3, 3 * HOUR, 600_000L, null),
                Arguments.of("grace 0 with one copy of each key", 0L, 1, 3 * HOUR, 600_000L, null),
                Arguments.of("anti-entropy only on REPAIR", 4 * HOUR, 3, 3 * HOUR, 0L, null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("crossRules")
    void tombstoneGraceIsCheckedAgainstHintsAndAntiEntropy(String name, long graceMillis, int replicationFactor,
                                                          long hintWindowMillis, long antiEntropyMillis,
                                                          String refusal) {
        Supplier<NodeConfig> build = () -> new NodeConfig(net("127.0.0.1"), grace(graceMillis),
                cluster(replicationFactor, hintWindowMillis, antiEntropyMillis));
        if (refusal == null) {
            assertThatCode(build::get).doesNotThrowAnyException();
        } else {
            assertThatThrownBy(build::get).isInstanceOf(ConfigException.class).hasMessage(refusal);
        }
    }

    @Test
    void wildcardHostNeedsAnAdvertisedAddress() {
        ClusterConfig standalone = ClusterConfig.standalone();
        assertThatThrownBy(() -> new NodeConfig(net("0.0.0.0"), EngineConfig.unbounded(), standalone))
                .isInstanceOf(ConfigException.class)
                .hasMessage("net.host 0.0.0.0 needs cluster.advertise: the address peers should use");
        ClusterConfig advertised = new ClusterConfig("trellis", List.of(), "10.0.0.1", 16, null,
                SwimConfig.lan("trellis"), ReplicationConfig.defaults().withReplicationFactor(1), HintConfig.defaults());
        assertThatCode(() -> new NodeConfig(net("0.0.0.0"), EngineConfig.unbounded(), advertised))
                .doesNotThrowAnyException();
    }

    static Stream<Arguments> rangeRules() {
        return Stream.<Arguments>of(
                Arguments.of((Supplier<?>) () -> new NetConfig("h", 70_000, null, 1, 1, 1024, 0, RespLimits.DEFAULTS),
                        "port: 70000 (expected: 0..65535)"),
                Arguments.of((Supplier<?>) () -> new NetConfig("h", 0, null, 2000, 1, 1024, 0, RespLimits.DEFAULTS),
                        "ioThreads: 2000 (expected: 0..1024)"),
                Arguments.of((Supplier<?>) () -> new NetConfig("h", 0, null, 1, 0, 1024, 0, RespLimits.DEFAULTS),
                        "maxClients: 0 (expected: >= 1)"),
                Arguments.of((Supplier<?>) () -> new NetConfig("h", 0, null, 1, 1, 10, 0, RespLimits.DEFAULTS),
                        "outputBufferSoftBytes: 10 (expected: >= 1024)"),
                Arguments.of((Supplier<?>) () -> new NetConfig("h", 0, null, 1, 1, 1024, -1, RespLimits.DEFAULTS),
                        "outputBufferHardBytes: -1 (expected: >= 0)"),
                Arguments.of((Supplier<?>) () -> new EngineConfig(-1, EvictionPolicy.NOEVICTION, 0, 5),
                        "maxMemoryBytes: -1 (expected: >= 0)"),
                Arguments.of((Supplier<?>) () -> new EngineConfig(0, EvictionPolicy.NOEVICTION, -1, 5),
                        "tombstoneGraceMillis: -1 (expected: >= 0)"),
                Arguments.of((Supplier<?>) () -> new EngineConfig(0, EvictionPolicy.NOEVICTION, 0, 65),
                        "evictionSamples: 65 (expected: 1..64)"),
                Arguments.of((Supplier<?>) () -> AntiEntropyConfig.defaults().withInterval(-1),
                        "intervalMillis: -1 (expected: >= 0, 0 = only on REPAIR)"),
                Arguments.of((Supplier<?>) () -> AntiEntropyConfig.defaults().withCpuFraction(0),
                        "cpuFraction: 0.0 (expected: above 0, up to 1)"),
                Arguments.of((Supplier<?>) () -> AntiEntropyConfig.defaults().withBounds(0, 4096, 1),
                        "maxKeysPerRequest: 0 (expected: >= 1)"),
                Arguments.of((Supplier<?>) () -> AntiEntropyConfig.defaults().withBounds(1, 100, 1),
                        "maxBatchBytes: 100 (expected: >= 1024)"),
                Arguments.of((Supplier<?>) () -> ReplicationConfig.defaults().withReplicationFactor(17),
                        "replicationFactor: 17 (expected: 1 to 16)"),
                Arguments.of((Supplier<?>) () -> new RebalanceConfig(-1, 0, 0),
                        "streamBytesPerSecond: -1 (expected: >= 0, 0 = unlimited)"),
                Arguments.of((Supplier<?>) () -> new RebalanceConfig(0, -1, 0),
                        "autoRemoveAfterMillis: -1 (expected: >= 0, 0 = never)"),
                Arguments.of((Supplier<?>) () -> new ClusterConfig("", List.of(), null, 16, null),
                        "name: '' (expected: 1..64 characters)"),
                Arguments.of((Supplier<?>) () -> new ClusterConfig("t", List.of(), null, 0, null),
                        "vnodes: 0 (expected: 1..256)"),
                Arguments.of((Supplier<?>) () -> new ClusterConfig("t", List.of(), null, 16, null, SwimConfig.lan("u")),
                        "membership.clusterName 'u' differs from name 't': members would drop each other's packets"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("rangeRules")
    void eachConfigNamesTheRefusedOptionAndWhatItExpected(Supplier<?> build, String refusal) {
        assertThatThrownBy(build::get).isInstanceOf(ConfigException.class).hasMessage(refusal);
    }

    private static String commandLineRefusal(String... args) {
        Main main = new Main();
        Main.commandLine(main).parseArgs(args);
        try {
            main.config();
        } catch (ConfigException | ParseException e) {
            return e.getMessage();
        }
        return null;
    }

    @Test
    void theCommandLineNamesTheFlags() {
        assertThat(commandLineRefusal("0", "--hint-window", "5h"))
                .isEqualTo("--tombstone-grace 4h must be longer than --hint-window 5h, or a replayed hint could bring"
                        + " a deleted key back");
        assertThat(commandLineRefusal("0", "--host", "0.0.0.0"))
                .isEqualTo("--host 0.0.0.0 needs --advertise: the address peers should use");
        assertThat(commandLineRefusal("0", "--maxmemory-samples", "0"))
                .isEqualTo("--maxmemory-samples: 0 (expected: 1..64)");
        assertThat(commandLineRefusal("0", "--replication-factor", "17"))
                .isEqualTo("--replication-factor: 17 (expected: 1 to 16)");
        assertThat(commandLineRefusal("0", "--replication-factor", "1", "--tombstone-grace", "1s")).isNull();
    }

    @Test
    void seedsAreAddresses() {
        Main main = new Main();
        Main.commandLine(main).parseArgs("0", "[::1]:5000", "--seeds", "a.example:5001,10.0.0.2:5002");
        assertThat(main.config().cluster().seeds()).containsExactly(new Address("::1", 5000),
                new Address("a.example", 5001), new Address("10.0.0.2", 5002));
        assertThatThrownBy(() -> Main.commandLine(new Main()).parseArgs("0", "--seeds", "::1:5000"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("bad address '::1:5000': put IPv6 addresses in brackets");
        assertThatThrownBy(() -> new ClusterConfig("t", List.of(new Address("h", 0)), null, 16, null))
                .hasMessage("seeds: h:0 (expected: a listening port, 1..65535)");
    }

    @Test
    void eventLoopsLeaveACoreForTheRestUnlessTold() {
        assertThat(List.of(1, 2, 4, 16).stream().map(NetConfig::defaultIoThreads)).containsExactly(1, 1, 3, 15);
        NetConfig told = new NetConfig("h", 0, null, 6, 1, 1024, 0, RespLimits.DEFAULTS);
        assertThat(told.eventLoopThreads()).isEqualTo(6);
        NetConfig unset = new NetConfig("h", 0, null, 0, 1, 1024, 0, RespLimits.DEFAULTS);
        assertThat(unset.eventLoopThreads())
                .isEqualTo(NetConfig.defaultIoThreads(Runtime.getRuntime().availableProcessors()));
    }
}
