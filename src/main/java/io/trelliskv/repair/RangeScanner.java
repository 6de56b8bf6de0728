package io.trelliskv.repair;

import io.trelliskv.ring.TokenRange;
import io.trelliskv.storage.Engine;
import io.trelliskv.storage.Entry;

import java.util.function.Consumer;

/**
 * Visits the entries of a token range in paced steps: the range is cut at multiples of 2^52 tokens
 * (the width of one of {@link io.trelliskv.storage.MemoryEngine}'s 4096 segments, so each step locks one
 * segment) and the {@link ScanPacer} sleeps between steps. Purged tombstones are skipped (see
 * {@link MerkleTree#purged}).
 */
final class RangeScanner {

    /** Tokens per step, minus one: a step ends at a token whose low 52 bits are all ones. */
    private static final long STEP_MASK = (1L << 52) - 1;

    private final Engine engine;
    private final ScanPacer pacer;

    RangeScanner(Engine engine, ScanPacer pacer) {
        this.engine = engine;
        this.pacer = pacer;
    }

    /** Visits every unpurged entry in {@code range}, as of {@code nowMillis}. */
    void scan(TokenRange range, long nowMillis, Consumer<Entry> visitor) {
        Consumer<Entry> live = e -> {
            if (!MerkleTree.purged(e, nowMillis)) {
                visitor.accept(e);
            }
        };
        long end = range.end();
        long cur = range.start();
        boolean wholeRing = range.isFullRing();
        while (true) {
            long remaining = end - cur; // unsigned; 0 stands for 2^64 only while the whole ring remains
            long stepEnd = (cur + 1) | STEP_MASK;
            boolean last = !wholeRing && Long.compareUnsigned(stepEnd - cur, remaining) >= 0;
            long from = cur;
            long to = last ? end : stepEnd;
            pacer.step(() -> engine.forEachInRange(from, to, live));
            if (last) {
                return;
            }
            cur = to;
            wholeRing = false;
        }
    }

    /** Builds the tree of {@code range} at {@code depth} from this node's entries. */
    MerkleTree tree(TokenRange range, int depth, long nowMillis) {
        MerkleTree tree = new MerkleTree(range, depth);
        scan(range, nowMillis, e -> tree.add(e, nowMillis));
        return tree;
    }
}
