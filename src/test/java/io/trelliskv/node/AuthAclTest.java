package io.trelliskv.node;

import io.trelliskv.testing.InMemoryClient;
import io.trelliskv.testing.SecuredNodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Logging in and permissions on a real node, through Jedis as a client application would use them:
 * {@code --requirepass}, ACL users restricted to key patterns and commands, pipelines and transactions
 * that mix allowed and refused commands, an ACL file saved and loaded. Replies are Redis 7.0's.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AuthAclTest {

    private final List<AutoCloseable> opened = new ArrayList<>();
    private Node node;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : opened) {
            try {
                c.close();
            } catch (Exception e) {
                // a connection the node closed on purpose
            }
        }
        if (node != null) {
            node.close();
        }
    }

    private void start(SecurityConfig security) throws IOException {
        node = SecuredNodes.start(security);
    }

    /** A client that sends nothing on connecting (no HELLO), as one that must log in first. */
    private Jedis client() {
        InetSocketAddress a = node.address();
        Jedis j = new Jedis(new HostAndPort(a.getHostString(), a.getPort()),
                DefaultJedisClientConfig.builder().socketTimeoutMillis(5_000).build());
        opened.add(j);
        return j;
    }

    @Test
    void withoutAPasswordEverythingWorksAsBefore() throws IOException {
        start(SecurityConfig.defaults());
        Jedis j = client();
        assertThat(j.set("k", "v")).isEqualTo("OK");
        assertThat(j.aclWhoAmI()).isEqualTo("default");
        assertThatThrownBy(() -> j.auth("x")).hasMessage("ERR AUTH <password> called without any password configured"
                + " for the default user. Are you sure your configuration is correct?");
        assertThat(j.aclList()).containsExactly("user default on nopass ~* &* +@all");
    }

    @Test
    void requirepassRefusesEverythingButAuthUntilTheRightPassword() throws IOException {
        start(new SecurityConfig("s3cret", null, true, null));
        Jedis j = client();
        assertThatThrownBy(() -> j.get("k")).hasMessage("NOAUTH Authentication required.");
        assertThatThrownBy(() -> j.auth("wrong")).hasMessage("WRONGPASS invalid username-password pair or user is disabled.");
        assertThatThrownBy(() -> j.set("k", "v")).hasMessage("NOAUTH Authentication required.");
        assertThat(j.auth("s3cret")).isEqualTo("OK");
        assertThat(j.set("k", "v")).isEqualTo("OK");
        assertThat(j.aclList()).singleElement().asString().doesNotContain("s3cret")
                .startsWith("user default on #");
        // HELLO 3 AUTH logs in and switches protocol in one step.
        Jedis hello = client();
        assertThat(hello.sendCommand(() -> "HELLO".getBytes(), "3", "AUTH", "default", "s3cret")).isNotNull();
        assertThat(hello.get("k")).isEqualTo("v");
    }

    @Test
    void passwordGuessingIsThrottledPerAddress() throws IOException {
        start(new SecurityConfig("right", null, true, null));
        Jedis j = client();
        List<String> replies = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            try {
                j.auth("guess" + i);
            } catch (JedisDataException e) {
                replies.add(e.getMessage());
            }
        }
        assertThat(replies).hasSize(30).contains("WRONGPASS invalid username-password pair or user is disabled.")
                .anyMatch(r -> r.startsWith("ERR too many failed logins from 127.0.0.1"));
        // The right password works again once the address has regained an attempt.
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).ignoreExceptions()
                .until(() -> "OK".equals(j.auth("right")));
        assertThat(j.info("stats")).containsPattern("acl_access_denied_auth:[1-9]").containsPattern("acl_auth_throttled:[1-9]");
    }

    @Test
    void aUserWithoutDangerousCommandsStillNamesItselfAsClientLibrariesDoOnConnect() throws IOException {
        start(SecurityConfig.defaults());
        Jedis admin = client();
        assertThat(admin.aclSetUser("svc", "on", ">pw", "~*", "+@all", "-@dangerous")).isEqualTo("OK");
        Jedis svc = client();
        svc.auth("svc", "pw");
        // as in Redis 7: these subcommands are neither @admin nor @dangerous, unlike their containers
        assertThat(svc.clientSetname("worker-1")).isEqualTo("OK");
        assertThat(svc.clientGetname()).isEqualTo("worker-1");
        assertThat(svc.aclWhoAmI()).isEqualTo("svc");
        assertThatThrownBy(svc::clientList).hasMessage("NOPERM this user has no permissions to run the 'client|list' command");
        assertThatThrownBy(() -> svc.aclSetUser("svc", "+@dangerous"))
                .hasMessage("NOPERM this user has no permissions to run the 'acl|setuser' command");
        assertThatThrownBy(svc::flushAll).hasMessage("NOPERM this user has no permissions to run the 'flushall' command");
    }

    @Test
    void anAclUserTouchesOnlyItsKeysAndCommandsEvenInAPipeline() throws IOException {
        start(SecurityConfig.defaults());
        Jedis admin = client();
        admin.set("other:1", "secret");
        assertThat(admin.aclSetUser("app", "on", ">apppw", "~app:*", "%R~shared:*", "+@read", "+@write", "-flushall",
                "+acl|whoami"))
                .isEqualTo("OK");
        Jedis app = client();
        app.auth("app", "apppw");
        assertThat(app.aclWhoAmI()).isEqualTo("app");
        Pipeline p = app.pipelined();
        Response<String> ok = p.set("app:1", "a");
        Response<String> deniedKey = p.set("other:1", "x");
        Response<String> readShared = p.get("shared:1");
        Response<String> writeShared = p.set("shared:1", "x");
        Response<Object> deniedCommand = p.sendCommand(() -> "FLUSHALL".getBytes(), new String[0]);
        Response<String> after = p.get("app:1");
        p.sync();
        assertThat(ok.get()).isEqualTo("OK");
        assertThatThrownBy(deniedKey::get).isInstanceOf(JedisDataException.class)
                .hasMessage("NOPERM this user has no permissions to access one of the keys used as arguments");
        assertThat(readShared.get()).isNull();
        assertThatThrownBy(writeShared::get).hasMessageStartingWith("NOPERM");
        assertThatThrownBy(deniedCommand::get).hasMessage("NOPERM this user has no permissions to run the 'flushall' command");
        assertThat(after.get()).isEqualTo("a");
        assertThat(admin.get("other:1")).as("the refused write changed nothing").isEqualTo("secret");
        assertThat(admin.dbSize()).isEqualTo(2);
        // The denials are in ACL LOG, newest first.
        List<?> log = (List<?>) admin.sendCommand(() -> "ACL".getBytes(), "LOG");
        assertThat(log).hasSize(3);
    }

    @Test
    void aRefusedCommandInsideMultiAbortsTheTransaction() throws IOException {
        start(SecurityConfig.defaults());
        Jedis admin = client();
        admin.aclSetUser("app", "on", "nopass", "~app:*", "+@all");
        Jedis app = client();
        app.auth("app", "any");
        Transaction t = app.multi();
        t.set("app:1", "a");
        t.set("elsewhere", "b");
        assertThatThrownBy(t::exec).hasMessageStartingWith("EXECABORT");
        assertThat(admin.exists("app:1")).isFalse();
    }

    @Test
    void aUserSwitchedOffKeepsItsConnectionsButCannotLogInAgain() throws IOException {
        start(SecurityConfig.defaults());
        Jedis admin = client();
        admin.aclSetUser("tmp", "on", ">pw", "allkeys", "+@all");
        Jedis tmp = client();
        tmp.auth("tmp", "pw");
        assertThat(tmp.set("k", "v")).isEqualTo("OK");

        admin.aclSetUser("tmp", "off");

        // As Redis: "off" stops new logins; connections already logged in keep working.
        assertThat(tmp.get("k")).isEqualTo("v");
        assertThatThrownBy(() -> client().auth("tmp", "pw")).hasMessageStartingWith("WRONGPASS");
        // Its rules still apply to them.
        admin.aclSetUser("tmp", "-get");
        assertThatThrownBy(() -> tmp.get("k")).hasMessage("NOPERM this user has no permissions to run the 'get' command");
    }

    @Test
    void deletingAUserClosesItsConnectionsAndOneMadeAgainUnderItsNameIsAnotherUser() throws IOException {
        start(SecurityConfig.defaults());
        Jedis admin = client();
        admin.aclSetUser("tmp", "on", ">pw", "~tmp:*", "+@all");
        Jedis tmp = client();
        tmp.auth("tmp", "pw");
        assertThat(tmp.set("tmp:1", "v")).isEqualTo("OK");

        assertThat(admin.aclDelUser("tmp")).isEqualTo(1);
        // Made again, with every key: the old connection must not gain what the new user may do.
        admin.aclSetUser("tmp", "on", ">other", "allkeys", "+@all");

        assertThatThrownBy(() -> tmp.set("secret", "x")).as("the deleted user's connection is closed")
                .isInstanceOf(redis.clients.jedis.exceptions.JedisException.class);
        assertThat(admin.exists("secret")).isFalse();
        Jedis again = client();
        assertThat(again.auth("tmp", "other")).isEqualTo("OK");
        assertThat(again.set("secret", "x")).isEqualTo("OK");
    }

    @Test
    void aConnectionOfAUserMadeAgainIsClosedAtItsNextCommandIfNotBefore() throws Exception {
        start(SecurityConfig.defaults());
        Jedis admin = client();
        admin.aclSetUser("tmp", "on", ">pw", "~tmp:*", "+@all");
        // Not among the node's connected clients, so DELUSER cannot close it at once: its next command must.
        InMemoryClient tmp = InMemoryClient.connect(node, "127.0.0.1");
        opened.add(tmp);
        assertThat(tmp.send(InMemoryClient.command("AUTH", "tmp", "pw"))).isEqualTo("+OK\r\n");

        admin.aclDelUser("tmp");
        admin.aclSetUser("tmp", "on", ">other", "allkeys", "+@all");

        assertThat(tmp.send(InMemoryClient.command("SET", "secret", "x"))).isEqualTo("-ERR this connection's user was"
                + " deleted or replaced (ACL DELUSER, ACL LOAD): connection closed; log in again\r\n");
        assertThat(tmp.isOpen()).isFalse();
        assertThat(admin.exists("secret")).isFalse();
    }

    @Test
    void keyPatternsGrantWhatRedisGrantsCommandByCommand() throws IOException {
        start(SecurityConfig.defaults());
        Jedis admin = client();
        admin.set("w:1", "abc");
        admin.set("r:1", "abc");
        admin.aclSetUser("u", "on", ">pw", "%W~w:*", "%R~r:*", "+@all");
        Jedis u = client();
        u.auth("u", "pw");
        String noKey = "NOPERM this user has no permissions to access one of the keys used as arguments";

        // Write-only keys: written, never read back.
        assertThat(u.set("w:1", "v")).isEqualTo("OK");
        assertThat(u.append("w:1", "x")).isEqualTo(2); // APPEND answers a length, not the value
        assertThat(u.setrange("w:1", 0, "y")).isEqualTo(2);
        assertThatThrownBy(() -> u.get("w:1")).hasMessage(noKey);
        assertThatThrownBy(() -> u.setGet("w:1", "z")).as("SET ... GET reads the old value").hasMessage(noKey);
        assertThatThrownBy(() -> u.incr("w:n")).hasMessage(noKey);
        assertThatThrownBy(() -> u.rename("w:1", "w:2")).as("RENAME reads its source").hasMessage(noKey);
        // Looking at a key needs only a pattern that names it.
        assertThat(u.exists("w:1")).isTrue();
        assertThat(u.strlen("w:1")).isEqualTo(2);
        assertThat(u.type("r:1")).isEqualTo("string");
        assertThatThrownBy(() -> u.exists("elsewhere")).hasMessage(noKey);
        // Read-only keys: read, not written.
        assertThat(u.get("r:1")).isEqualTo("abc");
        assertThatThrownBy(() -> u.set("r:1", "v")).hasMessage(noKey);
        assertThat(admin.get("w:1")).isEqualTo("yx");
    }

    @Test
    void categoriesHoldTheCommandsRedisPutsInThem() throws IOException {
        // Each checked against redis-server 7.0.15: the same replies.
        start(SecurityConfig.defaults());
        Jedis admin = client();
        admin.aclSetUser("noadmin", "on", ">pw", "allkeys", "+@all", "-@admin");
        admin.aclSetUser("noread", "on", ">pw", "allkeys", "+@all", "-@read");
        admin.aclSetUser("noconn", "on", ">pw", "allkeys", "+@all", "-@connection");
        Jedis u = client();

        u.auth("noadmin", "pw");
        assertThatThrownBy(u::lastsave).hasMessage("NOPERM this user has no permissions to run the 'lastsave' command");
        assertThatThrownBy(u::clientList).hasMessage("NOPERM this user has no permissions to run the 'client|list' command");
        assertThat(u.clientSetname("me")).isEqualTo("OK");
        assertThat(u.aclWhoAmI()).isEqualTo("noadmin");
        assertThat(u.sendCommand(Protocol.Command.ACL, "HELP")).isNotNull();
        assertThat(u.sendCommand(Protocol.Command.CONFIG, "HELP")).isNotNull();

        u.auth("noread", "pw");
        assertThat(u.watch("k")).isEqualTo("OK"); // @fast @transaction, not @read

        u.auth("noconn", "pw");
        assertThatThrownBy(() -> u.sendCommand(Protocol.Command.COMMAND, "COUNT"))
                .hasMessage("NOPERM this user has no permissions to run the 'command|count' command");
    }

    @Test
    void aclLogNamesFailedLoginsAsTypedAndDenialsInMultiAsSuch() throws IOException {
        // The entries redis-server 7.0.15 makes for the same commands.
        start(SecurityConfig.defaults());
        Jedis admin = client();
        admin.aclSetUser("u", "on", ">pw", "~k*", "+@all", "-get");
        Jedis u = client();
        assertThatThrownBy(() -> u.sendCommand(() -> "auth".getBytes(), "u", "nope")).hasMessageStartingWith("WRONGPASS");
        assertThatThrownBy(() -> u.sendCommand(Protocol.Command.HELLO, "2", "AUTH", "u", "nope"))
                .hasMessageStartingWith("WRONGPASS");
        u.auth("u", "pw");
        Transaction multi = u.multi();
        multi.get("k");
        multi.set("x", "1");
        assertThatThrownBy(multi::exec).hasMessageStartingWith("EXECABORT");
        assertThatThrownBy(() -> u.get("k")).hasMessageStartingWith("NOPERM");

        List<String> entries = admin.aclLog().stream()
                .map(e -> e.getReason() + " " + e.getContext() + " " + e.getObject()).toList();
        assertThat(entries).containsExactly("command toplevel get", "key multi x", "command multi get",
                "auth toplevel HELLO", "auth toplevel auth");
    }

    @Test
    void aMalformedCommandIsToldSoBeforeItsPermissionsAreChecked() throws IOException {
        start(new SecurityConfig("s3cret", null, true, null));
        Jedis j = client();
        assertThatThrownBy(() -> j.sendCommand(Protocol.Command.GET))
                .hasMessage("ERR wrong number of arguments for 'get' command");
        assertThatThrownBy(() -> j.sendCommand(Protocol.Command.HELLO, "3")).hasMessage("NOAUTH HELLO must be called with"
                + " the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to"
                + " authenticate the client and select the RESP protocol version at the same time");
        assertThat(j.auth("s3cret")).isEqualTo("OK");
        assertThat(j.aclLog()).as("nothing was denied").isEmpty();
    }

    @Test
    void aclSaveAndLoadRoundTripThroughTheFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("users.acl");
        Files.writeString(file, "user default on nopass ~* &* +@all\nuser ops on >opspw ~* +@all -@dangerous\n");
        start(new SecurityConfig(null, file, true, null));
        Jedis j = client();
        assertThat(j.aclUsers()).containsExactly("default", "ops");
        j.aclSetUser("reader", "on", ">r", "~*", "+@read");
        assertThat(j.aclSave()).isEqualTo("OK");
        assertThat(Files.readAllLines(file)).hasSize(3).noneMatch(l -> l.contains(">r") || l.contains("opspw"));
        j.aclDelUser("reader");
        assertThat(j.aclLoad()).isEqualTo("OK");
        assertThat(j.aclUsers()).containsExactly("default", "ops", "reader");
        Files.writeString(file, "user broken on +nosuchcommand\n");
        assertThatThrownBy(j::aclLoad).hasMessageContaining("Unknown command or category name in ACL");
        assertThat(j.aclUsers()).as("a bad file changes nothing").containsExactly("default", "ops", "reader");
    }
}
