package io.trelliskv.common;

import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Daemon threads with the names the node's thread dumps and logs show ({@code trellis-hints},
 * {@code trellis-anti-entropy}, ...). A daemon thread never keeps the JVM alive on its own: shutting
 * down is the owner's {@code close()} or the process's exit.
 */
public final class DaemonThreads {

    private DaemonThreads() {
    }

    /**
     * A factory whose threads are all daemons named {@code name}: for a single-thread executor, whose
     * thread, if it is ever replaced, keeps the name.
     */
    public static ThreadFactory factory(String name) {
        Objects.requireNonNull(name, "name");
        return runnable -> daemon(runnable, name);
    }

    /**
     * A factory for a pool of several threads: daemons named {@code prefix-1}, {@code prefix-2}, ... in
     * the order they are made.
     */
    public static ThreadFactory numbered(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        AtomicInteger next = new AtomicInteger(1);
        return runnable -> daemon(runnable, prefix + "-" + next.getAndIncrement());
    }

    /** Starts {@code body} on a new daemon thread named {@code name}, and returns the thread. */
    public static Thread start(String name, Runnable body) {
        Thread t = daemon(body, Objects.requireNonNull(name, "name"));
        t.start();
        return t;
    }

    private static Thread daemon(Runnable runnable, String name) {
        Thread t = new Thread(runnable, name);
        t.setDaemon(true);
        return t;
    }
}
