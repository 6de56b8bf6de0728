package io.trelliskv.common;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class DaemonThreadsTest {

    @Test
    void factoryNamesEveryThreadTheSame() {
        ThreadFactory f = DaemonThreads.factory("trellis-x");
        Thread a = f.newThread(() -> { });
        Thread b = f.newThread(() -> { });
        assertThat(a.getName()).isEqualTo("trellis-x");
        assertThat(b.getName()).isEqualTo("trellis-x");
        assertThat(a.isDaemon()).isTrue();
        assertThat(b.isDaemon()).isTrue();
    }

    @Test
    void numberedCountsFromOne() {
        ThreadFactory f = DaemonThreads.numbered("trellis-pool");
        assertThat(f.newThread(() -> { }).getName()).isEqualTo("trellis-pool-1");
        Thread second = f.newThread(() -> { });
        assertThat(second.getName()).isEqualTo("trellis-pool-2");
        assertThat(second.isDaemon()).isTrue();
    }

    @Test
    void startRunsTheBodyOnANamedDaemon() throws InterruptedException {
        CountDownLatch ran = new CountDownLatch(1);
        AtomicReference<String> name = new AtomicReference<>();
        Thread t = DaemonThreads.start("trellis-once", () -> {
            name.set(Thread.currentThread().getName());
            ran.countDown();
        });
        assertThat(t.isDaemon()).isTrue();
        assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(name.get()).isEqualTo("trellis-once");
    }
}
