package io.trelliskv.repair;

import io.trelliskv.common.Clock;
import io.trelliskv.common.MalformedMessageException;
import io.trelliskv.replication.ReplicaService;
import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * The answering side of anti-entropy: builds this node's tree of a range when a peer asks to compare,
 * and lists the keys of the runs of leaves that differed. Both scan the engine, so the server runs them
 * on a background thread, never on an event loop. The entries themselves are then read and written
 * through {@link ReplicaService}, like any replica traffic.
 *
 * <p>Bounds: a tree is at most 2^{@link MerkleTree#MAX_DEPTH} leaves; a key listing stops at the
 * smaller of the asker's and this node's {@code maxKeysPerRequest}, cutting a run at a token boundary
 * (keys are sorted by token within the run; see {@link AntiEntropyCodec} for the continuation).
 */
public final class AntiEntropyService {

    private final RangeScanner scanner;
    private final Clock clock;
    private final int maxKeys;
    private final LongAdder treesAnswered = new LongAdder();
    private final LongAdder keysListed = new LongAdder();

    public AntiEntropyService(Engine engine, ScanPacer pacer, Clock clock, AntiEntropyConfig config) {
        this.scanner = new RangeScanner(engine, pacer);
        this.clock = clock;
        this.maxKeys = config.maxKeysPerRequest();
    }

    /**
     * Builds this node's tree of the asked range at the asked depth and answers SAME or its leaves.
     *
     * @throws MalformedMessageException if the payload is malformed
     */
    public byte[] answerTree(byte[] payload) {
        AntiEntropyCodec.TreeRequest req = AntiEntropyCodec.decodeTreeRequest(payload);
        MerkleTree tree = scanner.tree(req.range(), req.depth(), clock.millis());
        treesAnswered.increment();
        return AntiEntropyCodec.encodeTreeReply(tree.root() == req.root(), tree.leaves());
    }

    /**
     * Lists (key, version) for the asked runs, as many as fit in the bound.
     *
     * @throws MalformedMessageException if the payload is malformed
     */
    public byte[] answerKeys(byte[] payload) {
        AntiEntropyCodec.KeysRequest req = AntiEntropyCodec.decodeKeysRequest(payload);
        int limit = Math.min(req.maxKeys(), maxKeys);
        long now = clock.millis();
        List<AntiEntropyCodec.KeyVersion> out = new ArrayList<>();
        int done = 0;
        for (TokenRange run : req.runs()) {
            List<AntiEntropyCodec.KeyVersion> keys = new ArrayList<>();
            scanner.scan(run, now, e -> keys.add(version(e, now)));
            if (out.size() + keys.size() <= limit) {
                out.addAll(keys);
                done++;
                continue;
            }
            if (!out.isEmpty()) {
                keysListed.add(out.size());
                return AntiEntropyCodec.encodeKeysReply(new AntiEntropyCodec.KeysReply(done, false, 0, out));
            }
            // The run alone is over the bound: send its first keys in token order, up to a token boundary.
            long start = run.start();
            keys.sort(Comparator.comparing(k -> k.key().token() - start, Long::compareUnsigned));
            int n = limit;
            long cut = keys.get(n - 1).key().token();
            while (n < keys.size() && keys.get(n).key().token() == cut) {
                n++;
            }
            out.addAll(keys.subList(0, n));
            keysListed.add(out.size());
            boolean partial = n < keys.size();
            return AntiEntropyCodec.encodeKeysReply(new AntiEntropyCodec.KeysReply(partial ? done : done + 1,
                    partial, cut, out));
        }
        keysListed.add(out.size());
        return AntiEntropyCodec.encodeKeysReply(new AntiEntropyCodec.KeysReply(done, false, 0, out));
    }

    private static AntiEntropyCodec.KeyVersion version(Entry e, long now) {
        boolean dead = e.isTombstone() || e.isExpired(now);
        return new AntiEntropyCodec.KeyVersion(e.key(), e.hlc(), e.nodeId(), dead ? -1 : e.value().length,
                MerkleTree.valueDigest(e, now));
    }

    /** Counters for INFO. */
    public record Stats(long treesAnswered, long keysListed) {
    }

    public Stats stats() {
        return new Stats(treesAnswered.sum(), keysListed.sum());
    }
}
