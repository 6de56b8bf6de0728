package io.trelliskv.server;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** The start order of one stream's commands ({@link InOrder}) and of forwarded streams ({@link ForwardedStreams}). */
class InOrderTest {

    private final List<String> started = new ArrayList<>();

    /** A command that starts by logging its name and finishes its handler when {@code ran} completes. */
    private java.util.function.Supplier<CompletableFuture<Void>> command(String name, CompletableFuture<Void> ran) {
        return () -> {
            started.add(name);
            return ran;
        };
    }

    private static final CompletableFuture<Void> AT_ONCE = CompletableFuture.completedFuture(null);

    @Test
    void commandsThatRunAtOnceStartAtOnce() {
        InOrder order = new InOrder();
        assertThat(order.submit(command("a", AT_ONCE)).isDone()).isTrue();
        assertThat(order.submit(command("b", AT_ONCE)).isDone()).isTrue();
        assertThat(started).containsExactly("a", "b");
        assertThat(order.idle()).isTrue();
    }

    @Test
    void aWaitingCommandHoldsBackLaterOnesUntilItsHandlerRanThenTheyStartInOrder() {
        InOrder order = new InOrder();
        CompletableFuture<Void> incr = new CompletableFuture<>();
        CompletableFuture<Void> del = new CompletableFuture<>();
        order.submit(command("INCR", incr));
        order.submit(command("GET", AT_ONCE));
        order.submit(command("DEL", del));
        CompletableFuture<Void> settled = order.submit(command("SET", AT_ONCE));
        assertThat(started).containsExactly("INCR");
        assertThat(order.idle()).isFalse();

        incr.complete(null);
        assertThat(started).containsExactly("INCR", "GET", "DEL"); // DEL waits for its own read now
        assertThat(settled).isNotDone();

        del.complete(null);
        assertThat(started).containsExactly("INCR", "GET", "DEL", "SET");
        assertThat(settled).isDone();
        assertThat(order.idle()).isTrue();
    }

    @Test
    void aRetiredStreamStartsNothing() {
        InOrder order = new InOrder();
        CompletableFuture<Void> ran = new CompletableFuture<>();
        order.submit(command("a", ran));
        assertThat(order.retireIfIdle()).isFalse();
        ran.complete(null);
        assertThat(order.retireIfIdle()).isTrue();
        assertThat(order.submit(command("b", AT_ONCE))).isSameAs(InOrder.RETIRED);
        assertThat(started).containsExactly("a");
    }

    @Test
    void forwardedStreamsWaitOnlyForTheirOwnCommandsAndAreForgottenWhenIdle() {
        ForwardedStreams streams = new ForwardedStreams();
        CompletableFuture<Void> read = new CompletableFuture<>();
        streams.submit(1, 10, command("n1c10 INCR", read));
        streams.submit(1, 10, command("n1c10 GET", AT_ONCE));
        streams.submit(1, 11, command("n1c11 GET", AT_ONCE)); // another connection of the same node
        streams.submit(2, 10, command("n2c10 GET", AT_ONCE)); // the same connection id on another node
        assertThat(started).containsExactly("n1c10 INCR", "n1c11 GET", "n2c10 GET");
        assertThat(streams.size()).isEqualTo(1);

        read.complete(null);
        assertThat(started).endsWith("n1c10 GET");
        assertThat(streams.size()).isZero();

        streams.submit(1, 10, command("n1c10 SET", AT_ONCE));
        assertThat(started).endsWith("n1c10 SET");
        assertThat(streams.size()).isZero();
    }
}
