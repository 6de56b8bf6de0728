package io.trelliskv.it;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.SslVerifyMode;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.trelliskv.testing.InfoFields;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.util.SafeEncoder;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A cluster secured the way an operator secures one, used the way an application uses it: three node
 * processes, each with an ACL file (the {@code default} user behind a password, an application user
 * {@code app} limited to {@code ~app:*} with {@code +@read +@write -@dangerous +acl|whoami}), a TLS client port
 * with certificates made by {@code openssl}, {@code --tls-cluster yes}, a cluster secret and sealed
 * gossip; two replicas a key, so a node owns about a third of the keys and forwards the rest to their
 * owners with the client's user. The application is Lettuce over TLS (the node's certificate checked
 * against the CA and its address, a client certificate shown), many commands in flight on one
 * connection; an admin connection (the {@code default} user on the plain port, Jedis) checks what the
 * application could not see: the values at QUORUM through another node, that refused commands changed
 * nothing, and that commands were forwarded.
 *
 * <p>The nodes listen on 127.0.0.1 (the address the test certificate names) on free ports, and are
 * stopped through their process handles.
 */
@TestInstance(Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SecuredClusterIT {

    private static final String HOST = "127.0.0.1";
    private static final int NODES = 3;
    private static final String ADMIN_PASSWORD = "admin-Secret-1";
    private static final String APP_USER = "app";
    private static final String APP_PASSWORD = "app-Secret-2";
    /** Commands of each kind in flight at once on one application connection. */
    private static final int IN_FLIGHT = 2_000;
    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(45);
    private static final int ADMIN_TIMEOUT_MILLIS = 10_000;
    private static final String NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments";

    @TempDir
    static Path tempDir;
    private Path logs;
    private TestCertificates certs;
    private final List<TrellisProcess> processes = new ArrayList<>();
    private final int[] ports = new int[NODES];
    private final int[] tlsPorts = new int[NODES];
    private ClientResources resources;
    private RedisClient lettuce;

    @BeforeAll
    void startCluster() throws Exception {
        assumeTrue(TrellisProcess.onPath("openssl"), "openssl is not installed");
        Path home = ClusterIT.stageSmallNodeHome(tempDir.resolve("home"));
        logs = ClusterIT.logDir("secured-cluster-it-logs");
        Path secrets = Files.createDirectories(tempDir.resolve("secrets"));
        certs = TestCertificates.make(secrets, "");
        Path clusterSecret = secrets.resolve("cluster.secret");
        Files.writeString(clusterSecret, "a-cluster-secret-of-32-characters\n");
        Path gossipKeys = secrets.resolve("gossip.keys");
        Files.writeString(gossipKeys, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n");
        try {
            for (int i = 0; i < NODES; i++) {
                ports[i] = TrellisProcess.freePort();
                tlsPorts[i] = TrellisProcess.freePort();
                Path aclFile = secrets.resolve("users-" + i + ".acl");
                Files.writeString(aclFile, "user default on >" + ADMIN_PASSWORD + " ~* &* +@all\n"
                        + "user " + APP_USER + " on >" + APP_PASSWORD + " ~app:* resetchannels -@all +@read +@write "
                        + "-@dangerous +acl|whoami\n");
                List<String> args = new ArrayList<>(List.of(Integer.toString(ports[i])));
                if (i > 0) {
                    args.add(HOST + ":" + ports[0]);
                }
                args.addAll(List.of("--host", HOST, "--cluster-name", "secured-cluster-it", "--appendonly", "no",
                        "--data-dir", logs.resolve("data-" + i).toString(), "--replication-factor", "2",
                        "--aclfile", aclFile.toString(), "--tls-port", Integer.toString(tlsPorts[i]),
                        "--tls-cert-file", certs.serverCert.toString(), "--tls-key-file", certs.serverKey.toString(),
                        "--tls-ca-cert-file", certs.caCert.toString(), "--tls-cluster", "yes",
                        "--cluster-secret-file", clusterSecret.toString(), "--gossip-key-file", gossipKeys.toString()));
                TrellisProcess p = TrellisProcess.launch(home, logs, ClusterIT.LAUNCHER, args.toArray(String[]::new));
                processes.add(p);
                awaitWantsPassword(p, ports[i]);
                int ringNodes = i + 1;
                await().atMost(CONVERGE_TIMEOUT).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
                        assertThat(info(0, "cluster")).as("INFO cluster of the seed, waiting for node %d", ringNodes)
                                .containsEntry("ring_nodes", Integer.toString(ringNodes)));
            }
            await().atMost(CONVERGE_TIMEOUT).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
                for (int i = 0; i < NODES; i++) {
                    assertThat(info(i, "cluster")).as("INFO cluster of node %d", i)
                            .containsEntry("members_alive", Integer.toString(NODES))
                            .containsEntry("ring_nodes", Integer.toString(NODES)).containsEntry("peer_tls", "yes");
                }
            });
        } catch (RuntimeException | Error e) {
            processes.forEach(TrellisProcess::close);
            throw e;
        }
        resources = DefaultClientResources.create();
        lettuce = RedisClient.create(resources);
        lettuce.setOptions(ClientOptions.builder().sslOptions(SslOptions.builder().jdkSslProvider()
                .trustManager(certs.caCert.toFile())
                .keyManager(certs.clientCert.toFile(), certs.clientKey.toFile(), null).build()).build());
    }

    @AfterAll
    void stop() {
        if (lettuce != null) {
            lettuce.shutdown();
            resources.shutdown(0, 5, TimeUnit.SECONDS);
        }
        processes.forEach(TrellisProcess::close);
    }

    /** Waits until the node's plain port answers PING with NOAUTH: it serves, and wants a password. */
    private static void awaitWantsPassword(TrellisProcess p, int port) {
        await().atMost(TrellisProcess.START_TIMEOUT).pollInterval(Duration.ofMillis(100)).until(() -> {
            assertThat(p.process().isAlive()).as("%s alive; stderr: %s", p, p.stderr()).isTrue();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(HOST, port), 500);
                s.setSoTimeout(1000);
                s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                return new String(in.readNBytes(7), StandardCharsets.US_ASCII).equals("-NOAUTH");
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** An admin connection: the default user, on node {@code i}'s plain port. */
    private Jedis admin(int i) {
        return new Jedis(new HostAndPort(HOST, ports[i]), DefaultJedisClientConfig.builder()
                .password(ADMIN_PASSWORD).timeoutMillis(ADMIN_TIMEOUT_MILLIS).build());
    }

    private Map<String, String> info(int i, String section) {
        try (Jedis j = admin(i)) {
            return InfoFields.parse(j.info(section));
        }
    }

    /** Node {@code i}'s TLS port as a Lettuce address, logging in as {@code user} (null: no AUTH at all). */
    private RedisURI tlsUri(int i, String user, String password) {
        RedisURI.Builder b = RedisURI.builder().withHost(HOST).withPort(tlsPorts[i]).withSsl(true)
                .withVerifyPeer(SslVerifyMode.FULL).withTimeout(REPLY_TIMEOUT);
        if (user != null) {
            b.withAuthentication(user, password.toCharArray());
        }
        return b.build();
    }

    private StatefulRedisConnection<String, String> app(int i) {
        return lettuce.connect(tlsUri(i, APP_USER, APP_PASSWORD));
    }

    private static <T> T value(RedisFuture<T> f) throws InterruptedException {
        try {
            return f.get(REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("command failed: " + e.getCause().getMessage(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("no reply within " + REPLY_TIMEOUT, e);
        }
    }

    /** The error a refused command's future failed with; fails if it succeeded. */
    private static String error(RedisFuture<?> f) {
        Throwable t = catchThrowable(() -> f.get(REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        assertThat(t).as("the command's outcome").isInstanceOf(ExecutionException.class);
        assertThat(t.getCause()).isInstanceOf(RedisCommandExecutionException.class);
        return t.getCause().getMessage();
    }

    /** The keys among {@code keys} none of whose replicas is node {@code i}: a command on them is forwarded. */
    private int notOwnedBy(int i, List<String> keys) {
        String self = "@" + HOST + ":" + ports[i];
        int notOwned = 0;
        try (Jedis j = admin(i)) {
            Pipeline p = j.pipelined();
            List<Response<Object>> replies = new ArrayList<>();
            for (String k : keys) {
                replies.add(p.sendCommand(() -> SafeEncoder.encode("REPLICAS"), k));
            }
            p.sync();
            for (Response<Object> r : replies) {
                List<?> replicas = (List<?>) r.get();
                assertThat(replicas).as("replicas of a key").hasSize(2);
                boolean owned = replicas.stream().map(rep -> SafeEncoder.encode((byte[]) ((List<?>) rep).get(0)))
                        .anyMatch(node -> node.endsWith(self));
                notOwned += owned ? 0 : 1;
            }
        }
        return notOwned;
    }

    private long forwarded(int i) {
        return Long.parseLong(info(i, "cluster").get("forwarded_requests"));
    }

    @Test
    void manyAllowedCommandsInFlightThroughEveryNodeReadBackAtQuorumElsewhere() throws Exception {
        for (int n = 0; n < NODES; n++) {
            List<String> keys = new ArrayList<>();
            for (int k = 0; k < IN_FLIGHT; k++) {
                keys.add("app:inflight:" + n + ":" + k);
            }
            int notOwned = notOwnedBy(n, keys);
            assertThat(notOwned).as("keys of node %d owned by the other nodes", n).isGreaterThan(IN_FLIGHT / 5);
            long forwardedBefore = forwarded(n);
            try (StatefulRedisConnection<String, String> c = app(n)) {
                RedisAsyncCommands<String, String> async = c.async();
                List<RedisFuture<String>> sets = new ArrayList<>();
                for (int k = 0; k < IN_FLIGHT; k++) {
                    sets.add(async.set(keys.get(k), "v" + n + "-" + k));
                }
                List<RedisFuture<String>> gets = new ArrayList<>();
                for (String key : keys) {
                    gets.add(async.get(key));
                }
                assertThat(LettuceFutures.awaitAll(REPLY_TIMEOUT, gets.toArray(RedisFuture[]::new)))
                        .as("every reply within %s", REPLY_TIMEOUT).isTrue();
                for (int k = 0; k < IN_FLIGHT; k++) {
                    assertThat(value(sets.get(k))).as("SET %s", keys.get(k)).isEqualTo("OK");
                    assertThat(value(gets.get(k))).as("GET %s", keys.get(k)).isEqualTo("v" + n + "-" + k);
                }
                assertThat(value(async.aclWhoami())).isEqualTo(APP_USER);
            }
            assertThat(forwarded(n) - forwardedBefore)
                    .as("forwards from node %d: a SET and a GET for each of its %d keys owned elsewhere", n, notOwned)
                    .isGreaterThanOrEqualTo(2L * notOwned);

            int other = (n + 1) % NODES;
            try (Jedis j = admin(other)) {
                assertThat(SafeEncoder.encode((byte[]) j.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), "QUORUM")))
                        .isEqualTo("OK");
                Pipeline p = j.pipelined();
                List<Response<String>> reads = new ArrayList<>();
                for (String key : keys) {
                    reads.add(p.get(key));
                }
                p.sync();
                for (int k = 0; k < IN_FLIGHT; k++) {
                    assertThat(reads.get(k).get()).as("GET %s at QUORUM through node %d", keys.get(k), other)
                            .isEqualTo("v" + n + "-" + k);
                }
            }
        }
    }

    @Test
    void everyCommandOnAKeyOutsideThePatternIsRefusedAndChangesNothing() throws Exception {
        try (Jedis j = admin(0)) {
            for (int k = 0; k < 20; k++) {
                j.set("other:" + k, "kept" + k);
            }
        }
        Map<Integer, Long> deniedBefore = new HashMap<>();
        for (int n = 0; n < NODES; n++) {
            deniedBefore.put(n, Long.parseLong(info(n, "stats").get("acl_access_denied_key")));
        }
        for (int n = 0; n < NODES; n++) {
            try (StatefulRedisConnection<String, String> c = app(n)) {
                RedisAsyncCommands<String, String> async = c.async();
                List<RedisFuture<?>> refused = new ArrayList<>();
                for (int k = 0; k < 20; k++) {
                    String key = "other:" + k;
                    refused.add(async.get(key));
                    refused.add(async.set(key, "changed"));
                    refused.add(async.del(key));
                    refused.add(async.append(key, "!"));
                    refused.add(async.incr("other:counter:" + k));
                    refused.add(async.set("other:new:" + n + ":" + k, "x"));
                    refused.add(async.mset(Map.of("app:mset:" + n + ":" + k, "x", key, "changed")));
                    refused.add(async.mget("app:mset:" + n + ":" + k, key));
                    refused.add(async.exists(key));
                }
                for (RedisFuture<?> f : refused) {
                    assertThat(error(f)).isEqualTo(NOPERM_KEY);
                }
                assertThat(error(async.flushall())).as("FLUSHALL is @dangerous")
                        .startsWith("NOPERM this user has no permissions to run the 'flushall' command");
                assertThat(error(async.keys("*"))).as("KEYS is @dangerous")
                        .startsWith("NOPERM this user has no permissions to run the 'keys' command");
            }
        }
        try (Jedis j = admin(1)) {
            for (int k = 0; k < 20; k++) {
                assertThat(j.get("other:" + k)).as("other:%d after the refused commands", k).isEqualTo("kept" + k);
                assertThat(j.exists("other:counter:" + k)).isFalse();
                for (int n = 0; n < NODES; n++) {
                    assertThat(j.exists("other:new:" + n + ":" + k)).isFalse();
                    assertThat(j.exists("app:mset:" + n + ":" + k)).as("the allowed key of a refused MSET").isFalse();
                }
            }
        }
        for (int n = 0; n < NODES; n++) {
            assertThat(Long.parseLong(info(n, "stats").get("acl_access_denied_key")) - deniedBefore.get(n))
                    .as("keys refused on node %d", n).isEqualTo(9L * 20);
        }
    }

    @Test
    void aPipelinedBatchMixingAllowedAndRefusedKeysGetsEachReplyInOrder() throws Exception {
        Random random = new Random(20261205L);
        try (StatefulRedisConnection<String, String> c = app(2)) {
            RedisAsyncCommands<String, String> async = c.async();
            c.setAutoFlushCommands(false);
            List<Boolean> allowed = new ArrayList<>();
            List<RedisFuture<String>> sets = new ArrayList<>();
            List<RedisFuture<String>> gets = new ArrayList<>();
            for (int k = 0; k < 500; k++) {
                boolean ok = random.nextInt(3) != 0;
                String key = (ok ? "app:mixed:" : "other:mixed:") + k;
                allowed.add(ok);
                sets.add(async.set(key, "m" + k));
                gets.add(async.get(key));
            }
            c.flushCommands();
            for (int k = 0; k < allowed.size(); k++) {
                if (allowed.get(k)) {
                    assertThat(value(sets.get(k))).as("SET #%d", k).isEqualTo("OK");
                    assertThat(value(gets.get(k))).as("GET #%d", k).isEqualTo("m" + k);
                } else {
                    assertThat(error(sets.get(k))).as("SET #%d", k).isEqualTo(NOPERM_KEY);
                    assertThat(error(gets.get(k))).as("GET #%d", k).isEqualTo(NOPERM_KEY);
                }
            }
            assertThat(allowed).contains(true, false);
        }
        try (Jedis j = admin(0)) {
            assertThat(j.keys("other:mixed:*")).as("keys the refused SETs named").isEmpty();
        }
    }

    @Test
    void withoutAuthNoauthAndWithAWrongPasswordWrongpass() {
        try (RedisClient resp2 = RedisClient.create(resources)) {
            // RESP2 without a PING at connect: the client sends nothing before the test's own commands.
            resp2.setOptions(lettuce.getOptions().mutate().protocolVersion(ProtocolVersion.RESP2)
                    .pingBeforeActivateConnection(false).build());
            try (StatefulRedisConnection<String, String> c = resp2.connect(tlsUri(1, null, null))) {
                assertThatThrownBy(() -> c.sync().get("app:1")).isInstanceOf(RedisCommandExecutionException.class)
                        .hasMessage("NOAUTH Authentication required.");
                assertThatThrownBy(() -> c.sync().set("app:1", "x")).isInstanceOf(RedisCommandExecutionException.class)
                        .hasMessage("NOAUTH Authentication required.");
            }
        }
        Throwable wrong = catchThrowable(() -> lettuce.connect(tlsUri(1, APP_USER, "not-the-password")).close());
        assertThat(wrong).as("connecting with a wrong password").isNotNull();
        assertThat(causes(wrong)).anyMatch(m -> m.equals("WRONGPASS invalid username-password pair or user is disabled."));
        try (Jedis j = admin(0)) {
            assertThat(j.exists("app:1")).as("the unauthenticated SET").isFalse();
        }
    }

    private static List<String> causes(Throwable t) {
        List<String> messages = new ArrayList<>();
        for (Throwable c = t; c != null && messages.size() < 10; c = c.getCause()) {
            messages.add(String.valueOf(c.getMessage()));
        }
        return messages;
    }
}
