package io.trelliskv.security;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AclTest {

    /** A small command table with Redis's categories for its commands. */
    static final CommandCatalog CATALOG = new CommandCatalog() {
        final Map<String, Set<String>> commands = Map.of(
                "get", Set.of("read", "string", "fast"),
                "set", Set.of("write", "string", "slow"),
                "del", Set.of("write", "keyspace", "slow"),
                "flushall", Set.of("write", "keyspace", "dangerous", "slow"),
                "config", Set.of("admin", "dangerous", "slow"),
                "ping", Set.of("fast", "connection"));

        @Override
        public boolean isCommand(String command) {
            return commands.containsKey(command);
        }

        @Override
        public boolean isCategory(String category) {
            return commands.values().stream().anyMatch(c -> c.contains(category));
        }

        @Override
        public Set<String> categoriesOf(String command) {
            return commands.getOrDefault(command, Set.of());
        }

        @Override
        public Set<String> subcommands(String command) {
            return command.equals("config") ? Set.of("get", "set", "resetstat", "rewrite", "help") : null;
        }
    };

    private static AclUser user(String rules) {
        AclUser u = AclUser.create("u");
        for (String r : rules.isBlank() ? new String[0] : rules.split(" ")) {
            u = u.apply(r, CATALOG);
        }
        return u;
    }

    @ParameterizedTest(name = "[{0}] {1} {2} -> {3}")
    @CsvSource(delimiter = ';', value = {
            "                          ; get      ;        ; false",
            "+@all                     ; flushall ;        ; true",
            "allcommands               ; config   ; get    ; true",
            "+@read                    ; get      ;        ; true",
            "+@read                    ; set      ;        ; false",
            "+@all -@dangerous         ; flushall ;        ; false",
            "+@all -@dangerous         ; set      ;        ; true",
            "-@all +get                ; get      ;        ; true",
            "+@all -set +set           ; set      ;        ; true",
            "+@all -set                ; set      ;        ; false",
            "+@string -set             ; get      ;        ; true",
            "+@string -set             ; set      ;        ; false",
            "-@all +config|get         ; config   ; get    ; true",
            "-@all +config|get         ; config   ; set    ; false",
            "+@all -config|set         ; config   ; GET    ; true",
            "+@all -config|set         ; config   ; SET    ; false",
            "+get nocommands           ; get      ;        ; false",
            "+@dangerous -@admin       ; flushall ;        ; true",
            "+@dangerous -@admin       ; config   ; get    ; false",
            "-set +@all                ; set      ;        ; true",
            "-@all -config|get +@all   ; config   ; get    ; true",
            "+@all -@all               ; get      ;        ; false",
            "nocommands allcommands    ; flushall ;        ; true",
    })
    void commandRulesApplyInOrderAndTheLastMatchWins(String rules, String command, String sub, boolean allowed) {
        assertThat(user(rules == null ? "" : rules).mayRun(command, sub, CATALOG)).isEqualTo(allowed);
    }

    @ParameterizedTest(name = "[{0}] {1} read={2} write={3} -> {4}")
    @CsvSource(delimiter = '|', value = {
            "                   | k      | true  | false | false",
            "allkeys            | k      | true  | true  | true",
            "~*                 | k      | true  | true  | true",
            "~user:*            | user:1 | true  | true  | true",
            "~user:*            | acct:1 | true  | false | false",
            "%R~user:*          | user:1 | true  | false | true",
            "%R~user:*          | user:1 | false | true  | false",
            "%W~log:*           | log:1  | false | true  | true",
            "%W~log:*           | log:1  | true  | true  | false",
            "%R~a:* %W~a:*      | a:1    | true  | true  | true",
            "%RW~a:*            | a:1    | true  | true  | true",
            "~a:* resetkeys     | a:1    | true  | false | false",
            "~k?                | k1     | true  | false | true",
            "~k?                | k12    | true  | false | false",
    })
    void keyPatternsGrantReadAndWriteSeparately(String rules, String key, boolean read, boolean write, boolean allowed) {
        assertThat(user(rules == null ? "" : rules).mayAccess(key.getBytes(StandardCharsets.ISO_8859_1), read, write))
                .isEqualTo(allowed);
    }

    @Test
    void passwordsAreKeptOnlyAsSha256AndAUserMustBeOn() {
        AclUser u = user(">s3cret");
        assertThat(u.authenticates("s3cret".getBytes())).as("off").isFalse();
        u = u.apply("on", CATALOG);
        assertThat(u.authenticates("s3cret".getBytes())).isTrue();
        assertThat(u.authenticates("wrong".getBytes())).isFalse();
        assertThat(u.describe()).doesNotContain("s3cret");
        String hash = u.passwordHashes().get(0);
        assertThat(hash).hasSize(64).matches("[0-9a-f]+");
        AclUser byHash = user("on #" + hash);
        assertThat(byHash.authenticates("s3cret".getBytes())).isTrue();
        assertThat(byHash.apply("<s3cret", CATALOG).authenticates("s3cret".getBytes())).isFalse();
        assertThat(user("on nopass").authenticates("anything".getBytes())).isTrue();
        assertThat(user("on nopass >p").nopass()).as("a password ends nopass").isFalse();
        assertThat(user("on >p resetpass").authenticates("p".getBytes())).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "heeyyyy            | Syntax error",
            "+nosuchcommand     | Unknown command or category name in ACL",
            "+@nosuchcategory   | Unknown command or category name in ACL",
            "#abc               | The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            "<notthere          | The password you are trying to remove from the user does not exist",
            "%X~k               | Syntax error",
            "(~k +get)          | ACL selectors are not supported",
    })
    void aBadRuleIsRefusedWithRedissReasonAndChangesNothing(String rule, String reason) {
        Acl acl = new Acl(CATALOG);
        acl.setUser("alice", List.of("on", ">p"));
        String before = String.join("\n", acl.list());
        assertThatThrownBy(() -> acl.setUser("alice", List.of("+get", rule)))
                .isInstanceOf(AclException.class)
                .hasMessage("Error in ACL SETUSER modifier '" + rule + "': " + reason);
        assertThat(String.join("\n", acl.list())).isEqualTo(before);
    }

    @Test
    void aPatternAfterAllkeysIsRefusedAsRedisDoes() {
        assertThatThrownBy(() -> user("allkeys ~k")).hasMessageStartingWith("Adding a pattern after the * pattern");
    }

    @Test
    void describeGivesRedissAclListLines() {
        Acl acl = new Acl(CATALOG);
        assertThat(acl.list()).containsExactly("user default on nopass ~* &* +@all");
        acl.setUser("alice", List.of());
        acl.setUser("bob", List.of("on", "~cache:*", "%R~ro:*", "+@read", "+set", "-get", "&news"));
        assertThat(acl.list()).containsExactly(
                "user alice off resetchannels -@all",
                "user bob on ~cache:* %R~ro:* resetchannels &news -@all +@read +set -get",
                "user default on nopass ~* &* +@all");
    }

    @Test
    void theDefaultUserCannotBeDeletedAndRequirepassClosesIt() {
        Acl acl = new Acl(CATALOG);
        assertThat(acl.authRequired()).isFalse();
        assertThatThrownBy(() -> acl.deleteUsers(List.of("default"))).hasMessage("The 'default' user cannot be removed");
        acl.requirePassword("pw");
        assertThat(acl.authRequired()).isTrue();
        assertThat(acl.authenticate("default", "pw".getBytes())).isNotNull();
        assertThat(acl.authenticate("default", "px".getBytes())).isNull();
        assertThat(acl.authenticate("nobody", "pw".getBytes())).isNull();
        acl.setUser("x", List.of("on", "nopass"));
        assertThat(acl.deleteUsers(List.of("x", "y"))).isEqualTo(1);
    }

    @Test
    void anAclFileLoadsAllOrNothingAndNamesTheLine() {
        Acl acl = new Acl(CATALOG);
        acl.load("users.acl", List.of("# users", "user alice on >a ~a:* +get", "", "user default on >d ~* +@all"));
        assertThat(acl.userNames()).containsExactly("alice", "default");
        assertThat(acl.authRequired()).isTrue();
        List<String> saved = acl.list();
        // Every error, in redis-server 7.0.15's words.
        assertThatThrownBy(() -> acl.load("users.acl", List.of("user carol on", "user dave on +nosuch", "user erin on bogus more",
                "user frank on ~a b", "carol on", "user carol off")))
                .hasMessage("users.acl:2: Error in applying operation '+nosuch': Unknown command or category name in ACL."
                        + " users.acl:3: Syntax error. users.acl:4: Syntax error. users.acl:5 should start with user keyword followed by the username."
                        + " WARNING: Duplicate user 'carol' found on line 6. WARNING: ACL errors detected, no change to"
                        + " the previously active ACL rules was performed");
        assertThat(acl.list()).isEqualTo(saved);
        // What ACL LIST prints loads back to the same table (ACL SAVE then ACL LOAD).
        Acl again = new Acl(CATALOG);
        again.load("users.acl", saved);
        assertThat(again.list()).isEqualTo(saved);
    }

    @Test
    void repeatedDenialsMergeInTheLogAndItIsBounded() {
        Acl acl = new Acl(CATALOG);
        acl.logDenial(Acl.Denial.COMMAND, "toplevel", "get", "bob", "id=1", 10);
        acl.logDenial(Acl.Denial.COMMAND, "toplevel", "get", "bob", "id=2", 20);
        acl.logDenial(Acl.Denial.KEY, "toplevel", "k", "bob", "id=2", 30);
        List<Acl.LogEntry> log = acl.logEntries(10);
        assertThat(log).hasSize(2);
        assertThat(log.get(0).denial()).isEqualTo(Acl.Denial.KEY);
        assertThat(log.get(1).count()).isEqualTo(2);
        assertThat(log.get(1).createdMillis()).isEqualTo(10);
        assertThat(log.get(1).updatedMillis()).isEqualTo(20);
        for (int i = 0; i < Acl.LOG_MAX_ENTRIES + 10; i++) {
            acl.logDenial(Acl.Denial.AUTH, "toplevel", "AUTH", "u" + i, "", i);
        }
        assertThat(acl.logEntries(1000)).hasSize(Acl.LOG_MAX_ENTRIES);
        acl.resetLog();
        assertThat(acl.logEntries(10)).isEmpty();
        assertThat(Arrays.asList(Acl.Denial.values())).extracting(Acl.Denial::reason).containsExactly("auth", "command", "key");
    }

    /**
     * GETUSER's flags and ACL LIST's lines as Redis 7.0 shows them (found by AclDifferentialIT): every key
     * or channel is not a flag, {@code reset} sets {@code sanitize-payload}, and the payload rules Redis
     * writes into ACL files load; a key pattern after allkeys is refused as such before its permissions
     * are read, and a permission given twice ({@code %RR~}) is a syntax error.
     */
    @Test
    void flagsAndThePayloadRulesAreRedis7s() {
        assertThat(user("on nopass allkeys allchannels").flags()).containsExactly("on", "nopass");
        AclUser reset = user("on >pw ~k reset");
        assertThat(reset.flags()).containsExactly("off", "sanitize-payload");
        assertThat(reset.describe()).isEqualTo("user u off sanitize-payload resetchannels -@all");
        assertThat(user("on skip-sanitize-payload ~* +@all").describe())
                .isEqualTo("user u on skip-sanitize-payload ~* resetchannels +@all");
        assertThatThrownBy(() -> user("allkeys %X~k")).hasMessageStartingWith("Adding a pattern after the * pattern");
        assertThatThrownBy(() -> user("%RR~k")).hasMessage("Syntax error");
    }

    @Test
    void aUserLookedUpAgainIsTheTablesCurrentOneAfterEveryChange() {
        Acl acl = new Acl(CATALOG);
        String name = acl.setUser("alice", List.of("on", ">pw", "~k:*", "+@all")).name();

        AclUser first = acl.user(name);
        assertThat(acl.user(name)).isSameAs(first); // the same name again: the same answer
        assertThat(acl.user(new String("alice".toCharArray()))).isSameAs(first); // an equal name, another instance
        assertThat(acl.user(name)).isSameAs(first);

        acl.setUser("alice", List.of("off"));
        assertThat(acl.user(name).enabled()).as("switched off since the last lookup").isFalse();
        assertThat(acl.user("bob")).isNull();

        acl.user(name);
        acl.deleteUsers(List.of("alice"));
        assertThat(acl.user(name)).as("deleted since the last lookup").isNull();
        assertThat(acl.user("default")).isNotNull();
    }

    @Test
    void allCommandsSaysWhetherEveryCommandMayRun() {
        assertThat(user("+@all").allCommands()).isTrue();
        assertThat(user("allcommands").allCommands()).isTrue();
        assertThat(user("+@all -flushall").allCommands()).isFalse();
        assertThat(user("+@read").allCommands()).isFalse();
        assertThat(user("-@all +@all").allCommands()).isTrue();
    }
}
