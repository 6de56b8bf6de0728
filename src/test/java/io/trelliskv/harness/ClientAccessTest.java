package io.trelliskv.harness;

import io.trelliskv.net.TlsConfig;
import io.trelliskv.node.Node;
import io.trelliskv.node.SecurityConfig;
import io.trelliskv.testing.SecuredNodes;
import io.trelliskv.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.util.SafeEncoder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The client side of {@code --secure yes} against a real node started with what the harness gives its
 * nodes (the run's certificates, the ACL file {@link ClientAccess#makeFiles} writes): both kinds of
 * workload connection reach the TLS port, log in as the workload user and may run the workloads'
 * commands, and only those; the ACL file keeps no password in clear.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClientAccessTest {

    private Node node;

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static boolean opensslPresent() {
        String path = System.getenv("PATH");
        return path != null && java.util.Arrays.stream(path.split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, "openssl")));
    }

    @Test
    void workloadConnectionsReachTheTlsPortAsTheWorkloadUser(@TempDir Path dir) throws Exception {
        assumeTrue(opensslPresent(), "openssl is not installed");
        TestCertificates certs = TestCertificates.make(dir, "");
        Path aclFile = ClientAccess.makeFiles(dir, new SecureRandom(new byte[] {46}));
        assertThat(Files.readString(aclFile)).doesNotContain(Files.readString(dir.resolve("client.pass")).strip());
        node = SecuredNodes.start(new SecurityConfig(null, aclFile, false, new TlsConfig(0, certs.serverCert,
                certs.serverKey, certs.caCert, TlsConfig.ClientAuth.YES, List.of(), List.of())));
        ClientAccess access = ClientAccess.secured(dir, node.tlsAddress().getPort());

        try (Jedis j = access.jedis("127.0.0.1", 5_000, 5_000)) {
            assertThat(catchThrowable(j::aclWhoAmI)).as("not the default user, who may do everything")
                    .hasMessageStartingWith("NOPERM this user has no permissions to run the 'acl|whoami' command");
            assertThat(j.set("k", "v")).isEqualTo("OK");
            assertThat(j.incrBy("c", 3)).isEqualTo(3);
            assertThat(SafeEncoder.encode((byte[]) j.sendCommand(() -> SafeEncoder.encode("CONSISTENCY"), "QUORUM")))
                    .isEqualTo("OK");
            assertThat(catchThrowable(j::flushAll))
                    .hasMessageStartingWith("NOPERM this user has no permissions to run the 'flushall' command");
        }
        try (RespSocket s = access.resp("127.0.0.1", 5_000, 5_000)) {
            s.send(List.of(List.of("CONSISTENCY", "QUORUM"), List.of("GET", "k"), List.of("INFO")));
            assertThat(s.read()).isEqualTo(RespReply.OK);
            assertThat(s.read()).isEqualTo(RespReply.bulk("v"));
            assertThat(s.read().render()).startsWith("(error) NOPERM this user has no permissions to run the 'info' command");
        }
    }
}
