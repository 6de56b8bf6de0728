package io.trelliskv.request;

import io.trelliskv.testing.CommandHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A command another node forwarded runs with the client's user as this node defines it: the node that runs a
 * command enforces its own ACL, whatever the forwarding node allowed.
 */
class ForwardedPermissionsTest {

    private static final long FROM = 0xabcL;

    private final CommandHarness h = new CommandHarness();

    @AfterEach
    void close() {
        h.close();
    }

    private String forwarded(String user, byte[][] args) {
        return new String(h.node.dispatcher().executeForwarded(FROM, new ForwardCodec.Request(2, null, null, 0, null,
                args, user)).join().resp(), StandardCharsets.UTF_8);
    }

    private static byte[][] args(String... s) {
        return Arrays.stream(s).map(a -> a.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
    }

    @Test
    void aForwardedCommandIsCheckedWithThisNodesRulesForItsUser() {
        assertThat(h.call("ACL", "SETUSER", "alice", "on", "nopass", "~a*", "+get", "+set")).isEqualTo("+OK\r\n");

        assertThat(forwarded("alice", args("SET", "a1", "v"))).isEqualTo("+OK\r\n");
        assertThat(forwarded("alice", args("GET", "a1"))).isEqualTo("$1\r\nv\r\n");
        assertThat(forwarded("alice", args("SET", "b1", "v")))
                .isEqualTo("-NOPERM this user has no permissions to access one of the keys used as arguments\r\n");
        assertThat(forwarded("alice", args("DEL", "a1")))
                .isEqualTo("-NOPERM this user has no permissions to run the 'del' command\r\n");
        assertThat(h.call("EXISTS", "b1")).as("nothing of a refused command ran").isEqualTo(":0\r\n");
        assertThat(h.call("GET", "a1")).isEqualTo("$1\r\nv\r\n");

        // The denials are in this node's ACL LOG, the client named as the node that forwarded the command.
        String log = h.call("ACL", "LOG");
        assertThat(log).contains("forwarded-by=abc").contains("alice").contains("del").contains("b1");
    }

    @Test
    void aUserThisNodeDoesNotKnowMayRunNothingHereAndTheDefaultUserEverything() {
        assertThat(forwarded("mallory", args("SET", "k", "v"))).isEqualTo("-NOPERM user 'mallory' does not exist on"
                + " the node that owns the key: define every ACL user on every node\r\n");
        assertThat(h.call("EXISTS", "k")).isEqualTo(":0\r\n");
        assertThat(forwarded("default", args("SET", "k", "v"))).isEqualTo("+OK\r\n");
        assertThat(forwarded(null, args("DEL", "k"))).as("a forward of an earlier build names no user")
                .isEqualTo(":1\r\n");
    }

    @Test
    void aForwardedTransactionAnswersTheRefusalOfEachCommandItsUserMayNotRunHereInItsPlace() {
        assertThat(h.call("ACL", "SETUSER", "alice", "on", "nopass", "~a*", "+@all")).isEqualTo("+OK\r\n");
        Transaction.Unit unit = new Transaction.Unit(List.of(), List.of(), List.of(args("SET", "a2", "x"),
                args("SET", "b2", "y"), args("GET", "a2")));
        assertThat(forwarded("alice", unit.encode())).isEqualTo("*3\r\n+OK\r\n"
                + "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n$1\r\nx\r\n");
        assertThat(h.call("EXISTS", "b2")).isEqualTo(":0\r\n");
    }
}
