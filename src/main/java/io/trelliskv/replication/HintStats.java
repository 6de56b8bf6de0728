package io.trelliskv.replication;

/**
 * A consistent snapshot of a {@link HintStore}'s counters (cumulative since it was created) and
 * contents.
 *
 * @param stored       hints stored, replacements of an older hint for the same key included
 * @param dropped      hints refused because the store was full (count or bytes)
 * @param expired      hints dropped because they were older than the window
 * @param replayed     hints removed because their target acknowledged them
 * @param refused      hints removed because their target refused them
 * @param pending      hints held now
 * @param pendingBytes bytes charged for the hints held now, see {@link HintStore#sizeOf}
 */
public record HintStats(
        long stored,
        long dropped,
        long expired,
        long replayed,
        long refused,
        int pending,
        long pendingBytes) {
}
