package io.trelliskv.it;

import io.trelliskv.testing.RawResp;
import io.trelliskv.testing.Violations;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

import static org.awaitility.Awaitility.await;

/**
 * TrellisKV's ACL against Redis 7.0's: the same seeded stream of ACL SETUSER, ACL GETUSER, ACL DELUSER,
 * ACL LOG, AUTH, keyed commands (GET, SET with and without GET, DEL, APPEND, STRLEN, EXISTS, TYPE, RENAME,
 * GETRANGE) and ACL WHOAMI goes to a redis-server and to a TrellisKV node, one command at a time, and every
 * reply must be the same, byte for byte.
 *
 * <h2>The stream</h2>
 * Three connections a side, each with its own role, so that what one command does to a connection is the
 * same on both sides:
 * <ul>
 * <li>the <b>admin</b> connection (the {@code default} user, open to all) sends ACL SETUSER, GETUSER and
 *     DELUSER, with one to three rules drawn from on/off, passwords, key patterns ({@code ~}, {@code %R~},
 *     {@code %W~}, allkeys, resetkeys), categories, commands, subcommands, reset rules, and a few rules
 *     that are not rules, whose error replies must match too;</li>
 * <li>the <b>user</b> connection logs in (AUTH) as one of two login users and runs keyed commands and
 *     ACL WHOAMI on keys inside and outside their patterns ({@code ~}, {@code %R~}, {@code %W~}), so every
 *     NOPERM and every allowed reply is compared: what each command needs of a pattern (read, write, both,
 *     or only one that names the key) is Redis's;</li>
 * <li>a <b>probe</b>, a fresh connection for each AUTH as any user with any password (users switched
 *     off, deleted, without a password, never created): WRONGPASS against OK.</li>
 * </ul>
 * The login users are never switched off, reset or deleted while the user connection may be logged in as
 * them: Redis closes the connections of a deleted user (so does TrellisKV: {@code AuthAclTest}), and the
 * stream would then only compare two closed sockets.
 *
 * <h2>Where TrellisKV differs on purpose</h2>
 * <ul>
 * <li><b>Failed logins are throttled</b> (docs/USAGE.md, {@code security.AuthThrottle}): past ten failed
 *     logins from one address, TrellisKV refuses further attempts, without looking at the password, with
 *     {@code -ERR too many failed logins ...} until its bucket refills (five a second); Redis has no such
 *     limit. The stream's probes fail often, all from 127.0.0.1, so when the node answers that, the same
 *     AUTH is sent again, on the same connection, until it is let through (within {@link #THROTTLE_WAIT});
 *     a refused attempt changes nothing, and only the reply it finally gets is compared.</li>
 * <li><b>ACL GETUSER's {@code commands} field</b>: Redis does not keep the rules it was given but
 *     rebuilds a description from its per-command bitmap (a user given {@code +@all}, then {@code +del},
 *     then {@code +@dangerous} is described as {@code +@all}); TrellisKV keeps the rules as given
 *     ({@code +@all +del +@dangerous}), less those a later rule makes moot. The two describe the same permissions spelled differently, so the
 *     field is replaced by {@code <commands>} on both sides before the replies are compared; what the
 *     rules permit is compared by the user connection's commands, whose NOPERM replies name the refused
 *     command or key. Every other field (flags, password hashes, keys, channels, selectors) is compared
 *     as sent.</li>
 * </ul>
 *
 * Rules outside TrellisKV's subset (selectors) are left out of the stream too.
 *
 * <p>The reference is the {@code redis-server} on PATH (Redis 7.0, as .ci/run installs it) on
 * 127.0.0.121; the node, standalone, on 127.0.0.122. Both are stopped by their process handles.
 * {@code -Dtrellis.differential.seeds=1,2,3} replays given seeds; by default one random seed, printed.
 */
@TestInstance(Lifecycle.PER_CLASS)
class AclDifferentialIT {

    private static final String REDIS_HOST = "127.0.0.121";
    private static final String TRELLIS_HOST = "127.0.0.122";
    /** Commands in each seed's stream. */
    private static final int COMMANDS = 1_500;
    private static final int READ_TIMEOUT_MILLIS = 10_000;
    /** How long a throttled login is retried: the throttle lets one through every 200 ms. */
    private static final Duration THROTTLE_WAIT = Duration.ofSeconds(5);
    private static final String THROTTLED = "-ERR too many failed logins from ";

    /** The users the user connection logs in as: rules changed, never switched off or deleted. */
    private static final List<String> LOGIN_USERS = List.of("alice", "bob");
    /** Users the admin may do anything to. */
    private static final List<String> SCRATCH_USERS = List.of("carol", "dave");
    private static final List<String> PASSWORDS = List.of("pw1", "pw2");
    private static final List<String> KEYS = List.of("app:1", "app:2", "app:x:1", "other:1", "log:1");
    /** Rules that leave a user on and its passwords as they were: for the login users. */
    private static final List<String> ACCESS_RULES = List.of("~app:*", "~other:*", "%R~log:*", "%W~log:*",
            "%RW~app:x:*", "allkeys", "resetkeys", "+@all", "-@all", "+@read", "-@read", "+@write", "-@write",
            "+@string", "-@keyspace", "+get", "-get", "+set", "-set", "+del", "-del", "+acl|whoami", "-acl|whoami",
            "+@dangerous", "-@dangerous", "+@admin", "-@admin", "+@slow", "-@slow",
            "allcommands", "nocommands", "&chan:*", "resetchannels", "allchannels", "~*", "&*", "%RW~*",
            ">pw2");
    /** Everything else, for the scratch users, and a few that are refused. */
    private static final List<String> OTHER_RULES = List.of("on", "off", ">pw1", "<pw1", "<pw2", "nopass",
            "resetpass", "reset", "#" + "0".repeat(64), "!" + "0".repeat(64), "+nosuchcommand", "bogus", "~",
            "+@nosuchcategory", "%X~app:*", "%RR~app:*", "+get|sub|more", "", "~app: *", "&a\tb",
            "+config|nosuch", "-get|foo", "+config|get|x", "-config|get", "+client|kill", "-client|nosuch", "+select|0",
            "-debug|sleep", "+config|", "-@all|x");

    @TempDir
    static Path tempDir;
    private TrellisProcess redis;
    private TrellisProcess trellis;
    private int redisPort;
    private int trellisPort;

    @BeforeAll
    void start() throws IOException {
        Assumptions.assumeTrue(TrellisProcess.onPath("redis-server"), "redis-server is not installed");
        Path home = TrellisProcess.stageHome(tempDir.resolve("home"));
        Path logs = ClusterIT.logDir("acl-differential-it-logs");
        redisPort = TrellisProcess.freePort(REDIS_HOST);
        redis = TrellisProcess.launchCommand(logs, List.of("redis-server", "--port", Integer.toString(redisPort),
                "--bind", REDIS_HOST, "--save", "", "--appendonly", "no"));
        redis.awaitServing(REDIS_HOST, redisPort);
        trellisPort = TrellisProcess.freePort(TRELLIS_HOST);
        trellis = TrellisProcess.launch(home, logs, "trellis", Integer.toString(trellisPort), "--host", TRELLIS_HOST,
                "--appendonly", "no", "--data-dir", logs.resolve("data").toString());
        trellis.awaitServing(TRELLIS_HOST, trellisPort);
    }

    @AfterAll
    void stop() {
        if (trellis != null) {
            trellis.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    LongStream seeds() {
        String given = System.getProperty("trellis.differential.seeds", "").trim();
        if (!given.isEmpty()) {
            return Arrays.stream(given.split(",")).map(String::trim).mapToLong(Long::parseLong);
        }
        return new Random().longs(1, 0, Long.MAX_VALUE);
    }

    /** One side: its three connections. */
    private record Side(String name, String host, int port, RawResp admin, RawResp user) implements AutoCloseable {

        static Side open(String name, String host, int port) throws IOException {
            return new Side(name, host, port, RawResp.connect(host, port, READ_TIMEOUT_MILLIS),
                    RawResp.connect(host, port, READ_TIMEOUT_MILLIS));
        }

        byte[] send(RawResp connection, byte[][] command) throws IOException {
            return connection.pipeline(java.util.Collections.singletonList(command)).get(0);
        }

        /** AUTH on a fresh connection, closed again. */
        byte[] probe(byte[][] command) throws IOException {
            try (RawResp probe = RawResp.connect(host, port, READ_TIMEOUT_MILLIS)) {
                return send(probe, command);
            }
        }

        @Override
        public void close() throws IOException {
            admin.close();
            user.close();
        }
    }

    /** Where a command of the stream goes. */
    private enum Target { ADMIN, USER, PROBE }

    private record Step(Target target, byte[][] command) {
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void sameRepliesAsRedis(long seed) throws IOException {
        Random random = new Random(seed);
        Violations mismatches = new Violations("AclDifferentialIT seed " + seed + " (" + COMMANDS
                + " commands to redis-server and a node; -Dtrellis.differential.seeds=" + seed + " replays it)");
        try (Side reference = Side.open("redis", REDIS_HOST, redisPort);
             Side node = Side.open("trellis", TRELLIS_HOST, trellisPort)) {
            List<Step> steps = new ArrayList<>(setup());
            for (int i = 0; i < COMMANDS; i++) {
                steps.add(next(random));
            }
            for (int i = 0; i < steps.size(); i++) {
                Step step = steps.get(i);
                byte[] expected = send(reference, step);
                byte[] actual = send(node, step);
                if (Arrays.equals(expected, actual)) {
                    mismatches.passed();
                } else {
                    mismatches.add("#" + i + " " + step.target() + " " + RawResp.printable(step.command()) + ": redis "
                            + RawResp.printable(expected) + ", trellis " + RawResp.printable(actual));
                }
            }
        }
        mismatches.assertNone();
    }

    private static byte[] send(Side side, Step step) throws IOException {
        byte[] reply = sendOnce(side, step);
        if (!isThrottled(reply)) {
            return normalised(step, reply);
        }
        byte[][] last = {reply};
        await().atMost(THROTTLE_WAIT).pollInterval(Duration.ofMillis(50)).until(() -> {
            last[0] = sendOnce(side, step);
            return !isThrottled(last[0]);
        });
        return normalised(step, last[0]);
    }

    private static byte[] sendOnce(Side side, Step step) throws IOException {
        return switch (step.target()) {
            case ADMIN -> side.send(side.admin(), step.command());
            case USER -> side.send(side.user(), step.command());
            case PROBE -> side.probe(step.command());
        };
    }

    private static boolean isThrottled(byte[] reply) {
        return new String(reply, StandardCharsets.UTF_8).startsWith(THROTTLED);
    }

    /**
     * ACL GETUSER's reply with its {@code commands} value replaced by {@code <commands>}, and ACL WHOAMI's
     * NOPERM text as Redis words it (see the class comment).
     */
    private static byte[] normalised(Step step, byte[] reply) {
        byte[][] c = step.command();
        if (c.length < 2 || !new String(c[1], StandardCharsets.UTF_8).equalsIgnoreCase("GETUSER")) {
            return reply;
        }
        String text = new String(reply, StandardCharsets.UTF_8);
        return text.replaceFirst("\\$8\r\ncommands\r\n\\$\\d+\r\n[^\r]*\r\n", "\\$8\r\ncommands\r\n<commands>\r\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** A clean start on both sides: no keys, only the default user and the two login users. */
    private static List<Step> setup() {
        List<Step> steps = new ArrayList<>();
        steps.add(new Step(Target.ADMIN, args("FLUSHALL")));
        for (String user : LOGIN_USERS) {
            steps.add(new Step(Target.ADMIN, args("ACL", "DELUSER", user)));
            steps.add(new Step(Target.ADMIN, args("ACL", "SETUSER", user, "on", ">pw1", "~app:*", "+@all")));
        }
        for (String user : SCRATCH_USERS) {
            steps.add(new Step(Target.ADMIN, args("ACL", "DELUSER", user)));
        }
        steps.addAll(keyPermissionSweep());
        steps.addAll(rulesChangedBeforeExec());
        steps.add(new Step(Target.USER, args("AUTH", "alice", "pw1")));
        return steps;
    }

    /**
     * Rules changed between MULTI and EXEC: Redis 7.0 checks each queued command again at EXEC and answers one
     * no longer allowed (its command, or its keys) with NOPERM in EXEC's reply, running the others. As bob, who is
     * logged in after the sweep; his rules are as before at the end.
     */
    private static List<Step> rulesChangedBeforeExec() {
        List<Step> steps = new ArrayList<>();
        steps.add(new Step(Target.USER, args("MULTI")));
        steps.add(new Step(Target.USER, args("SET", "app:exec", "v")));
        steps.add(new Step(Target.USER, args("GET", "app:exec")));
        steps.add(new Step(Target.ADMIN, args("ACL", "SETUSER", "bob", "-set")));
        steps.add(new Step(Target.USER, args("EXEC")));
        steps.add(new Step(Target.ADMIN, args("ACL", "SETUSER", "bob", "+set")));
        steps.add(new Step(Target.USER, args("MULTI")));
        steps.add(new Step(Target.USER, args("SET", "app:exec", "w")));
        steps.add(new Step(Target.USER, args("PING")));
        steps.add(new Step(Target.ADMIN, args("ACL", "SETUSER", "bob", "resetkeys", "~other:*")));
        steps.add(new Step(Target.USER, args("EXEC")));
        steps.add(new Step(Target.USER, args("GET", "app:exec")));
        steps.add(new Step(Target.ADMIN, args("ACL", "SETUSER", "bob", "resetkeys", "~app:*")));
        return steps;
    }

    /**
     * Every keyed command on keys whose patterns grant write only, read only, both, and nothing, as bob: what each
     * command needs of a pattern, key by key (Redis's key specs), compared in full before the random stream, which
     * meets such patterns only now and then. Bob gets his first rules back at the end.
     */
    private static List<Step> keyPermissionSweep() {
        List<Step> steps = new ArrayList<>();
        steps.add(new Step(Target.ADMIN, args("SET", "rw:src", "1")));
        steps.add(new Step(Target.ADMIN, args("ACL", "SETUSER", "bob", "resetkeys", "%W~w:*", "%R~r:*", "~rw:*")));
        steps.add(new Step(Target.USER, args("AUTH", "bob", "pw1")));
        for (String key : List.of("w:1", "r:1", "rw:1", "x:1")) {
            steps.add(new Step(Target.ADMIN, args("SET", key, "abc")));
            for (List<String> command : List.of(
                    List.of("SET", key, "v"), List.of("SET", key, "v", "GET"), List.of("SET", key, "get"),
                    List.of("SET", key, "v", "EX", "100", "get"), List.of("SETNX", key, "v"), List.of("APPEND", key, "x"),
                    List.of("SETRANGE", key, "0", "y"), List.of("STRLEN", key), List.of("EXISTS", key),
                    List.of("TYPE", key), List.of("GET", key), List.of("GETRANGE", key, "0", "1"),
                    List.of("GETSET", key, "7"), List.of("INCR", key), List.of("INCRBY", key, "2"),
                    List.of("DECR", key), List.of("EXPIRE", key, "100"), List.of("TTL", key), List.of("PERSIST", key),
                    List.of("MGET", key, "rw:1"), List.of("MSET", key, "a", "rw:1", "b"), List.of("GETEX", key),
                    List.of("GETDEL", key), List.of("SET", key, "abc"), List.of("RENAME", key, "rw:moved"),
                    List.of("RENAME", "rw:src", key), List.of("RENAMENX", key, "rw:other"), List.of("DEL", key))) {
                steps.add(new Step(Target.USER, args(command)));
            }
        }
        steps.add(new Step(Target.ADMIN, args("ACL", "SETUSER", "bob", "resetkeys", "~app:*")));
        return steps;
    }

    private static Step next(Random random) {
        int roll = random.nextInt(100);
        if (roll < 20) {
            boolean login = random.nextInt(3) == 0;
            String user = pick(random, login ? LOGIN_USERS : SCRATCH_USERS);
            List<String> command = new ArrayList<>(List.of("ACL", "SETUSER", user));
            int rules = 1 + random.nextInt(3);
            for (int r = 0; r < rules; r++) {
                command.add(login || random.nextBoolean() ? pick(random, ACCESS_RULES) : pick(random, OTHER_RULES));
            }
            return new Step(Target.ADMIN, args(command));
        }
        if (roll < 28) {
            return new Step(Target.ADMIN, args("ACL", "GETUSER", pick(random, random.nextBoolean() ? LOGIN_USERS
                    : SCRATCH_USERS)));
        }
        if (roll < 31) {
            return new Step(Target.ADMIN, args("ACL", "DELUSER", pick(random, SCRATCH_USERS)));
        }
        if (roll < 32) {
            return new Step(Target.ADMIN, args("ACL", "LOG", pick(random, List.of("-1", "0", "abc"))));
        }
        if (roll < 40) {
            List<String> users = new ArrayList<>(SCRATCH_USERS);
            users.addAll(LOGIN_USERS);
            users.add("nobody");
            return new Step(Target.PROBE, args("AUTH", pick(random, users), pick(random, PASSWORDS)));
        }
        if (roll < 46) {
            return new Step(Target.USER, args("AUTH", pick(random, LOGIN_USERS), pick(random, PASSWORDS)));
        }
        if (roll < 50) {
            return new Step(Target.USER, args("ACL", "WHOAMI"));
        }
        String key = pick(random, KEYS);
        if (roll < 64) {
            return new Step(Target.USER, args("GET", key));
        }
        if (roll < 80) {
            return new Step(Target.USER, args("SET", key, "v" + random.nextInt(100)));
        }
        if (roll < 86) {
            return new Step(Target.USER, args("DEL", key));
        }
        // Commands whose keys need read, write, both or only a pattern that names them (Redis's key specs).
        return new Step(Target.USER, args(switch (random.nextInt(9)) {
            case 0 -> List.of("SET", key, "v" + random.nextInt(100), "GET");
            case 1 -> List.of("SET", key, "get");
            case 2 -> List.of("APPEND", key, "x");
            case 3 -> List.of("STRLEN", key);
            case 4 -> List.of("EXISTS", key);
            case 5 -> List.of("TYPE", key);
            case 6 -> List.of("RENAME", key, pick(random, KEYS));
            case 7 -> List.of("GETRANGE", key, "0", "1");
            default -> List.of("GET"); // a wrong arity: told so before any permission is checked
        }));
    }

    private static String pick(Random random, List<String> from) {
        return from.get(random.nextInt(from.size()));
    }

    private static byte[][] args(String... words) {
        return args(List.of(words));
    }

    private static byte[][] args(List<String> words) {
        byte[][] out = new byte[words.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = words.get(i).getBytes(StandardCharsets.UTF_8);
        }
        return out;
    }
}
