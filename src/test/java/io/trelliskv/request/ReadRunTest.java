package io.trelliskv.request;

import io.netty.buffer.Unpooled;
import io.trelliskv.common.Key;
import io.trelliskv.replication.ConsistencyLevel;
import io.trelliskv.replication.ReplicationException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a run of reads answers once its read is over ({@link ReadRun#readDone}): every command's handler in order; a
 * command one of whose keys failed answers that key's error in its place, the others as read; a read that could not
 * start (no key failures) fails every command.
 */
class ReadRunTest {

    private final List<Integer> ran = new ArrayList<>();

    /** A run of: GET a, MGET b c, GET d. Handlers answer {@code +ran N}; errors are {@code -ERR} and the message. */
    private ReadRun run() {
        ReadRun.Handlers handlers = (protocol, specs, args, routedKeys, errors, count) -> {
            StringBuilder replies = new StringBuilder();
            for (int i = 0; i < count; i++) {
                if (errors != null && errors[i] != null) {
                    replies.append(new String(errors[i], StandardCharsets.UTF_8));
                } else {
                    ran.add(i);
                    replies.append("+ran ").append(i).append("\r\n");
                }
            }
            return replies.toString().getBytes(StandardCharsets.UTF_8);
        };
        ReadRun run = new ReadRun(null, handlers,
                f -> ("-ERR " + f.getMessage() + "\r\n").getBytes(StandardCharsets.UTF_8), null, null,
                Unpooled.buffer(), ConsistencyLevel.QUORUM, 2, List.of(1L, 2L, 3L));
        run.add(null, new byte[][] {bytes("GET"), bytes("a")}, List.of(Key.of("a")));
        run.add(null, new byte[][] {bytes("MGET"), bytes("b"), bytes("c")}, List.of(Key.of("b"), Key.of("c")));
        run.add(null, new byte[][] {bytes("GET"), bytes("d")}, List.of(Key.of("d")));
        return run;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static ReplicationException failureOf(String key) {
        return ReplicationException.floorAhead(bytes(key), 10, 5);
    }

    private static String answer(ReadRun run) {
        assertThat(run).isCompleted();
        return new String(run.join(), StandardCharsets.UTF_8);
    }

    @Test
    void aReadThatSucceededRunsEveryHandlerInOrder() {
        ReadRun run = run();

        run.readDone(null, null);

        assertThat(answer(run)).isEqualTo("+ran 0\r\n+ran 1\r\n+ran 2\r\n");
        assertThat(run.ran).isCompleted();
    }

    @Test
    void onlyTheCommandsOfKeysShortOfAnswersFail() {
        ReadRun run = run();
        ReplicationException c = failureOf("c");
        ReplicationException[] perKey = {null, null, c, null}; // keys a, b, c, d

        run.readDone(c, perKey);

        assertThat(answer(run)).isEqualTo("+ran 0\r\n-ERR " + c.getMessage() + "\r\n+ran 2\r\n");
        assertThat(ran).containsExactly(0, 2);
        assertThat(run.ran).isCompleted();
    }

    @Test
    void aCommandWithSeveralFailedKeysAnswersTheFirst() {
        ReadRun run = run();
        ReplicationException b = failureOf("b");
        ReplicationException[] perKey = {null, b, failureOf("c"), failureOf("d")};

        run.readDone(b, perKey);

        assertThat(answer(run)).isEqualTo("+ran 0\r\n-ERR " + b.getMessage() + "\r\n-ERR "
                + perKey[3].getMessage() + "\r\n");
    }

    @Test
    void aReadThatFailedAsAWholeFailsEveryCommand() {
        ReadRun run = run();
        ReplicationException whole = failureOf("a");

        run.readDone(whole, null);

        String error = "-ERR " + whole.getMessage() + "\r\n";
        assertThat(answer(run)).isEqualTo(error + error + error);
        assertThat(ran).isEmpty();
        assertThat(run.ran).isCompleted();
    }
}
