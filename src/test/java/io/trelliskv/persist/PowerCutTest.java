package io.trelliskv.persist;

import io.trelliskv.common.Clock;
import io.trelliskv.common.Key;
import io.trelliskv.storage.EngineConfig;
import io.trelliskv.storage.Entry;
import io.trelliskv.storage.EvictionPolicy;
import io.trelliskv.storage.MemoryEngine;
import io.trelliskv.version.Hlc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A power cut, which a SIGKILL does not make: the machine loses what the disk had not made durable. The
 * disk here keeps, for every file, the bytes up to its last force; at the cut, every later write is lost
 * (a seeded part of it is kept, as a disk may have written some sectors) and every call fails. Writers
 * then recover from what is left: under {@code always} every write whose acknowledgement
 * ({@link Persistence#durable()}) completed before the cut is there.
 */
class PowerCutTest {

    private static final EngineConfig ENGINE = new EngineConfig(0, EvictionPolicy.NOEVICTION, 60_000,
            EngineConfig.DEFAULT_EVICTION_SAMPLES);

    @TempDir
    Path dir;

    @Test
    void everyWriteAcknowledgedUnderAlwaysSurvivesAPowerCut() throws Exception {
        for (long seed = 1; seed <= 5; seed++) {
            Path round = dir.resolve("round-" + seed);
            Map<String, String> acked = writeUntilThePowerGoes(round, seed);
            assertThat(acked).as("round %d: acknowledged before the cut", seed).hasSizeGreaterThan(50);

            Persistence.Deferred journal = Persistence.deferred();
            MemoryEngine engine = new MemoryEngine(ENGINE, Clock.SYSTEM, new Hlc(Clock.SYSTEM), 2, journal);
            try (Persistence recovered = Persistence.open(round, PersistConfig.of(AppendFsync.ALWAYS), Clock.SYSTEM,
                    engine, journal)) {
                List<String> lost = new ArrayList<>();
                for (Map.Entry<String, String> e : acked.entrySet()) {
                    Entry got = engine.get(Key.of(e.getKey()));
                    // a later write of the key, not acknowledged but on disk, may have replaced it
                    if (got == null || newer(e.getValue(), new String(got.value()))) {
                        lost.add(e.getKey());
                    }
                }
                assertThat(lost).as("round %d: acknowledged writes lost of %d (recovered %d records, torn tail %s)",
                        seed, acked.size(), recovered.recovered().records(), recovered.recovered().tornTail()).isEmpty();
            }
        }
    }

    /** Four writers put and wait for durability until the power goes; returns what was acknowledged. */
    private Map<String, String> writeUntilThePowerGoes(Path round, long seed) throws Exception {
        PowerLossDisk disk = new PowerLossDisk(new Random(seed));
        Persistence.Deferred journal = Persistence.deferred();
        MemoryEngine engine = new MemoryEngine(ENGINE, Clock.SYSTEM, new Hlc(Clock.SYSTEM), 1, journal);
        Persistence p = Persistence.open(round, PersistConfig.of(AppendFsync.ALWAYS).withChannels(disk), Clock.SYSTEM,
                engine, journal);
        Map<String, String> acked = new ConcurrentHashMap<>();
        AtomicInteger sequence = new AtomicInteger();
        CountDownLatch enough = new CountDownLatch(200);
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            Thread t = new Thread(() -> {
                for (int i = 0; i < 100_000 && !disk.cut; i++) {
                    String key = "k" + (sequence.incrementAndGet() % 500);
                    String value = "v" + sequence.get();
                    engine.put(Key.of(key), value.getBytes(), 0);
                    try {
                        p.durable().get(10, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        return; // the power went: not acknowledged
                    }
                    // Keys are shared between writers: the newest acknowledged value counts.
                    acked.merge(key, value, (old, v) -> newer(v, old) ? v : old);
                    enough.countDown();
                }
            }, "writer-" + w);
            t.start();
            writers.add(t);
        }
        assertThat(enough.await(30, TimeUnit.SECONDS)).as("writes acknowledged").isTrue();
        assertThat(disk.preallocations).as("the log wrote into preallocated space").isPositive();
        disk.cutThePower();
        for (Thread t : writers) {
            t.join(30_000);
        }
        p.close();
        return acked;
    }

    /** Values are "v" + a global sequence: the larger was written later. */
    private static boolean newer(String a, String b) {
        return Long.parseLong(a.substring(1)) > Long.parseLong(b.substring(1));
    }

    /**
     * A disk whose files keep only what was forced when the power goes: each channel remembers the size
     * at its last force; the cut truncates each file to it plus a seeded share of the unforced bytes, and
     * every call after the cut fails.
     */
    private static final class PowerLossDisk implements LogChannel.Factory {
        private final Random random;
        private final List<Tracked> open = new ArrayList<>();
        volatile boolean cut;
        volatile int preallocations;

        PowerLossDisk(Random random) {
            this.random = random;
        }

        synchronized void cutThePower() throws IOException {
            cut = true;
            for (Tracked t : open) {
                t.lose(random);
            }
        }

        @Override
        public synchronized LogChannel open(Path path) throws IOException {
            if (cut) {
                throw new IOException("no power");
            }
            Tracked t = new Tracked(LogChannel.open(path));
            t.durable = t.real.size();
            open.add(t);
            return t;
        }

        @Override
        public void syncDirectory(Path d) throws IOException {
            if (cut) {
                throw new IOException("no power");
            }
            LogChannel.FILES.syncDirectory(d);
        }

        private final class Tracked implements LogChannel {
            final LogChannel real;
            /** Bytes known to be on stable storage: the size at the last force. */
            volatile long durable;
            /** How far the file was preallocated (durably: preallocation forces), and with what. */
            long preallocated;
            byte fill;
            private boolean lost;

            Tracked(LogChannel real) {
                this.real = real;
            }

            private void power() throws IOException {
                if (cut) {
                    throw new IOException("no power");
                }
            }

            /**
             * At the cut: keep what was forced and a random part of the rest; space preallocated (and forced)
             * past that keeps its fill, as a disk keeps it where the lost writes would have gone.
             */
            synchronized void lose(Random r) throws IOException {
                if (lost) {
                    return;
                }
                lost = true;
                long size = real.size();
                long keep = durable + (size > durable ? (long) (r.nextDouble() * (size - durable)) : 0);
                real.truncate(Math.min(size, keep));
                if (preallocated > keep) {
                    real.preallocate(preallocated, fill);
                }
                real.force();
            }

            @Override
            public synchronized void preallocate(long length, byte fill) throws IOException {
                power();
                real.preallocate(length, fill);
                preallocated = Math.max(preallocated, length);
                this.fill = fill;
                preallocations++;
            }

            @Override
            public synchronized int write(ByteBuffer src) throws IOException {
                power();
                return real.write(src);
            }

            @Override
            public synchronized void force() throws IOException {
                power();
                real.force();
                durable = real.size();
            }

            @Override
            public synchronized long size() throws IOException {
                power();
                return real.size();
            }

            @Override
            public synchronized void truncate(long size) throws IOException {
                power();
                real.truncate(size);
                durable = Math.min(durable, size);
                preallocated = Math.min(preallocated, size);
            }

            @Override
            public synchronized void close() throws IOException {
                real.close();
            }
        }
    }
}
