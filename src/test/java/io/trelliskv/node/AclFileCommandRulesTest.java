package io.trelliskv.node;

import io.trelliskv.testing.SecuredNodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Regression: an ACL file given at start ({@code --aclfile}) whose users name single commands
 * ({@code +get}, {@code +acl|whoami}) was refused with "Unknown command or category name in ACL", because
 * it was read before the node had registered its commands; only category rules loaded. The file is now
 * read once every command is known, so it loads at start as it does through {@code ACL LOAD}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AclFileCommandRulesTest {

    private Node node;

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void anAclFileWithCommandRulesLoadsAtStart(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("users.acl");
        Files.writeString(file, "user default on nopass ~* &* +@all\n"
                + "user app on >apppw ~app:* resetchannels -@all +get +set +acl|whoami\n");
        node = SecuredNodes.start(new SecurityConfig(null, file, true, null));
        InetSocketAddress a = node.address();
        try (Jedis j = new Jedis(new HostAndPort(a.getHostString(), a.getPort()),
                DefaultJedisClientConfig.builder().user("app").password("apppw").socketTimeoutMillis(5_000).build())) {
            assertThat(j.aclWhoAmI()).isEqualTo("app");
            assertThat(j.set("app:1", "v")).isEqualTo("OK");
            assertThat(j.get("app:1")).isEqualTo("v");
            assertThatThrownBy(() -> j.del("app:1"))
                    .hasMessage("NOPERM this user has no permissions to run the 'del' command");
        }
    }

    @Test
    void anAclFileNamingAnUnknownCommandIsStillRefusedAtStart(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("users.acl");
        Files.writeString(file, "user app on >apppw ~app:* +nosuchcommand\n");
        assertThatThrownBy(() -> node = SecuredNodes.start(new SecurityConfig(null, file, true, null)))
                .hasMessageContaining("Unknown command or category name in ACL");
    }
}
